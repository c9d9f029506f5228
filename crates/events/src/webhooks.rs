//! Webhook delivery: persisted first, then POSTed, signed, retried with backoff, logged.
//!
//! Receivers check `X-Ringbase-Signature: sha256=<hex>`, the HMAC-SHA256 of
//! `"<X-Ringbase-Timestamp>.<body>"` under the webhook's secret. Signing the timestamp with the
//! body lets a receiver refuse replays of old deliveries. Retries of one delivery carry the same
//! `X-Ringbase-Delivery` id and the same event `id` in the body, so receivers can drop duplicates.

use crate::{Event, EventBus};
use domain::{DeliveryState, EventKind, Timestamp, Webhook, WebhookDelivery};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use store::{DeliveryAttempt, Store, StoreResult};
use tokio::sync::{broadcast, Notify};

/// Events queued per turn of the dispatcher at most (the rest wait for the next turn).
const BURST: usize = 1024;

/// When to try again after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub first_delay: Duration,
    pub factor: u32,
    pub max_delay: Duration,
    /// Attempts in all, the first included.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// 10 s, 30 s, 1.5 min, 4.5 min, 13.5 min, 40 min, 2 h, 6 h: a receiver may be down for most
    /// of a working day and still get every event.
    fn default() -> Self {
        RetryPolicy {
            first_delay: Duration::from_secs(10),
            factor: 3,
            max_delay: Duration::from_secs(6 * 3600),
            max_attempts: 9,
        }
    }
}

impl RetryPolicy {
    /// The wait before the next attempt after `attempts_made` failed ones; `None` means give up.
    pub fn delay_after(&self, attempts_made: u32) -> Option<Duration> {
        if attempts_made == 0 || attempts_made >= self.max_attempts {
            return None;
        }
        let mut delay = self.first_delay;
        for _ in 1..attempts_made {
            delay = delay.saturating_mul(self.factor);
            if delay >= self.max_delay {
                return Some(self.max_delay);
            }
        }
        Some(delay.min(self.max_delay))
    }
}

/// `sha256=<hex of HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Writes deliveries for events and performs them.
#[derive(Clone)]
pub struct WebhookDispatcher {
    store: Arc<dyn Store>,
    client: reqwest::Client,
    policy: RetryPolicy,
    wake: Arc<Notify>,
}

