//! Via (RFC 3261 20.42, RFC 3581 rport, RFC 5118 IPv6 received).

use crate::address::Params;
use crate::error::InvalidValue;
use crate::headers::TypedHeader;
use crate::name::HeaderName;
use crate::scan::Scanner;
use crate::uri::Host;
use std::fmt;
use std::net::IpAddr;

/// The transport of a Via hop.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP
    Udp,
    /// TCP
    Tcp,
    /// TLS
    Tls,
    /// SCTP
    Sctp,
    /// WS (RFC 7118)
    Ws,
    /// WSS (RFC 7118)
    Wss,
    /// Any other token, as written.
    Other(String),
}

impl Transport {
    /// Parses a transport token (case-insensitive).
    pub fn parse(s: &str) -> Transport {
        const KNOWN: [(&str, Transport); 6] = [
            ("UDP", Transport::Udp),
            ("TCP", Transport::Tcp),
            ("TLS", Transport::Tls),
            ("SCTP", Transport::Sctp),
            ("WS", Transport::Ws),
            ("WSS", Transport::Wss),
        ];
        KNOWN
            .into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(s))
            .map_or_else(|| Transport::Other(s.to_owned()), |(_, t)| t)
    }

    /// The transport as printed in Via.
    pub fn as_str(&self) -> &str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
            Transport::Sctp => "SCTP",
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
            Transport::Other(s) => s,
        }
    }

    /// Port used when a Via or URI names none (RFC 3261 18.1, 19.1.2).
    pub fn default_port(&self) -> u16 {
        match self {
            Transport::Tls | Transport::Wss => 5061,
            _ => 5060,
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One Via hop (`Via` is a list header: one value per hop, top first).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Via {
    /// Protocol name, `SIP`.
    pub protocol: String,
    /// Protocol version, `2.0`.
    pub version: String,
    /// Transport.
    pub transport: Transport,
    /// sent-by host.
    pub host: Host,
    /// sent-by port, if written.
    pub port: Option<u16>,
    /// Parameters: branch, received, rport, maddr, ttl, others.
    pub params: Params,
}

/// The prefix of RFC 3261 branch ids (17.1.1.3).
pub const BRANCH_MAGIC_COOKIE: &str = "z9hG4bK";

impl Via {
    /// A `SIP/2.0/<transport>` hop with a branch.
    pub fn new(transport: Transport, host: Host, port: Option<u16>, branch: &str) -> Via {
        let mut params = Params::new();
        params.set("branch", Some(branch));
        Via {
            protocol: "SIP".to_owned(),
            version: "2.0".to_owned(),
            transport,
            host,
            port,
            params,
        }
    }

    /// `branch` parameter.
    pub fn branch(&self) -> Option<&str> {
        self.params.get("branch").flatten()
    }

    /// Whether the branch starts with the RFC 3261 magic cookie.
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch()
            .is_some_and(|b| b.starts_with(BRANCH_MAGIC_COOKIE))
    }

    /// `received` parameter as an address; accepts IPv6 with or without brackets (RFC 5118
    /// 4.5, 4.6).
    pub fn received(&self) -> Option<IpAddr> {
        let raw = self.params.get("received").flatten()?;
        let raw = raw
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .unwrap_or(raw);
        raw.parse().ok()
    }

    /// Sets `received` (IPv6 without brackets, per the RFC 3261 grammar).
    pub fn set_received(&mut self, ip: IpAddr) {
        self.params.set("received", Some(&ip.to_string()));
    }

    /// `rport` (RFC 3581): `None` absent, `Some(None)` requested (no value), `Some(Some(p))`
    /// filled in. A value that is not a port reads as `Some(None)`.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params
            .get("rport")
            .map(|v| v.and_then(|p| p.parse().ok()))
    }

    /// Fills in `rport` with the source port.
    pub fn set_rport(&mut self, port: u16) {
        self.params.set("rport", Some(&port.to_string()));
    }

    /// `maddr` parameter.
    pub fn maddr(&self) -> Option<&str> {
        self.params.get("maddr").flatten()
    }

    /// `ttl` parameter, if a number 0-255.
    pub fn ttl(&self) -> Option<u8> {
        self.params
            .get("ttl")
            .flatten()
            .and_then(|v| v.parse().ok())
    }

    /// The sent-by port, or the transport's default.
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or_else(|| self.transport.default_port())
    }
}

fn is_host_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')
}

impl TypedHeader for Via {
    const NAME: HeaderName = HeaderName::Via;
    const LIST: bool = true;

