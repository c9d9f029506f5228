//! A simulated network with a virtual clock for driving [`TransactionLayer`]s.
//!
//! Nodes are transaction layers at socket addresses. Datagrams sent by a node are delivered
//! after a fixed latency unless a drop rule eats them; every datagram is logged with the
//! instant it was sent. Time only moves in [`Sim::run_until`], straight from one deadline
//! (a delivery or a node's timer) to the next, so all times are exact.

#![allow(dead_code, unreachable_pub)]

use sip_core::transaction::{TransactionConfig, TransactionEvent, TransactionLayer};
use sip_core::{Instant, Peer, TransportProtocol};
use sip_proto::bytes::Bytes;
use sip_proto::typed::{CSeq, From, To, Transport, Via};
use sip_proto::{Host, Method, Request, RequestBuilder, Uri};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::time::Duration;

/// Milliseconds since the start, for readable assertions.
pub fn ms(instant: Instant) -> u64 {
    u64::try_from(instant.since_origin().as_millis()).unwrap()
}

pub fn at_ms(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

/// One datagram on the wire.
#[derive(Debug, Clone)]
pub struct Datagram {
    pub sent_at: Instant,
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub payload: Bytes,
    pub dropped: bool,
}

impl Datagram {
    /// The start line: `INVITE sip:... SIP/2.0` or `SIP/2.0 486 Busy Here`.
    pub fn start_line(&self) -> &str {
        let text = std::str::from_utf8(&self.payload).unwrap_or("");
        text.split("\r\n").next().unwrap_or("")
    }

    /// Whether the start line begins with `prefix` (`"INVITE"`, `"SIP/2.0 486"`).
    pub fn is(&self, prefix: &str) -> bool {
        self.start_line().starts_with(prefix)
    }
}

pub struct Node {
    pub name: &'static str,
    pub addr: SocketAddr,
    pub layer: TransactionLayer,
    pub events: Vec<(Instant, TransactionEvent)>,
}

type DropRule = Box<dyn FnMut(&Datagram) -> bool>;

pub struct Sim {
    pub now: Instant,
    pub protocol: TransportProtocol,
    pub latency: Duration,
    pub nodes: Vec<Node>,
    pub log: Vec<Datagram>,
    in_flight: BinaryHeap<Reverse<(Instant, usize)>>,
    drop_rule: Option<DropRule>,
}

impl Sim {
    pub fn new(protocol: TransportProtocol, latency: Duration) -> Sim {
        Sim {
            now: Instant::ZERO,
            protocol,
            latency,
            nodes: Vec::new(),
            log: Vec::new(),
            in_flight: BinaryHeap::new(),
            drop_rule: None,
        }
    }

    pub fn udp() -> Sim {
        Sim::new(TransportProtocol::Udp, Duration::ZERO)
    }

    pub fn tcp() -> Sim {
        Sim::new(TransportProtocol::Tcp, Duration::ZERO)
    }

    pub fn add_node(&mut self, name: &'static str, addr: &str, config: TransactionConfig) -> usize {
        self.nodes.push(Node {
            name,
            addr: addr.parse().unwrap(),
            layer: TransactionLayer::new(config),
            events: Vec::new(),
        });
        self.nodes.len() - 1
    }

    /// Datagrams for which `rule` returns true are lost.
    pub fn drop_when(&mut self, rule: impl FnMut(&Datagram) -> bool + 'static) {
        self.drop_rule = Some(Box::new(rule));
    }

    pub fn deliver_everything(&mut self) {
        self.drop_rule = None;
    }

    pub fn peer(&self, node: usize) -> Peer {
        Peer {
            protocol: self.protocol,
            addr: self.nodes[node].addr,
        }
    }

    pub fn layer(&mut self, node: usize) -> &mut TransactionLayer {
        &mut self.nodes[node].layer
    }

    /// Moves everything the nodes queued onto the wire.
    fn flush(&mut self) {
        for i in 0..self.nodes.len() {
            while let Some(t) = self.nodes[i].layer.poll_transmit() {
                let mut d = Datagram {
                    sent_at: self.now,
                    from: self.nodes[i].addr,
                    to: t.destination.addr,
                    payload: t.payload,
                    dropped: false,
                };
                d.dropped = self.drop_rule.as_mut().is_some_and(|rule| rule(&d));
                if !d.dropped {
                    self.in_flight
                        .push(Reverse((self.now + self.latency, self.log.len())));
                }
                self.log.push(d);
            }
            while let Some(e) = self.nodes[i].layer.poll_event() {
                self.nodes[i].events.push((self.now, e));
            }
        }
    }

    /// Runs the network and the nodes' timers up to and including `until`.
    pub fn run_until(&mut self, until: Instant) {
        loop {
            self.flush();
            let next_delivery = self.in_flight.peek().map(|Reverse((at, _))| *at);
            let next_timer = self
                .nodes
                .iter_mut()
                .filter_map(|n| n.layer.poll_timeout())
                .min();
            let next = match (next_delivery, next_timer) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => {
                        self.now = until;
                        return;
                    }
                },
            };
            if next > until {
                self.now = until;
                return;
            }
            assert!(next >= self.now, "time went backwards");
            self.now = next;
            while let Some(&Reverse((at, index))) = self.in_flight.peek() {
                if at > self.now {
                    break;
                }
                self.in_flight.pop();
                let d = self.log[index].clone();
                let protocol = self.protocol;
                if let Some(node) = self.nodes.iter_mut().find(|n| n.addr == d.to) {
                    let source = Peer {
                        protocol,
                        addr: d.from,
                    };
                    let _ = node.layer.handle_datagram(self.now, source, &d.payload);
                }
            }
            for node in &mut self.nodes {
                if node.layer.poll_timeout().is_some_and(|t| t <= self.now) {
                    node.layer.handle_timeout(self.now);
                }
            }
        }
    }

    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    /// Send instants (ms) of datagrams from `node` whose start line begins with `prefix`.
    pub fn sent_ms(&self, node: usize, prefix: &str) -> Vec<u64> {
        let addr = self.nodes[node].addr;
        self.log
            .iter()
            .filter(|d| d.from == addr && d.is(prefix))
            .map(|d| ms(d.sent_at))
            .collect()
    }

    /// Takes the events `node` has collected so far.
    pub fn take_events(&mut self, node: usize) -> Vec<(Instant, TransactionEvent)> {
        std::mem::take(&mut self.nodes[node].events)
    }
}

