//! The registrar service: REGISTER with digest authentication against the users' SIP
//! credentials, bindings kept in the shared [`Registry`].
//!
//! Sans-IO like the core, so the rules are tested with a fake clock: the loop calls
//! [`RegistrarService::on_register`]; when the request carries credentials the answer needs
//! the user's stored H(A1), which the loop fetches off the loop ([`lookup`]) and hands to
//! [`RegistrarService::on_credentials`].
//!
//! Rules:
//! - no credentials (or a nonce we did not issue) → 401 with a SHA-256 and an MD5 challenge,
//!   `qop="auth"`;
//! - wrong password and unknown user → the same 403, computed the same way (no user
//!   enumeration);
//! - right password on an expired nonce → 401 with `stale=true`, and the phone retries
//!   without asking its user;
//! - the address of record (To) must be the authenticated user: his SIP user name or his
//!   extension (else 403, so nobody registers for a colleague's calls);
//! - then RFC 3261 §10.3 via [`sip_core::registrar::Registrar`]: several contacts, expiry,
//!   `Expires: 0` and `Contact: *` to unregister, 423 below the minimum interval.

use crate::registry::{Owner, Registry};
use sip_core::digest::{
    ChallengeKind, DigestAlgorithm, DigestServer, DigestServerConfig, UserSecret, Verdict,
};
use sip_core::registrar::Aor;
use sip_core::{Instant, Peer};
use sip_proto::typed::{Algorithm, DigestCredentials, To};
use sip_proto::{Request, Response, StatusCode};
use std::sync::Arc;
use std::time::Duration;
use store::{SipCredentials, Store};

/// Settings of the registrar's authentication.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// How long a nonce is good for; after that the right answer gets `stale=true`.
    pub nonce_lifetime: Duration,
    /// Algorithms challenged with, one WWW-Authenticate each, preferred first.
    pub algorithms: Vec<DigestAlgorithm>,
    /// Nonces the replay guard remembers (about 120 bytes each). While it is full of nonces
    /// younger than `nonce_lifetime`, new answers get `stale=true`: the default carries a
    /// sustained 1000 authenticated REGISTER/s with 5-minute nonces (36 MB at most).
    pub replay_cache_size: usize,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            nonce_lifetime: Duration::from_secs(300),
            algorithms: vec![DigestAlgorithm::Sha256, DigestAlgorithm::Md5],
            replay_cache_size: 300_000,
        }
    }
}

/// The credentials to store for a user's SIP password: H(A1) with MD5 and SHA-256 for
/// `username` and `realm`. The password itself is not kept anywhere.
pub fn hash_credentials(
    user_id: domain::UserId,
    username: &str,
    realm: &str,
    password: &str,
    now: domain::Timestamp,
) -> SipCredentials {
    SipCredentials {
        user_id,
        username: username.to_string(),
        realm: realm.to_string(),
        ha1_md5: sip_core::digest::ha1(DigestAlgorithm::Md5, username, realm, password),
        ha1_sha256: sip_core::digest::ha1(DigestAlgorithm::Sha256, username, realm, password),
        updated_at: now,
    }
}

/// What to do with a REGISTER.
#[derive(Debug)]
pub enum RegisterStep {
    /// Answer this.
    Respond(Response),
    /// Fetch what the store knows about this digest user name ([`lookup`]) and call
    /// [`RegistrarService::on_credentials`].
    Lookup {
        /// The user name of the credentials.
        username: String,
    },
}

/// What the store knows about the user name of a REGISTER's credentials.
#[derive(Debug, Clone, Default)]
pub struct UserLookup {
    /// The stored credentials, if any.
    pub credentials: Option<SipCredentials>,
    /// The user's extension, when the To user is not the digest user name.
    pub extension: Option<String>,
}

/// Fetches the credentials for `username` and, if the REGISTER's To user is another name,
/// the user's extension (the other name he may register as).
pub async fn lookup(
    store: &dyn Store,
    username: &str,
    to_user: Option<&str>,
) -> store::StoreResult<UserLookup> {
    let credentials = store.find_sip_credentials(username).await?;
    let extension = match (&credentials, to_user) {
        (Some(c), Some(to)) if to != c.username => store.get_user(c.user_id).await?.extension,
        _ => None,
    };
    Ok(UserLookup {
        credentials,
        extension,
    })
}

