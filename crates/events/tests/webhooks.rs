//! Webhooks against a real HTTP receiver on loopback and a real SQLite store.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::TimeZone;
use domain::{DeliveryState, EventKind, NewWebhook};
use events::webhooks::{signature, RetryPolicy, WebhookDispatcher};
use events::{Event, EventBus};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::{Page, Store};

/// One request the receiver saw: its headers and body.
type Request = (HeaderMap, Vec<u8>);

#[derive(Clone, Default)]
struct Receiver {
    /// Status to answer for each request in turn; 200 once they run out.
    answers: Arc<Mutex<Vec<u16>>>,
    seen: Arc<Mutex<Vec<Request>>>,
}

async fn receive(
    State(rx): State<Receiver>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    rx.seen.lock().unwrap().push((headers, body.to_vec()));
    let mut answers = rx.answers.lock().unwrap();
    let code = if answers.is_empty() {
        200
    } else {
        answers.remove(0)
    };
    StatusCode::from_u16(code).unwrap()
}

async fn receiver(answers: Vec<u16>) -> (String, Receiver) {
    let rx = Receiver {
        answers: Arc::new(Mutex::new(answers)),
        ..Default::default()
    };
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(rx.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), rx)
}

async fn sqlite_store() -> (Arc<dyn Store>, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "ringbase-hooks-{}-{:x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let store = store_sql::SqlStore::open_sqlite_file(&dir.join("t.db"))
        .await
        .unwrap();
    (Arc::new(store), dir)
}

const SECRET: &str = "whsec_test_secret_0123456789";

