//! [`DigestServer`]: challenges and verifies digest credentials without per-client state.

use super::replay::ReplayGuard;
use super::{constant_time_eq, ha1, response, DigestAlgorithm, Qop};
use crate::time::Instant;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use sip_proto::typed::{
    Authorization, Challenge, Credentials, DigestChallenge, DigestCredentials, ProxyAuthenticate,
    ProxyAuthorization, WwwAuthenticate,
};
use sip_proto::{Request, Response, StatusCode};
use std::time::Duration;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of HMAC kept in a nonce: 128 bits is beyond guessing within a nonce's lifetime.
const NONCE_MAC_LEN: usize = 16;
const NONCE_LEN: usize = 8 + 8 + NONCE_MAC_LEN;

/// Settings of a [`DigestServer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestServerConfig {
    /// The realm, usually the SIP domain.
    pub realm: String,
    /// The HMAC key that signs nonces. Keep it secret and the same across restarts (and
    /// across cluster nodes) so nonces stay valid; at least 32 random bytes.
    pub secret: Vec<u8>,
    /// How long a nonce is accepted; after that a correct answer gets `stale=true`.
    pub nonce_lifetime: Duration,
    /// The algorithms offered, one challenge each, strongest first (RFC 8760 §2.4).
    pub algorithms: Vec<DigestAlgorithm>,
    /// Refuse credentials without `qop=auth` (RFC 2069 style). Every current phone sends qop.
    pub require_qop: bool,
    /// The answer to wrong credentials, the same for an unknown user and a wrong password:
    /// 403 (stop) or 401/407 (challenge again).
    pub rejection: Rejection,
    /// How many nonces the replay guard remembers (nonce → highest nc seen); 0 turns it
    /// off. When full, the nonce issued first is forgotten to make room: a fresh nonce is
    /// never refused because the guard is full.
    pub replay_cache_size: usize,
}

/// How wrong credentials are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// 403 Forbidden.
    Forbidden,
    /// A fresh challenge (401 / 407), as for a request without credentials.
    Challenge,
}

impl DigestServerConfig {
    /// SHA-256 and MD5 offered, qop required, nonces valid 5 minutes, 403 for wrong
    /// credentials.
    pub fn new(realm: &str, secret: &[u8]) -> DigestServerConfig {
        DigestServerConfig {
            realm: realm.to_owned(),
            secret: secret.to_vec(),
            nonce_lifetime: Duration::from_secs(300),
            algorithms: vec![DigestAlgorithm::Sha256, DigestAlgorithm::Md5],
            require_qop: true,
            rejection: Rejection::Forbidden,
            replay_cache_size: 100_000,
        }
    }
}

/// What the server knows about a user: the password, or H(A1) stored for one algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserSecret {
    /// The clear password.
    Password(String),
    /// H(username:realm:password) for `algorithm` (and its `-sess` twin).
    Ha1 {
        /// The algorithm it was computed with.
        algorithm: DigestAlgorithm,
        /// Lower-case hex.
        ha1: String,
    },
}

/// The outcome of [`DigestServer::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The credentials are right and fresh.
    Authorized {
        /// The authenticated user name.
        username: String,
    },
    /// No usable credentials for our realm (none, another realm, an algorithm or nonce we did
    /// not issue, no qop when it is required): answer with a challenge.
    Challenge,
    /// Right credentials on an expired or already used nonce: challenge with `stale=true`,
    /// and the phone retries without asking its user (RFC 7616 §3.3).
    Stale,
    /// Wrong password or unknown user; deliberately indistinguishable.
    Rejected,
    /// Credentials for another Request-URI than this request's (§22.4: 400).
    UriMismatch,
}

/// Issues and checks digest challenges.
///
/// Stateless: a nonce carries its issue time and a counter, signed with an HMAC of the
/// configured secret, so any node holding the secret can verify it, even after a restart.
/// The only state is an optional, bounded replay guard (nonce → highest `nc` seen), pruned
/// as nonces expire, O(log n) per request.
///
/// Flow: [`credentials`](Self::credentials) picks the request's credentials for our realm;
/// the caller looks up the user (I/O lives outside); [`verify`](Self::verify) decides;
/// [`respond`](Self::respond) builds the 401/407/403/400 when the verdict is not
/// `Authorized`.
#[derive(Debug, Clone)]
pub struct DigestServer {
    config: DigestServerConfig,
    /// HMAC-SHA256 keyed with the secret, cloned for each use.
    mac: HmacSha256,
    nonce_counter: u64,
    /// nonce → highest nc accepted, bounded by `replay_cache_size`.
    seen: ReplayGuard,
}

/// Which header pair a challenge uses: 401 WWW-Authenticate / Authorization (registrar,
/// UAS) or 407 Proxy-Authenticate / Proxy-Authorization (proxy, B2BUA towards a trunk).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeKind {
    /// 401 and WWW-Authenticate.
    Www,
    /// 407 and Proxy-Authenticate.
    Proxy,
}

