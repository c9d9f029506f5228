//! The lookup cache: E.164 → caller card, in process.
//!
//! Correctness rule: a card computed from data that a concurrent write changed must not be
//! cached. Every invalidation bumps `writes`; a reader notes `writes` before it reads the store
//! and caches its card only if no invalidation happened meanwhile. Per-number invalidation
//! (call logging) keeps the rest of the cache warm; CRM edits, which are rarer and can touch
//! many numbers at once (a company's deal), clear everything.

use crate::card::CallerCard;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

pub(crate) struct LookupCache {
    cards: RwLock<HashMap<String, Arc<CallerCard>>>,
    writes: AtomicU64,
    capacity: usize,
}

/// Proof of when a reader started; see the module docs.
#[derive(Clone, Copy)]
pub(crate) struct ReadTicket(u64);

impl LookupCache {
    pub(crate) fn new(capacity: usize) -> Self {
        LookupCache {
            cards: RwLock::new(HashMap::new()),
            writes: AtomicU64::new(0),
            capacity,
        }
    }

    pub(crate) fn get(&self, e164: &str) -> Option<Arc<CallerCard>> {
        self.cards.read().expect("cache lock").get(e164).cloned()
    }

    pub(crate) fn ticket(&self) -> ReadTicket {
        ReadTicket(self.writes.load(Ordering::Acquire))
    }

    pub(crate) fn put(&self, e164: String, card: Arc<CallerCard>, ticket: ReadTicket) {
        let mut cards = self.cards.write().expect("cache lock");
        // Checked under the write lock: invalidations also take it, so none can slip between.
        if self.writes.load(Ordering::Acquire) != ticket.0 {
            return;
        }
        if cards.len() >= self.capacity {
            // Simple and bounded: a full cache starts over. Lookups are sub-millisecond even
            // uncached, so a rare cold start costs little and an LRU would cost every hit.
            cards.clear();
        }
        cards.insert(e164, card);
    }

    pub(crate) fn invalidate(&self, e164: &str) {
        let mut cards = self.cards.write().expect("cache lock");
        self.writes.fetch_add(1, Ordering::AcqRel);
        cards.remove(e164);
    }

    /// A write that touched only this number's card: `revise` answers the card as it is now,
    /// or `None` when the change is more than it can tell (the card is then dropped). Counts
    /// as an invalidation for readers in flight, whose cards may predate the write.
    pub(crate) fn revise(
        &self,
        e164: &str,
        revise: impl FnOnce(&CallerCard) -> Option<CallerCard>,
    ) {
        let mut cards = self.cards.write().expect("cache lock");
        self.writes.fetch_add(1, Ordering::AcqRel);
        let Some(card) = cards.get_mut(e164) else {
            return;
        };
        match revise(card) {
            Some(revised) => *card = Arc::new(revised),
            None => {
                cards.remove(e164);
            }
        }
    }

    pub(crate) fn invalidate_all(&self) {
        let mut cards = self.cards.write().expect("cache lock");
        self.writes.fetch_add(1, Ordering::AcqRel);
        cards.clear();
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.cards.read().expect("cache lock").len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(raw: &str) -> Arc<CallerCard> {
        Arc::new(CallerCard::unknown(Some(raw.into()), raw.into()))
    }

    #[test]
    fn a_card_read_before_a_write_is_not_cached() {
        let cache = LookupCache::new(10);
        let ticket = cache.ticket();
        cache.invalidate("+4930123456");
        cache.put("+4930123456".into(), card("+4930123456"), ticket);
        assert!(cache.get("+4930123456").is_none());
        let ticket = cache.ticket();
        cache.put("+4930123456".into(), card("+4930123456"), ticket);
        assert!(cache.get("+4930123456").is_some());
    }

    #[test]
    fn invalidation_by_number_and_in_full() {
        let cache = LookupCache::new(10);
        for n in ["+1", "+2", "+3"] {
            let t = cache.ticket();
            cache.put(n.into(), card(n), t);
        }
        cache.invalidate("+2");
        assert!(cache.get("+2").is_none());
        assert!(cache.get("+1").is_some());
        cache.invalidate_all();
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn a_revision_replaces_the_card_or_drops_it_and_stops_readers_in_flight() {
        let cache = LookupCache::new(10);
        let t = cache.ticket();
        cache.put("+1".into(), card("+1"), t);
        let in_flight = cache.ticket();
        cache.revise("+1", |c| {
            let mut c = c.clone();
            c.raw = "revised".into();
            Some(c)
        });
        assert_eq!(cache.get("+1").unwrap().raw, "revised");
        cache.put("+1".into(), card("+1"), in_flight);
        assert_eq!(
            cache.get("+1").unwrap().raw,
            "revised",
            "a stale reader lost"
        );
        cache.revise("+1", |_| None);
        assert!(cache.get("+1").is_none());
        cache.revise("+2", |_| panic!("nothing cached, nothing to revise"));
    }

    #[test]
    fn capacity_is_bounded() {
        let cache = LookupCache::new(2);
        for n in ["+1", "+2", "+3"] {
            let t = cache.ticket();
            cache.put(n.into(), card(n), t);
        }
        assert!(cache.len() <= 2);
        assert!(cache.get("+3").is_some());
    }
}
