//! What logging a call costs the store: batches of 64 answered SIP calls on our line from a
//! caller whose lead is known, as the SIP server's record writer hands them over under call
//! load (each with its idempotency key, a line to find, a timeline entry on the lead), in one
//! transaction per batch. SQLite in a scratch file, as `ringbase serve` runs by default.
//!
//! Twice: with keys in the order calls end, as the SIP server makes them, and with random
//! keys (a Call-ID alone, or what a bridge app or another system reports).

use chrono::{Duration, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use domain::*;
use std::sync::atomic::{AtomicU64, Ordering};
use store::{CallLog, CallParties, Store};
use store_sql::SqlStore;

const BATCH: usize = 64;
const LINE: &str = "+493012345678";
const CALLER: &str = "+4917612345678";

fn number(e164: &str) -> CallNumber {
    CallNumber {
        e164: Some(e164.to_owned()),
        raw: e164.to_owned(),
    }
}

fn phone(e164: &str) -> Phone {
    Phone {
        e164: e164.to_owned(),
        raw: e164.to_owned(),
    }
}

/// Call-IDs are random: their keys land all over the idempotency index, as in production.
/// (SplitMix64's finalizer: distinct inputs give distinct, well-spread outputs.)
fn scatter(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Makes the idempotency key of the n-th call.
type KeyOf = fn(u64) -> String;

fn random_key(n: u64) -> String {
    format!("sip:{:016x}@bench:in", scatter(n))
}

/// As `sip_net::calls::call_report` makes them: the end of the call first.
fn ordered_key(n: u64) -> String {
    format!(
        "sip:{:013}:{:016x}@bench:in",
        1_796_000_000_000 + n,
        scatter(n)
    )
}

fn batch(next_key: &AtomicU64, key_of: KeyOf, lead: LeadId, agent: UserId) -> Vec<CallLog> {
    let started = Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap();
    (0..BATCH)
        .map(|_| {
            let key = next_key.fetch_add(1, Ordering::Relaxed);
            CallLog {
                call: NewCall {
                    direction: Direction::Incoming,
                    caller: number(CALLER),
                    called: number(LINE),
                    line_id: None,
                    source_id: None,
                    agent_id: Some(agent),
                    queue: Some("all".into()),
                    started_at: started,
                    answered_at: Some(started),
                    ended_at: started + Duration::seconds(1),
                    status: CallStatus::Answered,
                    recording: None,
                    rating: None,
                    notes: None,
                    origin: CallOrigin::Sip,
                    idempotency_key: Some(key_of(key)),
                },
                line_number: Some(phone(LINE)),
                parties: CallParties {
                    lead_id: Some(lead),
                    ..CallParties::default()
                },
                lead_candidate: None,
            }
        })
        .collect()
}

fn log_calls(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("scratch directory");
    let (store, lead, agent) = runtime.block_on(async {
        let store = SqlStore::open_sqlite_file(&dir.path().join("bench.db"))
            .await
            .expect("store");
        let agent = store
            .create_user(
                NewUser {
                    name: "Agent".into(),
                    login: "agent".into(),
                    role: Role::Agent,
                    extension: None,
                    mobile: None,
                },
                None,
            )
            .await
            .expect("agent");
        let lead = store
            .create_lead(NewLead {
                title: format!("Call from {CALLER}"),
                name: None,
                company_name: None,
                phones: vec![phone(CALLER)],
                emails: Vec::new(),
                status: LeadStatus::New,
                source_id: None,
                responsible_id: None,
            })
            .await
            .expect("lead");
        (store, lead.id, agent.id)
    });
    let next_key = AtomicU64::new(0);
    let mut group = c.benchmark_group("store");
    group.throughput(Throughput::Elements(BATCH as u64));
    let cases: [(&str, KeyOf); 2] = [
        ("log_calls_sqlite_batch_of_64", ordered_key),
        ("log_calls_sqlite_batch_of_64_random_keys", random_key),
    ];
    for (name, key_of) in cases {
        group.bench_function(name, |b| {
            b.iter(|| {
                let logs = batch(&next_key, key_of, lead, agent);
                let results = runtime.block_on(store.log_calls(logs));
                assert!(results
                    .iter()
                    .all(|r| r.as_ref().is_ok_and(|l| !l.duplicate)));
            })
        });
    }
    group.finish();
}

criterion_group!(benches, log_calls);
criterion_main!(benches);
