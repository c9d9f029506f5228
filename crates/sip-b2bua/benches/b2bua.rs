//! What one call costs: a trunk call rings two phones in parallel, one answers after 1 s,
//! the other is cancelled, the caller hangs up after 10 s — on the simulated network, so
//! the figure includes the trunk's and the phones' own transaction layers and every parse
//! and print on all sides (five SIP endpoints in one thread). An upper bound for the
//! B2BUA's share of a real call.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{secs, Behaviour, Sim, CUSTOMER, LINE};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

const SETTINGS: &str = r#"
[[agents]]
id = 101
name = "Anna"

[[agents]]
id = 102
name = "Ben"

[[lines]]
number = "+493012345678"
name = "Sales"
queue = "sales"

[[queues]]
name = "sales"
strategy = "all_at_once"
members = [101, 102]
rings = 4
"#;

/// Ringbase, the trunk and two phones, before the call (settings parsed, not measured).
fn network() -> (Sim, usize) {
    let mut sim = Sim::new(SETTINGS);
    let trunk = sim.add_trunk(Behaviour::RingForever);
    sim.add_phone(
        "anna",
        "192.0.2.21:5060",
        101,
        Behaviour::AnswerAfter(secs(1)),
    );
    sim.add_phone("ben", "192.0.2.22:5060", 102, Behaviour::RingForever);
    (sim, trunk)
}

fn one_call((mut sim, trunk): (Sim, usize)) -> usize {
    sim.call(trunk, CUSTOMER, LINE, &[]);
    sim.run_for(secs(11));
    sim.hang_up(trunk);
    sim.run_for(secs(1));
    sim.pbx.records.len()
}

fn bench(c: &mut Criterion) {
    assert_eq!(one_call(network()), 1);
    c.bench_function(
        "parallel-ring call, answer, cancel, hang up (simulated)",
        |b| b.iter_batched(network, one_call, BatchSize::SmallInput),
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
