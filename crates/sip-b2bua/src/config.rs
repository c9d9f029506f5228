//! [`B2buaConfig`]: who the B2BUA is on the wire and how it reads an inbound call.

use chrono::{DateTime, Utc};
use std::net::SocketAddr;
use std::time::Duration;

/// The default [`B2buaConfig::max_call_duration`]: a working day.
pub const DEFAULT_MAX_CALL_DURATION: Duration = Duration::from_secs(8 * 3600);

/// The default [`B2buaConfig::keepalive_interval`].
pub const DEFAULT_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(60);

/// Where the number a caller dialed is read from, tried in the configured order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DialedNumberSource {
    /// The user part of the first (most recent) Diversion entry: the company number a
    /// carrier forwarded from.
    Diversion,
    /// The user part of the To URI.
    To,
    /// The user part of the Request-URI (what the trunk sends us).
    RequestUri,
}

/// Settings of one B2BUA.
#[derive(Debug, Clone)]
pub struct B2buaConfig {
    /// The address we advertise in Via and Contact (the shell's public listening address).
    pub advertised: SocketAddr,
    /// The host of the From URIs of calls we place (`sip:+4930...@<domain>`).
    pub domain: String,
    /// Where the dialed number of an inbound call comes from, first usable wins.
    pub dialed_number_from: Vec<DialedNumberSource>,
    /// The wall-clock time of [`sip_core::Instant::ZERO`]: the routing engine decides working
    /// hours on wall time, SIP timers run on instants; both derive from the one `now`.
    pub wall_clock_origin: DateTime<Utc>,
    /// Makes our tags, Call-IDs and branches unique across restarts and nodes. The crate has
    /// no randomness of its own (it must stay deterministic under test), so the shell passes
    /// a random value here.
    pub instance: String,
    /// A connected call is hung up (BYE both ways) after this long: without session timers
    /// (RFC 4028) a BYE lost for good would otherwise keep the call, and its agent busy,
    /// forever. `None` disables it.
    pub max_call_duration: Option<Duration>,
    /// A connected call's two sides each get an in-dialog OPTIONS this often. A side that
    /// answers 481 (it knows no such call) or 408, or not at all within 64*T1, is gone
    /// without a BYE (a caller's network dropped, a phone lost power): the call is hung up
    /// and logged, and its agent is free again, instead of waiting for
    /// [`max_call_duration`](Self::max_call_duration). Any other answer (200, 405, 501 ...)
    /// means the side is there. Session timers (RFC 4028) would do this by negotiation; this
    /// works with every peer, as Kamailio's and OpenSIPS's dialog keepalives do. `None`
    /// disables it.
    pub keepalive_interval: Option<Duration>,
}

impl B2buaConfig {
    /// Defaults: dialed number from Diversion, then To, then the Request-URI.
    pub fn new(advertised: SocketAddr, domain: &str, wall_clock_origin: DateTime<Utc>) -> Self {
        B2buaConfig {
            advertised,
            domain: domain.to_owned(),
            dialed_number_from: vec![
                DialedNumberSource::Diversion,
                DialedNumberSource::To,
                DialedNumberSource::RequestUri,
            ],
            wall_clock_origin,
            instance: "rb".to_owned(),
            max_call_duration: Some(DEFAULT_MAX_CALL_DURATION),
            keepalive_interval: Some(DEFAULT_KEEPALIVE_INTERVAL),
        }
    }
}