/// A webhook at `url` for these kinds of event, signed with [`SECRET`].
async fn subscribed(
    store: &Arc<dyn Store>,
    url: impl Into<String>,
    events: Vec<EventKind>,
    at: chrono::DateTime<chrono::Utc>,
) -> domain::Webhook {
    store
        .create_webhook(
            NewWebhook {
                url: url.into(),
                events,
                secret: SECRET.into(),
            },
            at,
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn a_failed_delivery_is_retried_after_the_backoff_and_then_delivered_signed() {
    let (url, rx) = receiver(vec![500]).await;
    let (store, dir) = sqlite_store().await;
    let t0 = chrono::Utc
        .with_ymd_and_hms(2026, 11, 21, 10, 0, 0)
        .unwrap();
    let hook = subscribed(&store, url, vec![EventKind::CallEnded], t0).await;
    let dispatcher = WebhookDispatcher::new(store.clone(), RetryPolicy::default());

    let event = Event::new(
        EventKind::CallEnded,
        t0,
        serde_json::json!({"call": {"id": 7}}),
    );
    assert_eq!(dispatcher.enqueue(&event).await.unwrap(), 1);
    // Not subscribed: nothing queued.
    let other = Event::new(EventKind::LeadCreated, t0, serde_json::json!({}));
    assert_eq!(dispatcher.enqueue(&other).await.unwrap(), 0);

    assert_eq!(dispatcher.deliver_due(t0).await.unwrap(), 1);
    let log = store
        .list_deliveries(hook.id, Page::default())
        .await
        .unwrap();
    assert_eq!(log[0].state, DeliveryState::Pending);
    assert_eq!(log[0].attempts, 1);
    assert_eq!(log[0].last_status, Some(500));
    assert_eq!(
        log[0].next_attempt_at,
        Some(t0 + chrono::Duration::seconds(10))
    );

    // Not yet due 9 s later; due after 10 s.
    assert_eq!(
        dispatcher
            .deliver_due(t0 + chrono::Duration::seconds(9))
            .await
            .unwrap(),
        0
    );
    let t1 = t0 + chrono::Duration::seconds(10);
    assert_eq!(dispatcher.deliver_due(t1).await.unwrap(), 1);
    let log = store
        .list_deliveries(hook.id, Page::default())
        .await
        .unwrap();
    assert_eq!(log[0].state, DeliveryState::Delivered);
    assert_eq!(log[0].attempts, 2);

    let seen = rx.seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    let (headers, body) = &seen[1];
    assert_eq!(headers["x-ringbase-event"], "call.ended");
    let ts: i64 = headers["x-ringbase-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(ts, t1.timestamp());
    assert_eq!(
        headers["x-ringbase-signature"].to_str().unwrap(),
        signature(SECRET.as_bytes(), ts, body)
    );
    let payload: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(payload["id"], event.id.as_str());
    assert_eq!(payload["kind"], "call.ended");
    assert_eq!(payload["data"]["call"]["id"], 7);
    // Both attempts carried the same event id, so the receiver can drop duplicates.
    let first: serde_json::Value = serde_json::from_slice(&seen[0].1).unwrap();
    assert_eq!(first["id"], payload["id"]);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_receiver_that_keeps_failing_is_given_up_on_after_the_last_attempt() {
    let (url, rx) = receiver(vec![503, 503, 503]).await;
    let (store, dir) = sqlite_store().await;
    let t0 = chrono::Utc
        .with_ymd_and_hms(2026, 11, 21, 10, 0, 0)
        .unwrap();
    let hook = subscribed(&store, url, vec![EventKind::LeadCreated], t0).await;
    let policy = RetryPolicy {
        max_attempts: 2,
        ..RetryPolicy::default()
    };
    let dispatcher = WebhookDispatcher::new(store.clone(), policy);
    dispatcher
        .enqueue(&Event::new(
            EventKind::LeadCreated,
            t0,
            serde_json::json!({}),
        ))
        .await
        .unwrap();
    dispatcher.deliver_due(t0).await.unwrap();
    dispatcher
        .deliver_due(t0 + chrono::Duration::hours(1))
        .await
        .unwrap();
    let log = store
        .list_deliveries(hook.id, Page::default())
        .await
        .unwrap();
    assert_eq!(log[0].state, DeliveryState::Failed);
    assert_eq!(log[0].attempts, 2);
    assert_eq!(log[0].next_attempt_at, None);
    assert_eq!(
        dispatcher
            .deliver_due(t0 + chrono::Duration::days(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(rx.seen.lock().unwrap().len(), 2);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn an_unreachable_receiver_is_logged_with_the_cause() {
    // Port 9 on loopback: nothing listens (discard), so the connection is refused.
    let (store, dir) = sqlite_store().await;
    let t0 = chrono::Utc
        .with_ymd_and_hms(2026, 11, 21, 10, 0, 0)
        .unwrap();
    let hook = subscribed(
        &store,
        "http://127.0.0.1:9/hook",
        vec![EventKind::CallEnded],
        t0,
    )
    .await;
    let dispatcher = WebhookDispatcher::new(store.clone(), RetryPolicy::default());
    dispatcher
        .enqueue(&Event::new(EventKind::CallEnded, t0, serde_json::json!({})))
        .await
        .unwrap();
    dispatcher.deliver_due(t0).await.unwrap();
    let log = store
        .list_deliveries(hook.id, Page::default())
        .await
        .unwrap();
    assert_eq!(log[0].state, DeliveryState::Pending);
    assert_eq!(log[0].last_status, None);
    assert!(
        log[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .to_lowercase()
            .contains("connect"),
        "{:?}",
        log[0].last_error
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_burst_of_events_published_at_once_is_queued_in_full() {
    // Thousands of calls ending together publish their events faster than the dispatcher
    // runs (here: all before it runs at all, on this single-threaded runtime). The bus holds
    // them and the dispatcher queues every one: none "fell behind".
    const BURST: usize = 2_500;
    let store: Arc<dyn Store> =
        Arc::new(store_sql::SqlStore::open("sqlite::memory:").await.unwrap());
    let (url, _rx) = receiver(vec![200; BURST]).await;
    let t0 = chrono::Utc
        .with_ymd_and_hms(2026, 11, 21, 10, 0, 0)
        .unwrap();
    let hook = subscribed(&store, url, vec![EventKind::CallEnded], t0).await;
    let bus = EventBus::default();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = WebhookDispatcher::new(store.clone(), RetryPolicy::default()).spawn(
        &bus,
        Duration::from_secs(3600),
        async move {
            let _ = stopped.await;
        },
    );
    for i in 0..BURST {
        bus.publish(Event::new(
            EventKind::CallEnded,
            t0,
            serde_json::json!({ "call": i }),
        ));
        // Events nobody subscribed to share the bus and must not crowd the others out.
        bus.publish(Event::new(
            EventKind::CallRinging,
            t0,
            serde_json::json!({ "call": i }),
        ));
    }
    let mut queued = 0;
    for _ in 0..600 {
        queued = 0;
        loop {
            let page = store
                .list_deliveries(hook.id, Page::new(Page::MAX_LIMIT, queued as u64))
                .await
                .unwrap();
            queued += page.len();
            if page.len() < Page::MAX_LIMIT as usize {
                break;
            }
        }
        if queued >= BURST {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        queued, BURST,
        "one delivery per call.ended, none lost, none twice"
    );
    let _ = stop.send(());
    let _ = task.await;
}
