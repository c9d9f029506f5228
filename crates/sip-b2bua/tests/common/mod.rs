//! A simulated network with a virtual clock: a trunk, agents' phones (scripted user agents on
//! their own transaction layers) and Ringbase (a transaction layer driven by the B2BUA).
//!
//! The idea is sip-core's test harness (`crates/sip-core/tests/common`): datagrams are
//! delivered after a fixed latency, every one is logged with the instant it was sent, and
//! time only moves in [`Sim::run_until`], from one deadline (a delivery, a transaction timer,
//! a B2BUA timer, a scripted user-agent action) straight to the next, so every time is exact.
//! Here the user agents answer by themselves as their [`Behaviour`] says, so a scenario reads
//! as "Anna answers after 3 s, Ben's phone just rings".

#![allow(dead_code, unreachable_pub)]

use chrono::{DateTime, TimeZone, Utc};
use routing::{AgentId, CrmCard, Router, RoutingConfig};
use sip_b2bua::{
    AgentContact, B2bua, B2buaConfig, CallRecord, Directory, IncomingInvite, Output, TrunkRoute,
};
use sip_core::dialog::Dialog;
use sip_core::{
    Instant, Peer, TransactionConfig, TransactionEvent, TransactionKey, TransactionLayer,
    TransportProtocol,
};
use sip_proto::bytes::Bytes;
use sip_proto::typed::{Contact, ContentType, From, To, Via};
use sip_proto::{Host, Message, Method, Request, RequestBuilder, Response, StatusCode, Uri};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::Duration;

pub const TRUNK: &str = "198.51.100.1:5060";
pub const PBX: &str = "192.0.2.10:5060";
pub const LINE: &str = "+493012345678";
pub const CUSTOMER: &str = "+4917612345678";

/// Monday 2026-11-23 10:00 UTC: the wall time of the simulation's start.
pub fn monday_morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0)
        .single()
        .unwrap()
}

pub fn ms(instant: Instant) -> u64 {
    u64::try_from(instant.since_origin().as_millis()).unwrap()
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// How a scripted user agent treats an INVITE it receives (it always rings first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// 180 at once, 200 after this long.
    AnswerAfter(Duration),
    /// 180 at once, 486 after this long.
    BusyAfter(Duration),
    /// 180 at once, then nothing: rings until cancelled.
    RingForever,
}

/// One datagram on the wire.
#[derive(Debug, Clone)]
pub struct Datagram {
    pub sent_at: Instant,
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub payload: Bytes,
}

impl Datagram {
    pub fn start_line(&self) -> &str {
        std::str::from_utf8(&self.payload)
            .unwrap_or("")
            .split("\r\n")
            .next()
            .unwrap_or("")
    }

    pub fn message(&self) -> Message {
        sip_proto::parse_message(&self.payload).unwrap()
    }
}

/// A scripted SIP user agent: a trunk or a phone.
pub struct Ua {
    pub name: &'static str,
    pub addr: SocketAddr,
    pub layer: TransactionLayer,
    pub behaviour: Behaviour,
    /// SDP this agent answers (or offers) with.
    pub sdp: String,
    /// INVITEs received: key, request, our tag, answered?
    pub incoming: Vec<(TransactionKey, Request, String, bool)>,
    /// The INVITE we sent last, and its key.
    pub outgoing: Option<(TransactionKey, Request)>,
    /// Final responses to our INVITEs.
    pub finals: Vec<Response>,
    pub dialog: Option<Dialog>,
    /// In-dialog requests received (BYE, re-INVITE ...).
    pub in_dialog: Vec<Request>,
    /// Our re-INVITE in progress: its key and CSeq, for the ACK of its 2xx.
    reinvite: Option<(TransactionKey, u32)>,
    /// A provider that wants digest credentials (user, password) on INVITE: 407 first.
    pub challenge: Option<(&'static str, &'static str)>,
    /// Digest answers that checked out.
    pub authenticated: usize,
    /// Calls without SDP in the INVITE (late offer): the SDP answer goes in the ACK.
    pub late_offer: bool,
    /// Call-IDs whose 2xx has been ACKed.
    acked: Vec<String>,
    next_tag: u64,
}

