//! Authentication headers (RFC 3261 20.7, 20.27, 20.28, 20.44; digest per RFC 2617 / RFC 8760):
//! WWW-Authenticate and Proxy-Authenticate carry a [`Challenge`], Authorization and
//! Proxy-Authorization carry [`Credentials`].

use crate::error::InvalidValue;
use crate::headers::TypedHeader;
use crate::name::HeaderName;
use crate::scan::{unquote, write_quoted, Scanner};
use std::fmt;

/// A digest algorithm.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5` (the default when absent)
    Md5,
    /// `MD5-sess`
    Md5Sess,
    /// `SHA-256` (RFC 8760)
    Sha256,
    /// `SHA-256-sess`
    Sha256Sess,
    /// `SHA-512-256`
    Sha512_256,
    /// `SHA-512-256-sess`
    Sha512_256Sess,
    /// Anything else, as written.
    Other(String),
}

impl Algorithm {
    /// Parses an algorithm token (case-insensitive).
    pub fn parse(s: &str) -> Algorithm {
        const KNOWN: [(&str, Algorithm); 6] = [
            ("MD5", Algorithm::Md5),
            ("MD5-sess", Algorithm::Md5Sess),
            ("SHA-256", Algorithm::Sha256),
            ("SHA-256-sess", Algorithm::Sha256Sess),
            ("SHA-512-256", Algorithm::Sha512_256),
            ("SHA-512-256-sess", Algorithm::Sha512_256Sess),
        ];
        KNOWN
            .into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(s))
            .map_or_else(|| Algorithm::Other(s.to_owned()), |(_, a)| a)
    }

    /// The token as printed.
    pub fn as_str(&self) -> &str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
            Algorithm::Sha512_256 => "SHA-512-256",
            Algorithm::Sha512_256Sess => "SHA-512-256-sess",
            Algorithm::Other(s) => s,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An auth parameter not interpreted by this crate, kept with its quoting.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuthParam {
    /// Name as written.
    pub name: String,
    /// Value without quotes and escapes.
    pub value: String,
    /// Whether it was (and will be printed as) a quoted string.
    pub quoted: bool,
}

/// The canonical spelling of a digest parameter name compared case-insensitively, or "" for
/// names this crate does not interpret (saves lower-casing every name).
fn lower_name(name: &str) -> &'static str {
    const NAMES: [&str; 12] = [
        "realm",
        "domain",
        "nonce",
        "opaque",
        "stale",
        "algorithm",
        "qop",
        "username",
        "uri",
        "response",
        "cnonce",
        "nc",
    ];
    NAMES
        .into_iter()
        .find(|n| n.eq_ignore_ascii_case(name))
        .unwrap_or("")
}

/// Parses `scheme [LWS param *(COMMA param)]` into the scheme and its parameters.
fn parse_scheme_params(value: &str) -> Result<(&str, Vec<AuthParam>), InvalidValue> {
    let mut sc = Scanner::new(value);
    sc.skip_ws();
    let scheme = sc.token("missing auth scheme")?;
    let mut params = Vec::new();
    sc.skip_ws();
    if sc.at_end() {
        return Ok((scheme, params));
    }
    loop {
        let name = sc.token("invalid auth parameter name")?;
        if !sc.eat_sep(b'=') {
            return Err(InvalidValue("auth parameter without ="));
        }
        let (value, quoted) = if sc.peek() == Some(b'"') {
            (unquote(sc.quoted_raw()?).into_owned(), true)
        } else {
            (sc.token("invalid auth parameter value")?.to_owned(), false)
        };
        params.push(AuthParam {
            name: name.to_owned(),
            value,
            quoted,
        });
        if !sc.eat_sep(b',') {
            break;
        }
    }
    sc.skip_ws();
    if !sc.at_end() {
        return Err(InvalidValue("unexpected text after auth parameters"));
    }
    Ok((scheme, params))
}

