//! [`ReplayGuard`]: the bounded memory of nonce counts behind [`super::DigestServer`].

use crate::time::Instant;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

/// Remembers, for up to `capacity` nonces, the highest `nc` accepted, so a replayed
/// `(nonce, nc)` is answered `stale=true`.
///
/// Every operation is O(log n): nonces are also kept ordered by issue time, so the oldest
/// (the expired ones first, as they are the oldest) is found without a scan. When the guard
/// is full a new nonce is still accepted and remembered: the oldest remembered nonce is
/// forgotten to make room. Forgetting a live nonce early costs little: a later replay of it
/// would be accepted once more, only until the nonce expires, and only by a client that
/// holds the password (the digest is checked first). Refusing a fresh nonce instead would
/// send every client into a challenge/retry loop under load.
#[derive(Debug, Clone)]
pub(crate) struct ReplayGuard {
    capacity: usize,
    /// nonce → (highest nc accepted, issue time)
    seen: HashMap<String, (u32, Instant)>,
    /// The keys of `seen`, ordered by issue time (ties by nonce text).
    by_issue: BTreeSet<(Instant, String)>,
}

impl ReplayGuard {
    /// A guard remembering at most `capacity` nonces; 0 turns it off.
    pub(crate) fn new(capacity: usize) -> ReplayGuard {
        ReplayGuard {
            capacity,
            seen: HashMap::new(),
            by_issue: BTreeSet::new(),
        }
    }

    /// Records `nc` for `nonce` (issued at `issued`); false if `nc` is not higher than one
    /// accepted before for this nonce (a replay). A nonce not remembered is always accepted.
    /// Nonces older than `lifetime` at `now` are forgotten on the way.
    pub(crate) fn accept(
        &mut self,
        nonce: &str,
        nc: u32,
        issued: Instant,
        now: Instant,
        lifetime: Duration,
    ) -> bool {
        if self.capacity == 0 {
            return true;
        }
        if let Some((last, _)) = self.seen.get_mut(nonce) {
            if nc <= *last {
                return false;
            }
            *last = nc;
            return true;
        }
        self.forget_expired(now, lifetime);
        while self.seen.len() >= self.capacity {
            self.forget_oldest();
        }
        self.seen.insert(nonce.to_owned(), (nc, issued));
        self.by_issue.insert((issued, nonce.to_owned()));
        true
    }

    /// How many nonces are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether `nonce` is remembered.
    #[cfg(test)]
    pub(crate) fn contains(&self, nonce: &str) -> bool {
        self.seen.contains_key(nonce)
    }

    /// Forgets every nonce issued more than `lifetime` before `now`: they sit at the front.
    fn forget_expired(&mut self, now: Instant, lifetime: Duration) {
        while let Some((issued, _)) = self.by_issue.first() {
            if now.saturating_duration_since(*issued) <= lifetime {
                break;
            }
            self.forget_oldest();
        }
    }