enum Scheduled {
    Answer {
        ua: usize,
        key: TransactionKey,
    },
    Busy {
        ua: usize,
        key: TransactionKey,
    },
    /// A phone retransmits its 200 until the ACK, as RFC 3261 §13.3.1.4 asks.
    Resend2xx {
        ua: usize,
        key: TransactionKey,
        response: Box<Response>,
        interval: Duration,
        deadline: Instant,
    },
}

/// The embedder's knowledge, for tests: who is registered where, and one trunk.
pub struct TestDirectory {
    pub contacts: HashMap<AgentId, Vec<AgentContact>>,
    pub trunk: Option<SocketAddr>,
    pub protocol: TransportProtocol,
    pub trunk_credentials: Option<sip_core::digest::ClientCredentials>,
    /// The user of our From towards the trunk (`None`: the caller ID).
    pub trunk_from_user: Option<String>,
}

impl Directory for TestDirectory {
    fn agent_contacts(&self, agent: AgentId) -> Vec<AgentContact> {
        self.contacts.get(&agent).cloned().unwrap_or_default()
    }

    fn trunk_route(&self, number: &str, _caller_id: &str) -> Option<TrunkRoute> {
        let trunk = self.trunk?;
        Some(TrunkRoute {
            uri: format!("sip:{number}@{trunk}").parse().ok()?,
            destination: Peer {
                protocol: self.protocol,
                addr: trunk,
            },
            from_domain: "pbx.example".to_owned(),
            from_user: self.trunk_from_user.clone(),
            credentials: self.trunk_credentials.clone(),
        })
    }
}

/// Ringbase on the simulated network.
pub struct Pbx {
    pub addr: SocketAddr,
    pub layer: TransactionLayer,
    pub b2bua: B2bua,
    pub directory: TestDirectory,
    /// The CRM's answer to every lookup.
    pub card: CrmCard,
    /// Phones (by address) that are agents allowed to call out.
    pub phones: HashMap<SocketAddr, AgentId>,
    pub records: Vec<CallRecord>,
    /// Events the B2BUA handed back (not about its calls).
    pub unhandled: Vec<TransactionEvent>,
    /// Agents whose phones rang, per call (screen pops).
    pub screen_pops: Vec<(sip_b2bua::SessionId, AgentId)>,
    pub answered: Vec<(sip_b2bua::SessionId, Option<AgentId>)>,
}

pub struct Sim {
    pub now: Instant,
    /// UDP unless a test asks for TCP (reliable: no retransmissions, transport=tcp).
    pub protocol: TransportProtocol,
    pub latency: Duration,
    pub uas: Vec<Ua>,
    pub pbx: Pbx,
    pub log: Vec<Datagram>,
    in_flight: BTreeMap<(Instant, usize), ()>,
    scheduled: BTreeMap<(Instant, u64), Scheduled>,
    seq: u64,
    drop_rule: Option<DropRule>,
}

type DropRule = Box<dyn FnMut(&Datagram) -> bool>;

impl Sim {
    /// Ringbase with these routing settings on a 10 ms network.
    pub fn new(routing_toml: &str) -> Sim {
        Sim::with_config(routing_toml, |_| {})
    }

    /// Ringbase with these routing settings and B2BUA settings changed by `tweak`.
    pub fn with_config(routing_toml: &str, tweak: impl FnOnce(&mut B2buaConfig)) -> Sim {
        let config = RoutingConfig::from_toml(routing_toml).unwrap();
        let router = Router::new(config).unwrap();
        let addr: SocketAddr = PBX.parse().unwrap();
        let mut b2bua_config = B2buaConfig::new(addr, "pbx.example", monday_morning());
        b2bua_config.instance = "rbtest".to_owned();
        tweak(&mut b2bua_config);
        Sim {
            now: Instant::ZERO,
            protocol: TransportProtocol::Udp,
            latency: Duration::from_millis(10),
            uas: Vec::new(),
            pbx: Pbx {
                addr,
                layer: TransactionLayer::new(TransactionConfig::default()),
                b2bua: B2bua::new(b2bua_config, router),
                directory: TestDirectory {
                    contacts: HashMap::new(),
                    trunk: None,
                    protocol: TransportProtocol::Udp,
                    trunk_credentials: None,
                    trunk_from_user: None,
                },
                card: CrmCard::Unknown,
                phones: HashMap::new(),
                records: Vec::new(),
                unhandled: Vec::new(),
                screen_pops: Vec::new(),
                answered: Vec::new(),
            },
            log: Vec::new(),
            in_flight: BTreeMap::new(),
            scheduled: BTreeMap::new(),
            seq: 0,
            drop_rule: None,
        }
    }