fn write_params(out: &mut String, params: &[AuthParam], first: &mut bool) {
    for p in params {
        write_sep(out, first);
        out.push_str(&p.name);
        out.push('=');
        if p.quoted {
            write_quoted(out, &p.value);
        } else {
            out.push_str(&p.value);
        }
    }
}

fn write_sep(out: &mut String, first: &mut bool) {
    out.push_str(if *first { " " } else { ", " });
    *first = false;
}

fn write_q(out: &mut String, first: &mut bool, name: &str, value: &str) {
    write_sep(out, first);
    out.push_str(name);
    out.push('=');
    write_quoted(out, value);
}

fn write_t(out: &mut String, first: &mut bool, name: &str, value: &str) {
    write_sep(out, first);
    out.push_str(name);
    out.push('=');
    out.push_str(value);
}

/// A digest challenge (WWW-Authenticate / Proxy-Authenticate: Digest ...).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DigestChallenge {
    /// `realm`
    pub realm: String,
    /// `domain`
    pub domain: Option<String>,
    /// `nonce`
    pub nonce: String,
    /// `opaque`
    pub opaque: Option<String>,
    /// `stale=true`: the credentials were right but the nonce expired (retry silently).
    pub stale: bool,
    /// `algorithm` (absent means MD5).
    pub algorithm: Option<Algorithm>,
    /// `qop` options, e.g. `["auth"]`.
    pub qop: Vec<String>,
    /// Other parameters.
    pub other: Vec<AuthParam>,
}

/// A challenge: digest, or another scheme kept as parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Challenge {
    /// `Digest ...`
    Digest(DigestChallenge),
    /// Another scheme.
    Other {
        /// Scheme token.
        scheme: String,
        /// Its parameters.
        params: Vec<AuthParam>,
    },
}

impl Challenge {
    /// Parses a challenge value.
    pub fn parse(value: &str) -> Result<Challenge, InvalidValue> {
        let (scheme, params) = parse_scheme_params(value)?;
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Ok(Challenge::Other {
                scheme: scheme.to_owned(),
                params,
            });
        }
        let (mut realm, mut domain, mut nonce, mut opaque) = (None, None, None, None);
        let (mut stale, mut algorithm, mut qop, mut other) = (false, None, Vec::new(), Vec::new());
        for p in params {
            match lower_name(&p.name) {
                "realm" => realm = Some(p.value),
                "domain" => domain = Some(p.value),
                "nonce" => nonce = Some(p.value),
                "opaque" => opaque = Some(p.value),
                "stale" => stale = p.value.eq_ignore_ascii_case("true"),
                "algorithm" => algorithm = Some(Algorithm::parse(&p.value)),
                "qop" => {
                    qop = p
                        .value
                        .split(',')
                        .map(|q| q.trim().to_owned())
                        .filter(|q| !q.is_empty())
                        .collect()
                }
                _ => other.push(p),
            }
        }
        Ok(Challenge::Digest(DigestChallenge {
            realm: realm.ok_or(InvalidValue("digest challenge without realm"))?,
            domain,
            nonce: nonce.ok_or(InvalidValue("digest challenge without nonce"))?,
            opaque,
            stale,
            algorithm,
            qop,
            other,
        }))
    }

    /// The digest challenge, if this is one.
    pub fn as_digest(&self) -> Option<&DigestChallenge> {
        match self {
            Challenge::Digest(d) => Some(d),
            Challenge::Other { .. } => None,
        }
    }

    /// Writes the challenge.
    pub fn write(&self, out: &mut String) {
        let mut first = true;
        match self {
            Challenge::Digest(d) => {
                out.push_str("Digest");
                write_q(out, &mut first, "realm", &d.realm);
                if let Some(v) = &d.domain {
                    write_q(out, &mut first, "domain", v);
                }
                write_q(out, &mut first, "nonce", &d.nonce);
                if let Some(v) = &d.opaque {
                    write_q(out, &mut first, "opaque", v);
                }
                if d.stale {
                    write_t(out, &mut first, "stale", "true");
                }
                if let Some(a) = &d.algorithm {
                    write_t(out, &mut first, "algorithm", a.as_str());
                }
                if !d.qop.is_empty() {
                    write_q(out, &mut first, "qop", &d.qop.join(","));
                }
                write_params(out, &d.other, &mut first);
            }
            Challenge::Other { scheme, params } => {
                out.push_str(scheme);
                write_params(out, params, &mut first);
            }
        }
    }
}

