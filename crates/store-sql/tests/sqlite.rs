//! The conformance suite on SQLite, a fresh database file per case; and what only SQLite has.

use std::path::PathBuf;
use std::sync::Arc;
use store::conformance::Harness;
use store::Store;
use store_sql::SqlStore;

/// A directory of its own under the system temp dir, removed by the case's cleanup.
fn fresh_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "ringbase-store-sql-{}-{:016x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&dir).expect("create a temp dir");
    dir
}

async fn fresh_sqlite() -> Harness {
    let dir = fresh_dir();
    let store = SqlStore::open_sqlite_file(&dir.join("ringbase.db"))
        .await
        .expect("open a fresh SQLite file");
    Harness::new(Arc::new(store)).with_cleanup(async move {
        let _ = std::fs::remove_dir_all(&dir);
    })
}

store::conformance_tests!(fresh_sqlite());

#[tokio::test]
async fn reopening_keeps_data_and_the_schema_version() {
    let dir = fresh_dir();
    let path = dir.join("odd name #1?.db");
    let store = SqlStore::open_sqlite_file(&path).await.expect("open");
    assert_eq!(store.backend(), "sqlite");
    store.create_source("Ads").await.expect("write");
    store.close().await;
    assert!(path.exists(), "the file is where it was asked to be");

    let url = format!("sqlite://{}", dir.join("odd name %231%3F.db").display());
    let reopened = SqlStore::open(&url).await.expect("reopen by URL");
    let sources = reopened.list_sources().await.expect("read");
    assert_eq!(sources.len(), 1, "data survives, migrations are not re-run");
    reopened.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_database_is_in_wal_mode() {
    let dir = fresh_dir();
    let path = dir.join("ringbase.db");
    let store = SqlStore::open_sqlite_file(&path).await.expect("open");
    store.create_source("Ads").await.expect("write");
    // WAL is a property of the file: a plain connection opened afterwards reports it.
    use sqlx::{Connection, Row};
    let mut plain = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("plain connection");
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&mut plain)
        .await
        .expect("pragma")
        .get(0);
    assert_eq!(mode, "wal");
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_in_memory_database_keeps_its_data_across_queries() {
    let store = SqlStore::open("sqlite::memory:").await.expect("open");
    store.create_source("Ads").await.expect("write");
    for _ in 0..3 {
        assert_eq!(store.list_sources().await.expect("read").len(), 1);
    }
}

#[tokio::test]
async fn unknown_url_schemes_are_refused_without_leaking_the_password() {
    let err = SqlStore::open("mysql://rb:secret@db/ringbase")
        .await
        .err()
        .expect("refused");
    let text = err.to_string();
    assert!(text.contains("unsupported database URL"), "{text}");
    assert!(!text.contains("secret"), "{text}");
}

/// Two stores on one file stand for two processes (the server and `ringbase import`): their
/// writers contend for SQLite's lock, wait on the busy timeout, and still make one lead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_file_make_one_lead_per_number() {
    use chrono::TimeZone;
    use domain::*;
    use store::{CallLog, CallParties};

    let dir = fresh_dir();
    let path = dir.join("ringbase.db");
    let stores: [Arc<dyn Store>; 2] = [
        Arc::new(SqlStore::open_sqlite_file(&path).await.expect("open 1")),
        Arc::new(SqlStore::open_sqlite_file(&path).await.expect("open 2")),
    ];
    let started = chrono::Utc
        .with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .expect("instant");
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = stores[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            let remote = Phone {
                e164: "+4930100001".into(),
                raw: "030 100001".into(),
            };
            let log = CallLog {
                call: NewCall {
                    direction: Direction::Incoming,
                    caller: CallNumber {
                        e164: Some(remote.e164.clone()),
                        raw: remote.raw.clone(),
                    },
                    called: CallNumber {
                        e164: Some("+4930999001".into()),
                        raw: "030 999001".into(),
                    },
                    line_id: None,
                    source_id: None,
                    agent_id: None,
                    queue: None,
                    started_at: started,
                    answered_at: None,
                    ended_at: started,
                    status: CallStatus::Missed,
                    recording: None,
                    rating: None,
                    notes: None,
                    origin: CallOrigin::Api,
                    idempotency_key: Some(format!("call-{}", i / 2)),
                },
                line_number: None,
                parties: CallParties::default(),
                lead_candidate: Some(NewLead {
                    title: "Call".into(),
                    name: None,
                    company_name: None,
                    phones: vec![remote],
                    emails: Vec::new(),
                    status: LeadStatus::New,
                    source_id: None,
                    responsible_id: None,
                }),
            };
            store.log_call(log).await
        }));
    }
    for task in tasks {
        task.await.expect("task").expect("logged");
    }
    let leads = stores[0]
        .list_leads(&store::LeadFilter::default(), store::Page::default())
        .await
        .expect("leads");
    assert_eq!(leads.len(), 1);
    let calls = stores[1]
        .list_calls(&store::CallFilter::default(), store::Page::default())
        .await
        .expect("calls");
    assert_eq!(calls.len(), 10, "one record per idempotency key");
    assert!(calls.iter().all(|c| c.lead_id == Some(leads[0].id)));
    let _ = std::fs::remove_dir_all(&dir);
}