/// A request from node `from` to node `to` with a fresh branch.
pub fn request(sim: &Sim, method: Method, from: usize, to: usize, branch: &str) -> Request {
    let from_addr = sim.nodes[from].addr;
    let to_addr = sim.nodes.get(to).map_or(from_addr, |n| n.addr);
    request_to(sim, method, from, to_addr, branch)
}

/// A request from node `from` to any address (a black hole, if no node is there).
pub fn request_to(
    sim: &Sim,
    method: Method,
    from: usize,
    to_addr: SocketAddr,
    branch: &str,
) -> Request {
    let from_addr = sim.nodes[from].addr;
    let target: Uri = format!("sip:bob@{to_addr}").parse().unwrap();
    let mut via = Via::new(
        transport_of(sim.protocol),
        Host::Ipv4(match from_addr.ip() {
            std::net::IpAddr::V4(v4) => v4,
            std::net::IpAddr::V6(_) => unreachable!("tests use IPv4"),
        }),
        Some(from_addr.port()),
        branch,
    );
    via.params.set("rport", None);
    let mut from_header = From::new(format!("sip:alice@{from_addr}").parse().unwrap());
    from_header.set_tag("fromtag1");
    RequestBuilder::new(method, target.clone())
        .via(via)
        .from(from_header)
        .to(To::new(target))
        .call_id(&format!("call-{branch}"))
        .cseq(1)
        .build()
}

fn transport_of(protocol: TransportProtocol) -> Transport {
    protocol.to_via()
}

/// The CSeq method of a message's bytes.
pub fn cseq_method(payload: &[u8]) -> Method {
    let m = sip_proto::parse_message(payload).unwrap();
    m.headers().require::<CSeq>().unwrap().method
}
