//! Property tests: whatever the phones, the trunk, the callers and the network do, every
//! call ends with exactly one record, every caller gets one final answer, and nothing is
//! left behind.

mod common;

use common::{secs, Behaviour, Sim, CUSTOMER, LINE};
use proptest::prelude::*;
use sip_b2bua::CallStatus;
use std::time::Duration;

const SETTINGS: &str = r#"
[[agents]]
id = 101
name = "Anna"
extension = "101"

[[agents]]
id = 102
name = "Ben"
extension = "102"

[[agents]]
id = 103
name = "Cem"
extension = "103"

[[lines]]
number = "+493012345678"
name = "Sales"
queue = "sales"

[[lines]]
number = "+493012345679"
name = "Support"
queue = "support"

[[queues]]
name = "sales"
strategy = "all_at_once"
members = [101, 102, 103]
rings = 2
no_answer = { action = "voicemail" }

[[queues]]
name = "support"
strategy = "in_order"
members = [101, 102, 103]
rings = 1
no_answer = { action = "forward", number = "+4930555000" }
"#;

#[derive(Debug, Clone, Copy)]
enum Phone {
    Unregistered,
    Acts(Behaviour),
}

fn behaviour() -> impl Strategy<Value = Behaviour> {
    prop_oneof![
        (0u64..15_000).prop_map(|ms| Behaviour::AnswerAfter(Duration::from_millis(ms))),
        (0u64..15_000).prop_map(|ms| Behaviour::BusyAfter(Duration::from_millis(ms))),
        Just(Behaviour::RingForever),
    ]
}

fn phone() -> impl Strategy<Value = Phone> {
    prop_oneof![
        1 => Just(Phone::Unregistered),
        4 => behaviour().prop_map(Phone::Acts),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    phones: [Phone; 3],
    trunk: Behaviour,
    /// Per caller: which line, when it starts, when the caller gives up.
    calls: Vec<(bool, u64, u64)>,
    /// An agent hangs up at this time (index of the phone), if any.
    agent_hangs_up: Option<(usize, u64)>,
    /// An agent on a call transfers it (phone, when, to which agent's extension), if any.
    transfer: Option<(usize, u64, usize)>,
    /// Every n-th datagram is lost (0: none).
    lose_every: usize,
    /// In-dialog requests people send while talking: (when, who: callers then phones, what).
    chatter: Vec<(u64, usize, u8)>,
    /// A click-to-call: when, which agent.
    click: Option<(u64, usize)>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        [phone(), phone(), phone()],
        behaviour(),
        proptest::collection::vec((any::<bool>(), 0u64..5_000, 0u64..60_000), 1..3),
        proptest::option::of((0usize..3, 0u64..60_000)),
        proptest::option::of((0usize..3, 0u64..40_000, 0usize..3)),
        prop_oneof![3 => Just(0usize), 1 => 7usize..20],
        proptest::collection::vec((0u64..60_000, 0usize..5, 0u8..4), 0..4),
        proptest::option::of((0u64..30_000, 0usize..3)),
    )
        .prop_map(
            |(phones, trunk, calls, agent_hangs_up, transfer, lose_every, chatter, click)| Case {
                phones,
                trunk,
                calls,
                agent_hangs_up,
                transfer,
                lose_every,
                chatter,
                click,
            },
        )
}