    /// Datagrams for which `rule` returns true are lost (they are still logged).
    pub fn drop_when(&mut self, rule: impl FnMut(&Datagram) -> bool + 'static) {
        self.drop_rule = Some(Box::new(rule));
    }

    /// Everyone talks TCP (call before adding user agents).
    pub fn use_tcp(&mut self) {
        self.protocol = TransportProtocol::Tcp;
        self.pbx.directory.protocol = TransportProtocol::Tcp;
    }

    /// Stops losing datagrams.
    pub fn deliver_everything(&mut self) {
        self.drop_rule = None;
    }

    pub fn add_ua(&mut self, name: &'static str, addr: &str, behaviour: Behaviour) -> usize {
        self.uas.push(Ua {
            name,
            addr: addr.parse().unwrap(),
            layer: TransactionLayer::new(TransactionConfig::default()),
            behaviour,
            sdp: format!(
                "v=0\r\no={name} 1 1 IN IP4 {}\r\ns=-\r\n",
                addr.split(':').next().unwrap()
            ),
            incoming: Vec::new(),
            outgoing: None,
            finals: Vec::new(),
            dialog: None,
            in_dialog: Vec::new(),
            reinvite: None,
            challenge: None,
            authenticated: 0,
            late_offer: false,
            acked: Vec::new(),
            next_tag: 0,
        });
        self.uas.len() - 1
    }

    /// The trunk: the customer's calls come from here, forwards go here.
    pub fn add_trunk(&mut self, behaviour: Behaviour) -> usize {
        let trunk = self.add_ua("trunk", TRUNK, behaviour);
        self.pbx.directory.trunk = Some(self.uas[trunk].addr);
        trunk
    }

    /// A phone registered for `agent`.
    pub fn add_phone(
        &mut self,
        name: &'static str,
        addr: &str,
        agent: i64,
        behaviour: Behaviour,
    ) -> usize {
        let ua = self.add_ua(name, addr, behaviour);
        let addr = self.uas[ua].addr;
        self.pbx
            .directory
            .contacts
            .entry(AgentId(agent))
            .or_default()
            .push(AgentContact {
                uri: format!("sip:{agent}@{addr}").parse().unwrap(),
                destination: Peer {
                    protocol: self.protocol,
                    addr,
                },
            });
        self.pbx.phones.insert(addr, AgentId(agent));
        ua
    }

    // ------------------------------------------------------------------ user agent actions

    /// `ua` calls `number` at Ringbase: an INVITE with an SDP offer and `extra` headers.
    pub fn call(&mut self, ua: usize, from_number: &str, number: &str, extra: &[(&str, &str)]) {
        let pbx = self.pbx.addr;
        let protocol = self.protocol;
        let u = &mut self.uas[ua];
        let target: Uri = format!("sip:{number}@{pbx}").parse().unwrap();
        let branch = format!("z9hG4bK{}inv{}", u.name, u.next_tag);
        let tag = format!("{}-tag{}", u.name, u.next_tag);
        u.next_tag += 1;
        let mut from = From::new(format!("sip:{from_number}@{}", u.addr).parse().unwrap());
        from.set_tag(&tag);
        let builder = RequestBuilder::new(Method::Invite, target.clone())
            .via(via_for(protocol, u.addr, &branch))
            .from(from)
            .to(To::new(target))
            .call_id(&format!("{}-call{}", u.name, u.next_tag))
            .cseq(1)
            .contact(Contact::new(
                format!("sip:{}@{}", u.name, u.addr).parse().unwrap(),
            ));
        let mut request = if u.late_offer {
            builder.build()
        } else {
            builder
                .body(Bytes::from(u.sdp.clone()), ContentType::sdp())
                .build()
        };
        // Replaces a header the builder wrote (Max-Forwards), else adds it.
        for (name, value) in extra {
            request
                .headers
                .set(sip_proto::HeaderName::new(name), value.to_string());
        }
        let key = u
            .layer
            .send_request(
                self.now,
                request.clone(),
                Peer {
                    protocol,
                    addr: pbx,
                },
            )
            .unwrap();
        u.outgoing = Some((key, request));
    }

