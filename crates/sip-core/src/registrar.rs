//! Registrar bindings (RFC 3261 §10.3), sans-IO: which contacts an address of record has,
//! until when, and where each REGISTER came from.

use crate::time::Instant;
use crate::transport::Peer;
use sip_proto::typed::{CSeq, CallId, Contact, Expires, To, UserAgent};
use sip_proto::{Address, HeaderError, HeaderName, Request, Response, StatusCode, Uri};
use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

/// Limits of a [`Registrar`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrarConfig {
    /// Shortest non-zero expiry accepted; shorter ones get 423 with Min-Expires.
    pub min_expires: u32,
    /// Longest expiry granted; longer requests are cut down to it.
    pub max_expires: u32,
    /// Expiry when the request names none.
    pub default_expires: u32,
    /// Most contacts one address of record may have.
    pub max_bindings_per_aor: usize,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        RegistrarConfig {
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            max_bindings_per_aor: 10,
        }
    }
}

/// An address of record in canonical form: `sip:user@host[:port]`, host lower-cased, URI
/// parameters and headers dropped (§10.3 step 5).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Aor(String);

impl Aor {
    /// The canonical AOR of a To URI; `None` for a URI that cannot be registered (not sip
    /// or sips).
    pub fn from_uri(uri: &Uri) -> Option<Aor> {
        let sip = uri.as_sip()?;
        let mut s = String::from(if sip.secure { "sips:" } else { "sip:" });
        if let Some(user) = &sip.user {
            s.push_str(user);
            s.push('@');
        }
        let mut host = String::new();
        sip.host.write(&mut host);
        s.push_str(&host.to_ascii_lowercase());
        if let Some(port) = sip.port {
            s.push_str(&format!(":{port}"));
        }
        Some(Aor(s))
    }

    /// The canonical text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Aor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One contact of an address of record.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// The contact as registered, without its `expires` parameter.
    pub contact: Address,
    /// Call-ID of the REGISTER that last refreshed it.
    pub call_id: String,
    /// CSeq number of that REGISTER.
    pub cseq: u32,
    /// When it lapses.
    pub expires_at: Instant,
    /// `q` preference, if given.
    pub q: Option<f32>,
    /// Where the REGISTER came from: behind NAT this, not the Contact, is where requests
    /// must go (RFC 3581, RFC 5626 flow).
    pub source: Peer,
    /// The phone's User-Agent, for the admin's device list.
    pub user_agent: Option<String>,
    /// When it was first registered.
    pub registered_at: Instant,
}

impl Binding {
    /// Seconds left at `now`, rounded up so a live binding never shows 0.
    pub fn remaining_secs(&self, now: Instant) -> u64 {
        let left = self.expires_at.saturating_duration_since(now);
        left.as_secs() + u64::from(left.subsec_nanos() > 0)
    }
}

/// Why a REGISTER was refused; [`status`](Self::status) says what to answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// Not a REGISTER.
    #[error("not a REGISTER request")]
    NotRegister,
    /// A header the registrar needs is missing or malformed (400).
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// The To URI is not a sip/sips URI (404: no such address of record here).
    #[error("To is not a SIP address of record")]
    NotAnAor,
    /// `Contact: *` with other contacts or a non-zero Expires (400, §10.3 step 6).
    #[error("Contact * needs Expires: 0 and no other contact")]
    BadWildcard,
    /// An expiry below the minimum (423, with Min-Expires).
    #[error("expiry shorter than {min_expires} s")]
    IntervalTooBrief {
        /// The minimum to put into Min-Expires.
        min_expires: u32,
    },
    /// A REGISTER of the same Call-ID with a CSeq not higher than a binding's: out of order
    /// or replayed (§10.3 step 7: the update is aborted; 500).
    #[error("REGISTER out of order (CSeq {cseq} not above {stored})")]
    OutOfOrder {
        /// CSeq of the request.
        cseq: u32,
        /// CSeq stored with the binding.
        stored: u32,
    },
    /// The address of record would have more contacts than allowed (403).
    #[error("more than {max} contacts")]
    TooManyBindings {
        /// The configured maximum.
        max: usize,
    },
}