/// Digest credentials (Authorization / Proxy-Authorization: Digest ...).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DigestCredentials {
    /// `username`
    pub username: String,
    /// `realm`
    pub realm: String,
    /// `nonce`
    pub nonce: String,
    /// `uri` (digest-uri)
    pub uri: String,
    /// `response` (hex digest)
    pub response: String,
    /// `algorithm`
    pub algorithm: Option<Algorithm>,
    /// `cnonce`
    pub cnonce: Option<String>,
    /// `opaque`
    pub opaque: Option<String>,
    /// `qop` chosen (`auth`)
    pub qop: Option<String>,
    /// `nc` nonce count (8 hex digits on the wire)
    pub nc: Option<u32>,
    /// Other parameters.
    pub other: Vec<AuthParam>,
}

/// Credentials: digest, or another scheme kept as parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Credentials {
    /// `Digest ...`
    Digest(DigestCredentials),
    /// Another scheme (RFC 4475 `regaut01`: answer 401, do not fail to parse).
    Other {
        /// Scheme token.
        scheme: String,
        /// Its parameters.
        params: Vec<AuthParam>,
    },
}

impl Credentials {
    /// Parses a credentials value.
    pub fn parse(value: &str) -> Result<Credentials, InvalidValue> {
        let (scheme, params) = parse_scheme_params(value)?;
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Ok(Credentials::Other {
                scheme: scheme.to_owned(),
                params,
            });
        }
        let (mut username, mut realm, mut nonce, mut uri, mut response) =
            (None, None, None, None, None);
        let (mut algorithm, mut cnonce, mut opaque, mut qop, mut nc) =
            (None, None, None, None, None);
        let mut other = Vec::new();
        for p in params {
            match lower_name(&p.name) {
                "username" => username = Some(p.value),
                "realm" => realm = Some(p.value),
                "nonce" => nonce = Some(p.value),
                "uri" => uri = Some(p.value),
                "response" => response = Some(p.value),
                "algorithm" => algorithm = Some(Algorithm::parse(&p.value)),
                "cnonce" => cnonce = Some(p.value),
                "opaque" => opaque = Some(p.value),
                "qop" => qop = Some(p.value),
                "nc" => {
                    if p.value.len() != 8 {
                        return Err(InvalidValue("nc must be 8 hex digits"));
                    }
                    nc = Some(
                        u32::from_str_radix(&p.value, 16)
                            .map_err(|_| InvalidValue("nc must be 8 hex digits"))?,
                    )
                }
                _ => other.push(p),
            }
        }
        let missing = InvalidValue("digest credentials lack a required parameter");
        Ok(Credentials::Digest(DigestCredentials {
            username: username.ok_or(missing)?,
            realm: realm.ok_or(missing)?,
            nonce: nonce.ok_or(missing)?,
            uri: uri.ok_or(missing)?,
            response: response.ok_or(missing)?,
            algorithm,
            cnonce,
            opaque,
            qop,
            nc,
            other,
        }))
    }

    /// The digest credentials, if these are.
    pub fn as_digest(&self) -> Option<&DigestCredentials> {
        match self {
            Credentials::Digest(d) => Some(d),
            Credentials::Other { .. } => None,
        }
    }

    /// Writes the credentials.
    pub fn write(&self, out: &mut String) {
        let mut first = true;
        match self {
            Credentials::Digest(d) => {
                out.push_str("Digest");
                write_q(out, &mut first, "username", &d.username);
                write_q(out, &mut first, "realm", &d.realm);
                write_q(out, &mut first, "nonce", &d.nonce);
                write_q(out, &mut first, "uri", &d.uri);
                write_q(out, &mut first, "response", &d.response);
                if let Some(a) = &d.algorithm {
                    write_t(out, &mut first, "algorithm", a.as_str());
                }
                if let Some(v) = &d.cnonce {
                    write_q(out, &mut first, "cnonce", v);
                }
                if let Some(v) = &d.opaque {
                    write_q(out, &mut first, "opaque", v);
                }
                if let Some(v) = &d.qop {
                    write_t(out, &mut first, "qop", v);
                }
                if let Some(v) = d.nc {
                    write_t(out, &mut first, "nc", &format!("{v:08x}"));
                }
                write_params(out, &d.other, &mut first);
            }
            Credentials::Other { scheme, params } => {
                out.push_str(scheme);
                write_params(out, params, &mut first);
            }
        }
    }
}