    /// An agent's presence changes (the web app's pause button).
    pub fn agent_state(&mut self, agent: i64, state: routing::AgentState) {
        let now = self.now;
        let pbx = &mut self.pbx;
        pbx.b2bua
            .agent_state_changed(now, &mut pbx.layer, &pbx.directory, AgentId(agent), state);
        self.flush();
    }

    /// Click-to-call from the API: ring `agent`'s phone, then call `number`.
    pub fn originate(
        &mut self,
        agent: i64,
        number: &str,
    ) -> Result<sip_b2bua::SessionId, sip_b2bua::OriginateError> {
        let now = self.now;
        let pbx = &mut self.pbx;
        let result =
            pbx.b2bua
                .originate(now, &mut pbx.layer, &pbx.directory, AgentId(agent), number);
        self.flush();
        result
    }

    /// `ua` gives up its ringing call (CANCEL).
    pub fn cancel(&mut self, ua: usize) {
        let now = self.now;
        let u = &mut self.uas[ua];
        let (key, _) = u.outgoing.clone().expect("no call to cancel");
        // Err or None: the call ended or was answered meanwhile.
        let _ = u.layer.cancel(now, &key);
    }

    /// `ua` ends its call whatever state it is in: BYE when connected, else CANCEL.
    pub fn give_up(&mut self, ua: usize) {
        let connected = self.uas[ua]
            .dialog
            .as_ref()
            .is_some_and(|d| d.state == sip_core::dialog::DialogState::Confirmed);
        if connected {
            self.hang_up(ua);
        } else if self.uas[ua].outgoing.is_some() {
            self.cancel(ua);
        }
    }

    /// `ua` hangs up its connected call (BYE).
    pub fn hang_up(&mut self, ua: usize) {
        self.in_dialog(ua, Method::Bye, None);
    }

    /// `ua` asks for a blind transfer of the other party to `target` (REFER).
    pub fn refer(&mut self, ua: usize, target: &str) {
        let now = self.now;
        let pbx = self.pbx.addr;
        let protocol = self.protocol;
        let u = &mut self.uas[ua];
        let branch = format!("z9hG4bK{}ref{}", u.name, u.next_tag);
        u.next_tag += 1;
        let dialog = u.dialog.as_mut().expect("no dialog");
        let mut request = dialog
            .create_request(Method::Refer, via_for(protocol, u.addr, &branch))
            .unwrap();
        request
            .headers
            .push(sip_proto::HeaderName::ReferTo, format!("<{target}>"));
        u.layer
            .send_request(
                now,
                request,
                Peer {
                    protocol,
                    addr: pbx,
                },
            )
            .unwrap();
    }

    /// `ua` sends a request in its dialog (re-INVITE with `sdp` for hold ...).
    pub fn in_dialog(&mut self, ua: usize, method: Method, sdp: Option<&str>) {
        let now = self.now;
        let pbx = self.pbx.addr;
        let protocol = self.protocol;
        let u = &mut self.uas[ua];
        let branch = format!("z9hG4bK{}dlg{}", u.name, u.next_tag);
        u.next_tag += 1;
        let dialog = u.dialog.as_mut().expect("no dialog");
        let mut request = dialog
            .create_request(method, via_for(protocol, u.addr, &branch))
            .unwrap();
        if let Some(sdp) = sdp {
            request.set_body(Bytes::from(sdp.to_owned()), Some(&ContentType::sdp()));
        }
        let cseq = request
            .headers
            .require::<sip_proto::typed::CSeq>()
            .unwrap()
            .seq;
        let is_invite = request.method == Method::Invite;
        let key = u
            .layer
            .send_request(
                now,
                request,
                Peer {
                    protocol,
                    addr: pbx,
                },
            )
            .unwrap();
        if is_invite {
            u.reinvite = Some((key, cseq));
        }
    }

