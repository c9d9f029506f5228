//! URIs: `sip:`/`sips:` (RFC 3261 19.1), `tel:` (RFC 3966), and any other scheme kept as an
//! opaque absolute URI so a server can answer 416 instead of failing to parse.
//!
//! Parts are kept as written, escapes included, so a URI prints back exactly; decode on demand
//! with [`SipUri::user_decoded`] or [`percent_decode`](crate::percent_decode).

use crate::error::InvalidValue;
use crate::scan::{is_escaped_text, is_unreserved, percent_decode};
use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A URI as found in a request line or a header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Uri {
    /// `sip:` or `sips:`
    Sip(SipUri),
    /// `tel:`
    Tel(TelUri),
    /// Any other scheme (`http:`, `urn:`, `soap.beep:` ...), not interpreted.
    Other(AbsoluteUri),
}

impl Uri {
    /// Parses a complete URI. Whitespace is not allowed anywhere.
    pub fn parse(s: &str) -> Result<Uri, InvalidValue> {
        let colon = s.find(':').ok_or(InvalidValue("URI without scheme"))?;
        let scheme = &s[..colon];
        if scheme.eq_ignore_ascii_case("sip") {
            SipUri::parse_after_scheme(false, &s[colon + 1..]).map(Uri::Sip)
        } else if scheme.eq_ignore_ascii_case("sips") {
            SipUri::parse_after_scheme(true, &s[colon + 1..]).map(Uri::Sip)
        } else if scheme.eq_ignore_ascii_case("tel") {
            TelUri::parse_after_scheme(&s[colon + 1..]).map(Uri::Tel)
        } else {
            AbsoluteUri::parse(s).map(Uri::Other)
        }
    }

    /// The scheme in lower case for sip/sips/tel, as written otherwise.
    pub fn scheme(&self) -> &str {
        match self {
            Uri::Sip(u) if u.secure => "sips",
            Uri::Sip(_) => "sip",
            Uri::Tel(_) => "tel",
            Uri::Other(u) => &u.scheme,
        }
    }

    /// The SIP URI, if this is one.
    pub fn as_sip(&self) -> Option<&SipUri> {
        match self {
            Uri::Sip(u) => Some(u),
            _ => None,
        }
    }

    /// The tel URI, if this is one.
    pub fn as_tel(&self) -> Option<&TelUri> {
        match self {
            Uri::Tel(u) => Some(u),
            _ => None,
        }
    }

    /// Writes the URI.
    pub fn write(&self, out: &mut String) {
        match self {
            Uri::Sip(u) => u.write(out),
            Uri::Tel(u) => u.write(out),
            Uri::Other(u) => {
                out.push_str(&u.scheme);
                out.push(':');
                out.push_str(&u.rest);
            }
        }
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.write(&mut s);
        f.write_str(&s)
    }
}

impl std::str::FromStr for Uri {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uri::parse(s)
    }
}

impl From<SipUri> for Uri {
    fn from(u: SipUri) -> Self {
        Uri::Sip(u)
    }
}

/// The host part of a SIP URI or Via.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A domain name, as written.
    Domain(String),
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 reference (`[...]` on the wire).
    Ipv6(Ipv6Addr),
}