impl RegisterError {
    /// The status code to answer with.
    pub fn status(&self) -> StatusCode {
        match self {
            RegisterError::NotRegister => StatusCode::METHOD_NOT_ALLOWED,
            RegisterError::Header(_) | RegisterError::BadWildcard => StatusCode::BAD_REQUEST,
            RegisterError::NotAnAor => StatusCode::NOT_FOUND,
            RegisterError::IntervalTooBrief { .. } => StatusCode::INTERVAL_TOO_BRIEF,
            RegisterError::OutOfOrder { .. } => StatusCode::SERVER_INTERNAL_ERROR,
            RegisterError::TooManyBindings { .. } => StatusCode::FORBIDDEN,
        }
    }
}

/// A binding that changed, for the shell to report ("phone online / offline").
#[derive(Debug, Clone, PartialEq)]
pub enum BindingChange {
    /// A new contact.
    Added(Binding),
    /// An existing contact refreshed (new expiry, source or user agent).
    Refreshed(Binding),
    /// A contact removed by the request (expires 0 or `*`).
    Removed(Binding),
}

/// The result of an accepted REGISTER.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    /// The address of record.
    pub aor: Aor,
    /// Its bindings after the request, for the 200 OK.
    pub bindings: Vec<Binding>,
    /// What the request changed (empty for a query).
    pub changes: Vec<BindingChange>,
}

/// The location service: bindings per address of record.
///
/// Driving: [`register`](Self::register) for each authenticated REGISTER (authentication and
/// the domain check are the caller's, §10.3 steps 1-4), then
/// [`response`](Self::response) builds the answer; [`lookup`](Self::lookup) when a call
/// must reach a user; [`remove_expired`](Self::remove_expired) at
/// [`next_expiry`](Self::next_expiry). Time is passed in.
#[derive(Debug, Clone, Default)]
pub struct Registrar {
    config: RegistrarConfig,
    aors: HashMap<Aor, Vec<Binding>>,
}

impl Registrar {
    /// An empty registrar.
    pub fn new(config: RegistrarConfig) -> Registrar {
        Registrar {
            config,
            aors: HashMap::new(),
        }
    }

    /// The limits in use.
    pub fn config(&self) -> &RegistrarConfig {
        &self.config
    }