    fn ua_event(&mut self, ua: usize, event: TransactionEvent) {
        let now = self.now;
        let protocol = self.protocol;
        let pbx = Peer {
            protocol,
            addr: self.pbx.addr,
        };
        let u = &mut self.uas[ua];
        match event {
            TransactionEvent::Request { key, request, .. } => {
                let in_dialog = request
                    .headers
                    .typed::<To>()
                    .ok()
                    .flatten()
                    .is_some_and(|t| t.tag().is_some());
                if in_dialog {
                    let mut ok = request.make_response(StatusCode::OK, None);
                    if request.method == Method::Invite {
                        ok.headers.push_typed(&Contact::new(
                            format!("sip:{}@{}", u.name, u.addr).parse().unwrap(),
                        ));
                        ok.set_body(Bytes::from(u.sdp.clone()), Some(&ContentType::sdp()));
                    }
                    if let Some(dialog) = u.dialog.as_mut() {
                        let _ = dialog.on_request(&request);
                    }
                    u.in_dialog.push(request);
                    let _ = u.layer.send_response(now, &key, &ok);
                    return;
                }
                if request.method != Method::Invite {
                    let r = request.make_response(StatusCode::OK, Some("x"));
                    let _ = u.layer.send_response(now, &key, &r);
                    return;
                }
                let tag = format!("{}-tag{}", u.name, u.next_tag);
                u.next_tag += 1;
                if let Some((user, password)) = u.challenge {
                    match check_digest(&request, user, password) {
                        Some(true) => u.authenticated += 1,
                        Some(false) => {
                            let r = request.make_response(StatusCode::FORBIDDEN, Some(&tag));
                            let _ = u.layer.send_response(now, &key, &r);
                            return;
                        }
                        None => {
                            let mut r = request.make_response(
                                StatusCode::PROXY_AUTHENTICATION_REQUIRED,
                                Some(&tag),
                            );
                            r.headers.push(
                                sip_proto::HeaderName::ProxyAuthenticate,
                                format!(
                                    "Digest realm=\"{REALM}\", nonce=\"{NONCE}\", qop=\"auth\", algorithm=MD5"
                                ),
                            );
                            let _ = u.layer.send_response(now, &key, &r);
                            return;
                        }
                    }
                }
                let mut ringing = request.make_response(StatusCode::RINGING, Some(&tag));
                ringing.headers.push_typed(&Contact::new(
                    format!("sip:{}@{}", u.name, u.addr).parse().unwrap(),
                ));
                let _ = u.layer.send_response(now, &key, &ringing);
                u.incoming.push((key.clone(), request, tag, false));
                let behaviour = u.behaviour;
                self.seq += 1;
                match behaviour {
                    Behaviour::AnswerAfter(d) => {
                        self.scheduled
                            .insert((now + d, self.seq), Scheduled::Answer { ua, key });
                    }
                    Behaviour::BusyAfter(d) => {
                        self.scheduled
                            .insert((now + d, self.seq), Scheduled::Busy { ua, key });
                    }
                    Behaviour::RingForever => {}
                }
            }
            TransactionEvent::Cancel {
                key,
                request,
                invite,
                ..
            } => {
                let ok = request.make_response(StatusCode::OK, Some("c"));
                let _ = u.layer.send_response(now, &key, &ok);
                if let Some(invite) = invite {
                    if let Some(entry) = u.incoming.iter_mut().find(|e| e.0 == invite && !e.3) {
                        entry.3 = true;
                        let terminated = entry
                            .1
                            .make_response(StatusCode::REQUEST_TERMINATED, Some(&entry.2));
                        let _ = u.layer.send_response(now, &invite, &terminated);
                    }
                }
            }
            TransactionEvent::Ack { request, .. } => {
                if let Ok(Some(call_id)) = request.headers.typed::<sip_proto::typed::CallId>() {
                    u.acked.push(call_id.0);
                }
            }
            TransactionEvent::Response { key, response } => {
                if let Some((reinvite, cseq)) = u.reinvite.clone() {
                    if reinvite == key && response.status.is_success() {
                        let branch = format!("z9hG4bK{}ack{}", u.name, u.next_tag);
                        u.next_tag += 1;
                        if let Some(dialog) = u.dialog.as_ref() {
                            let ack = dialog.ack_for_2xx(cseq, via_for(protocol, u.addr, &branch));
                            u.layer.send_stateless(pbx, &ack.into());
                        }
                        return;
                    }
                }
                let ours = u.outgoing.as_ref().is_some_and(|(k, _)| *k == key);
                if !ours || !response.status.is_final() {
                    return;
                }
                u.finals.push(response.clone());
                if response.status.is_success() {
                    let (_, invite) = u.outgoing.clone().unwrap();
                    let dialog = Dialog::from_uac(&invite, &response).unwrap();
                    let branch = format!("z9hG4bK{}ack{}", u.name, u.next_tag);
                    u.next_tag += 1;
                    let mut ack = dialog.ack_for_2xx(1, via_for(protocol, u.addr, &branch));
                    if u.late_offer {
                        ack.set_body(Bytes::from(u.sdp.clone()), Some(&ContentType::sdp()));
                    }
                    u.layer.send_stateless(pbx, &ack.into());
                    u.dialog = Some(dialog);
                }
            }
            _ => {}
        }
    }

