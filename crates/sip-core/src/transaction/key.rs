//! [`TransactionKey`]: how messages find their transaction (RFC 3261 §17.1.3, §17.2.3).

use sip_proto::typed::{Via, BRANCH_MAGIC_COOKIE};
use sip_proto::Method;
use std::fmt;

/// Which side of a transaction this is. A UA that sends a request to itself has a client and
/// a server transaction with the same branch; the role keeps them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// We sent the request.
    Client,
    /// We received the request.
    Server,
}

/// Identifies one transaction.
///
/// - client (§17.1.3): the branch of the top Via we sent and the CSeq method;
/// - server (§17.2.3): the branch and sent-by of the top Via received and the method, with ACK
///   counted as INVITE (so an ACK for a non-2xx final finds its INVITE transaction). A CANCEL
///   has its own transaction; the INVITE it cancels has the same key with method INVITE.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TransactionKey {
    /// Client or server.
    pub role: Role,
    /// Via branch (with the `z9hG4bK` magic cookie), compared byte for byte: a peer echoes
    /// the branch unchanged, so any difference means another transaction.
    pub branch: String,
    /// Method, ACK mapped to INVITE.
    pub method: Method,
    /// Server side: `host:port` of the top Via sent-by, host lower-cased; empty for clients.
    pub sent_by: String,
}

impl TransactionKey {
    /// The key of a client transaction.
    pub fn client(branch: &str, method: Method) -> TransactionKey {
        TransactionKey {
            role: Role::Client,
            branch: branch.to_owned(),
            method: transaction_method(method),
            sent_by: String::new(),
        }
    }

    /// The key of the server transaction a request with this top Via belongs to.
    /// `None` when the branch lacks the RFC 3261 magic cookie (an RFC 2543 peer).
    pub fn server(top_via: &Via, method: Method) -> Option<TransactionKey> {
        let branch = top_via.branch()?;
        if !branch.starts_with(BRANCH_MAGIC_COOKIE) {
            return None;
        }
        Some(TransactionKey {
            role: Role::Server,
            branch: branch.to_owned(),
            method: transaction_method(method),
            sent_by: sent_by(top_via),
        })
    }

    /// The same transaction identity with another method: the INVITE transaction a CANCEL
    /// targets (§9.2), or the CANCEL transaction of an INVITE.
    pub fn with_method(&self, method: Method) -> TransactionKey {
        TransactionKey {
            method: transaction_method(method),
            ..self.clone()
        }
    }
}

impl fmt::Display for TransactionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let role = match self.role {
            Role::Client => "client",
            Role::Server => "server",
        };
        write!(f, "{role} {} {}", self.method, self.branch)?;
        if !self.sent_by.is_empty() {
            write!(f, " from {}", self.sent_by)?;
        }
        Ok(())
    }
}

/// ACK belongs to the INVITE transaction (§17.2.3).
fn transaction_method(method: Method) -> Method {
    if method == Method::Ack {
        Method::Invite
    } else {
        method
    }
}

/// `host:port` with the transport's default port filled in, so `a.example` and
/// `a.example:5060` compare equal.
fn sent_by(via: &Via) -> String {
    let mut host = String::new();
    via.host.write(&mut host);
    host.make_ascii_lowercase();
    format!("{host}:{}", via.port_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sip_proto::TypedHeader;

    #[test]
    fn server_key_maps_ack_to_invite_and_normalises_sent_by() {
        let a = Via::parse("SIP/2.0/UDP PBX.example.com;branch=z9hG4bKab").unwrap();
        let b = Via::parse("SIP/2.0/UDP pbx.example.com:5060;branch=z9hG4bKab").unwrap();
        let invite = TransactionKey::server(&a, Method::Invite).unwrap();
        assert_eq!(
            TransactionKey::server(&b, Method::Ack),
            Some(invite.clone())
        );
        let cancel = TransactionKey::server(&b, Method::Cancel).unwrap();
        assert_ne!(cancel, invite);
        assert_eq!(cancel.with_method(Method::Invite), invite);
        let other_port = Via::parse("SIP/2.0/UDP pbx.example.com:5070;branch=z9hG4bKab").unwrap();
        assert_ne!(
            TransactionKey::server(&other_port, Method::Invite),
            Some(invite)
        );
    }

    #[test]
    fn rfc2543_branches_have_no_key() {
        let v = Via::parse("SIP/2.0/UDP host;branch=1234").unwrap();
        assert_eq!(TransactionKey::server(&v, Method::Invite), None);
        let v = Via::parse("SIP/2.0/UDP host").unwrap();
        assert_eq!(TransactionKey::server(&v, Method::Invite), None);
    }
}
