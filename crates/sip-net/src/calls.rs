//! Calls: what the endpoint loop needs around the [`sip_b2bua::B2bua`] — the trunks, the
//! [`Directory`] over the registrar's bindings, and the conversions between the B2BUA and the
//! CRM (caller cards in, call records out).
//!
//! Outbound calls take the trunk whose number is the caller ID the routing chose, else the
//! first trunk; the trunk's account answers the provider's 401/407 and is our From.

use crate::registry::Registry;
use crate::trunks::{same_number, Trunk, TrunkConfig, Trunks};
use routing::{AgentId, Caller, CrmCard};
use sip_b2bua::{AgentContact, CallDirection, CallRecord, CallStatus, Directory, TrunkRoute};
use sip_core::digest::ClientCredentials;
use sip_core::Peer;
use std::sync::Arc;
use tokio::sync::watch;

/// What the SIP service needs to handle calls.
#[derive(Clone)]
pub struct CallServices {
    /// Caller lookup and call logging.
    pub crm: Arc<crm::Crm>,
    /// The routing settings; a new value replaces them for calls that arrive afterwards.
    pub routing: watch::Receiver<routing::RoutingConfig>,
    /// The trunks, first usable first. A new value replaces them within the loop's next
    /// turn: removed trunks are unregistered, new ones register.
    pub trunks: watch::Receiver<Vec<TrunkConfig>>,
    /// Where the trunks' registration status is published for the API.
    pub trunk_status: Trunks,
}

impl std::fmt::Debug for CallServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallServices")
            .field("trunks", &*self.trunks.borrow())
            .finish_non_exhaustive()
    }
}

/// The B2BUA's [`Directory`]: agents are CRM user ids, their phones the registrar's live
/// bindings (reached at the address each REGISTER came from); external numbers go to the
/// trunk carrying the caller ID's line, else the first trunk.
pub(crate) struct CallDirectory<'a> {
    pub(crate) registry: &'a Registry,
    pub(crate) trunks: &'a [Trunk],
}

impl Directory for CallDirectory<'_> {
    fn agent_contacts(&self, agent: AgentId) -> Vec<AgentContact> {
        self.registry
            .contacts_of(domain::UserId(agent.0))
            .into_iter()
            .map(|(uri, destination)| AgentContact { uri, destination })
            .collect()
    }

    fn trunk_route(&self, number: &str, caller_id: &str) -> Option<TrunkRoute> {
        trunk_route(self.trunks, number, caller_id)
    }
}

/// The first trunk "that may be used wins unless a prefix picks another": the routing's
/// outbound prefix chose the line (the caller ID), so a trunk carrying that number wins.
pub(crate) fn trunk_route(trunks: &[Trunk], number: &str, caller_id: &str) -> Option<TrunkRoute> {
    let trunk = trunks
        .iter()
        .find(|t| {
            t.config
                .number
                .as_deref()
                .is_some_and(|n| same_number(n, caller_id))
        })
        .or_else(|| trunks.first())?;
    let config = &trunk.config;
    let domain = config.domain();
    let uri = format!("sip:{number}@{domain}").parse().ok()?;
    let credentials = match (&config.username, &config.password) {
        (Some(username), Some(password)) => Some(ClientCredentials {
            username: username.clone(),
            password: password.clone(),
        }),
        _ => None,
    };
    Some(TrunkRoute {
        uri,
        destination: Peer::udp(trunk.destination),
        from_domain: domain,
        from_user: config.number.clone().or_else(|| config.username.clone()),
        credentials,
    })
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
/// first leg; with the leg and the end of the call it makes the idempotency key, so a retried
/// report is stored once. The end comes first, at a fixed width: records are written as calls
/// end, so the keys arrive in order and each batch adds to the last pages of the store's
/// unique index on them. Keys led by Call-IDs (random at most providers) landed all over
/// that index, one page written per call: 2.3 times the store's cost of a call
/// (`store/log_calls_sqlite_batch_of_64`).
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
        idempotency_key: Some(format!(
            "sip:{:013}:{call_id}:{leg}",
            record.ended_at.timestamp_millis()
        )),
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
        assert_eq!(
            r.idempotency_key.as_deref(),
            Some("sip:0000000030000:c1@x:in"),
            "the end of the call (ms since 1970), the Call-ID, the leg"
        );
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
        assert_eq!(
            r.idempotency_key.as_deref(),
            Some("sip:0000000030000:c2:out")
        );
        assert!(
            call_report(&record(CallDirection::Internal, CallStatus::Answered), "c3").is_none()
        );
        let mut anon = record(CallDirection::Inbound, CallStatus::Missed);
        anon.caller = Caller::Anonymous;
        assert_eq!(call_report(&anon, "c4").unwrap().remote, "anonymous");
    }

    #[test]
    fn trunk_route_picks_the_trunk_of_the_caller_id_else_the_first() {
        let mut first = TrunkConfig::new("first", "192.0.2.1:5060");
        first.username = Some("acc1".into());
        first.password = Some("pw1".into());
        first.domain = Some("sip.provider.example".into());
        let mut second = TrunkConfig::new("second", "192.0.2.2:5070");
        second.number = Some("+4930200".into());
        second.outbound_proxy = Some("192.0.2.9:5080".into());
        let trunks = [Trunk::literal(first), Trunk::literal(second)];

        let route = trunk_route(&trunks, "+4915112345678", "+4930100").unwrap();
        assert_eq!(
            route.uri.to_string(),
            "sip:+4915112345678@sip.provider.example"
        );
        assert_eq!(
            route.destination,
            Peer::udp("192.0.2.1:5060".parse().unwrap())
        );
        assert_eq!(route.from_domain, "sip.provider.example");
        // No number: the account is our From user.
        assert_eq!(route.from_user.as_deref(), Some("acc1"));
        let credentials = route.credentials.unwrap();
        assert_eq!(
            (credentials.username.as_str(), credentials.password.as_str()),
            ("acc1", "pw1")
        );

        let route = trunk_route(&trunks, "+4915112345678", "+49 30 200").unwrap();
        assert_eq!(
            route.destination,
            Peer::udp("192.0.2.9:5080".parse().unwrap())
        );
        assert_eq!(route.uri.to_string(), "sip:+4915112345678@192.0.2.2:5070");
        assert_eq!(route.from_user.as_deref(), Some("+4930200"));
        assert_eq!(route.credentials, None);

        assert_eq!(trunk_route(&[], "+4915112345678", "+4930200"), None);
    }
}