    fn parse(value: &str) -> Result<Self, InvalidValue> {
        let mut sc = Scanner::new(value);
        sc.skip_ws();
        let protocol = sc.token("missing protocol name")?;
        if !sc.eat_sep(b'/') {
            return Err(InvalidValue("missing / after protocol name"));
        }
        let version = sc.token("missing protocol version")?;
        if !sc.eat_sep(b'/') {
            return Err(InvalidValue("missing / after protocol version"));
        }
        let transport = sc.token("missing transport")?;
        if !sc.skip_ws() {
            return Err(InvalidValue("missing space before sent-by"));
        }
        let host = if sc.peek() == Some(b'[') {
            let h = sc.take_while(|b| b != b']');
            sc.expect(b']', "IPv6 reference without ]")?;
            Host::parse(&format!("{h}]"))?
        } else {
            Host::parse(sc.take_while(is_host_char))?
        };
        let port = if sc.eat_sep(b':') {
            let p = sc.take_while(|b| b.is_ascii_digit());
            if p.is_empty() || p.len() > 5 {
                return Err(InvalidValue("invalid sent-by port"));
            }
            Some(
                p.parse()
                    .map_err(|_| InvalidValue("sent-by port out of range"))?,
            )
        } else {
            None
        };
        let params = Params::parse(&mut sc)?;
        sc.skip_ws();
        if !sc.at_end() {
            return Err(InvalidValue("unexpected text in Via"));
        }
        Ok(Via {
            protocol: protocol.to_owned(),
            version: version.to_owned(),
            transport: Transport::parse(transport),
            host,
            port,
            params,
        })
    }

    fn write(&self, out: &mut String) {
        use std::fmt::Write;
        out.push_str(&self.protocol);
        out.push('/');
        out.push_str(&self.version);
        out.push('/');
        out.push_str(self.transport.as_str());
        out.push(' ');
        self.host.write(out);
        if let Some(p) = self.port {
            let _ = write!(out, ":{p}");
        }
        self.params.write(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hop_with_all_parameters() {
        let v = Via::parse(
            "SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bK776asdhds;rport;received=192.0.2.9;maddr=224.2.0.1;ttl=16",
        )
        .unwrap();
        assert_eq!(v.transport, Transport::Udp);
        assert_eq!(v.host, Host::Ipv4([192, 0, 2, 1].into()));
        assert_eq!(v.port, Some(5062));
        assert_eq!(v.branch(), Some("z9hG4bK776asdhds"));
        assert!(v.has_rfc3261_branch());
        assert_eq!(v.rport(), Some(None));
        assert_eq!(v.received(), Some("192.0.2.9".parse().unwrap()));
        assert_eq!(v.maddr(), Some("224.2.0.1"));
        assert_eq!(v.ttl(), Some(16));
    }

    #[test]
    fn whitespace_everywhere_and_ipv6() {
        let v =
            Via::parse("SIP  / 2.0  / TCP     spindle.example.com   ;  branch  =   z9hG4bK9ikj8")
                .unwrap();
        assert_eq!(v.transport, Transport::Tcp);
        assert_eq!(v.branch(), Some("z9hG4bK9ikj8"));
        assert_eq!(
            v.to_value(),
            "SIP/2.0/TCP spindle.example.com;branch=z9hG4bK9ikj8"
        );

        let v = Via::parse(
            "SIP/2.0/UDP [2001:db8::9:1]:6050;received=2001:db8::9:255;branch=z9hG4bKas3",
        )
        .unwrap();
        assert_eq!(v.port, Some(6050));
        assert_eq!(v.received(), Some("2001:db8::9:255".parse().unwrap()));
        let v =
            Via::parse("SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255];branch=z9hG4bKas3")
                .unwrap();
        assert_eq!(v.received(), Some("2001:db8::9:255".parse().unwrap()));
    }

    #[test]
    fn rport_and_received_are_filled_in() {
        let mut v = Via::parse("SIP/2.0/UDP phone.example.com;rport;branch=z9hG4bKx").unwrap();
        v.set_received("203.0.113.7".parse().unwrap());
        v.set_rport(40123);
        assert_eq!(v.rport(), Some(Some(40123)));
        assert_eq!(
            v.to_value(),
            "SIP/2.0/UDP phone.example.com;rport=40123;branch=z9hG4bKx;received=203.0.113.7"
        );
    }

    #[test]
    fn rejects_malformed_hops() {
        for bad in [
            "SIP/2.0/UDP 192.0.2.15;;",
            "SIP/2.0/UDP",
            "SIP/2.0 192.0.2.1",
            "SIP/2.0/UDP 192.0.2.1:99999",
            "SIP/2.0/UDP [2001:db8::1;branch=x",
            "SIP/2.0/UDP host;branch=",
            "SIP/2.0/UDP host junk",
        ] {
            assert!(Via::parse(bad).is_err(), "{bad}");
        }
    }
}
