//! The client side: answering a 401/407 challenge.

use super::{ha1, response, DigestAlgorithm, Qop};
use sip_proto::typed::{
    Authorization, CSeq, Challenge, Credentials, DigestChallenge, DigestCredentials,
    ProxyAuthenticate, ProxyAuthorization, Via, WwwAuthenticate,
};
use sip_proto::{HeaderError, HeaderName, Request, Response, StatusCode};

/// A user name and password to answer challenges with.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    /// User name (the auth user, often the extension or trunk account).
    pub username: String,
    /// Password.
    pub password: String,
}

impl std::fmt::Debug for ClientCredentials {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Why a challenge could not be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// The response is not a 401 or 407.
    #[error("{0} is not a challenge")]
    NotAChallenge(StatusCode),
    /// No digest challenge with an algorithm and qop this crate can answer.
    #[error("no digest challenge this client can answer")]
    NoUsableChallenge,
    /// The request to authorize lacks a header it needs.
    #[error(transparent)]
    Header(#[from] HeaderError),
}

/// The credentials answering one challenge for `method` and `uri` (the Request-URI as
/// written). Uses `qop=auth` with `nc` and `cnonce` if the challenge offers it, else the
/// RFC 2069 form. `cnonce` should be fresh randomness from the caller.
pub fn answer_challenge(
    challenge: &DigestChallenge,
    method: &str,
    uri: &str,
    credentials: &ClientCredentials,
    cnonce: &str,
    nc: u32,
) -> Result<DigestCredentials, DigestError> {
    let algorithm = DigestAlgorithm::from_header(challenge.algorithm.as_ref())
        .ok_or(DigestError::NoUsableChallenge)?;
    let offers_auth = challenge.qop.iter().any(|q| q.eq_ignore_ascii_case("auth"));
    if !challenge.qop.is_empty() && !offers_auth {
        return Err(DigestError::NoUsableChallenge);
    }
    let qop = offers_auth.then_some(Qop { nc, cnonce });
    let ha1 = ha1(
        algorithm,
        &credentials.username,
        &challenge.realm,
        &credentials.password,
    );
    Ok(DigestCredentials {
        username: credentials.username.clone(),
        realm: challenge.realm.clone(),
        nonce: challenge.nonce.clone(),
        uri: uri.to_owned(),
        response: response(algorithm, &ha1, &challenge.nonce, qop, method, uri),
        // Absent means MD5; echo it when the challenge named it.
        algorithm: challenge.algorithm.clone(),
        cnonce: qop.map(|q| q.cnonce.to_owned()),
        opaque: challenge.opaque.clone(),
        qop: qop.map(|_| "auth".to_owned()),
        nc: qop.map(|q| q.nc),
        other: Vec::new(),
    })
}

/// The retry of `request` after `challenge_response` (401 or 407), per RFC 3261 §22.2: the
/// strongest answerable challenge of each realm answered in Authorization (401) or
/// Proxy-Authorization (407), CSeq incremented, top Via branch replaced by `new_branch` (a new
/// transaction). Credentials of the same kind already in the request are replaced.
pub fn authorize(
    request: &Request,
    challenge_response: &Response,
    credentials: &ClientCredentials,
    cnonce: &str,
    new_branch: &str,
) -> Result<Request, DigestError> {
    let proxy = match challenge_response.status {
        StatusCode::UNAUTHORIZED => false,
        StatusCode::PROXY_AUTHENTICATION_REQUIRED => true,
        other => return Err(DigestError::NotAChallenge(other)),
    };
    let offered: Vec<DigestChallenge> = if proxy {
        challenge_response
            .headers
            .typed_iter::<ProxyAuthenticate>()
            .filter_map(|c| c.ok().map(|ProxyAuthenticate(c)| c))
            .filter_map(into_digest)
            .collect()
    } else {
        challenge_response
            .headers
            .typed_iter::<WwwAuthenticate>()
            .filter_map(|c| c.ok().map(|WwwAuthenticate(c)| c))
            .filter_map(into_digest)
            .collect()
    };
    let chosen = strongest_per_realm(&offered);
    if chosen.is_empty() {
        return Err(DigestError::NoUsableChallenge);
    }

    let mut retry = request.clone();
    let uri = request.uri.to_string();
    let header = if proxy {
        HeaderName::ProxyAuthorization
    } else {
        HeaderName::Authorization
    };
    retry.headers.remove(&header);
    for challenge in chosen {
        let answer = answer_challenge(
            challenge,
            request.method.as_str(),
            &uri,
            credentials,
            cnonce,
            1,
        )?;
        let answer = Credentials::Digest(answer);
        if proxy {
            retry.headers.push_typed(&ProxyAuthorization(answer));
        } else {
            retry.headers.push_typed(&Authorization(answer));
        }
    }
    let cseq = retry.headers.require::<CSeq>()?;
    retry.headers.set_typed(&CSeq {
        seq: cseq.seq.wrapping_add(1),
        method: cseq.method,
    });
    let mut via = retry.headers.require::<Via>()?;
    via.params.set("branch", Some(new_branch));
    retry.headers.remove_first_element(&HeaderName::Via);
    retry.headers.push_front_typed(&via);
    Ok(retry)
}

fn into_digest(c: Challenge) -> Option<DigestChallenge> {
    match c {
        Challenge::Digest(d) => Some(d),
        Challenge::Other { .. } => None,
    }
}

/// For each realm, the answerable challenge with the strongest algorithm (first one wins a
/// tie, keeping the server's order).
fn strongest_per_realm(offered: &[DigestChallenge]) -> Vec<&DigestChallenge> {
    let mut best: Vec<(&DigestChallenge, u8)> = Vec::new();
    for c in offered {
        let Some(algorithm) = DigestAlgorithm::from_header(c.algorithm.as_ref()) else {
            continue;
        };
        if !c.qop.is_empty() && !c.qop.iter().any(|q| q.eq_ignore_ascii_case("auth")) {
            continue;
        }
        let strength = algorithm.strength();
        match best.iter_mut().find(|(b, _)| b.realm == c.realm) {
            Some(slot) if slot.1 < strength => *slot = (c, strength),
            Some(_) => {}
            None => best.push((c, strength)),
        }
    }
    best.into_iter().map(|(c, _)| c).collect()
}