macro_rules! auth_header {
    ($(#[$doc:meta])* $ty:ident, $inner:ident, $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $ty(pub $inner);

        impl TypedHeader for $ty {
            const NAME: HeaderName = HeaderName::$name;

            fn parse(value: &str) -> Result<Self, InvalidValue> {
                $inner::parse(value).map($ty)
            }

            fn write(&self, out: &mut String) {
                self.0.write(out)
            }
        }
    };
}

auth_header!(
    /// `WWW-Authenticate` (401).
    WwwAuthenticate, Challenge, WwwAuthenticate
);
auth_header!(
    /// `Proxy-Authenticate` (407).
    ProxyAuthenticate, Challenge, ProxyAuthenticate
);
auth_header!(
    /// `Authorization`.
    Authorization, Credentials, Authorization
);
auth_header!(
    /// `Proxy-Authorization`.
    ProxyAuthorization, Credentials, ProxyAuthorization
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_challenge_round_trip() {
        let h = WwwAuthenticate::parse(
            r#"Digest realm="ringbase", nonce="ab12", opaque="x y", algorithm=SHA-256, qop="auth,auth-int", stale=TRUE"#,
        )
        .unwrap();
        let d = h.0.as_digest().unwrap();
        assert_eq!(d.realm, "ringbase");
        assert_eq!(d.algorithm, Some(Algorithm::Sha256));
        assert_eq!(d.qop, vec!["auth", "auth-int"]);
        assert!(d.stale);
        assert_eq!(
            h.to_value(),
            r#"Digest realm="ringbase", nonce="ab12", opaque="x y", stale=true, algorithm=SHA-256, qop="auth,auth-int""#
        );
        assert_eq!(WwwAuthenticate::parse(&h.to_value()), Ok(h));
        assert!(WwwAuthenticate::parse(r#"Digest nonce="x""#).is_err());
    }

    #[test]
    fn digest_credentials() {
        let a = Authorization::parse(
            r#"Digest username="bob", realm="biloxi.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="sip:bob@biloxi.com", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41", algorithm="MD5""#,
        )
        .unwrap();
        let d = a.0.as_digest().unwrap();
        assert_eq!(d.username, "bob");
        assert_eq!(d.nc, Some(1));
        assert_eq!(d.qop.as_deref(), Some("auth"));
        assert_eq!(d.algorithm, Some(Algorithm::Md5));
        assert_eq!(Authorization::parse(&a.to_value()), Ok(a));
        assert!(Authorization::parse(r#"Digest username="bob""#).is_err());
        assert!(Authorization::parse(r#"Digest username="bob", nc=1"#).is_err());
    }

    #[test]
    fn unknown_scheme_is_kept() {
        let a = Authorization::parse("NoOneKnowsThisScheme opaque-data=here").unwrap();
        assert_eq!(
            a.0,
            Credentials::Other {
                scheme: "NoOneKnowsThisScheme".into(),
                params: vec![AuthParam {
                    name: "opaque-data".into(),
                    value: "here".into(),
                    quoted: false
                }]
            }
        );
        assert_eq!(a.to_value(), "NoOneKnowsThisScheme opaque-data=here");
    }
}
