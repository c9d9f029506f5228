//! Events: what happened to calls and leads, told to whoever listens.
//!
//! - [`EventBus`]: in-process fan-out (tokio broadcast). The web app's live panel, the SIP side
//!   and the webhook dispatcher subscribe. A slow subscriber loses the oldest events rather than
//!   slowing down call handling; it is told how many it missed.
//! - [`webhooks`]: every event is written to the store as one pending delivery per subscribed
//!   webhook before any HTTP is attempted, so a restart resumes deliveries instead of losing
//!   them. Deliveries are signed with HMAC-SHA256 and retried with backoff.
//!
//! In a cluster the bus will be bridged to NATS; the types here stay the same.

pub mod webhooks;

use domain::{EventKind, Timestamp};
use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::broadcast;

/// One thing that happened. `data` is the JSON the web app and webhooks receive.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Unique per event; webhook receivers use it to drop duplicates of a retried delivery.
    pub id: String,
    pub kind: EventKind,
    pub at: Timestamp,
    pub data: serde_json::Value,
}

impl Event {
    pub fn new(kind: EventKind, at: Timestamp, data: serde_json::Value) -> Self {
        Event {
            id: format!("evt_{:032x}", rand::random::<u128>()),
            kind,
            at,
            data,
        }
    }
}

/// Cheap to clone; every clone publishes to the same subscribers.
#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<Event>>,
    /// How many of the subscribers are webhook dispatchers, which want only the kinds some
    /// webhook subscribes to (the others want everything).
    dispatchers: Arc<AtomicUsize>,
}

/// Counts a webhook dispatcher's subscription as one until dropped.
#[derive(Debug)]
pub(crate) struct DispatcherSubscription {
    dispatchers: Arc<AtomicUsize>,
}

impl Drop for DispatcherSubscription {
    fn drop(&mut self) {
        self.dispatchers.fetch_sub(1, Ordering::Relaxed);
    }
}

impl EventBus {
    /// `capacity`: how many events a subscriber may fall behind before it misses the oldest.
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(16));
        EventBus {
            sender,
            dispatchers: Arc::default(),
        }
    }

    /// Publishes to current subscribers; with none, the event is simply dropped.
    pub fn publish(&self, event: Event) -> Arc<Event> {
        let event = Arc::new(event);
        // An error only means nobody listens right now, which is fine.
        let _ = self.sender.send(event.clone());
        event
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender.subscribe()
    }

    /// A webhook dispatcher's subscription: it receives every event like any other, but
    /// [`EventBus::has_listeners_beyond_webhooks`] does not count it.
    pub(crate) fn subscribe_dispatcher(
        &self,
    ) -> (broadcast::Receiver<Arc<Event>>, DispatcherSubscription) {
        // Subscribed first, counted second: in between, a live listener is never missed.
        let events = self.sender.subscribe();
        self.dispatchers.fetch_add(1, Ordering::Relaxed);
        let counted = DispatcherSubscription {
            dispatchers: self.dispatchers.clone(),
        };
        (events, counted)
    }

    /// Whether a subscriber other than the webhook dispatchers listens (the web app's live
    /// panel, say): it wants every event. With none, a publisher may ask the store whether
    /// any webhook wants the event before building it.
    pub fn has_listeners_beyond_webhooks(&self) -> bool {
        self.sender.receiver_count() > self.dispatchers.load(Ordering::Relaxed)
    }
}

impl Default for EventBus {
    /// Room for a few seconds of a busy SIP server's events (three or four per call at
    /// thousands of calls a second), so a subscriber busy for a moment misses none. Only a
    /// pointer per slot; events stay alive only while a subscriber has yet to read them.
    fn default() -> Self {
        EventBus::new(16_384)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[tokio::test]
    async fn every_subscriber_gets_every_event_in_order() {
        let bus = EventBus::new(16);
        let mut a = bus.subscribe();
        let mut b = bus.subscribe();
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 11, 20, 10, 0, 0)
            .unwrap();
        bus.publish(Event::new(
            EventKind::CallRinging,
            at,
            serde_json::json!({"n": 1}),
        ));
        bus.publish(Event::new(
            EventKind::CallEnded,
            at,
            serde_json::json!({"n": 2}),
        ));
        for rx in [&mut a, &mut b] {
            assert_eq!(rx.recv().await.unwrap().kind, EventKind::CallRinging);
            assert_eq!(rx.recv().await.unwrap().data["n"], 2);
        }
    }

    #[test]
    fn webhook_dispatchers_do_not_count_as_listeners_for_everything() {
        let bus = EventBus::new(16);
        assert!(!bus.has_listeners_beyond_webhooks());
        let (_events, counted) = bus.subscribe_dispatcher();
        assert!(!bus.has_listeners_beyond_webhooks(), "only a dispatcher");
        let live = bus.subscribe();
        assert!(bus.has_listeners_beyond_webhooks(), "a live panel listens");
        drop(live);
        assert!(!bus.has_listeners_beyond_webhooks());
        drop(counted);
        let _other = bus.subscribe();
        assert!(bus.has_listeners_beyond_webhooks());
    }

    #[test]
    fn event_ids_are_unique() {
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 11, 20, 10, 0, 0)
            .unwrap();
        let a = Event::new(EventKind::LeadCreated, at, serde_json::Value::Null);
        let b = Event::new(EventKind::LeadCreated, at, serde_json::Value::Null);
        assert_ne!(a.id, b.id);
    }
}