    /// Applies a REGISTER received from `source` (§10.3 steps 5-8). All or nothing: a refused
    /// request leaves every binding as it was.
    pub fn register(
        &mut self,
        now: Instant,
        request: &Request,
        source: Peer,
    ) -> Result<Registration, RegisterError> {
        if request.method != sip_proto::Method::Register {
            return Err(RegisterError::NotRegister);
        }
        let to = request.headers.require::<To>()?;
        let aor = Aor::from_uri(to.uri()).ok_or(RegisterError::NotAnAor)?;
        let CallId(call_id) = request.headers.require::<CallId>()?;
        let cseq = request.headers.require::<CSeq>()?.seq;
        let header_expires = request.headers.typed::<Expires>()?.map(|Expires(e)| e);
        let contacts = request.headers.typed_all::<Contact>()?;
        let user_agent = request
            .headers
            .typed::<UserAgent>()
            .ok()
            .flatten()
            .map(|UserAgent(ua)| ua);

        let current = self.aors.get(&aor).cloned().unwrap_or_default();
        let mut bindings = current.clone();
        let mut changes = Vec::new();

        if contacts.iter().any(|c| matches!(c, Contact::Wildcard)) {
            if contacts.len() != 1 || header_expires != Some(0) {
                return Err(RegisterError::BadWildcard);
            }
            for b in &bindings {
                check_order(b, &call_id, cseq)?;
            }
            changes.extend(bindings.drain(..).map(BindingChange::Removed));
        } else {
            // Check every contact before touching anything (423 names no partial success).
            let mut wanted = Vec::with_capacity(contacts.len());
            for contact in &contacts {
                let Contact::Address(address) = contact else {
                    continue;
                };
                let asked = contact
                    .expires()
                    .or(header_expires)
                    .unwrap_or(self.config.default_expires);
                if asked > 0 && asked < self.config.min_expires {
                    return Err(RegisterError::IntervalTooBrief {
                        min_expires: self.config.min_expires,
                    });
                }
                let mut address = address.clone();
                address.params.remove("expires");
                wanted.push((address, asked.min(self.config.max_expires), contact.q()));
            }
            for (address, expires, q) in wanted {
                let existing = bindings
                    .iter()
                    .position(|b| uri_equivalent(b.contact.uri(), address.uri()));
                if let Some(i) = existing {
                    check_order(&bindings[i], &call_id, cseq)?;
                }
                match (existing, expires) {
                    (Some(i), 0) => changes.push(BindingChange::Removed(bindings.remove(i))),
                    (None, 0) => {}
                    (Some(i), e) => {
                        let b = &mut bindings[i];
                        b.contact = address;
                        b.call_id = call_id.clone();
                        b.cseq = cseq;
                        b.expires_at = now + Duration::from_secs(u64::from(e));
                        b.q = q;
                        b.source = source;
                        b.user_agent = user_agent.clone();
                        changes.push(BindingChange::Refreshed(b.clone()));
                    }
                    (None, e) => {
                        let b = Binding {
                            contact: address,
                            call_id: call_id.clone(),
                            cseq,
                            expires_at: now + Duration::from_secs(u64::from(e)),
                            q,
                            source,
                            user_agent: user_agent.clone(),
                            registered_at: now,
                        };
                        bindings.push(b.clone());
                        changes.push(BindingChange::Added(b));
                    }
                }
            }
        }
        // Expired bindings the sweep has not reached yet neither count nor show.
        bindings.retain(|b| b.expires_at > now);
        if bindings.len() > self.config.max_bindings_per_aor
            && bindings.len() > current.iter().filter(|b| b.expires_at > now).count()
        {
            return Err(RegisterError::TooManyBindings {
                max: self.config.max_bindings_per_aor,
            });
        }
        if bindings.is_empty() {
            self.aors.remove(&aor);
        } else {
            self.aors.insert(aor.clone(), bindings.clone());
        }
        sort_by_preference(&mut bindings);
        Ok(Registration {
            aor,
            bindings,
            changes,
        })
    }

    /// The answer to a REGISTER: 200 OK listing every current binding with its remaining
    /// `expires` (§10.3 step 8), or the error's status (423 with Min-Expires).
    pub fn response(
        &self,
        now: Instant,
        request: &Request,
        result: &Result<Registration, RegisterError>,
        to_tag: &str,
    ) -> Response {
        match result {
            Ok(registration) => {
                let mut r = request.make_response(StatusCode::OK, Some(to_tag));
                for b in &registration.bindings {
                    let mut contact = b.contact.clone();
                    contact
                        .params
                        .set("expires", Some(&b.remaining_secs(now).to_string()));
                    r.headers.push_typed(&Contact::Address(contact));
                }
                r
            }
            Err(e) => {
                let mut r = request.make_response(e.status(), Some(to_tag));
                if let RegisterError::IntervalTooBrief { min_expires } = e {
                    r.headers
                        .push(HeaderName::MinExpires, min_expires.to_string());
                }
                r
            }
        }
    }

    /// The live bindings of an address of record, most preferred (highest q) first.
    pub fn lookup(&self, now: Instant, aor: &Aor) -> Vec<Binding> {
        let mut live: Vec<Binding> = self
            .aors
            .get(aor)
            .map(|bs| bs.iter().filter(|b| b.expires_at > now).cloned().collect())
            .unwrap_or_default();
        sort_by_preference(&mut live);
        live
    }

    /// Removes every binding that has lapsed at `now` and returns them.
    pub fn remove_expired(&mut self, now: Instant) -> Vec<(Aor, Binding)> {
        let mut removed = Vec::new();
        self.aors.retain(|aor, bindings| {
            bindings.retain(|b| {
                let live = b.expires_at > now;
                if !live {
                    removed.push((aor.clone(), b.clone()));
                }
                live
            });
            !bindings.is_empty()
        });
        removed.sort_by(|a, b| a.0.cmp(&b.0));
        removed
    }

