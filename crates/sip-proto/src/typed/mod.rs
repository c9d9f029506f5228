//! Typed headers. Each type implements [`TypedHeader`]: read it with
//! [`Headers::typed`](crate::Headers::typed) / [`typed_all`](crate::Headers::typed_all), write
//! it with [`Headers::push_typed`](crate::Headers::push_typed).

mod addr;
mod auth;
mod via;

pub use addr::{Contact, Diversion, From, PAssertedIdentity, RecordRoute, ReferTo, Route, To};
pub use auth::{
    Algorithm, AuthParam, Authorization, Challenge, Credentials, DigestChallenge,
    DigestCredentials, ProxyAuthenticate, ProxyAuthorization, WwwAuthenticate,
};
pub use via::{Transport, Via, BRANCH_MAGIC_COOKIE};

use crate::address::Params;
use crate::error::InvalidValue;
use crate::headers::TypedHeader;
use crate::method::Method;
use crate::name::HeaderName;
use crate::scan::{is_token, is_word_char, Scanner};

fn trim(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// `delta-seconds`: digits; values beyond 2**32-1 are read as 2**32-1 (RFC 3261 20.19 /
/// RFC 4475 `scalar02`).
pub(crate) fn parse_delta_seconds(s: &str) -> Result<u32, InvalidValue> {
    let s = trim(s);
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InvalidValue("not a number of seconds"));
    }
    Ok(s.parse::<u32>().unwrap_or(u32::MAX))
}

/// Digits that must fit `max`.
fn parse_bounded(s: &str, max: u64, too_big: &'static str) -> Result<u64, InvalidValue> {
    let s = trim(s);
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InvalidValue("not a number"));
    }
    let mut n: u64 = 0;
    for b in s.bytes() {
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .filter(|n| *n <= max)
            .ok_or(InvalidValue(too_big))?;
    }
    Ok(n)
}

/// `Call-ID`: `word ["@" word]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallId(pub String);

impl TypedHeader for CallId {
    const NAME: HeaderName = HeaderName::CallId;

    fn parse(value: &str) -> Result<Self, InvalidValue> {
        let v = trim(value);
        let mut words = v.splitn(2, '@');
        let ok = words.all(|w| !w.is_empty() && w.bytes().all(is_word_char));
        if ok {
            Ok(CallId(v.to_owned()))
        } else {
            Err(InvalidValue("not a Call-ID"))
        }
    }

    fn write(&self, out: &mut String) {
        out.push_str(&self.0);
    }
}

/// `CSeq`: sequence number (fits 32 bits) and method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CSeq {
    /// The number.
    pub seq: u32,
    /// The method.
    pub method: Method,
}

impl TypedHeader for CSeq {
    const NAME: HeaderName = HeaderName::CSeq;

    fn parse(value: &str) -> Result<Self, InvalidValue> {
        let mut sc = Scanner::new(value);
        sc.skip_ws();
        let digits = sc.take_while(|b| b.is_ascii_digit());
        let seq = parse_bounded(digits, u64::from(u32::MAX), "number larger than 2**32-1")?;
        if !sc.skip_ws() {
            return Err(InvalidValue("missing method"));
        }
        let method = Method::parse(sc.token("missing method")?)?;
        sc.skip_ws();
        if !sc.at_end() {
            return Err(InvalidValue("unexpected text after method"));
        }
        Ok(CSeq {
            seq: u32::try_from(seq).map_err(|_| InvalidValue("number larger than 2**32-1"))?,
            method,
        })
    }

    fn write(&self, out: &mut String) {
        out.push_str(&self.seq.to_string());
        out.push(' ');
        out.push_str(self.method.as_str());
    }
}

/// `Max-Forwards` (0-255). Absent means 70 for a request a UAC builds (RFC 3261 8.1.1.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MaxForwards(pub u8);

impl MaxForwards {
    /// The value a server assumes when the header is absent.
    pub const DEFAULT: MaxForwards = MaxForwards(70);
}

impl TypedHeader for MaxForwards {
    const NAME: HeaderName = HeaderName::MaxForwards;