impl Host {
    /// Parses `host` of RFC 3261: hostname, IPv4address or `[IPv6address]`.
    pub fn parse(s: &str) -> Result<Host, InvalidValue> {
        if let Some(inner) = s.strip_prefix('[') {
            let inner = inner
                .strip_suffix(']')
                .ok_or(InvalidValue("IPv6 reference without ]"))?;
            return inner
                .parse::<Ipv6Addr>()
                .map(Host::Ipv6)
                .map_err(|_| InvalidValue("invalid IPv6 address"));
        }
        if s.is_empty() {
            return Err(InvalidValue("empty host"));
        }
        if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return s
                .parse::<Ipv4Addr>()
                .map(Host::Ipv4)
                .map_err(|_| InvalidValue("invalid IPv4 address"));
        }
        // hostname = *(domainlabel ".") toplabel ["."]; underscores are tolerated because
        // real deployments use them in host names.
        let valid = s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
            && s.as_bytes()[0].is_ascii_alphanumeric()
            && !s.contains("..");
        if valid {
            Ok(Host::Domain(s.to_owned()))
        } else {
            Err(InvalidValue("invalid host name"))
        }
    }

    /// The IP address, if the host is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::Domain(_) => None,
            Host::Ipv4(a) => Some(IpAddr::V4(*a)),
            Host::Ipv6(a) => Some(IpAddr::V6(*a)),
        }
    }

    /// Writes the host (IPv6 in brackets).
    pub fn write(&self, out: &mut String) {
        use std::fmt::Write;
        match self {
            Host::Domain(d) => out.push_str(d),
            Host::Ipv4(a) => {
                let _ = write!(out, "{a}");
            }
            Host::Ipv6(a) => {
                let _ = write!(out, "[{a}]");
            }
        }
    }
}

impl From<IpAddr> for Host {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(a) => Host::Ipv4(a),
            IpAddr::V6(a) => Host::Ipv6(a),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.write(&mut s);
        f.write_str(&s)
    }
}

/// One `;name[=value]` URI parameter, escapes kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UriParam {
    /// Name as written.
    pub name: String,
    /// Value as written, if any.
    pub value: Option<String>,
}

/// One `name=value` URI header (after `?`), escapes kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UriHeader {
    /// Name as written.
    pub name: String,
    /// Value as written (may be empty).
    pub value: String,
}

/// A `sip:` or `sips:` URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SipUri {
    /// `sips:` rather than `sip:`.
    pub secure: bool,
    /// The user part, escapes kept.
    pub user: Option<String>,
    /// The password, escapes kept (its use is deprecated, but it must parse).
    pub password: Option<String>,
    /// The host.
    pub host: Host,
    /// The port, if written.
    pub port: Option<u16>,
    /// URI parameters in order.
    pub params: Vec<UriParam>,
    /// URI headers in order.
    pub headers: Vec<UriHeader>,
}

fn is_user_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/')
}

fn is_password_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'&' | b'=' | b'+' | b'$' | b',')
}

fn is_param_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$')
}

fn is_hnv_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'[' | b']' | b'/' | b'?' | b':' | b'+' | b'$')
}