/// The user part of a REGISTER's To URI, if it has one.
pub fn to_user(request: &Request) -> Option<String> {
    let to = request.headers.typed::<To>().ok().flatten()?;
    to.uri().as_sip()?.user.clone()
}

/// Digest authentication and bindings for REGISTER.
#[derive(Debug)]
pub struct RegistrarService {
    digest: DigestServer,
    registry: Registry,
    tags: Arc<crate::TagSource>,
}

impl RegistrarService {
    /// A service for `registry`'s realm; `secret` signs the nonces.
    pub fn new(
        registry: Registry,
        auth: &AuthConfig,
        secret: &[u8],
        tags: Arc<crate::TagSource>,
    ) -> RegistrarService {
        let mut config = DigestServerConfig::new(registry.realm(), secret);
        config.nonce_lifetime = auth.nonce_lifetime;
        config.algorithms = auth.algorithms.clone();
        config.replay_cache_size = auth.replay_cache_size;
        RegistrarService {
            digest: DigestServer::new(config),
            registry,
            tags,
        }
    }

    /// The shared bindings.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// First step for a REGISTER: challenge it, or ask for the user's credentials.
    pub fn on_register(&mut self, now: Instant, request: &Request) -> RegisterStep {
        match self.digest.credentials(request, ChallengeKind::Www) {
            Some(credentials) => RegisterStep::Lookup {
                username: credentials.username,
            },
            None => RegisterStep::Respond(self.refuse(now, request, &Verdict::Challenge)),
        }
    }

    /// Second step: the credentials are checked against what the store holds (`found`), and
    /// an authorized request updates the bindings. `None` for `found` means the store failed:
    /// 500, and the phone retries.
    pub fn on_credentials(
        &mut self,
        now: Instant,
        request: &Request,
        source: Peer,
        found: Option<UserLookup>,
    ) -> Response {
        let Some(found) = found else {
            return request.make_response(StatusCode::SERVER_INTERNAL_ERROR, Some(&self.tag()));
        };
        let Some(credentials) = self.digest.credentials(request, ChallengeKind::Www) else {
            return self.refuse(now, request, &Verdict::Challenge);
        };
        let stored = found
            .credentials
            .as_ref()
            .filter(|c| c.username == credentials.username)
            .filter(|c| {
                // H(A1) hashes the realm: credentials set for another realm cannot match.
                let same = c.realm == self.registry.realm();
                if !same {
                    tracing::warn!(
                        user = %c.username,
                        stored_realm = %c.realm,
                        "SIP password was set for another realm; set it again"
                    );
                }
                same
            });
        let secret = stored.and_then(|c| secret_for(c, &credentials));
        let verdict = self
            .digest
            .verify(now, request, &credentials, secret.as_ref());
        let Verdict::Authorized { username } = verdict else {
            return self.refuse(now, request, &verdict);
        };
        let Some(stored) = stored else {
            // verify never authorizes without a secret; stay safe anyway.
            return self.refuse(now, request, &Verdict::Rejected);
        };
        let to = to_user(request);
        let own_aor = to
            .as_deref()
            .is_some_and(|u| u == username || found.extension.as_deref().is_some_and(|e| e == u));
        if !own_aor {
            tracing::info!(user = %username, to = ?to, "REGISTER for another user's address refused");
            return request.make_response(StatusCode::FORBIDDEN, Some(&self.tag()));
        }
        self.apply(now, request, source, stored)
    }

    /// First step for an INVITE from a registered phone: challenge it (407), or ask for the
    /// credentials of its user name (then [`on_invite_credentials`](Self::on_invite_credentials)).
    pub fn on_invite(&mut self, now: Instant, request: &Request) -> RegisterStep {
        match self.digest.credentials(request, ChallengeKind::Proxy) {
            Some(credentials) => RegisterStep::Lookup {
                username: credentials.username,
            },
            None => RegisterStep::Respond(self.refuse_as(
                now,
                request,
                &Verdict::Challenge,
                ChallengeKind::Proxy,
            )),
        }
    }