    /// The earliest expiry of any binding: when to call
    /// [`remove_expired`](Self::remove_expired) next.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.aors.values().flatten().map(|b| b.expires_at).min()
    }

    /// Number of addresses of record with at least one binding (expired ones included until
    /// swept).
    pub fn aor_count(&self) -> usize {
        self.aors.len()
    }
}

/// §10.3 step 7: same Call-ID needs a higher CSeq; another Call-ID (the phone restarted)
/// always wins.
fn check_order(binding: &Binding, call_id: &str, cseq: u32) -> Result<(), RegisterError> {
    if binding.call_id == call_id && cseq <= binding.cseq {
        return Err(RegisterError::OutOfOrder {
            cseq,
            stored: binding.cseq,
        });
    }
    Ok(())
}

/// Highest q first; no q counts as 1.0 (RFC 3261 §16.6); then the newest registration.
fn sort_by_preference(bindings: &mut [Binding]) {
    bindings.sort_by(|a, b| {
        let (qa, qb) = (a.q.unwrap_or(1.0), b.q.unwrap_or(1.0));
        qb.total_cmp(&qa)
            .then(b.registered_at.cmp(&a.registered_at))
    });
}

/// URI equivalence of RFC 3261 §19.1.4, for contacts: scheme, user and password exact, host
/// case-insensitive, port as written; `user`, `ttl`, `method`, `maddr` and `transport` must
/// agree when either side has them; other parameters only when both have them.
pub(crate) fn uri_equivalent(a: &Uri, b: &Uri) -> bool {
    let (Some(a), Some(b)) = (a.as_sip(), b.as_sip()) else {
        return a.to_string() == b.to_string();
    };
    let host_eq = match (&a.host, &b.host) {
        (sip_proto::Host::Domain(x), sip_proto::Host::Domain(y)) => x.eq_ignore_ascii_case(y),
        (x, y) => x == y,
    };
    if a.secure != b.secure
        || a.user_decoded() != b.user_decoded()
        || a.password != b.password
        || !host_eq
        || a.port != b.port
    {
        return false;
    }
    let param_eq = |x: Option<&str>, y: Option<&str>| match (x, y) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
        (None, None) => true,
        _ => false,
    };
    for name in ["user", "ttl", "method", "maddr", "transport"] {
        match (a.param(name), b.param(name)) {
            (None, None) => {}
            (Some(x), Some(y)) if param_eq(x, y) => {}
            _ => return false,
        }
    }
    a.params.iter().all(|p| match b.param(&p.name) {
        Some(v) => param_eq(p.value.as_deref(), v),
        None => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    #[test]
    fn uri_equivalence_follows_rfc3261_19_1_4() {
        assert!(uri_equivalent(
            &uri("sip:%61lice@ATLANTA.com;transport=TCP"),
            &uri("sip:alice@AtLanTa.CoM;Transport=tcp")
        ));
        assert!(uri_equivalent(
            &uri("sip:carol@chicago.com;security=on"),
            &uri("sip:carol@chicago.com;newparam=5")
        ));
        assert!(!uri_equivalent(
            &uri("sip:ALICE@AtLanTa.CoM;Transport=udp"),
            &uri("sip:alice@AtLanTa.CoM;Transport=UDP")
        ));
        assert!(!uri_equivalent(
            &uri("sip:bob@biloxi.com"),
            &uri("sip:bob@biloxi.com:5060")
        ));
        assert!(!uri_equivalent(
            &uri("sip:bob@biloxi.com"),
            &uri("sip:bob@biloxi.com;transport=udp")
        ));
        assert!(!uri_equivalent(
            &uri("sip:carol@chicago.com;security=on"),
            &uri("sip:carol@chicago.com;security=off")
        ));
    }

    #[test]
    fn aor_is_canonical() {
        let a = Aor::from_uri(&uri("sip:101@PBX.Example.com;transport=tcp")).unwrap();
        assert_eq!(a.as_str(), "sip:101@pbx.example.com");
        assert_eq!(Aor::from_uri(&uri("tel:+4930123")), None);
    }
}