    fn parse(value: &str) -> Result<Self, InvalidValue> {
        let n = parse_bounded(value, 255, "larger than 255")?;
        Ok(MaxForwards(u8::try_from(n).unwrap_or(u8::MAX)))
    }

    fn write(&self, out: &mut String) {
        out.push_str(&self.0.to_string());
    }
}

/// `Expires` in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Expires(pub u32);

impl TypedHeader for Expires {
    const NAME: HeaderName = HeaderName::Expires;

    fn parse(value: &str) -> Result<Self, InvalidValue> {
        parse_delta_seconds(value).map(Expires)
    }

    fn write(&self, out: &mut String) {
        out.push_str(&self.0.to_string());
    }
}

/// `Content-Length` in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentLength(pub u32);

impl TypedHeader for ContentLength {
    const NAME: HeaderName = HeaderName::ContentLength;

    fn parse(value: &str) -> Result<Self, InvalidValue> {
        let n = parse_bounded(value, u64::from(u32::MAX), "too large")?;
        Ok(ContentLength(u32::try_from(n).unwrap_or(u32::MAX)))
    }

    fn write(&self, out: &mut String) {
        out.push_str(&self.0.to_string());
    }
}

/// `Content-Type`: `type/subtype;params`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContentType {
    /// Top-level type (`application`).
    pub media_type: String,
    /// Subtype (`sdp`).
    pub subtype: String,
    /// Parameters (`charset`, `boundary` ...).
    pub params: Params,
}

impl ContentType {
    /// `type/subtype` without parameters.
    pub fn new(media_type: &str, subtype: &str) -> Self {
        ContentType {
            media_type: media_type.to_owned(),
            subtype: subtype.to_owned(),
            params: Params::new(),
        }
    }

    /// `application/sdp`.
    pub fn sdp() -> Self {
        ContentType::new("application", "sdp")
    }

    /// Whether this is `type/subtype` (case-insensitive).
    pub fn is(&self, media_type: &str, subtype: &str) -> bool {
        self.media_type.eq_ignore_ascii_case(media_type)
            && self.subtype.eq_ignore_ascii_case(subtype)
    }
}

impl TypedHeader for ContentType {
    const NAME: HeaderName = HeaderName::ContentType;

    fn parse(value: &str) -> Result<Self, InvalidValue> {
        let mut sc = Scanner::new(value);
        sc.skip_ws();
        let media_type = sc.token("missing media type")?;
        if !sc.eat_sep(b'/') {
            return Err(InvalidValue("missing / in media type"));
        }
        let subtype = sc.token("missing media subtype")?;
        let params = Params::parse(&mut sc)?;
        sc.skip_ws();
        if !sc.at_end() {
            return Err(InvalidValue("unexpected text after media type"));
        }
        Ok(ContentType {
            media_type: media_type.to_owned(),
            subtype: subtype.to_owned(),
            params,
        })
    }

    fn write(&self, out: &mut String) {
        out.push_str(&self.media_type);
        out.push('/');
        out.push_str(&self.subtype);
        self.params.write(out);
    }
}

/// One method of `Allow` (list header).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Allow(pub Method);

impl TypedHeader for Allow {
    const NAME: HeaderName = HeaderName::Allow;
    const LIST: bool = true;

    fn parse(value: &str) -> Result<Self, InvalidValue> {
        Method::parse(trim(value)).map(Allow)
    }

    fn write(&self, out: &mut String) {
        out.push_str(self.0.as_str());
    }
}

