//! Routing decisions per second and per-event latency.
//!
//! `cargo bench -p routing`. A "decision" is one input handled by the engine (a call
//! arriving, a prompt finishing, an agent answering, a hang-up) with its actions produced.

use std::hint::black_box;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use routing::{
    route_outbound, Action, AgentId, CallArrival, CallId, Caller, CrmCard, Event, LegStatus,
    Output, Router, RoutingConfig,
};

const SETTINGS: &str = include_str!("../examples/ringbase.toml");

fn settings() -> RoutingConfig {
    RoutingConfig::from_toml(SETTINGS).expect("example settings")
}

fn tuesday() -> DateTime<Utc> {
    // Tuesday 2026-11-24 10:00 Berlin.
    Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap()
}

fn sales_call() -> CallArrival {
    CallArrival {
        caller: Caller::Number("+4917612345678".into()),
        dialed: "+493012345678".into(),
        to: None,
        diversion: None,
        card: CrmCard::Unknown,
    }
}

fn playback(outputs: &[Output]) -> Event {
    outputs
        .iter()
        .find_map(|output| match output.action {
            Action::Play { playback, .. } => Some(Event::PromptFinished { playback }),
            _ => None,
        })
        .expect("a prompt")
}

fn rung(outputs: &[Output]) -> AgentId {
    outputs
        .iter()
        .find_map(|output| match &output.action {
            Action::Ring { agents, .. } => Some(agents[0].agent),
            _ => None,
        })
        .expect("a ring")
}

/// One whole answered call: arrival, notice finished, greeting finished (→ queue rings a
/// member), answered, hung up. Six decisions.
fn answered_call(router: &mut Router, now: DateTime<Utc>) -> CallId {
    let (id, outputs) = router.call_arrived(sales_call(), now);
    let outputs = router.handle(id, playback(&outputs), now);
    let outputs = router.handle(id, playback(&outputs), now);
    let agent = rung(&outputs);
    router.handle(
        id,
        Event::AgentLeg {
            agent,
            status: LegStatus::Ringing,
        },
        now,
    );
    router.handle(
        id,
        Event::AgentLeg {
            agent,
            status: LegStatus::Answered,
        },
        now,
    );
    router.handle(id, Event::CallerHungUp, now + TimeDelta::seconds(60));
    router.remove_finished();
    id
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("routing");
    group
        .measurement_time(Duration::from_secs(4))
        .sample_size(40);

    group.throughput(Throughput::Elements(6));
    group.bench_function("answered_call_6_decisions", |b| {
        let mut router = Router::new(settings()).unwrap();
        b.iter(|| black_box(answered_call(&mut router, tuesday())));
    });

    group.throughput(Throughput::Elements(1));
    group.bench_function("event_call_arrived", |b| {
        let mut router = Router::new(settings()).unwrap();
        b.iter(|| {
            let (id, outputs) = router.call_arrived(sales_call(), tuesday());
            router.handle(id, Event::CallerHungUp, tuesday());
            router.remove_finished();
            black_box(outputs)
        });
    });

    group.bench_function("event_greeting_finished_rings_queue", |b| {
        b.iter_batched_ref(
            || {
                let mut router = Router::new(settings()).unwrap();
                let (id, outputs) = router.call_arrived(sales_call(), tuesday());
                let outputs = router.handle(id, playback(&outputs), tuesday());
                (router, id, playback(&outputs))
            },
            |(router, id, event)| black_box(router.handle(*id, event.clone(), tuesday())),
            BatchSize::SmallInput,
        );
    });

    group.bench_function("event_agent_answered", |b| {
        b.iter_batched_ref(
            || {
                let mut router = Router::new(settings()).unwrap();
                let (id, outputs) = router.call_arrived(sales_call(), tuesday());
                let outputs = router.handle(id, playback(&outputs), tuesday());
                let outputs = router.handle(id, playback(&outputs), tuesday());
                let agent = rung(&outputs);
                (router, id, agent)
            },
            |(router, id, agent)| {
                black_box(router.handle(
                    *id,
                    Event::AgentLeg {
                        agent: *agent,
                        status: LegStatus::Answered,
                    },
                    tuesday(),
                ))
            },
            BatchSize::SmallInput,
        );
    });

    group.bench_function("outbound_decision", |b| {
        let config = settings();
        b.iter(|| {
            black_box(route_outbound(
                &config,
                AgentId(101),
                black_box("0170 1234567"),
            ))
        });
    });

    group.bench_function("simulate_queue_wait_scenario", |b| {
        let config = settings();
        let scenario =
            routing::Scenario::from_toml(include_str!("../examples/scenarios/queue-wait.toml"))
                .unwrap();
        b.iter(|| black_box(routing::simulate(&config, &scenario).unwrap()));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