    fn run_scheduled(&mut self, action: Scheduled) {
        let now = self.now;
        let answer = matches!(action, Scheduled::Answer { .. });
        match action {
            Scheduled::Resend2xx {
                ua,
                key,
                response,
                interval,
                deadline,
            } => {
                let u = &mut self.uas[ua];
                let call_id = response
                    .headers
                    .typed::<sip_proto::typed::CallId>()
                    .ok()
                    .flatten()
                    .map(|c| c.0)
                    .unwrap_or_default();
                if u.acked.contains(&call_id) || now >= deadline {
                    return;
                }
                let _ = u.layer.send_response(now, &key, &response);
                let interval = (interval * 2).min(Duration::from_secs(4));
                self.seq += 1;
                self.scheduled.insert(
                    (now + interval, self.seq),
                    Scheduled::Resend2xx {
                        ua,
                        key,
                        response,
                        interval,
                        deadline,
                    },
                );
            }
            Scheduled::Answer { ua, key } | Scheduled::Busy { ua, key } => {
                let u = &mut self.uas[ua];
                let Some(entry) = u.incoming.iter_mut().find(|e| e.0 == key) else {
                    return;
                };
                if entry.3 {
                    return; // cancelled meanwhile
                }
                entry.3 = true;
                let (request, tag) = (entry.1.clone(), entry.2.clone());
                let contact: Uri = format!("sip:{}@{}", u.name, u.addr).parse().unwrap();
                if answer {
                    let mut ok = request.make_response(StatusCode::OK, Some(&tag));
                    ok.headers.push_typed(&Contact::new(contact.clone()));
                    ok.set_body(Bytes::from(u.sdp.clone()), Some(&ContentType::sdp()));
                    if u.layer.send_response(now, &key, &ok).is_ok() {
                        u.dialog = Dialog::from_uas(&request, &tag, contact, true).ok();
                        self.seq += 1;
                        let half_second = Duration::from_millis(500);
                        self.scheduled.insert(
                            (now + half_second, self.seq),
                            Scheduled::Resend2xx {
                                ua,
                                key,
                                response: Box::new(ok),
                                interval: half_second,
                                deadline: now + Duration::from_secs(32),
                            },
                        );
                    }
                } else {
                    let busy = request.make_response(StatusCode::BUSY_HERE, Some(&tag));
                    let _ = u.layer.send_response(now, &key, &busy);
                }
            }
        }
    }

    // ------------------------------------------------------------------ Ringbase