macro_rules! option_tag_header {
    ($(#[$doc:meta])* $ty:ident, $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $ty(pub String);

        impl TypedHeader for $ty {
            const NAME: HeaderName = HeaderName::$name;
            const LIST: bool = true;

            fn parse(value: &str) -> Result<Self, InvalidValue> {
                let v = trim(value);
                if is_token(v) {
                    Ok($ty(v.to_owned()))
                } else {
                    Err(InvalidValue("option tag is not a token"))
                }
            }

            fn write(&self, out: &mut String) {
                out.push_str(&self.0);
            }
        }
    };
}

option_tag_header!(
    /// One option tag of `Supported` (list header).
    Supported, Supported
);
option_tag_header!(
    /// One option tag of `Require` (list header).
    Require, Require
);
option_tag_header!(
    /// One option tag of `Proxy-Require` (list header).
    ProxyRequire, ProxyRequire
);
option_tag_header!(
    /// One option tag of `Unsupported` (list header; in 420 responses).
    Unsupported, Unsupported
);

/// `Event` (RFC 6665): package and parameters (`id`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Event {
    /// Event package, e.g. `refer`, `presence`, `dialog`.
    pub package: String,
    /// Parameters.
    pub params: Params,
}

impl Event {
    /// `id` parameter.
    pub fn id(&self) -> Option<&str> {
        self.params.get("id").flatten()
    }
}

impl TypedHeader for Event {
    const NAME: HeaderName = HeaderName::Event;

    fn parse(value: &str) -> Result<Self, InvalidValue> {
        let mut sc = Scanner::new(value);
        sc.skip_ws();
        let package = sc.token("missing event package")?;
        let params = Params::parse(&mut sc)?;
        sc.skip_ws();
        if !sc.at_end() {
            return Err(InvalidValue("unexpected text after event"));
        }
        Ok(Event {
            package: package.to_owned(),
            params,
        })
    }

    fn write(&self, out: &mut String) {
        out.push_str(&self.package);
        self.params.write(out);
    }
}

/// `Replaces` (RFC 3891): the dialog to replace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Replaces {
    /// Call-ID of the dialog.
    pub call_id: String,
    /// Parameters: `to-tag`, `from-tag`, `early-only`.
    pub params: Params,
}

impl Replaces {
    /// `to-tag`
    pub fn to_tag(&self) -> Option<&str> {
        self.params.get("to-tag").flatten()
    }

    /// `from-tag`
    pub fn from_tag(&self) -> Option<&str> {
        self.params.get("from-tag").flatten()
    }

    /// `early-only` present.
    pub fn early_only(&self) -> bool {
        self.params.contains("early-only")
    }
}

impl TypedHeader for Replaces {
    const NAME: HeaderName = HeaderName::Replaces;

    fn parse(value: &str) -> Result<Self, InvalidValue> {
        let mut sc = Scanner::new(value);
        sc.skip_ws();
        let call_id = sc.take_while(|b| is_word_char(b) || b == b'@');
        CallId::parse(call_id)?;
        let params = Params::parse(&mut sc)?;
        sc.skip_ws();
        if !sc.at_end() {
            return Err(InvalidValue("unexpected text in Replaces"));
        }
        let r = Replaces {
            call_id: call_id.to_owned(),
            params,
        };
        if r.to_tag().is_none() || r.from_tag().is_none() {
            return Err(InvalidValue("Replaces needs to-tag and from-tag"));
        }
        Ok(r)
    }

    fn write(&self, out: &mut String) {
        out.push_str(&self.call_id);
        self.params.write(out);
    }
}