impl SipUri {
    /// A `sip:` URI with just a host.
    pub fn new(host: Host) -> Self {
        SipUri {
            secure: false,
            user: None,
            password: None,
            host,
            port: None,
            params: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Parses `sip:...` or `sips:...`.
    pub fn parse(s: &str) -> Result<SipUri, InvalidValue> {
        match Uri::parse(s)? {
            Uri::Sip(u) => Ok(u),
            _ => Err(InvalidValue("not a sip or sips URI")),
        }
    }

    fn parse_after_scheme(secure: bool, s: &str) -> Result<SipUri, InvalidValue> {
        // Neither user nor password may hold an unescaped '@', and nothing after the host may
        // either, so the first '@' ends the userinfo.
        let (user, password, rest) = match s.find('@') {
            Some(at) => {
                let userinfo = &s[..at];
                let (user, password) = match userinfo.find(':') {
                    Some(c) => (&userinfo[..c], Some(&userinfo[c + 1..])),
                    None => (userinfo, None),
                };
                if user.is_empty() || !is_escaped_text(user, is_user_char) {
                    return Err(InvalidValue("invalid user part"));
                }
                if let Some(p) = password {
                    if !is_escaped_text(p, is_password_char) {
                        return Err(InvalidValue("invalid password"));
                    }
                }
                (
                    Some(user.to_owned()),
                    password.map(str::to_owned),
                    &s[at + 1..],
                )
            }
            None => (None, None, s),
        };

        let host_end = if rest.starts_with('[') {
            rest.find(']')
                .map(|i| i + 1)
                .ok_or(InvalidValue("IPv6 reference without ]"))?
        } else {
            rest.find([':', ';', '?']).unwrap_or(rest.len())
        };
        let host = Host::parse(&rest[..host_end])?;
        let mut rest = &rest[host_end..];

        let mut port = None;
        if let Some(r) = rest.strip_prefix(':') {
            let end = r.find([';', '?']).unwrap_or(r.len());
            port = Some(parse_port(&r[..end])?);
            rest = &r[end..];
        } else if !rest.is_empty() && !rest.starts_with([';', '?']) {
            return Err(InvalidValue("unexpected character after host"));
        }

        let (params_part, headers_part) = match rest.find('?') {
            Some(q) => (&rest[..q], Some(&rest[q + 1..])),
            None => (rest, None),
        };
        let params = parse_uri_params(params_part)?;
        let mut headers = Vec::new();
        if let Some(h) = headers_part {
            for pair in h.split('&') {
                let (name, value) = pair
                    .split_once('=')
                    .ok_or(InvalidValue("URI header without ="))?;
                if name.is_empty()
                    || !is_escaped_text(name, is_hnv_char)
                    || !is_escaped_text(value, is_hnv_char)
                {
                    return Err(InvalidValue("invalid URI header"));
                }
                headers.push(UriHeader {
                    name: name.to_owned(),
                    value: value.to_owned(),
                });
            }
        }
        Ok(SipUri {
            secure,
            user,
            password,
            host,
            port,
            params,
            headers,
        })
    }

    /// The user part with escapes decoded (bytes: `%00` is legal).
    pub fn user_decoded(&self) -> Option<Cow<'_, [u8]>> {
        self.user.as_deref().map(percent_decode)
    }

    /// The value of a URI parameter: `None` if absent, `Some(None)` if present without value.
    /// Names compare case-insensitively, after decoding escapes.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|p| param_name_eq(&p.name, name))
            .map(|p| p.value.as_deref())
    }

    /// `transport=` parameter.
    pub fn transport(&self) -> Option<&str> {
        self.param("transport").flatten()
    }

    /// `user=` parameter (`phone`, `ip`).
    pub fn user_param(&self) -> Option<&str> {
        self.param("user").flatten()
    }

    /// `lr` parameter present (loose routing, RFC 3261 16.12).
    pub fn lr(&self) -> bool {
        self.param("lr").is_some()
    }

    /// `maddr=` parameter.
    pub fn maddr(&self) -> Option<&str> {
        self.param("maddr").flatten()
    }

    /// `ttl=` parameter, if a number 0-255.
    pub fn ttl(&self) -> Option<u8> {
        self.param("ttl").flatten().and_then(|v| v.parse().ok())
    }

    /// `method=` parameter.
    pub fn method_param(&self) -> Option<&str> {
        self.param("method").flatten()
    }

    /// Sets a parameter, replacing an existing one of the same name.
    pub fn set_param(&mut self, name: &str, value: Option<&str>) {
        let value = value.map(str::to_owned);
        match self
            .params
            .iter_mut()
            .find(|p| param_name_eq(&p.name, name))
        {
            Some(p) => p.value = value,
            None => self.params.push(UriParam {
                name: name.to_owned(),
                value,
            }),
        }
    }

    /// Writes the URI.
    pub fn write(&self, out: &mut String) {
        use std::fmt::Write;
        out.push_str(if self.secure { "sips:" } else { "sip:" });
        if let Some(user) = &self.user {
            out.push_str(user);
            if let Some(p) = &self.password {
                out.push(':');
                out.push_str(p);
            }
            out.push('@');
        }
        self.host.write(out);
        if let Some(port) = self.port {
            let _ = write!(out, ":{port}");
        }
        write_uri_params(out, &self.params);
        for (i, h) in self.headers.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(&h.name);
            out.push('=');
            out.push_str(&h.value);
        }
    }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.write(&mut s);
        f.write_str(&s)
    }
}