    fn pbx_drain(&mut self) {
        let now = self.now;
        let pbx = &mut self.pbx;
        loop {
            let mut idle = true;
            while let Some(event) = pbx.layer.poll_event() {
                idle = false;
                let back = pbx
                    .b2bua
                    .handle_event(now, &mut pbx.layer, &pbx.directory, event);
                match back {
                    Some(TransactionEvent::Request { key, request, .. })
                        if request
                            .headers
                            .typed::<To>()
                            .ok()
                            .flatten()
                            .is_some_and(|t| t.tag().is_some()) =>
                    {
                        // In a dialog nobody knows: 481, as a shell does.
                        let r = request.make_response(StatusCode::CALL_DOES_NOT_EXIST, None);
                        let _ = pbx.layer.send_response(now, &key, &r);
                        pbx.unhandled.push(TransactionEvent::Request {
                            key,
                            request,
                            source: Peer::udp(pbx.addr),
                        });
                    }
                    Some(TransactionEvent::Request {
                        key,
                        request,
                        source,
                    }) if request.method == Method::Invite => {
                        let invite = IncomingInvite {
                            key,
                            request,
                            source,
                        };
                        // The shell's vetting: the trunk's address, or a registered phone.
                        match pbx.phones.get(&source.addr) {
                            Some(agent) => {
                                pbx.b2bua.accept_outbound(
                                    now,
                                    &mut pbx.layer,
                                    &pbx.directory,
                                    invite,
                                    *agent,
                                );
                            }
                            None => {
                                pbx.b2bua.accept_inbound(now, &mut pbx.layer, invite);
                            }
                        }
                    }
                    Some(other) => pbx.unhandled.push(other),
                    None => {}
                }
            }
            while let Some(output) = pbx.b2bua.poll_output() {
                idle = false;
                match output {
                    Output::LookupCaller { session, .. } => {
                        let card = pbx.card.clone();
                        pbx.b2bua
                            .caller_card(now, &mut pbx.layer, &pbx.directory, session, card);
                    }
                    Output::CallEnded(record) => pbx.records.push(*record),
                    Output::AgentRinging { session, agent, .. } => {
                        pbx.screen_pops.push((session, agent));
                    }
                    Output::CallAnswered { session, agent } => {
                        pbx.answered.push((session, agent));
                    }
                }
            }
            if idle {
                return;
            }
        }
    }

    fn flush(&mut self) {
        self.pbx_drain();
        for i in 0..self.uas.len() {
            while let Some(e) = self.uas[i].layer.poll_event() {
                self.ua_event(i, e);
            }
        }
        let mut sent = Vec::new();
        while let Some(t) = self.pbx.layer.poll_transmit() {
            sent.push((self.pbx.addr, t));
        }
        for u in &mut self.uas {
            while let Some(t) = u.layer.poll_transmit() {
                sent.push((u.addr, t));
            }
        }
        for (from, t) in sent {
            let d = Datagram {
                sent_at: self.now,
                from,
                to: t.destination.addr,
                payload: t.payload,
            };
            let dropped = self.drop_rule.as_mut().is_some_and(|rule| rule(&d));
            if !dropped {
                self.in_flight
                    .insert((self.now + self.latency, self.log.len()), ());
            }
            self.log.push(d);
        }
    }

