//! [`Directory`]: what the embedder knows and the B2BUA asks synchronously — where an agent's
//! phones are registered and which trunk reaches an external number.

use routing::AgentId;
use sip_core::digest::ClientCredentials;
use sip_core::Peer;
use sip_proto::Uri;

/// One registered device of an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentContact {
    /// The registered Contact URI: the Request-URI of the INVITE.
    pub uri: Uri,
    /// Where the INVITE goes: the address the REGISTER came from, which behind NAT is the
    /// only address that reaches the phone (RFC 3581).
    pub destination: Peer,
}

/// How to place a call to an external number.
#[derive(Debug, Clone, PartialEq)]
pub struct TrunkRoute {
    /// The Request-URI, e.g. `sip:+4915112345678@sip.provider.example`.
    pub uri: Uri,
    /// The provider's (or outbound proxy's) address.
    pub destination: Peer,
    /// The host of our From URI towards this provider (its domain, usually).
    pub from_domain: String,
    /// The user of our From URI when the provider wants its own (the trunk's number or
    /// account); `None`: the caller ID the routing chose.
    pub from_user: Option<String>,
    /// Answers the provider's 401/407, if it challenges.
    pub credentials: Option<ClientCredentials>,
}

/// Answers the B2BUA's synchronous questions. The registrar bindings and the trunk settings
/// live in memory in the shell, so a plain trait is enough; the CRM lookup, which needs the
/// database, is asked for with [`crate::Output::LookupCaller`] instead.
pub trait Directory {
    /// The live registered contacts of an agent (empty: not registered).
    fn agent_contacts(&self, agent: AgentId) -> Vec<AgentContact>;

    /// The trunk that reaches `number` (E.164) for a call presented as `line_number` (the
    /// caller ID); `None` when no trunk may be used.
    fn trunk_route(&self, number: &str, caller_id: &str) -> Option<TrunkRoute>;
}
