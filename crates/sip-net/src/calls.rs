//! Calls: what the endpoint loop needs around the [`sip_b2bua::B2bua`] — the trunks, the
//! [`Directory`] over the registrar's bindings, and the conversions between the B2BUA and the
//! CRM (caller cards in, call records out).
//!
//! Trunks are minimal for now: a name, the address calls to external numbers go to, and the
//! source addresses an inbound INVITE is accepted from. Registering to a provider and
//! answering its challenges (issue 4, "Trunks") is still to come.

use crate::registry::Registry;
use routing::{AgentId, Caller, CrmCard};
use sip_b2bua::{AgentContact, CallDirection, CallRecord, CallStatus, Directory, TrunkRoute};
use sip_core::Peer;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;

/// A SIP trunk: where calls to external numbers go, and who may send us calls.
#[derive(Debug, Clone, PartialEq)]
pub struct TrunkConfig {
    /// A name for logs and the API.
    pub name: String,
    /// The provider's (or PBX's) address: outbound and forwarded legs go here (UDP).
    pub host: SocketAddr,
    /// Addresses inbound INVITEs are accepted from. An entry with port 0 allows any port of
    /// that IP. Empty: only `host` itself.
    pub allow: Vec<SocketAddr>,
}

impl TrunkConfig {
    /// Whether an INVITE from `source` comes from this trunk.
    pub fn allows(&self, source: SocketAddr) -> bool {
        let matches =
            |a: &SocketAddr| a.ip() == source.ip() && (a.port() == 0 || a.port() == source.port());
        if self.allow.is_empty() {
            matches(&self.host)
        } else {
            self.allow.iter().any(matches)
        }
    }