    /// Runs the network, the timers and the scripted agents up to and including `until`.
    pub fn run_until(&mut self, until: Instant) {
        loop {
            self.flush();
            let next = [
                self.in_flight.keys().next().map(|(at, _)| *at),
                self.scheduled.keys().next().map(|(at, _)| *at),
                self.pbx.layer.poll_timeout(),
                self.pbx.b2bua.poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .chain(self.uas.iter_mut().filter_map(|u| u.layer.poll_timeout()))
            .min();
            let Some(next) = next.filter(|next| *next <= until) else {
                self.now = until;
                return;
            };
            assert!(next >= self.now, "time went backwards");
            self.now = next;
            while let Some(entry) = self.in_flight.first_entry() {
                if entry.key().0 > self.now {
                    break;
                }
                let (_, index) = *entry.key();
                entry.remove();
                let d = self.log[index].clone();
                let source = Peer {
                    protocol: self.protocol,
                    addr: d.from,
                };
                if d.to == self.pbx.addr {
                    let _ = self.pbx.layer.handle_datagram(self.now, source, &d.payload);
                    self.pbx_drain();
                } else if let Some(u) = self.uas.iter_mut().find(|u| u.addr == d.to) {
                    let _ = u.layer.handle_datagram(self.now, source, &d.payload);
                }
            }
            while let Some(entry) = self.scheduled.first_entry() {
                if entry.key().0 > self.now {
                    break;
                }
                let action = entry.remove();
                self.run_scheduled(action);
            }
            let now = self.now;
            if self.pbx.layer.poll_timeout().is_some_and(|t| t <= now) {
                self.pbx.layer.handle_timeout(now);
            }
            if self.pbx.b2bua.poll_timeout().is_some_and(|t| t <= now) {
                let pbx = &mut self.pbx;
                pbx.b2bua
                    .handle_timeout(now, &mut pbx.layer, &pbx.directory);
            }
            for u in &mut self.uas {
                if u.layer.poll_timeout().is_some_and(|t| t <= now) {
                    u.layer.handle_timeout(now);
                }
            }
        }
    }

    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    // ------------------------------------------------------------------ assertions

    /// Start lines of what Ringbase sent to `ua`, with the send instant in ms, in order.
    pub fn sent_to(&self, ua: usize) -> Vec<(u64, String)> {
        let addr = self.uas[ua].addr;
        self.log
            .iter()
            .filter(|d| d.from == self.pbx.addr && d.to == addr)
            .map(|d| (ms(d.sent_at), d.start_line().to_owned()))
            .collect()
    }

    /// Start lines only (without instants), retransmissions included.
    pub fn lines_to(&self, ua: usize) -> Vec<String> {
        self.sent_to(ua).into_iter().map(|(_, l)| l).collect()
    }

    /// Whether Ringbase sent `ua` a message whose start line begins with `prefix`.
    pub fn got(&self, ua: usize, prefix: &str) -> bool {
        self.lines_to(ua).iter().any(|l| l.starts_with(prefix))
    }

    /// How many messages starting with `prefix` Ringbase sent `ua`.
    pub fn count(&self, ua: usize, prefix: &str) -> usize {
        self.lines_to(ua)
            .iter()
            .filter(|l| l.starts_with(prefix))
            .count()
    }

    /// The first message starting with `prefix` Ringbase sent `ua`.
    pub fn first_to(&self, ua: usize, prefix: &str) -> Message {
        let addr = self.uas[ua].addr;
        self.log
            .iter()
            .find(|d| d.from == self.pbx.addr && d.to == addr && d.start_line().starts_with(prefix))
            .unwrap_or_else(|| {
                panic!(
                    "nothing starting with {prefix:?} sent to {}",
                    self.uas[ua].name
                )
            })
            .message()
    }

    /// The one record; fails if there is none or more than one.
    pub fn the_record(&self) -> &CallRecord {
        assert_eq!(
            self.pbx.records.len(),
            1,
            "expected exactly one record: {:#?}",
            self.pbx.records
        );
        &self.pbx.records[0]
    }

    /// Every call and leg has been cleaned up.
    pub fn assert_idle(&self) {
        assert_eq!(self.pbx.b2bua.active_calls(), 0, "calls left");
        assert_eq!(self.pbx.b2bua.active_legs(), 0, "legs left");
    }
}

const REALM: &str = "carrier.example";
const NONCE: &str = "n0nce";

/// `None` without Proxy-Authorization; otherwise whether its digest answer is right.
fn check_digest(request: &Request, user: &str, password: &str) -> Option<bool> {
    use sip_core::digest::{ha1, response, DigestAlgorithm, Qop};
    use sip_proto::typed::{Credentials, ProxyAuthorization};
    let ProxyAuthorization(credentials) = request.headers.typed().ok()??;
    let Credentials::Digest(d) = credentials else {
        return Some(false);
    };
    let qop = Qop {
        nc: d.nc?,
        cnonce: d.cnonce.as_deref()?,
    };
    let key = ha1(DigestAlgorithm::Md5, user, REALM, password);
    let expected = response(
        DigestAlgorithm::Md5,
        &key,
        NONCE,
        Some(qop),
        "INVITE",
        &d.uri,
    );
    Some(d.username == user && d.nonce == NONCE && d.response == expected)
}

pub fn via(addr: SocketAddr, branch: &str) -> Via {
    via_for(TransportProtocol::Udp, addr, branch)
}

pub fn via_for(protocol: TransportProtocol, addr: SocketAddr, branch: &str) -> Via {
    let host = match addr.ip() {
        std::net::IpAddr::V4(ip) => Host::Ipv4(ip),
        std::net::IpAddr::V6(ip) => Host::Ipv6(ip),
    };
    let mut via = Via::new(protocol.to_via(), host, Some(addr.port()), branch);
    via.params.set("rport", None);
    via
}
