//! Digest authentication (RFC 3261 §22, RFC 2617, RFC 7616, RFC 8760): the hash arithmetic,
//! a stateless server ([`DigestServer`]) and the client's answer to a challenge
//! ([`authorize`], [`answer_challenge`]).
//!
//! Only `qop=auth` (or no qop, RFC 2069 style, when allowed) is supported: `auth-int` would
//! hash bodies, and no SIP phone in the field relies on it.

mod client;
mod replay;
mod server;

pub use client::{answer_challenge, authorize, ClientCredentials, DigestError};
pub use server::{ChallengeKind, DigestServer, DigestServerConfig, Rejection, UserSecret, Verdict};

use md5::Md5;
use sha2::{Digest, Sha256, Sha512_256};
use sip_proto::typed::Algorithm;

/// The digest algorithms this crate computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    /// `MD5`, the default when a challenge names none.
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
}

impl DigestAlgorithm {
    /// The algorithm of a challenge or credentials (`None`: absent, which means MD5); `None`
    /// for an algorithm this crate does not compute.
    pub fn from_header(algorithm: Option<&Algorithm>) -> Option<DigestAlgorithm> {
        Some(match algorithm {
            None | Some(Algorithm::Md5) => DigestAlgorithm::Md5,
            Some(Algorithm::Md5Sess) => DigestAlgorithm::Md5Sess,
            Some(Algorithm::Sha256) => DigestAlgorithm::Sha256,
            Some(Algorithm::Sha256Sess) => DigestAlgorithm::Sha256Sess,
            Some(Algorithm::Sha512_256) => DigestAlgorithm::Sha512_256,
            Some(Algorithm::Sha512_256Sess) => DigestAlgorithm::Sha512_256Sess,
            Some(Algorithm::Other(_)) => return None,
        })
    }

    /// The header token.
    pub fn to_header(self) -> Algorithm {
        match self {
            DigestAlgorithm::Md5 => Algorithm::Md5,
            DigestAlgorithm::Md5Sess => Algorithm::Md5Sess,
            DigestAlgorithm::Sha256 => Algorithm::Sha256,
            DigestAlgorithm::Sha256Sess => Algorithm::Sha256Sess,
            DigestAlgorithm::Sha512_256 => Algorithm::Sha512_256,
            DigestAlgorithm::Sha512_256Sess => Algorithm::Sha512_256Sess,
        }
    }

    /// Whether H(A1) mixes in the nonce and cnonce (`-sess`).
    pub fn is_session(self) -> bool {
        matches!(
            self,
            DigestAlgorithm::Md5Sess
                | DigestAlgorithm::Sha256Sess
                | DigestAlgorithm::Sha512_256Sess
        )
    }

    /// How strong the client should consider it when several challenges are offered:
    /// higher is preferred (RFC 8760 §2.4: use the strongest one you support).
    fn strength(self) -> u8 {
        match self {
            DigestAlgorithm::Md5 | DigestAlgorithm::Md5Sess => 1,
            DigestAlgorithm::Sha256 | DigestAlgorithm::Sha256Sess => 2,
            DigestAlgorithm::Sha512_256 | DigestAlgorithm::Sha512_256Sess => 3,
        }
    }

    /// Lower-case hex of the hash of `parts` joined with `:`.
    fn hash_hex(self, parts: &[&str]) -> String {
        fn run<D: Digest>(parts: &[&str]) -> String {
            let mut d = D::new();
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    d.update(b":");
                }
                d.update(p.as_bytes());
            }
            hex::encode(d.finalize())
        }
        match self {
            DigestAlgorithm::Md5 | DigestAlgorithm::Md5Sess => run::<Md5>(parts),
            DigestAlgorithm::Sha256 | DigestAlgorithm::Sha256Sess => run::<Sha256>(parts),
            DigestAlgorithm::Sha512_256 | DigestAlgorithm::Sha512_256Sess => {
                run::<Sha512_256>(parts)
            }
        }
    }
}