impl DigestServer {
    /// A server with this configuration.
    pub fn new(config: DigestServerConfig) -> DigestServer {
        DigestServer {
            mac: keyed_mac(&config.secret),
            seen: ReplayGuard::new(config.replay_cache_size),
            nonce_counter: 0,
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &DigestServerConfig {
        &self.config
    }

    /// Fresh challenges, one per configured algorithm, strongest first.
    pub fn challenges(&mut self, now: Instant, stale: bool) -> Vec<DigestChallenge> {
        let nonce = self.new_nonce(now);
        self.config
            .algorithms
            .iter()
            .map(|a| DigestChallenge {
                realm: self.config.realm.clone(),
                domain: None,
                nonce: nonce.clone(),
                opaque: None,
                stale,
                algorithm: Some(a.to_header()),
                qop: vec!["auth".to_owned()],
                other: Vec::new(),
            })
            .collect()
    }

    /// The request's digest credentials for our realm, from Authorization or
    /// Proxy-Authorization depending on `kind`. Malformed headers are skipped.
    pub fn credentials(&self, request: &Request, kind: ChallengeKind) -> Option<DigestCredentials> {
        let ours = |c: Credentials| match c {
            Credentials::Digest(d) if d.realm == self.config.realm => Some(d),
            _ => None,
        };
        match kind {
            ChallengeKind::Www => request
                .headers
                .typed_iter::<Authorization>()
                .filter_map(Result::ok)
                .find_map(|Authorization(c)| ours(c)),
            ChallengeKind::Proxy => request
                .headers
                .typed_iter::<ProxyAuthorization>()
                .filter_map(Result::ok)
                .find_map(|ProxyAuthorization(c)| ours(c)),
        }
    }

    /// Checks `credentials` for `request`. `secret` is what the user store holds for
    /// `credentials.username`, `None` for an unknown user: then the digest is still computed,
    /// against a dummy H(A1), so the answer and its timing match a wrong password.
    pub fn verify(
        &mut self,
        now: Instant,
        request: &Request,
        credentials: &DigestCredentials,
        secret: Option<&UserSecret>,
    ) -> Verdict {
        if credentials.realm != self.config.realm {
            return Verdict::Challenge;
        }
        let Some(algorithm) = DigestAlgorithm::from_header(credentials.algorithm.as_ref())
            .filter(|a| self.config.algorithms.contains(a))
        else {
            return Verdict::Challenge;
        };
        let Some(issued) = self.check_nonce(&credentials.nonce, now) else {
            return Verdict::Challenge;
        };
        let qop = match (&credentials.qop, credentials.nc, &credentials.cnonce) {
            (Some(q), Some(nc), Some(cnonce)) if q.eq_ignore_ascii_case("auth") => {
                Some(Qop { nc, cnonce })
            }
            (None, _, _) if !self.config.require_qop => None,
            _ => return Verdict::Challenge,
        };
        if !uri_matches(&credentials.uri, request) {
            return Verdict::UriMismatch;
        }

        // An H(A1) stored for another hash cannot answer this challenge: as good as unknown.
        let (stored_ha1, usable) = match secret {
            Some(UserSecret::Password(p)) => (
                ha1(algorithm, &credentials.username, &self.config.realm, p),
                true,
            ),
            Some(UserSecret::Ha1 { algorithm: a, ha1 }) if same_hash(*a, algorithm) => {
                (ha1.clone(), true)
            }
            Some(UserSecret::Ha1 { .. }) | None => {
                (self.dummy_ha1(algorithm, &credentials.username), false)
            }
        };
        let expected = response(
            algorithm,
            &stored_ha1,
            &credentials.nonce,
            qop,
            request.method.as_str(),
            &credentials.uri,
        );
        let matches = constant_time_eq(
            expected.as_bytes(),
            credentials.response.to_ascii_lowercase().as_bytes(),
        );
        if !(matches && usable) {
            return Verdict::Rejected;
        }
        if now.saturating_duration_since(issued) > self.config.nonce_lifetime {
            return Verdict::Stale;
        }
        if let Some(q) = qop {
            if !self.accept_nc(&credentials.nonce, q.nc, issued, now) {
                return Verdict::Stale;
            }
        }
        Verdict::Authorized {
            username: credentials.username.clone(),
        }
    }

    /// The response for a verdict other than `Authorized` (`None` for that one): 401/407
    /// with fresh challenges (stale for `Stale`), 403 or a challenge for `Rejected` as
    /// configured, 400 for `UriMismatch`.
    pub fn respond(
        &mut self,
        now: Instant,
        request: &Request,
        verdict: &Verdict,
        kind: ChallengeKind,
        to_tag: &str,
    ) -> Option<Response> {
        let stale = match verdict {
            Verdict::Authorized { .. } => return None,
            Verdict::UriMismatch => {
                return Some(request.make_response(StatusCode::BAD_REQUEST, Some(to_tag)))
            }
            Verdict::Rejected if self.config.rejection == Rejection::Forbidden => {
                return Some(request.make_response(StatusCode::FORBIDDEN, Some(to_tag)))
            }
            Verdict::Stale => true,
            Verdict::Challenge | Verdict::Rejected => false,
        };
        let status = match kind {
            ChallengeKind::Www => StatusCode::UNAUTHORIZED,
            ChallengeKind::Proxy => StatusCode::PROXY_AUTHENTICATION_REQUIRED,
        };
        let mut r = request.make_response(status, Some(to_tag));
        for c in self.challenges(now, stale) {
            let c = Challenge::Digest(c);
            match kind {
                ChallengeKind::Www => r.headers.push_typed(&WwwAuthenticate(c)),
                ChallengeKind::Proxy => r.headers.push_typed(&ProxyAuthenticate(c)),
            }
        }
        Some(r)
    }

    /// `base64url(issued ms ‖ counter ‖ HMAC(secret, realm ‖ issued ‖ counter)[..16])`.
    fn new_nonce(&mut self, now: Instant) -> String {
        self.nonce_counter = self.nonce_counter.wrapping_add(1);
        let issued = u64::try_from(now.since_origin().as_millis()).unwrap_or(u64::MAX);
        let mut raw = [0u8; NONCE_LEN];
        raw[..8].copy_from_slice(&issued.to_be_bytes());
        raw[8..16].copy_from_slice(&self.nonce_counter.to_be_bytes());
        let mac = self.nonce_mac(&raw[..16]);
        raw[16..].copy_from_slice(&mac[..NONCE_MAC_LEN]);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The issue time of a nonce we signed, or `None` (forged, from another secret or realm,
    /// or issued in the future).
    fn check_nonce(&self, nonce: &str, now: Instant) -> Option<Instant> {
        if nonce.len() > 64 {
            return None;
        }
        let raw = URL_SAFE_NO_PAD.decode(nonce).ok()?;
        if raw.len() != NONCE_LEN {
            return None;
        }
        let mac = self.nonce_mac(&raw[..16]);
        if !constant_time_eq(&mac[..NONCE_MAC_LEN], &raw[16..]) {
            return None;
        }
        let mut issued = [0u8; 8];
        issued.copy_from_slice(&raw[..8]);
        let issued = Instant::from_millis(u64::from_be_bytes(issued));
        (issued <= now).then_some(issued)
    }

    fn nonce_mac(&self, data: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(self.config.realm.as_bytes());
        mac.update(&[0]);
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// A per-user H(A1) nobody can answer: derived from the secret, so it is stable (no
    /// timing difference between calls) and unguessable.
    fn dummy_ha1(&self, algorithm: DigestAlgorithm, username: &str) -> String {
        let mac = self.nonce_mac(format!("dummy-ha1\0{username}").as_bytes());
        ha1(algorithm, username, &self.config.realm, &hex::encode(mac))
    }

    /// Records `nc` for `nonce`; false if it is not higher than one seen before (a replay).
    fn accept_nc(&mut self, nonce: &str, nc: u32, issued: Instant, now: Instant) -> bool {
        self.seen
            .accept(nonce, nc, issued, now, self.config.nonce_lifetime)
    }
}

/// HMAC keyed with `secret`. The key is brought to the block size exactly as HMAC does
/// (hashed if longer, zero-padded), which lets the infallible constructor be used.
fn keyed_mac(secret: &[u8]) -> HmacSha256 {
    let mut key = [0u8; 64];
    if secret.len() > key.len() {
        key[..32].copy_from_slice(&Sha256::digest(secret));
    } else {
        key[..secret.len()].copy_from_slice(secret);
    }
    <HmacSha256 as KeyInit>::new(&key.into())
}

/// An H(A1) stored for MD5 also serves MD5-sess, and so on.
fn same_hash(stored: DigestAlgorithm, asked: DigestAlgorithm) -> bool {
    stored.strength() == asked.strength()
}

/// The digest-uri must be the Request-URI (RFC 2617 §3.2.2.5); compared as parsed URIs, so
/// `sip:Example.COM` and `sip:example.com` agree, falling back to the exact text.
fn uri_matches(digest_uri: &str, request: &Request) -> bool {
    let request_uri = request.uri.to_string();
    if digest_uri == request_uri {
        return true;
    }
    match (digest_uri.parse::<sip_proto::Uri>(), request.uri.as_sip()) {
        (Ok(sip_proto::Uri::Sip(a)), Some(b)) => {
            a.secure == b.secure
                && a.user == b.user
                && host_eq(&a.host, &b.host)
                && a.port == b.port
        }
        _ => false,
    }
}

fn host_eq(a: &sip_proto::Host, b: &sip_proto::Host) -> bool {
    match (a, b) {
        (sip_proto::Host::Domain(x), sip_proto::Host::Domain(y)) => x.eq_ignore_ascii_case(y),
        _ => a == b,
    }
}