/// Runs a case; returns the network and how many click-to-calls started.
fn run(case: &Case) -> (Sim, usize) {
    // Calls nobody hangs up (a phone whose dialog a later call replaced in this simple test
    // agent) end by the maximum duration, well inside the run.
    let mut sim = Sim::with_config(SETTINGS, |config| {
        config.max_call_duration = Some(secs(120));
    });
    let trunk = sim.add_trunk(case.trunk);
    let callers: Vec<usize> = (0..case.calls.len())
        .map(|i| {
            let addr = ["198.51.100.11:5060", "198.51.100.12:5060"][i];
            sim.add_ua(["caller1", "caller2"][i], addr, Behaviour::RingForever)
        })
        .collect();
    let _ = trunk;
    let names = ["anna", "ben", "cem"];
    let addrs = ["192.0.2.21:5060", "192.0.2.22:5060", "192.0.2.23:5060"];
    let mut phones = Vec::new();
    for (i, phone) in case.phones.iter().enumerate() {
        let behaviour = match phone {
            Phone::Unregistered => Behaviour::RingForever,
            Phone::Acts(b) => *b,
        };
        let agent = 101 + i64::try_from(i).unwrap();
        let ua = match phone {
            Phone::Unregistered => sim.add_ua(names[i], addrs[i], behaviour),
            Phone::Acts(_) => sim.add_phone(names[i], addrs[i], agent, behaviour),
        };
        phones.push(ua);
    }
    if case.lose_every > 0 {
        let every = case.lose_every;
        let mut until_loss = every;
        sim.drop_when(move |_| {
            until_loss -= 1;
            let lost = until_loss == 0;
            if lost {
                until_loss = every;
            }
            lost
        });
    }

    // A timeline of what people do, in order.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Act {
        Call,
        GiveUp,
        Transfer(usize),
        InDialog(u8),
        Click(usize),
    }
    let mut actions: Vec<(u64, usize, Act)> = Vec::new();
    for (i, (_, start, give_up)) in case.calls.iter().enumerate() {
        actions.push((*start, callers[i], Act::Call));
        actions.push((start + give_up, callers[i], Act::GiveUp));
    }
    if let Some((phone, at)) = case.agent_hangs_up {
        actions.push((at, phones[phone], Act::GiveUp));
    }
    if let Some((phone, at, to)) = case.transfer {
        actions.push((at, phones[phone], Act::Transfer(to)));
        // A transferring agent hangs up right after, as phones do.
        actions.push((at + 200, phones[phone], Act::GiveUp));
    }
    if let Some((at, agent)) = case.click {
        actions.push((at, phones[agent], Act::Click(agent)));
    }
    for (at, who, what) in &case.chatter {
        let ua = callers.iter().chain(&phones).nth(*who).copied();
        if let Some(ua) = ua {
            actions.push((*at, ua, Act::InDialog(*what)));
        }
    }
    actions.sort();
    let mut clicks = 0;
    for (at, ua, act) in actions {
        sim.run_until(sip_core::Instant::from_millis(at));
        match act {
            Act::Call => {
                let i = callers.iter().position(|c| *c == ua).unwrap_or(0);
                let line = if case.calls[i].0 {
                    LINE
                } else {
                    "+493012345679"
                };
                sim.call(ua, CUSTOMER, line, &[]);
            }
            Act::GiveUp => sim.give_up(ua),
            Act::Click(agent) => {
                let agent = 101 + i64::try_from(agent).unwrap_or(0);
                if sim.originate(agent, "+4917699999999").is_ok() {
                    clicks += 1;
                }
            }
            Act::InDialog(what) => {
                let connected = sim.uas[ua]
                    .dialog
                    .as_ref()
                    .is_some_and(|d| d.state == sip_core::dialog::DialogState::Confirmed);
                if connected {
                    let hold = "v=0\r\no=x 1 2 IN IP4 192.0.2.99\r\ns=-\r\na=sendonly\r\n";
                    match what {
                        0 => sim.in_dialog(ua, sip_proto::Method::Invite, Some(hold)),
                        1 => sim.in_dialog(ua, sip_proto::Method::Update, Some(hold)),
                        2 => sim.in_dialog(ua, sip_proto::Method::Info, None),
                        _ => sim.in_dialog(ua, sip_proto::Method::Options, None),
                    }
                }
            }
            Act::Transfer(to) => {
                let connected = sim.uas[ua]
                    .dialog
                    .as_ref()
                    .is_some_and(|d| d.state == sip_core::dialog::DialogState::Confirmed);
                if connected {
                    sim.refer(ua, &format!("sip:{}@pbx.example", 101 + to));
                }
            }
        }
    }
    // A CANCEL that crossed the answer leaves a connected call: its caller hangs up later.
    sim.deliver_everything();
    sim.run_for(secs(1));
    for caller in &callers {
        sim.give_up(*caller);
    }
    // Long enough for every timer (ring, Timer B/H/L, 2xx give-up) to have run out.
    sim.run_for(secs(200));
    (sim, clicks)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn every_call_ends_with_exactly_one_record_and_nothing_is_left(case in case()) {
        let (sim, clicks) = run(&case);
        let calls = case.calls.len() + clicks;
        prop_assert_eq!(sim.pbx.records.len(), calls, "{:#?}", sim.pbx.records);
        let mut sessions: Vec<_> = sim.pbx.records.iter().map(|r| r.session).collect();
        sessions.sort();
        sessions.dedup();
        prop_assert_eq!(sessions.len(), calls, "a record twice");
        for record in &sim.pbx.records {
            prop_assert_eq!(record.status == CallStatus::Answered, record.answered_at.is_some());
            if record.status == CallStatus::Answered {
                prop_assert!(record.agent.is_some() || record.forwarded_to.is_some());
                prop_assert!(record.answered_at <= Some(record.ended_at));
            }
        }
        prop_assert_eq!(sim.pbx.b2bua.active_calls(), 0);
        prop_assert_eq!(sim.pbx.b2bua.active_legs(), 0);
        prop_assert_eq!(sim.pbx.b2bua.pending_timers(), 0, "a deadline outlives its call");
        // Routing saw every call end too: no agent is left "on a call" that is over.
        prop_assert_eq!(sim.pbx.b2bua.router().calls().count(), 0);
    }
}