fn param_name_eq(written: &str, wanted: &str) -> bool {
    if written.contains('%') {
        percent_decode(written).eq_ignore_ascii_case(wanted.as_bytes())
    } else {
        written.eq_ignore_ascii_case(wanted)
    }
}

fn parse_port(s: &str) -> Result<u16, InvalidValue> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InvalidValue("invalid port"));
    }
    s.parse().map_err(|_| InvalidValue("port out of range"))
}

/// Parses `;a=b;c` (the part after the host, or after a tel number).
fn parse_uri_params(s: &str) -> Result<Vec<UriParam>, InvalidValue> {
    let mut params = Vec::new();
    if s.is_empty() {
        return Ok(params);
    }
    let s = s
        .strip_prefix(';')
        .ok_or(InvalidValue("URI parameters must start with ;"))?;
    for p in s.split(';') {
        let (name, value) = match p.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (p, None),
        };
        if name.is_empty() || !is_escaped_text(name, is_param_char) {
            return Err(InvalidValue("invalid URI parameter name"));
        }
        if let Some(v) = value {
            if v.is_empty() || !is_escaped_text(v, is_param_char) {
                return Err(InvalidValue("invalid URI parameter value"));
            }
        }
        params.push(UriParam {
            name: name.to_owned(),
            value: value.map(str::to_owned),
        });
    }
    Ok(params)
}

fn write_uri_params(out: &mut String, params: &[UriParam]) {
    for p in params {
        out.push(';');
        out.push_str(&p.name);
        if let Some(v) = &p.value {
            out.push('=');
            out.push_str(v);
        }
    }
}

/// A `tel:` URI (RFC 3966): the number as written and its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TelUri {
    /// `+4930123456` or a local number such as `7042`, visual separators kept.
    pub number: String,
    /// Parameters such as `phone-context`, in order.
    pub params: Vec<UriParam>,
}

impl TelUri {
    fn parse_after_scheme(s: &str) -> Result<TelUri, InvalidValue> {
        let end = s.find(';').unwrap_or(s.len());
        let number = &s[..end];
        let digits = number.strip_prefix('+').unwrap_or(number);
        let valid = !digits.is_empty()
            && digits.bytes().all(|b| {
                b.is_ascii_hexdigit()
                    || matches!(
                        b,
                        b'-' | b'.' | b'(' | b')' | b'*' | b'#' | b'p' | b'w' | b'P' | b'W'
                    )
            });
        if !valid {
            return Err(InvalidValue("invalid telephone number"));
        }
        Ok(TelUri {
            number: number.to_owned(),
            params: parse_uri_params(&s[end..])?,
        })
    }

    /// Whether the number is global (starts with `+`).
    pub fn is_global(&self) -> bool {
        self.number.starts_with('+')
    }

    /// The value of a parameter: `None` if absent, `Some(None)` if present without value.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|p| param_name_eq(&p.name, name))
            .map(|p| p.value.as_deref())
    }

    /// Writes the URI.
    pub fn write(&self, out: &mut String) {
        out.push_str("tel:");
        out.push_str(&self.number);
        write_uri_params(out, &self.params);
    }
}

/// A URI of a scheme this crate does not interpret.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AbsoluteUri {
    /// The scheme as written.
    pub scheme: String,
    /// Everything after the first colon.
    pub rest: String,
}

