//! `ringbase bench lookup`: how fast "who is calling?" answers with N contacts in the store.
//!
//! Seeds the store once (contacts with a mobile number each, every tenth in a company with an
//! open deal and a responsible manager, so the card is a full one), then times
//! [`crm::Crm::lookup`] in-process, the way the SIP server and the API call it:
//! - *store*: the cache emptied before every lookup, so each answer comes from the database;
//! - *cached*: the same number asked again;
//! - *unknown*: a number nobody has (the database says so, then the cache remembers).
//!
//! Numbers are given the way trunks send them (national format), so parsing is included.
//! Over HTTP the same store is measured with wrk by `scripts/bench-lookup.sh`.

use crm::Crm;
use domain::{DealStage, Money, NewCompany, NewContact, NewDeal, NewUser, Phone, Role, Timestamp};
use std::time::{Duration, Instant};

/// Contacts per `create_contacts` call, as the importer sends them.
const SEED_CHUNK: usize = 5_000;
/// The setting that remembers how many contacts were seeded, so a rerun measures at once.
const SEEDED_KEY: &str = "bench.lookup.seeded";

/// The `i`th seeded contact's number, in E.164.
pub(crate) fn seeded_e164(i: u64) -> String {
    format!("+49151{i:08}")
}

/// The same number as a German trunk sends it.
pub(crate) fn seeded_national(i: u64) -> String {
    format!("0151{i:08}")
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct LookupBench {
    pub contacts: u64,
    pub lookups: u64,
}

/// Latency percentiles of one kind of lookup.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Percentiles {
    pub samples: usize,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Percentiles {
    pub(crate) fn of(mut samples: Vec<Duration>) -> Option<Percentiles> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        // Nearest rank: the smallest sample with at least q of all samples at or below it.
        let rank = |q: f64| {
            let n = samples.len();
            let r = (q * n as f64).ceil() as usize;
            samples[r.clamp(1, n) - 1]
        };
        Some(Percentiles {
            samples: samples.len(),
            p50: rank(0.50),
            p90: rank(0.90),
            p99: rank(0.99),
            max: samples[samples.len() - 1],
        })
    }
}

pub(crate) struct LookupReport {
    pub contacts: u64,
    pub seeded_now: u64,
    pub seed_time: Duration,
    pub store: Percentiles,
    pub cached: Percentiles,
    pub unknown: Percentiles,
}

impl std::fmt::Display for LookupReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        if self.seeded_now > 0 {
            writeln!(
                f,
                "seeded {} contacts in {:.1} s",
                self.seeded_now,
                self.seed_time.as_secs_f64()
            )?;
        }
        writeln!(
            f,
            "caller lookup, {} contacts, in-process (µs)",
            self.contacts
        )?;
        writeln!(
            f,
            "| lookup | samples | p50 | p90 | p99 | max |\n|---|---:|---:|---:|---:|---:|"
        )?;
        for (name, p) in [
            ("from the store (cache emptied)", &self.store),
            ("cached", &self.cached),
            ("unknown number", &self.unknown),
        ] {
            writeln!(
                f,
                "| {name} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
                p.samples,
                us(p.p50),
                us(p.p90),
                us(p.p99),
                us(p.max)
            )?;
        }
        Ok(())
    }
}

/// Seeds up to `bench.contacts` contacts (once) and measures.
pub(crate) async fn lookup(crm: &Crm, bench: LookupBench) -> anyhow::Result<LookupReport> {
    let started = Instant::now();
    let seeded_now = seed(crm, bench.contacts).await?;
    let seed_time = started.elapsed();

    // Spread the samples over the whole number range with a fixed stride, co-prime with the
    // count, so every run asks the same numbers and no two in a row are neighbours.
    let n = bench.contacts.max(1);
    let stride = 7_919u64; // a prime
    let pick = |k: u64| (k.wrapping_mul(stride)) % n;

    let mut store_samples = Vec::with_capacity(bench.lookups as usize);
    let mut cached_samples = Vec::with_capacity(bench.lookups as usize);
    for k in 0..bench.lookups {
        let number = seeded_national(pick(k));
        crm.invalidate_all();
        let t = Instant::now();
        let card = crm.lookup(&number).await?;
        store_samples.push(t.elapsed());
        anyhow::ensure!(card.contact.is_some(), "seeded number {number} not found");
        let t = Instant::now();
        let again = crm.lookup(&number).await?;
        cached_samples.push(t.elapsed());
        anyhow::ensure!(again.contact.is_some(), "cached number {number} not found");
    }
    let mut unknown_samples = Vec::with_capacity(bench.lookups as usize);
    for k in 0..bench.lookups {
        // Same prefix, beyond the seeded range: a real miss in the index.
        let number = seeded_national(90_000_000 + pick(k));
        let t = Instant::now();
        let card = crm.lookup(&number).await?;
        unknown_samples.push(t.elapsed());
        anyhow::ensure!(!card.is_known(), "{number} should be unknown");
    }
    let none = || anyhow::anyhow!("no lookups measured: use --lookups 1 or more");
    Ok(LookupReport {
        contacts: bench.contacts,
        seeded_now,
        seed_time,
        store: Percentiles::of(store_samples).ok_or_else(none)?,
        cached: Percentiles::of(cached_samples).ok_or_else(none)?,
        unknown: Percentiles::of(unknown_samples).ok_or_else(none)?,
    })
}