    /// Second step for an INVITE: the authenticated user, or the answer refusing it (a new
    /// challenge, `stale=true`, 403 — the same for an unknown user and a wrong password).
    pub fn on_invite_credentials(
        &mut self,
        now: Instant,
        request: &Request,
        found: Option<UserLookup>,
    ) -> Result<domain::UserId, Response> {
        let Some(found) = found else {
            return Err(request.make_response(StatusCode::SERVER_INTERNAL_ERROR, Some(&self.tag())));
        };
        let kind = ChallengeKind::Proxy;
        let Some(credentials) = self.digest.credentials(request, kind) else {
            return Err(self.refuse_as(now, request, &Verdict::Challenge, kind));
        };
        let stored = found
            .credentials
            .as_ref()
            .filter(|c| c.username == credentials.username && c.realm == self.registry.realm());
        let secret = stored.and_then(|c| secret_for(c, &credentials));
        let verdict = self
            .digest
            .verify(now, request, &credentials, secret.as_ref());
        match (verdict, stored) {
            (Verdict::Authorized { .. }, Some(stored)) => Ok(stored.user_id),
            (Verdict::Authorized { .. }, None) => {
                Err(self.refuse_as(now, request, &Verdict::Rejected, kind))
            }
            (verdict, _) => Err(self.refuse_as(now, request, &verdict, kind)),
        }
    }

    /// An INVITE from an address that is no trunk's, accepted "with a trunk's credentials":
    /// challenged 407 in our realm, then `Ok(i)` for the account `accounts[i]` (user name,
    /// password) whose password the digest proves. A wrong user and a wrong password get the
    /// same 403.
    pub fn on_trunk_invite(
        &mut self,
        now: Instant,
        request: &Request,
        accounts: &[(&str, &str)],
    ) -> Result<usize, Response> {
        let kind = ChallengeKind::Proxy;
        let Some(credentials) = self.digest.credentials(request, kind) else {
            return Err(self.refuse_as(now, request, &Verdict::Challenge, kind));
        };
        let account = accounts
            .iter()
            .position(|(user, _)| *user == credentials.username);
        let secret = account.map(|i| UserSecret::Password(accounts[i].1.to_owned()));
        let verdict = self
            .digest
            .verify(now, request, &credentials, secret.as_ref());
        match (verdict, account) {
            (Verdict::Authorized { .. }, Some(i)) => Ok(i),
            (Verdict::Authorized { .. }, None) => {
                Err(self.refuse_as(now, request, &Verdict::Rejected, kind))
            }
            (verdict, _) => Err(self.refuse_as(now, request, &verdict, kind)),
        }
    }

    fn apply(
        &mut self,
        now: Instant,
        request: &Request,
        source: Peer,
        owner: &SipCredentials,
    ) -> Response {
        let tag = self.tag();
        let mut state = self.registry.lock();
        let result = state.registrar.register(now, request, source);
        let response = state.registrar.response(now, request, &result, &tag);
        match &result {
            Ok(registration) => {
                for change in &registration.changes {
                    tracing::debug!(aor = %registration.aor, ?change, "binding changed");
                }
                let aor: &Aor = &registration.aor;
                if registration.bindings.is_empty() {
                    state.owners.remove(aor);
                } else {
                    state.owners.insert(
                        aor.clone(),
                        Owner {
                            user_id: owner.user_id,
                            username: owner.username.clone(),
                        },
                    );
                }
            }
            Err(e) => tracing::debug!(error = %e, "REGISTER refused"),
        }
        response
    }

    fn refuse(&mut self, now: Instant, request: &Request, verdict: &Verdict) -> Response {
        self.refuse_as(now, request, verdict, ChallengeKind::Www)
    }

    fn refuse_as(
        &mut self,
        now: Instant,
        request: &Request,
        verdict: &Verdict,
        kind: ChallengeKind,
    ) -> Response {
        let tag = self.tag();
        self.digest
            .respond(now, request, verdict, kind, &tag)
            .unwrap_or_else(|| request.make_response(StatusCode::FORBIDDEN, Some(&tag)))
    }

    fn tag(&self) -> String {
        self.tags.next()
    }
}

