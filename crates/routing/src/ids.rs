//! Small identifiers shared by the config, the engine and the simulator.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An employee, with the same numeric id as the CRM's user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AgentId(pub i64);

impl fmt::Display for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One inbound call inside a [`crate::Router`], given out by the router in arrival order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CallId(pub u64);

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A timer the engine asked the driver to start; the driver hands it back in
/// [`crate::Event::TimerFired`]. Ids are unique within one router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TimerId(pub u64);

impl fmt::Display for TimerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// One playback of a prompt, so a late "prompt finished" for an interrupted
/// prompt is recognised and ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PlaybackId(pub u64);

/// Hasher for maps keyed by our own small ids (agents). The standard SipHash guards against
/// keys chosen to collide, which ids from the settings are not; it cost the SIP server a
/// tenth of a microsecond per lookup, and routing a call into a queue of a thousand looks up
/// every member. One multiply spreads sequential ids over hashbrown's buckets and control
/// bits alike.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by the id types (they write one integer); kept correct for any key.
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }
}

/// A map keyed by agent, hashed with [`IdHasher`].
pub(crate) type AgentMap<V> =
    std::collections::HashMap<AgentId, V, std::hash::BuildHasherDefault<IdHasher>>;

/// A set of agents, hashed with [`IdHasher`].
pub(crate) type AgentSet =
    std::collections::HashSet<AgentId, std::hash::BuildHasherDefault<IdHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, BuildHasherDefault};

    #[test]
    fn sequential_agent_ids_spread_over_buckets_and_control_bits() {
        let build = BuildHasherDefault::<IdHasher>::default();
        let hashes: Vec<u64> = (1..=1024).map(|i| build.hash_one(AgentId(i))).collect();
        let low: std::collections::HashSet<u64> = hashes.iter().map(|h| h & 1023).collect();
        let top: std::collections::HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
        assert!(low.len() > 600, "bucket index bits: {} distinct", low.len());
        assert_eq!(top.len(), 128, "every control byte value in use");
    }
}