/// H(A1) = H(username:realm:password): what a server may store instead of the password.
/// For `-sess` algorithms this is still the stored value; [`response`] mixes in the nonces.
pub fn ha1(algorithm: DigestAlgorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hash_hex(&[username, realm, password])
}

/// The quality of protection and counters of one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Qop<'a> {
    /// Nonce count (`nc`), 1 for the first use of a nonce.
    pub nc: u32,
    /// Client nonce (`cnonce`).
    pub cnonce: &'a str,
}

/// The `response` value: with `qop=auth`
/// `H(HA1:nonce:nc:cnonce:auth:H(method:uri))`, without qop `H(HA1:nonce:H(method:uri))`
/// (RFC 2069 compatibility). `ha1` is the stored H(username:realm:password).
pub fn response(
    algorithm: DigestAlgorithm,
    ha1: &str,
    nonce: &str,
    qop: Option<Qop<'_>>,
    method: &str,
    uri: &str,
) -> String {
    let session_ha1;
    let ha1 = match (algorithm.is_session(), qop) {
        (true, Some(q)) => {
            session_ha1 = algorithm.hash_hex(&[ha1, nonce, q.cnonce]);
            session_ha1.as_str()
        }
        _ => ha1,
    };
    let ha2 = algorithm.hash_hex(&[method, uri]);
    match qop {
        Some(q) => {
            let nc = format!("{:08x}", q.nc);
            algorithm.hash_hex(&[ha1, nonce, &nc, q.cnonce, "auth", &ha2])
        }
        None => algorithm.hash_hex(&[ha1, nonce, &ha2]),
    }
}

/// Compares without an early exit, so the time taken says nothing about where two digests
/// differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2617_section_3_5_example() {
        let ha1 = ha1(
            DigestAlgorithm::Md5,
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
        );
        let r = response(
            DigestAlgorithm::Md5,
            &ha1,
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            Some(Qop {
                nc: 1,
                cnonce: "0a4f113b",
            }),
            "GET",
            "/dir/index.html",
        );
        assert_eq!(r, "6629fae49393a05397450978507c4ef1");
    }

    /// RFC 7616 §3.9.1: the same request answered with MD5 and with SHA-256.
    #[test]
    fn rfc7616_section_3_9_1_examples() {
        let nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
        let qop = Some(Qop {
            nc: 1,
            cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        });
        let expected = [
            (DigestAlgorithm::Md5, "8ca523f5e9506fed4657c9700eebdbec"),
            (
                DigestAlgorithm::Sha256,
                "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
            ),
        ];
        for (algorithm, want) in expected {
            let ha1 = ha1(
                algorithm,
                "Mufasa",
                "http-auth@example.org",
                "Circle of Life",
            );
            let got = response(algorithm, &ha1, nonce, qop, "GET", "/dir/index.html");
            assert_eq!(got, want, "{algorithm:?}");
        }
    }

    #[test]
    fn rfc2069_style_without_qop_and_session_variants() {
        let ha1 = ha1(DigestAlgorithm::Md5, "u", "r", "p");
        let no_qop = response(DigestAlgorithm::Md5, &ha1, "n", None, "REGISTER", "sip:r");
        let ha2 = DigestAlgorithm::Md5.hash_hex(&["REGISTER", "sip:r"]);
        assert_eq!(no_qop, DigestAlgorithm::Md5.hash_hex(&[&ha1, "n", &ha2]));
        let qop = Some(Qop { nc: 2, cnonce: "c" });
        let sess = response(
            DigestAlgorithm::Md5Sess,
            &ha1,
            "n",
            qop,
            "REGISTER",
            "sip:r",
        );
        let plain = response(DigestAlgorithm::Md5, &ha1, "n", qop, "REGISTER", "sip:r");
        assert_ne!(sess, plain);
        assert_eq!(
            response(
                DigestAlgorithm::Sha512_256,
                &ha1,
                "n",
                qop,
                "REGISTER",
                "sip:r"
            )
            .len(),
            64
        );
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