impl WebhookDispatcher {
    pub fn new(store: Arc<dyn Store>, policy: RetryPolicy) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("Ringbase-Webhooks/", env!("CARGO_PKG_VERSION")))
            // A webhook URL names exactly where events go; following redirects would let a
            // receiver send them elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a TLS backend is compiled in");
        WebhookDispatcher {
            store,
            client,
            policy,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Persists one pending delivery per webhook subscribed to the event's kind.
    pub async fn enqueue(&self, event: &Event) -> StoreResult<u64> {
        // The payload is a deep copy of the event: not made for events nobody subscribed to.
        if !self.store.has_webhook_subscribers(event.kind).await? {
            return Ok(0);
        }
        self.enqueue_subscribed(event).await
    }

    /// [`Self::enqueue`] once the event's kind is known to have subscribers.
    async fn enqueue_subscribed(&self, event: &Event) -> StoreResult<u64> {
        let payload = serde_json::to_value(event).expect("events serialize");
        let queued = self
            .store
            .enqueue_deliveries(event.kind, &payload, event.at)
            .await?;
        if queued > 0 {
            self.wake.notify_one();
        }
        Ok(queued)
    }

    /// Attempts every delivery due at `now`, a batch at a time; returns how many were attempted.
    pub async fn deliver_due(&self, now: Timestamp) -> StoreResult<usize> {
        let mut attempted = 0;
        loop {
            let due = self.store.due_deliveries(now, 32).await?;
            if due.is_empty() {
                return Ok(attempted);
            }
            let batch = due.len();
            let mut tasks = tokio::task::JoinSet::new();
            for (delivery, hook) in due {
                let this = self.clone();
                tasks.spawn(async move { this.attempt(delivery, hook, now).await });
            }
            while let Some(result) = tasks.join_next().await {
                if let Ok(Err(e)) = result {
                    tracing::warn!(error = %e, "could not record a webhook attempt");
                }
            }
            attempted += batch;
        }
    }

    async fn attempt(
        &self,
        delivery: WebhookDelivery,
        hook: Webhook,
        now: Timestamp,
    ) -> StoreResult<()> {
        let body = serde_json::to_vec(&delivery.payload).expect("JSON values serialize");
        let timestamp = now.timestamp();
        let sent = self
            .client
            .post(&hook.url)
            .header("content-type", "application/json")
            .header("x-ringbase-event", delivery.event.as_str())
            .header("x-ringbase-delivery", delivery.id.to_string())
            .header("x-ringbase-timestamp", timestamp.to_string())
            .header(
                "x-ringbase-signature",
                signature(hook.secret.as_bytes(), timestamp, &body),
            )
            .body(body)
            .send()
            .await;
        let (status, error) = match sent {
            Ok(response) if response.status().is_success() => {
                (Some(response.status().as_u16()), None)
            }
            Ok(response) => (
                Some(response.status().as_u16()),
                Some(format!("receiver answered {}", response.status())),
            ),
            Err(e) => (None, Some(describe(&e))),
        };
        let outcome = match error {
            None => DeliveryAttempt {
                status,
                error: None,
                next_attempt_at: None,
                state: DeliveryState::Delivered,
            },
            Some(error) => {
                let next = self
                    .policy
                    .delay_after(delivery.attempts + 1)
                    .and_then(|d| chrono::Duration::from_std(d).ok())
                    .map(|d| now + d);
                tracing::info!(webhook = %hook.id, delivery = %delivery.id, %error, retry = ?next, "webhook delivery failed");
                DeliveryAttempt {
                    status,
                    error: Some(error),
                    next_attempt_at: next,
                    state: if next.is_some() {
                        DeliveryState::Pending
                    } else {
                        DeliveryState::Failed
                    },
                }
            }
        };
        self.store
            .record_delivery_attempt(delivery.id, outcome)
            .await
    }

    /// Runs until `shutdown` resolves: persists every event from the bus, and delivers what is
    /// due whenever something was queued or every `poll` at the latest.
    pub fn spawn(
        self,
        bus: &EventBus,
        poll: Duration,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let (mut events, counted) = bus.subscribe_dispatcher();
        tokio::spawn(async move {
            let _counted = counted;
            tokio::pin!(shutdown);
            let mut tick = tokio::time::interval(poll);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = &mut shutdown => return,
                    received = events.recv() => match received {
                        Ok(event) => {
                            // Take what else is waiting too: a burst (a thousand calls ending
                            // at once) is queued as fast as it came, not one await at a time
                            // while the bus's buffer runs over.
                            let mut burst = vec![event];
                            while burst.len() < BURST {
                                match events.try_recv() {
                                    Ok(event) => burst.push(event),
                                    Err(_) => break,
                                }
                            }
                            self.enqueue_burst(&burst).await;
                        }
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            tracing::error!(missed, "webhook dispatcher fell behind the event bus; events were not delivered");
                        }
                        Err(broadcast::error::RecvError::Closed) => return,
                    },
                    _ = tick.tick() => self.deliver_logged().await,
                    _ = self.wake.notified() => self.deliver_logged().await,
                }
            }
        })
    }

    /// [`Self::enqueue`] for each event, asking about subscribers once per kind.
    async fn enqueue_burst(&self, burst: &[Arc<Event>]) {
        let mut subscribed: Vec<(EventKind, bool)> = Vec::new();
        for event in burst {
            let wanted = match subscribed.iter().find(|(kind, _)| *kind == event.kind) {
                Some((_, wanted)) => *wanted,
                None => {
                    let wanted = self
                        .store
                        .has_webhook_subscribers(event.kind)
                        .await
                        .unwrap_or(true);
                    subscribed.push((event.kind, wanted));
                    wanted
                }
            };
            if !wanted {
                continue;
            }
            if let Err(e) = self.enqueue_subscribed(event).await {
                tracing::error!(error = %e, event = %event.id, "could not queue webhook deliveries");
            }
        }
    }

    async fn deliver_logged(&self) {
        if let Err(e) = self.deliver_due(chrono::Utc::now()).await {
            tracing::warn!(error = %e, "webhook delivery pass failed");
        }
    }
}

/// reqwest's Display hides the cause ("error sending request"); the log wants it.
fn describe(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_then_gives_up() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay_after(0), None);
        assert_eq!(p.delay_after(1), Some(Duration::from_secs(10)));
        assert_eq!(p.delay_after(2), Some(Duration::from_secs(30)));
        assert_eq!(p.delay_after(3), Some(Duration::from_secs(90)));
        assert_eq!(p.delay_after(8), Some(Duration::from_secs(6 * 3600)));
        assert_eq!(p.delay_after(9), None);
    }

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Reference value computed independently:
        // printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'whsec_0123456789abcdef'
        let sig = signature(b"whsec_0123456789abcdef", 1_700_000_000, br#"{"a":1}"#);
        assert_eq!(
            sig,
            "sha256=9f5e37cdc7ea587c7c02062d93283cad000d66a831b2a1676418696db47ed6c2"
        );
        assert_ne!(
            sig,
            signature(b"whsec_0123456789abcdeX", 1_700_000_000, br#"{"a":1}"#)
        );
        assert_ne!(
            sig,
            signature(b"whsec_0123456789abcdef", 1_700_000_001, br#"{"a":1}"#)
        );
    }
}