    fn forget_oldest(&mut self) {
        if let Some((_, nonce)) = self.by_issue.pop_first() {
            self.seen.remove(&nonce);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIFETIME: Duration = Duration::from_secs(300);

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn replays_are_caught_and_higher_counts_pass() {
        let mut g = ReplayGuard::new(10);
        assert!(g.accept("a", 1, at(0), at(0), LIFETIME));
        assert!(!g.accept("a", 1, at(0), at(10), LIFETIME));
        assert!(g.accept("a", 2, at(0), at(20), LIFETIME));
        assert!(!g.accept("a", 2, at(0), at(30), LIFETIME));
        assert!(!g.accept("a", 1, at(0), at(30), LIFETIME));
        assert!(g.accept("b", 1, at(5), at(30), LIFETIME));
    }

    #[test]
    fn capacity_zero_remembers_nothing() {
        let mut g = ReplayGuard::new(0);
        assert!(g.accept("a", 1, at(0), at(0), LIFETIME));
        assert!(g.accept("a", 1, at(0), at(0), LIFETIME));
        assert_eq!(g.len(), 0);
    }

    #[test]
    fn a_full_cache_of_live_nonces_still_accepts_new_ones_and_forgets_the_oldest() {
        let mut g = ReplayGuard::new(3);
        // Used in another order than issued: eviction follows issue time, not first use.
        assert!(g.accept("n2", 1, at(2), at(10), LIFETIME));
        assert!(g.accept("n1", 1, at(1), at(10), LIFETIME));
        assert!(g.accept("n3", 1, at(3), at(10), LIFETIME));
        assert_eq!(g.len(), 3);

        // All live, cache full: the fresh nonce is accepted, n1 (issued first) forgotten.
        assert!(g.accept("n4", 1, at(4), at(11), LIFETIME));
        assert_eq!(g.len(), 3);
        assert!(!g.contains("n1"));
        assert!(g.contains("n2") && g.contains("n3") && g.contains("n4"));
        // Replays of the remembered ones are still caught.
        assert!(!g.accept("n2", 1, at(2), at(12), LIFETIME));
        assert!(!g.accept("n3", 1, at(3), at(12), LIFETIME));
        assert!(!g.accept("n4", 1, at(4), at(12), LIFETIME));

        // Next goes n2, then n3.
        assert!(g.accept("n5", 1, at(5), at(13), LIFETIME));
        assert!(!g.contains("n2"));
        assert!(g.accept("n6", 1, at(6), at(14), LIFETIME));
        assert!(!g.contains("n3"));
        assert!(g.contains("n4") && g.contains("n5") && g.contains("n6"));
    }

    #[test]
    fn expired_nonces_are_forgotten_before_any_live_one() {
        let mut g = ReplayGuard::new(4);
        let life = Duration::from_millis(100);
        assert!(g.accept("old1", 1, at(0), at(0), life));
        assert!(g.accept("old2", 1, at(10), at(10), life));
        assert!(g.accept("live", 1, at(150), at(150), life));
        // At 200 the two old ones have expired; inserting forgets both, though not full.
        assert!(g.accept("new", 1, at(190), at(200), life));
        assert_eq!(g.len(), 2);
        assert!(g.contains("live") && g.contains("new"));
        assert!(!g.accept("live", 1, at(150), at(200), life));
    }

    #[test]
    fn an_older_fresh_nonce_is_accepted_even_when_full() {
        let mut g = ReplayGuard::new(2);
        assert!(g.accept("b", 1, at(20), at(30), LIFETIME));
        assert!(g.accept("c", 1, at(30), at(30), LIFETIME));
        // Issued before everything remembered, never seen: accepted, and remembered.
        assert!(g.accept("a", 1, at(10), at(31), LIFETIME));
        assert!(g.contains("a"));
        assert!(!g.accept("a", 1, at(10), at(32), LIFETIME));
        assert_eq!(g.len(), 2);
    }

    /// A million distinct nonces through a guard of 10,000 at 5,000 new nonces a second,
    /// each used twice: every first use is accepted, every immediate replay caught, and the
    /// guard never grows past its capacity. With the old full scan per insert this took
    /// minutes; now it is linear in the number of nonces.
    #[test]
    fn sustained_load_never_refuses_a_fresh_nonce() {
        let capacity = 10_000;
        let mut g = ReplayGuard::new(capacity);
        let life = Duration::from_secs(300);
        let mut refused = 0u32;
        let mut replays_missed = 0u32;
        for i in 0..1_000_000u64 {
            let now = Instant::from_duration(Duration::from_micros(i * 200));
            let nonce = format!("nonce-{i}");
            if !g.accept(&nonce, 1, now, now, life) {
                refused += 1;
            }
            if g.accept(&nonce, 1, now, now, life) {
                replays_missed += 1;
            }
            assert!(g.len() <= capacity);
        }
        assert_eq!(refused, 0);
        assert_eq!(replays_missed, 0);
        assert_eq!(g.len(), capacity);
        assert_eq!(g.seen.len(), g.by_issue.len());
        // The most recent `capacity` nonces are the ones remembered.
        assert!(g.contains("nonce-999999"));
        assert!(g.contains("nonce-990000"));
        assert!(!g.contains("nonce-989999"));
    }
}