    /// Parses `name=provider,host=203.0.113.5:5060[,allow=203.0.113.5;203.0.113.6:5060]`.
    pub fn parse(text: &str) -> Result<TrunkConfig, String> {
        let mut name = None;
        let mut host = None;
        let mut allow = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}`: expected key=value"))?;
            match key.trim() {
                "name" => name = Some(value.trim().to_owned()),
                "host" => {
                    host = Some(
                        value
                            .trim()
                            .parse::<SocketAddr>()
                            .map_err(|e| format!("host `{value}`: {e} (expected ip:port)"))?,
                    )
                }
                "allow" => {
                    for a in value.split(';').map(str::trim).filter(|a| !a.is_empty()) {
                        let addr = a
                            .parse::<SocketAddr>()
                            .or_else(|_| a.parse::<std::net::IpAddr>().map(|ip| (ip, 0).into()))
                            .map_err(|e| format!("allow `{a}`: {e} (expected ip or ip:port)"))?;
                        allow.push(addr);
                    }
                }
                other => return Err(format!("unknown trunk key `{other}` (name, host, allow)")),
            }
        }
        Ok(TrunkConfig {
            name: name.ok_or("a trunk needs name=")?,
            host: host.ok_or("a trunk needs host=ip:port")?,
            allow,
        })
    }
}

/// What the SIP service needs to handle calls.
#[derive(Clone)]
pub struct CallServices {
    /// Caller lookup and call logging.
    pub crm: Arc<crm::Crm>,
    /// The routing settings; a new value replaces them for calls that arrive afterwards.
    pub routing: watch::Receiver<routing::RoutingConfig>,
    /// The trunks, first usable first.
    pub trunks: Vec<TrunkConfig>,
}

impl std::fmt::Debug for CallServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallServices")
            .field("trunks", &self.trunks)
            .finish_non_exhaustive()
    }
}

/// The B2BUA's [`Directory`]: agents are CRM user ids, their phones the registrar's live
/// bindings (reached at the address each REGISTER came from); external numbers go to the
/// first trunk.
pub(crate) struct CallDirectory<'a> {
    pub(crate) registry: &'a Registry,
    pub(crate) trunks: &'a [TrunkConfig],
}

impl Directory for CallDirectory<'_> {
    fn agent_contacts(&self, agent: AgentId) -> Vec<AgentContact> {
        self.registry
            .contacts_of(domain::UserId(agent.0))
            .into_iter()
            .map(|(uri, destination)| AgentContact { uri, destination })
            .collect()
    }

    fn trunk_route(&self, number: &str, _caller_id: &str) -> Option<TrunkRoute> {
        let trunk = self.trunks.first()?;
        let uri = format!("sip:{number}@{}", trunk.host).parse().ok()?;
        Some(TrunkRoute {
            uri,
            destination: Peer::udp(trunk.host),
            from_domain: trunk.host.ip().to_string(),
            credentials: None,
        })
    }
}

/// The routing engine's view of a CRM card.
pub(crate) fn crm_card(card: &crm::CallerCard) -> CrmCard {
    if !card.is_known() {
        return CrmCard::Unknown;
    }
    CrmCard::Known {
        name: card.display_name().map(str::to_owned),
        responsible: card.responsible.as_ref().map(|u| AgentId(u.id.0)),
    }
}

/// The number to look up for a caller (`None`: anonymous, nothing to look up).
pub(crate) fn caller_number(caller: &Caller) -> Option<&str> {
    match caller {
        Caller::Number(n) => Some(n),
        Caller::Anonymous => None,
    }
}

/// The CRM report of a finished call. `None` for internal calls (colleague to colleague:
/// there is no customer to log them against). `call_id` is the SIP Call-ID of the call's
/// first leg; with the leg it makes the idempotency key, so a retried report is stored once.
pub(crate) fn call_report(record: &CallRecord, call_id: &str) -> Option<crm::CallReport> {
    let caller = match &record.caller {
        Caller::Number(n) => n.clone(),
        Caller::Anonymous => "anonymous".to_owned(),
    };
    let (direction, remote, line, leg) = match record.direction {
        CallDirection::Inbound => (
            domain::Direction::Incoming,
            caller,
            Some(record.called.clone()).filter(|c| !c.is_empty()),
            "in",
        ),
        CallDirection::Outbound => (
            domain::Direction::Outgoing,
            record.called.clone(),
            Some(caller),
            "out",
        ),
        CallDirection::Internal => return None,
    };
    let status = match record.status {
        CallStatus::Answered => domain::CallStatus::Answered,
        CallStatus::Missed => domain::CallStatus::Missed,
        CallStatus::Busy => domain::CallStatus::Busy,
        CallStatus::Failed => domain::CallStatus::Failed,
    };
    let notes = (!record.notes.is_empty()).then(|| record.notes.join("; "));
    Some(crm::CallReport {
        direction,
        remote,
        line,
        agent_id: record.agent.map(|a| domain::UserId(a.0)),
        queue: record.queue.clone(),
        started_at: record.started_at,
        answered_at: record.answered_at,
        ended_at: record.ended_at,
        status,
        recording: None,
        rating: None,
        notes,
        origin: domain::CallOrigin::Sip,
        idempotency_key: Some(format!("sip:{call_id}:{leg}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(direction: CallDirection, status: CallStatus) -> CallRecord {
        let at = chrono::DateTime::UNIX_EPOCH;
        CallRecord {
            session: sip_b2bua::SessionId(4),
            direction,
            caller: Caller::Number("+4917612345678".into()),
            called: "+493012345678".into(),
            to: None,
            diversion: None,
            line: Some("Sales".into()),
            agent: Some(AgentId(7)),
            queue: Some("sales".into()),
            forwarded_to: None,
            started_at: at,
            answered_at: (status == CallStatus::Answered).then_some(at),
            ended_at: at + chrono::TimeDelta::seconds(30),
            status,
            outcome: None,
            log: Vec::new(),
            notes: vec!["no media".into()],
        }
    }

    #[test]
    fn inbound_record_becomes_an_incoming_report_keyed_by_call_id_and_leg() {
        let r = call_report(
            &record(CallDirection::Inbound, CallStatus::Answered),
            "c1@x",
        )
        .unwrap();
        assert_eq!(r.direction, domain::Direction::Incoming);
        assert_eq!(r.remote, "+4917612345678");
        assert_eq!(r.line.as_deref(), Some("+493012345678"));
        assert_eq!(r.agent_id, Some(domain::UserId(7)));
        assert_eq!(r.queue.as_deref(), Some("sales"));
        assert_eq!(r.status, domain::CallStatus::Answered);
        assert_eq!(r.origin, domain::CallOrigin::Sip);
        assert_eq!(r.notes.as_deref(), Some("no media"));
        assert_eq!(r.idempotency_key.as_deref(), Some("sip:c1@x:in"));
        // The same call reported again has the same key: the store keeps one record.
        let again = call_report(
            &record(CallDirection::Inbound, CallStatus::Answered),
            "c1@x",
        );
        assert_eq!(again.unwrap().idempotency_key, r.idempotency_key);
    }

    #[test]
    fn outbound_record_swaps_customer_and_line_and_internal_is_not_logged() {
        let mut rec = record(CallDirection::Outbound, CallStatus::Busy);
        rec.caller = Caller::Number("+493012345678".into());
        rec.called = "+4915112345678".into();
        let r = call_report(&rec, "c2").unwrap();
        assert_eq!(r.direction, domain::Direction::Outgoing);
        assert_eq!(r.remote, "+4915112345678");
        assert_eq!(r.line.as_deref(), Some("+493012345678"));
        assert_eq!(r.status, domain::CallStatus::Busy);
        assert_eq!(r.idempotency_key.as_deref(), Some("sip:c2:out"));
        assert!(
            call_report(&record(CallDirection::Internal, CallStatus::Answered), "c3").is_none()
        );
        let mut anon = record(CallDirection::Inbound, CallStatus::Missed);
        anon.caller = Caller::Anonymous;
        assert_eq!(call_report(&anon, "c4").unwrap().remote, "anonymous");
    }

    #[test]
    fn trunk_parse_and_allow() {
        let t = TrunkConfig::parse("name=p,host=127.0.0.1:5070").unwrap();
        assert!(t.allows("127.0.0.1:5070".parse().unwrap()));
        assert!(!t.allows("127.0.0.1:5071".parse().unwrap()));
        assert!(!t.allows("127.0.0.2:5070".parse().unwrap()));
        let t =
            TrunkConfig::parse("name=p,host=192.0.2.1:5060,allow=198.51.100.7;198.51.100.8:5061")
                .unwrap();
        assert!(!t.allows("192.0.2.1:5060".parse().unwrap()));
        assert!(t.allows("198.51.100.7:1234".parse().unwrap()));
        assert!(t.allows("198.51.100.8:5061".parse().unwrap()));
        assert!(!t.allows("198.51.100.8:5060".parse().unwrap()));
        assert!(TrunkConfig::parse("host=127.0.0.1:5070").is_err());
        assert!(TrunkConfig::parse("name=p,host=nowhere").is_err());
        assert!(TrunkConfig::parse("name=p,host=127.0.0.1:1,port=2").is_err());
    }
}