macro_rules! text_header {
    ($(#[$doc:meta])* $ty:ident, $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $ty(pub String);

        impl TypedHeader for $ty {
            const NAME: HeaderName = HeaderName::$name;

            fn parse(value: &str) -> Result<Self, InvalidValue> {
                let v = trim(value);
                if v.is_empty() {
                    Err(InvalidValue("empty"))
                } else {
                    Ok($ty(v.to_owned()))
                }
            }

            fn write(&self, out: &mut String) {
                out.push_str(&self.0);
            }
        }
    };
}

text_header!(
    /// `User-Agent` (product tokens and comments, kept as text).
    UserAgent, UserAgent
);
text_header!(
    /// `Server` (product tokens and comments, kept as text).
    Server, Server
);

/// `Privacy` (RFC 3323): `id`, `user`, `header`, `session`, `none`, `critical` ...
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Privacy(pub Vec<String>);

impl Privacy {
    /// Whether a value is present (case-insensitive).
    pub fn contains(&self, value: &str) -> bool {
        self.0.iter().any(|v| v.eq_ignore_ascii_case(value))
    }
}

impl TypedHeader for Privacy {
    const NAME: HeaderName = HeaderName::Privacy;

    fn parse(value: &str) -> Result<Self, InvalidValue> {
        let values: Vec<String> = value.split(';').map(|v| trim(v).to_owned()).collect();
        if values.iter().all(|v| is_token(v)) {
            Ok(Privacy(values))
        } else {
            Err(InvalidValue("privacy value is not a token"))
        }
    }

    fn write(&self, out: &mut String) {
        out.push_str(&self.0.join(";"));
    }
}

/// Whether `value` is an RFC 1123 date in GMT as SIP requires (RFC 3261 20.17):
/// `Sat, 13 Nov 2010 23:29:00 GMT`.
pub fn is_valid_sip_date(value: &str) -> bool {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts: Vec<&str> = trim(value)
        .split([' ', '\t'])
        .filter(|p| !p.is_empty())
        .collect();
    let [day_name, day, month, year, time, zone] = parts.as_slice() else {
        return false;
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let time_ok = {
        let t: Vec<&str> = time.split(':').collect();
        t.len() == 3 && t.iter().all(|p| digits(p, 2))
    };
    day_name
        .strip_suffix(',')
        .is_some_and(|d| DAYS.contains(&d))
        && digits(day, 2)
        && MONTHS.contains(month)
        && digits(year, 4)
        && time_ok
        && *zone == "GMT"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cseq() {
        assert_eq!(
            CSeq::parse("0009\t INVITE"),
            Ok(CSeq {
                seq: 9,
                method: Method::Invite
            })
        );
        assert_eq!(
            CSeq::parse("4294967295 OPTIONS").map(|c| c.seq),
            Ok(u32::MAX)
        );
        assert!(CSeq::parse("4294967296 OPTIONS").is_err());
        assert!(CSeq::parse("36893488147419103232 REGISTER").is_err());
        assert!(CSeq::parse("INVITE").is_err());
        assert!(CSeq::parse("1").is_err());
        assert!(CSeq::parse("1 INVITE x").is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(MaxForwards::parse("0068"), Ok(MaxForwards(68)));
        assert!(MaxForwards::parse("300").is_err());
        assert!(MaxForwards::parse("-1").is_err());
        assert_eq!(
            Expires::parse("10000000000000000000000000000000000000000"),
            Ok(Expires(u32::MAX))
        );
        assert!(ContentLength::parse("-999").is_err());
        assert!(ContentLength::parse("99999999999").is_err());
        assert_eq!(ContentLength::parse(" 150 "), Ok(ContentLength(150)));
    }

    #[test]
    fn call_id() {
        assert!(CallId::parse("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{").is_ok());
        assert!(CallId::parse("").is_err());
        assert!(CallId::parse("a b").is_err());
        assert!(CallId::parse("a@b@c").is_err());
    }

    #[test]
    fn content_type_event_replaces_privacy() {
        let c = ContentType::parse("multipart/mixed;boundary=7a9cbec02ceef655").unwrap();
        assert!(c.is("MULTIPART", "mixed"));
        assert_eq!(c.params.get("boundary"), Some(Some("7a9cbec02ceef655")));
        let e = Event::parse("refer;id=93809824").unwrap();
        assert_eq!(e.id(), Some("93809824"));
        let r =
            Replaces::parse("98732@sip.example.com;from-tag=r33th4x0r;to-tag=ff87ff;early-only")
                .unwrap();
        assert_eq!(r.to_tag(), Some("ff87ff"));
        assert!(r.early_only());
        assert!(Replaces::parse("98732@sip.example.com").is_err());
        let p = Privacy::parse("id; user").unwrap();
        assert!(p.contains("ID"));
        assert_eq!(p.to_value(), "id;user");
    }

    #[test]
    fn dates() {
        assert!(is_valid_sip_date("Sat, 15 Oct 2005 04:44:56 GMT"));
        assert!(!is_valid_sip_date("Fri, 01 Jan 2010 16:00:00 EST"));
        assert!(!is_valid_sip_date("yesterday"));
    }
}
