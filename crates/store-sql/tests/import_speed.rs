//! How fast `create_contacts` imports and `find_by_phone` answers on SQLite: a measurement,
//! not a pass/fail gate, so it is ignored by default. Run it in release:
//!
//! ```text
//! cargo test -p store-sql --release --test import_speed -- --ignored --nocapture
//! ```
//!
//! `RINGBASE_IMPORT_CONTACTS` sets how many contacts (default 100000); chunks are 2000, as
//! the import command sends them.

use std::sync::Arc;
use std::time::{Duration, Instant};
use store::{ContactFilter, Page, Store};
use store_sql::SqlStore;

const CHUNK: usize = 2_000;
const LOOKUPS: usize = 20_000;

fn contact(i: usize) -> domain::NewContact {
    let mut phones = vec![domain::Phone {
        e164: format!("+4930{i:08}"),
        raw: format!("030 {i:08}"),
    }];
    if i % 3 == 0 {
        phones.push(domain::Phone {
            e164: format!("+49151{i:08}"),
            raw: format!("0151 {i:08}"),
        });
    }
    domain::NewContact {
        name: format!("Kontakt {i}"),
        emails: vec![format!("k{i}@example.com")],
        phones,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run with --release -- --ignored --nocapture"]
async fn import_contacts_then_look_them_up() {
    let total: usize = std::env::var("RINGBASE_IMPORT_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = std::env::temp_dir().join(format!(
        "ringbase-import-speed-{}-{:016x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store: Arc<dyn Store> = Arc::new(
        SqlStore::open_sqlite_file(&dir.join("ringbase.db"))
            .await
            .expect("open"),
    );

    let started = Instant::now();
    let mut written = 0;
    for first in (0..total).step_by(CHUNK) {
        let chunk: Vec<_> = (first..(first + CHUNK).min(total)).map(contact).collect();
        written += store.create_contacts(chunk).await.expect("import chunk");
    }
    let import = started.elapsed();
    assert_eq!(written, total as u64);
    println!(
        "create_contacts: {total} contacts in chunks of {CHUNK}: {:.2} s ({:.0} contacts/s)",
        import.as_secs_f64(),
        total as f64 / import.as_secs_f64()
    );

    // Caller lookups, known and unknown numbers mixed, one at a time as calls arrive.
    let mut latencies = Vec::with_capacity(LOOKUPS);
    for n in 0..LOOKUPS {
        let i = (n * 7919) % total;
        let number = if n % 4 == 3 {
            format!("+4989{i:08}")
        } else {
            format!("+4930{i:08}")
        };
        let t = Instant::now();
        let found = store.find_by_phone(&number).await.expect("lookup");
        latencies.push(t.elapsed());
        assert_eq!(found.contacts.len(), usize::from(n % 4 != 3), "{number}");
    }
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "find_by_phone on {total} contacts, {LOOKUPS} lookups: p50 {:.0} us, p99 {:.0} us, max {:.0} us",
        micros(pct(0.50)),
        micros(pct(0.99)),
        micros(latencies[latencies.len() - 1])
    );

    let listed = store
        .list_contacts(
            &ContactFilter {
                phone: Some(format!("+4930{:08}", total - 1)),
                ..Default::default()
            },
            Page::default(),
        )
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