/// The stored H(A1) that answers credentials of this algorithm (MD5 or SHA-256 and their
/// `-sess` twins); `None` for an algorithm we keep no hash for.
fn secret_for(stored: &SipCredentials, credentials: &DigestCredentials) -> Option<UserSecret> {
    let algorithm = DigestAlgorithm::from_header(Some(
        credentials.algorithm.as_ref().unwrap_or(&Algorithm::Md5),
    ))?;
    let ha1 = match algorithm {
        DigestAlgorithm::Md5 | DigestAlgorithm::Md5Sess => &stored.ha1_md5,
        DigestAlgorithm::Sha256 | DigestAlgorithm::Sha256Sess => &stored.ha1_sha256,
        DigestAlgorithm::Sha512_256 | DigestAlgorithm::Sha512_256Sess => return None,
    };
    Some(UserSecret::Ha1 {
        algorithm,
        ha1: ha1.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sip_core::digest::{authorize, ha1, ClientCredentials};
    use sip_core::registrar::RegistrarConfig;
    use sip_proto::typed::{Authorization, Contact, Credentials, WwwAuthenticate};
    use sip_proto::{parse_message, Message};

    const REALM: &str = "pbx.test";
    const SOURCE: &str = "198.51.100.7:40000";

    fn service(nonce_lifetime: Duration) -> RegistrarService {
        let registry = Registry::new(REALM, RegistrarConfig::default());
        let auth = AuthConfig {
            nonce_lifetime,
            ..AuthConfig::default()
        };
        RegistrarService::new(registry, &auth, b"test secret", Arc::default())
    }

    fn stored(user: &str, password: &str) -> SipCredentials {
        let c = hash_credentials(
            domain::UserId(7),
            user,
            REALM,
            password,
            chrono::DateTime::UNIX_EPOCH,
        );
        // RFC 2617 §3.2.2.2: H(A1) = MD5(user:realm:password), RFC 7616 the same with SHA-256.
        assert_eq!(c.ha1_md5, ha1(DigestAlgorithm::Md5, user, REALM, password));
        assert_eq!(c.ha1_md5.len(), 32);
        assert_eq!(c.ha1_sha256.len(), 64);
        c
    }

    fn found(user: &str, password: &str) -> Option<UserLookup> {
        Some(UserLookup {
            credentials: Some(stored(user, password)),
            extension: Some("101".into()),
        })
    }

    fn register(to_user: &str, cseq: u32, contacts: &[&str], expires: Option<u32>) -> Request {
        let mut text = format!(
            "REGISTER sip:{REALM} SIP/2.0\r\n\
             Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKr{cseq};rport\r\n\
             From: <sip:{to_user}@{REALM}>;tag=f1\r\n\
             To: <sip:{to_user}@{REALM}>\r\n\
             Call-ID: reg-1@10.0.0.2\r\n\
             CSeq: {cseq} REGISTER\r\n\
             User-Agent: TestPhone/1.0\r\n"
        );
        for c in contacts {
            text.push_str(&format!("Contact: {c}\r\n"));
        }
        if let Some(e) = expires {
            text.push_str(&format!("Expires: {e}\r\n"));
        }
        text.push_str("Content-Length: 0\r\n\r\n");
        match parse_message(text.as_bytes()).expect("parses") {
            Message::Request(r) => r,
            Message::Response(_) => unreachable!(),
        }
    }

    fn challenge(svc: &mut RegistrarService, now: Instant, request: &Request) -> Response {
        match svc.on_register(now, request) {
            RegisterStep::Respond(r) => r,
            RegisterStep::Lookup { .. } => panic!("no credentials yet, expected a challenge"),
        }
    }

    /// The request answered with `password`, using the strongest challenge (SHA-256).
    fn answered(request: &Request, challenge: &Response, user: &str, password: &str) -> Request {
        let creds = ClientCredentials {
            username: user.into(),
            password: password.into(),
        };
        authorize(request, challenge, &creds, "c0ffee", "z9hG4bKauth").expect("answerable")
    }

    fn submit(
        svc: &mut RegistrarService,
        now: Instant,
        request: &Request,
        lookup: Option<UserLookup>,
    ) -> Response {
        match svc.on_register(now, request) {
            RegisterStep::Lookup { username } => {
                let c = svc.digest.credentials(request, ChallengeKind::Www).unwrap();
                assert_eq!(username, c.username);
            }
            RegisterStep::Respond(r) => panic!("expected a lookup, got {}", r.status.as_u16()),
        }
        svc.on_credentials(now, request, Peer::udp(SOURCE.parse().unwrap()), lookup)
    }

    fn at(secs: u64) -> Instant {
        Instant::from_millis(secs * 1000)
    }

    #[test]
    fn challenge_offers_sha256_then_md5_with_qop_auth() {
        let mut svc = service(Duration::from_secs(300));
        let r = challenge(
            &mut svc,
            at(1),
            &register("alice", 1, &["<sip:alice@10.0.0.2>"], None),
        );
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let offered: Vec<_> = r
            .headers
            .typed_iter::<WwwAuthenticate>()
            .map(|c| c.unwrap().0.as_digest().unwrap().clone())
            .collect();
        let algorithms: Vec<_> = offered
            .iter()
            .map(|c| c.algorithm.as_ref().unwrap().as_str().to_string())
            .collect();
        assert_eq!(algorithms, ["SHA-256", "MD5"]);
        assert!(offered
            .iter()
            .all(|c| c.realm == REALM && c.qop == ["auth"] && !c.stale));
    }

    #[test]
    fn right_password_registers_with_sha256_and_md5() {
        for md5_only in [false, true] {
            let mut svc = service(Duration::from_secs(300));
            let first = register("alice", 1, &["<sip:alice@10.0.0.2:5060>"], Some(600));
            let mut c = challenge(&mut svc, at(1), &first);
            if md5_only {
                // A phone that only knows MD5 ignores the SHA-256 challenge (RFC 8760 §2.4).
                let md5: Vec<_> = c
                    .headers
                    .typed_iter::<WwwAuthenticate>()
                    .map(|h| h.unwrap())
                    .filter(|h| h.0.as_digest().unwrap().algorithm == Some(Algorithm::Md5))
                    .collect();
                c.headers.remove(&sip_proto::HeaderName::WwwAuthenticate);
                for h in md5 {
                    c.headers.push_typed(&h);
                }
            }
            let second = answered(&first, &c, "alice", "correct horse");
            let Credentials::Digest(d) =
                second.headers.typed::<Authorization>().unwrap().unwrap().0
            else {
                panic!("digest")
            };
            let want = if md5_only {
                Algorithm::Md5
            } else {
                Algorithm::Sha256
            };
            assert_eq!(d.algorithm, Some(want));
            let ok = submit(&mut svc, at(2), &second, found("alice", "correct horse"));
            assert_eq!(ok.status, StatusCode::OK, "md5_only={md5_only}");
            let contacts = ok.headers.typed_all::<Contact>().unwrap();
            assert_eq!(contacts.len(), 1);
            assert_eq!(contacts[0].expires(), Some(600));
            let regs = svc.registry().registrations();
            assert_eq!(regs.len(), 1);
            assert_eq!(regs[0].username, "alice");
            assert_eq!(regs[0].contact, "sip:alice@10.0.0.2:5060");
            assert_eq!(
                regs[0].source,
                SOURCE.parse::<std::net::SocketAddr>().unwrap()
            );
            assert_eq!(regs[0].user_agent.as_deref(), Some("TestPhone/1.0"));
        }
    }

    #[test]
    fn wrong_password_and_unknown_user_get_the_same_answer() {
        let mut svc = service(Duration::from_secs(300));
        let first = register("alice", 1, &["<sip:alice@10.0.0.2>"], None);
        let c = challenge(&mut svc, at(1), &first);
        let wrong = answered(&first, &c, "alice", "wrong password");
        let wrong = submit(&mut svc, at(2), &wrong, found("alice", "correct horse"));

        let first = register("mallory", 1, &["<sip:mallory@10.0.0.2>"], None);
        let c = challenge(&mut svc, at(3), &first);
        let unknown = answered(&first, &c, "mallory", "anything");
        let unknown = submit(&mut svc, at(4), &unknown, Some(UserLookup::default()));

        assert_eq!(wrong.status, StatusCode::FORBIDDEN);
        assert_eq!(unknown.status, wrong.status);
        assert_eq!(unknown.reason, wrong.reason);
        let names = |r: &Response| -> Vec<String> {
            r.headers.iter().map(|h| h.name.to_string()).collect()
        };
        assert_eq!(
            names(&unknown),
            names(&wrong),
            "same headers, nothing tells them apart"
        );
        assert!(svc.registry().registrations().is_empty());
    }

    #[test]
    fn credentials_set_for_another_realm_do_not_authenticate() {
        let mut svc = service(Duration::from_secs(300));
        let first = register("alice", 1, &["<sip:alice@10.0.0.2>"], None);
        let c = challenge(&mut svc, at(1), &first);
        let second = answered(&first, &c, "alice", "correct horse");
        let mut lookup = found("alice", "correct horse").unwrap();
        if let Some(c) = lookup.credentials.as_mut() {
            c.realm = "old.realm".into();
        }
        let r = submit(&mut svc, at(2), &second, Some(lookup));
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }

    #[test]
    fn an_expired_nonce_with_the_right_password_is_stale() {
        let mut svc = service(Duration::from_secs(30));
        let first = register("alice", 1, &["<sip:alice@10.0.0.2>"], None);
        let c = challenge(&mut svc, at(1), &first);
        let second = answered(&first, &c, "alice", "correct horse");
        let r = submit(&mut svc, at(40), &second, found("alice", "correct horse"));
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let stale: Vec<bool> = r
            .headers
            .typed_iter::<WwwAuthenticate>()
            .map(|c| c.unwrap().0.as_digest().unwrap().stale)
            .collect();
        assert_eq!(stale, [true, true]);
        // The same old nonce with a wrong password is not "stale": it is wrong.
        let wrong = answered(&first, &c, "alice", "nope");
        let r = submit(&mut svc, at(41), &wrong, found("alice", "correct horse"));
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        // And the phone's retry on the fresh nonce succeeds.
        let retry = answered(
            &first,
            &challenge(&mut svc, at(42), &first),
            "alice",
            "correct horse",
        );
        let r = submit(&mut svc, at(42), &retry, found("alice", "correct horse"));
        assert_eq!(r.status, StatusCode::OK);
    }

    #[test]
    fn a_user_registers_only_his_own_name_or_extension() {
        let mut svc = service(Duration::from_secs(300));
        for (to, status) in [
            ("bob", StatusCode::FORBIDDEN),
            ("101", StatusCode::OK),
            ("alice", StatusCode::OK),
        ] {
            let first = register(to, 1, &[&format!("<sip:{to}@10.0.0.2>")], None);
            let c = challenge(&mut svc, at(1), &first);
            let second = answered(&first, &c, "alice", "correct horse");
            let r = submit(&mut svc, at(2), &second, found("alice", "correct horse"));
            assert_eq!(r.status, status, "To {to}");
        }
        let aors: Vec<String> = svc
            .registry()
            .registrations()
            .into_iter()
            .map(|r| r.aor)
            .collect();
        assert_eq!(
            aors,
            [format!("sip:101@{REALM}"), format!("sip:alice@{REALM}")]
        );
    }

    #[test]
    fn several_contacts_expire_and_unregister() {
        let mut svc = service(Duration::from_secs(3600));
        let first = register(
            "alice",
            1,
            &["<sip:alice@10.0.0.2>;expires=120", "<sip:alice@10.0.0.3>"],
            Some(3600),
        );
        let c = challenge(&mut svc, at(0), &first);
        let second = answered(&first, &c, "alice", "correct horse");
        let r = submit(&mut svc, at(0), &second, found("alice", "correct horse"));
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.headers.typed_all::<Contact>().unwrap().len(), 2);
        let reg = svc.registry().clone();
        assert_eq!(reg.binding_count(), 2);

        // The registry's clock is real; expiry itself is checked through the sweep at a
        // chosen instant.
        reg.sweep(at(121));
        let state = reg.lock();
        let aor = Aor::from_uri(&"sip:alice@pbx.test".parse().unwrap()).unwrap();
        let left = state.registrar.lookup(at(121), &aor);
        assert_eq!(left.len(), 1, "the 120 s contact lapsed");
        assert_eq!(left[0].contact.uri().to_string(), "sip:alice@10.0.0.3");
        drop(state);

        // Unregister the rest with Expires: 0 (a new transaction: next CSeq, new nonce).
        let bye = register("alice", 3, &["<sip:alice@10.0.0.3>"], Some(0));
        let c = challenge(&mut svc, at(130), &bye);
        let bye = answered(&bye, &c, "alice", "correct horse");
        let r = submit(&mut svc, at(130), &bye, found("alice", "correct horse"));
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.headers.typed_all::<Contact>().unwrap().is_empty());
        assert_eq!(reg.binding_count(), 0);
        assert!(
            reg.lock().owners.is_empty(),
            "no owner left without bindings"
        );
    }

    #[test]
    fn a_store_failure_is_a_500_not_a_rejection() {
        let mut svc = service(Duration::from_secs(300));
        let first = register("alice", 1, &["<sip:alice@10.0.0.2>"], None);
        let c = challenge(&mut svc, at(1), &first);
        let second = answered(&first, &c, "alice", "correct horse");
        let r = submit(&mut svc, at(2), &second, None);
        assert_eq!(r.status, StatusCode::SERVER_INTERNAL_ERROR);
    }
}