impl AbsoluteUri {
    fn parse(s: &str) -> Result<AbsoluteUri, InvalidValue> {
        let (scheme, rest) = s
            .split_once(':')
            .ok_or(InvalidValue("URI without scheme"))?;
        let scheme_ok = scheme
            .as_bytes()
            .first()
            .is_some_and(u8::is_ascii_alphabetic)
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if !scheme_ok {
            return Err(InvalidValue("invalid URI scheme"));
        }
        // Opaque part: visible ASCII except the delimiters that end a URI in SIP text.
        let rest_ok = !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"'));
        if !rest_ok {
            return Err(InvalidValue("invalid absolute URI"));
        }
        Ok(AbsoluteUri {
            scheme: scheme.to_owned(),
            rest: rest.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sip(s: &str) -> SipUri {
        SipUri::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_all_parts() {
        let u = sip("sips:alice:secret@Example.COM:5061;transport=tcp;lr;maddr=239.1.1.1;ttl=15;method=INVITE?subject=hi&priority=urgent");
        assert!(u.secure);
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.password.as_deref(), Some("secret"));
        assert_eq!(u.host, Host::Domain("Example.COM".into()));
        assert_eq!(u.port, Some(5061));
        assert_eq!(u.transport(), Some("tcp"));
        assert!(u.lr());
        assert_eq!(u.maddr(), Some("239.1.1.1"));
        assert_eq!(u.ttl(), Some(15));
        assert_eq!(u.method_param(), Some("INVITE"));
        assert_eq!(u.headers.len(), 2);
        assert_eq!(u.headers[1].value, "urgent");
        assert_eq!(
            u.to_string(),
            "sips:alice:secret@Example.COM:5061;transport=tcp;lr;maddr=239.1.1.1;ttl=15;method=INVITE?subject=hi&priority=urgent"
        );
    }

    #[test]
    fn hosts() {
        assert_eq!(sip("sip:192.0.2.1").host, Host::Ipv4([192, 0, 2, 1].into()));
        assert_eq!(
            sip("sip:[2001:db8::10]:5070").host,
            Host::Ipv6("2001:db8::10".parse().unwrap())
        );
        assert_eq!(sip("sip:[2001:db8::10]:5070").port, Some(5070));
        // RFC 5118 4.4: the "port" inside the brackets is part of the address.
        assert_eq!(sip("sip:[2001:db8::10:5070]").port, None);
        assert!(
            SipUri::parse("sip:2001:db8::10").is_err(),
            "IPv6 without brackets"
        );
        assert!(
            SipUri::parse("sip:[2001:db8:::192.0.2.1]").is_err(),
            "three colons"
        );
        assert!(SipUri::parse("sip:host:99999").is_err());
        assert!(SipUri::parse("sip:256.1.1.1").is_err());
        assert!(SipUri::parse("sip:").is_err());
        assert!(SipUri::parse("sip:a b").is_err());
    }

    #[test]
    fn escapes_are_kept_and_decoded_on_demand() {
        let u = sip("sip:sips%3Auser%40example.com@example.net");
        assert_eq!(u.user.as_deref(), Some("sips%3Auser%40example.com"));
        assert_eq!(
            u.user_decoded().as_deref(),
            Some(&b"sips:user@example.com"[..])
        );
        let c = sip("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31");
        assert!(c.lr(), "escaped parameter name still means lr");
        assert!(SipUri::parse("sip:us%zzer@host").is_err());
    }

    #[test]
    fn unusual_user_and_password() {
        let u = sip("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com");
        assert_eq!(
            u.user.as_deref(),
            Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        );
        assert_eq!(
            u.password.as_deref(),
            Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
        );
        let semi = sip("sip:user;par=u%40example.net@example.com");
        assert_eq!(semi.user.as_deref(), Some("user;par=u%40example.net"));
        assert!(semi.params.is_empty());
    }

    #[test]
    fn other_schemes() {
        assert_eq!(
            Uri::parse("tel:+1-201-555-0123;phone-context=example.com").map(|u| u.to_string()),
            Ok("tel:+1-201-555-0123;phone-context=example.com".to_owned())
        );
        let u = Uri::parse("soap.beep://192.0.2.103:3002").unwrap();
        assert_eq!(u.scheme(), "soap.beep");
        assert_eq!(u.to_string(), "soap.beep://192.0.2.103:3002");
        assert!(Uri::parse("nobodyKnowsThisScheme:totallyopaquecontent").is_ok());
        assert!(Uri::parse("<sip:a@b>").is_err());
        assert!(Uri::parse("tel:").is_err());
        assert!(Uri::parse("1abc:x").is_err());
    }
}