/// Adds the contacts a previous run did not; returns how many it added.
async fn seed(crm: &Crm, contacts: u64) -> anyhow::Result<u64> {
    let store = crm.store();
    let done = store
        .get_setting(SEEDED_KEY)
        .await?
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    if done >= contacts {
        return Ok(0);
    }
    let manager = match store.find_user_by_login("bench-manager").await? {
        Some((user, _)) => user.id,
        None => {
            store
                .create_user(
                    NewUser {
                        name: "Bench Manager".into(),
                        login: "bench-manager".into(),
                        role: Role::Agent,
                        extension: None,
                        mobile: None,
                    },
                    None,
                )
                .await?
                .id
        }
    };
    let progress = indicatif::ProgressBar::new(contacts - done).with_style(
        indicatif::ProgressStyle::with_template(
            "seeding {bar:40} {pos}/{len} contacts, {eta} left",
        )
        .expect("a valid template"),
    );
    let now: Timestamp = chrono::Utc::now();
    let mut i = done;
    while i < contacts {
        let end = (i + SEED_CHUNK as u64).min(contacts);
        // Every tenth contact of the chunk's first hundred gets a company and an open deal:
        // enough full cards to exercise the joins without making seeding slow.
        let mut batch = Vec::with_capacity((end - i) as usize);
        for j in i..end {
            batch.push(NewContact {
                name: format!("Contact {j}"),
                phones: vec![Phone {
                    e164: seeded_e164(j),
                    raw: seeded_national(j),
                }],
                responsible_id: Some(manager),
                ..Default::default()
            });
        }
        let with_company: Vec<u64> = (i..end).step_by(10).take(10).collect();
        for j in &with_company {
            batch[(j - i) as usize].company_id = Some(
                crm.create_company(NewCompany {
                    name: format!("Company {j}"),
                    phones: Vec::new(),
                    emails: Vec::new(),
                    responsible_id: Some(manager),
                })
                .await?
                .id,
            );
        }
        crm.create_contacts(batch).await?;
        for j in with_company {
            let matches = store.find_by_phone(&seeded_e164(j)).await?;
            if let Some(contact) = matches.contacts.first() {
                crm.create_deal(
                    NewDeal {
                        title: format!("Deal {j}"),
                        stage: DealStage::Open,
                        contact_id: Some(contact.id),
                        company_id: contact.company_id,
                        responsible_id: Some(manager),
                        amount: Money {
                            amount_minor: 100_000,
                            currency: "EUR".into(),
                        },
                    },
                    now,
                )
                .await?;
            }
        }
        store
            .put_setting(SEEDED_KEY, &serde_json::Value::from(end))
            .await?;
        progress.inc(end - i);
        i = end;
    }
    progress.finish_and_clear();
    Ok(contacts - done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        let p = Percentiles::of(samples).expect("samples");
        assert_eq!(p.p50, Duration::from_micros(50));
        assert_eq!(p.p90, Duration::from_micros(90));
        assert_eq!(p.p99, Duration::from_micros(99));
        assert_eq!(p.max, Duration::from_micros(100));
        assert_eq!(Percentiles::of(Vec::new()), None);
        let one = Percentiles::of(vec![Duration::from_micros(7)]).expect("one");
        assert_eq!(
            (one.p50, one.p99),
            (Duration::from_micros(7), Duration::from_micros(7))
        );
    }

    #[test]
    fn seeded_numbers_are_valid_german_mobiles_in_both_forms() {
        let crm_region: phone::Region = "DE".parse().expect("region");
        for i in [0, 1, 999_999, 12_345_678] {
            let parsed = phone::normalize(&seeded_national(i), crm_region)
                .expect("parses")
                .expect("a number");
            assert_eq!(parsed.e164(), seeded_e164(i));
        }
    }

    #[tokio::test]
    async fn a_small_bench_seeds_once_and_finds_every_sampled_number() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store_sql::SqlStore::open_sqlite_file(&dir.path().join("ringbase.db"))
            .await
            .expect("store");
        let crm = Crm::new(
            Arc::new(store),
            "DE".parse().expect("region"),
            events::EventBus::default(),
        );
        let bench = LookupBench {
            contacts: 250,
            lookups: 50,
        };
        let first = lookup(&crm, bench).await.expect("bench runs");
        assert_eq!(first.seeded_now, 250);
        assert_eq!(first.store.samples, 50);
        let card = crm.lookup("0151 00000010").await.expect("lookup");
        assert_eq!(
            card.company.as_ref().map(|c| c.name.as_str()),
            Some("Company 10")
        );
        assert_eq!(
            card.deal.as_ref().map(|d| d.title.as_str()),
            Some("Deal 10")
        );
        assert_eq!(
            card.responsible.as_ref().map(|u| u.login.as_str()),
            Some("bench-manager")
        );
        let second = lookup(&crm, bench).await.expect("rerun");
        assert_eq!(second.seeded_now, 0, "seeded once");
    }
}
