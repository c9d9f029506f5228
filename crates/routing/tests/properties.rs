//! Property tests for the queue invariants:
//! - no member is rung twice in one offer (nor twice in one pass through a queue);
//! - over many calls with equal answering, "evenly" keeps offers within 1 of each other;
//! - waiting in a queue is first come, first served;
//! - every call ends in exactly one terminal state.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use routing::simulate::{AgentBehaviour, AgentEvent, Behaviour, Keys, ScenarioCall};
use routing::{
    simulate, Action, AgentId, AgentState, CallArrival, Caller, CrmCard, Event, LegStatus,
    LogEntry, Router, RoutingConfig, Scenario, TimelineItem,
};

fn scenario(start: &str) -> Scenario {
    Scenario {
        start: start.to_owned(),
        time_zone: chrono_tz::Tz::Europe__Berlin,
        prompt_seconds: 3.0,
        prompt_lengths: BTreeMap::new(),
        max_seconds: 7200.0,
        agents: Vec::new(),
        agent_events: Vec::new(),
        pickups: Vec::new(),
        calls: Vec::new(),
        callback: None,
    }
}

fn call(at_seconds: f64, caller: &str, dialed: &str) -> ScenarioCall {
    ScenarioCall {
        at_seconds,
        caller: caller.to_owned(),
        dialed: dialed.to_owned(),
        to: None,
        diversion: None,
        known: false,
        responsible: None,
        digits: Vec::new(),
        hang_up_at_seconds: None,
        talk_seconds: None,
    }
}

fn behaviour(
    id: i64,
    behaviour: Behaviour,
    answer_after_seconds: f64,
    state: AgentState,
    talk_seconds: f64,
) -> AgentBehaviour {
    AgentBehaviour {
        id: AgentId(id),
        behaviour,
        answer_after_seconds,
        state,
        talk_seconds,
    }
}

fn behaviour_strategy() -> impl Strategy<Value = Behaviour> {
    prop_oneof![
        Just(Behaviour::Answer),
        Just(Behaviour::NoAnswer),
        Just(Behaviour::Busy),
        Just(Behaviour::Reject),
        Just(Behaviour::Unreachable),
    ]
}

fn state_strategy() -> impl Strategy<Value = AgentState> {
    prop_oneof![
        4 => Just(AgentState::Free),
        1 => Just(AgentState::Paused),
        1 => Just(AgentState::OffShift),
        1 => Just(AgentState::OnCall),
    ]
}

/// Settings with one line to one queue of `members` agents with the given devices.
fn queue_config(strategy: &str, devices: &[&str], no_answer: &str) -> RoutingConfig {
    let mut text = String::new();
    for (index, device) in devices.iter().enumerate() {
        text.push_str(&format!(
            "[[agents]]\nid = {}\nname = \"A\"\ndevice = \"{device}\"\n",
            index + 1
        ));
    }
    let members: Vec<String> = (1..=devices.len()).map(|id| id.to_string()).collect();
    text.push_str(&format!(
        "[[lines]]\nnumber = \"+493000000001\"\nname = \"Main\"\nqueue = \"q\"\n\
         [[queues]]\nname = \"q\"\nstrategy = \"{strategy}\"\nmembers = [{}]\nrings = 2\nno_answer = {no_answer}\n",
        members.join(", ")
    ));
    RoutingConfig::from_toml(&text).unwrap_or_else(|error| panic!("{error}\n{text}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Whatever the strategy, devices, presence and behaviour: a Ring action never names an
    /// agent twice, and within one pass through a queue nobody is rung twice.
    #[test]
    fn no_member_is_rung_twice_in_one_offer(
        strategy in prop_oneof![Just("evenly"), Just("in_order"), Just("all_at_once")],
        devices in prop::collection::vec(prop_oneof![Just("sip_phone"), Just("browser"), Just("app")], 1..25),
        behaviours in prop::collection::vec((behaviour_strategy(), 0.5f64..15.0, state_strategy()), 25),
        calls in prop::collection::vec(0.0f64..60.0, 1..4),
    ) {
        let config = queue_config(strategy, &devices, "{ action = \"voicemail\" }");
        let mut run = scenario("2026-11-24T10:00:00");
        for (index, _) in devices.iter().enumerate() {
            let (kind, after, state) = behaviours[index];
            run.agents.push(behaviour(index as i64 + 1, kind, after, state, 30.0));
        }
        for (index, at) in calls.iter().enumerate() {
            run.calls.push(call(*at, &format!("+4917{index}"), "+493000000001"));
        }
        let timeline = simulate(&config, &run).unwrap();
        let mut rung_in_pass: BTreeMap<routing::CallId, BTreeSet<AgentId>> = BTreeMap::new();
        for entry in &timeline.entries {
            let Some(call) = entry.call else { continue };
            match &entry.item {
                TimelineItem::Action(Action::Ring { agents, .. }) => {
                    let distinct: BTreeSet<AgentId> = agents.iter().map(|target| target.agent).collect();
                    prop_assert_eq!(distinct.len(), agents.len(), "an offer names an agent twice");
                    let pass = rung_in_pass.entry(call).or_default();
                    for agent in distinct {
                        prop_assert!(pass.insert(agent), "agent {} rung twice in one pass", agent);
                    }
                }
                TimelineItem::Action(Action::Log { entry: LogEntry::QueueExhausted { .. } }) => {
                    rung_in_pass.remove(&call);
                }
                _ => {}
            }
        }
    }

    /// "Evenly" with everyone answering at once: after any number of calls the offer counts of
    /// the members differ by at most one.
    #[test]
    fn evenly_keeps_offers_within_one(members in 1usize..9, calls in 1usize..60) {
        let devices = vec!["sip_phone"; members];
        let config = queue_config("evenly", &devices, "{ action = \"voicemail\" }");
        let mut router = Router::new(config).unwrap();
        let mut now = Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
        for index in 0..calls {
            let (id, outputs) = router.call_arrived(
                CallArrival {
                    caller: Caller::Number(format!("+4917{index}")),
                    dialed: "+493000000001".into(),
                    to: None,
                    diversion: None,
                    card: CrmCard::Unknown,
                },
                now,
            );
            let rung = outputs.iter().find_map(|output| match &output.action {
                Action::Ring { agents, .. } => Some(agents[0].agent),
                _ => None,
            });
            let agent = rung.expect("a free member is rung");
            router.handle(id, Event::AgentLeg { agent, status: LegStatus::Answered }, now);
            now += chrono::TimeDelta::seconds(30);
            router.handle(id, Event::CallerHungUp, now);
            router.remove_finished();
        }
        let counts: Vec<u64> = (1..=members as i64).map(|id| router.queue_state().offers_made(AgentId(id))).collect();
        let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
        prop_assert!(max - min <= 1, "offers {:?}", counts);
        prop_assert_eq!(counts.iter().sum::<u64>(), calls as u64);
    }

    /// Callers who wait in a queue are answered in the order they arrived, however many
    /// members there are and whenever they become free.
    #[test]
    fn wait_in_queue_is_first_come_first_served(
        members in 1usize..4,
        gaps in prop::collection::vec(1.0f64..20.0, 1..8),
        free_at in prop::collection::vec(30.0f64..200.0, 3),
        talk in 5.0f64..60.0,
    ) {
        let devices = vec!["sip_phone"; members];
        let config = queue_config("in_order", &devices, "{ action = \"wait_in_queue\", music = \"hold\" }");
        let mut run = scenario("2026-11-24T10:00:00");
        for (index, free_at) in free_at.iter().take(members).enumerate() {
            let id = index as i64 + 1;
            run.agents.push(behaviour(id, Behaviour::Answer, 1.0, AgentState::OnCall, talk));
            run.agent_events.push(AgentEvent { at_seconds: *free_at, agent: AgentId(id), state: AgentState::Free });
        }
        let mut at = 0.0;
        for (index, gap) in gaps.iter().enumerate() {
            run.calls.push(call(at, &format!("+4917{index}"), "+493000000001"));
            at += gap;
        }
        let timeline = simulate(&config, &run).unwrap();
        let answered: Vec<u64> = timeline
            .entries
            .iter()
            .filter_map(|entry| match (&entry.item, entry.call) {
                (TimelineItem::Action(Action::Bridge { .. }), Some(call)) => Some(call.0),
                _ => None,
            })
            .collect();
        let mut sorted = answered.clone();
        sorted.sort_unstable();
        prop_assert_eq!(&answered, &sorted, "answer order differs from arrival order");
        prop_assert_eq!(answered.len(), gaps.len(), "every caller is served eventually");
    }

    /// Random calls on the example settings (any line, day and hour, keys, behaviours, presence,
    /// hang-ups): every call ends with exactly one terminal state, logged exactly once.
    #[test]
    fn every_call_ends_in_exactly_one_terminal_state(
        day in 21u32..28,
        hour in 0u32..24,
        calls in prop::collection::vec(
            (0.0f64..120.0, 0usize..4, prop::option::of(prop_oneof![Just(101i64), Just(102), Just(999)]),
             prop::collection::vec((0.5f64..40.0, "[0-9*#]{1,3}"), 0..4), prop::option::of(1.0f64..400.0)),
            1..5),
        behaviours in prop::collection::vec((behaviour_strategy(), 0.5f64..30.0, state_strategy()), 6),
        pickup in prop::option::of((1.0f64..60.0, prop_oneof![Just(101i64), Just(102), Just(202)])),
    ) {
        let config = example_config();
        let mut run = scenario(&format!("2026-11-{day:02}T{hour:02}:00:00"));
        for (index, id) in [101i64, 102, 103, 104, 201, 202].into_iter().enumerate() {
            let (kind, after, state) = behaviours[index];
            run.agents.push(behaviour(id, kind, after, state, 45.0));
        }
        if let Some((at, agent)) = pickup {
            run.pickups.push(routing::simulate::Pickup { at_seconds: at, agent: AgentId(agent) });
        }
        let lines = ["+493012345678", "+493012345679", "+498001234567", "+491111111"];
        for (index, (at, line, responsible, digits, hang_up)) in calls.into_iter().enumerate() {
            let mut scenario_call = call(at, if index % 3 == 2 { "anonymous" } else { "+4917612345678" }, lines[line]);
            scenario_call.responsible = responsible.map(AgentId);
            scenario_call.digits = digits.into_iter().map(|(at_seconds, keys)| Keys { at_seconds, keys }).collect();
            scenario_call.hang_up_at_seconds = hang_up;
            run.calls.push(scenario_call);
        }
        let timeline = simulate(config, &run).unwrap();
        for summary in &timeline.calls {
            prop_assert!(summary.outcome.is_some(), "call {} never ended:\n{}", summary.call, timeline.to_text());
            let ended = timeline
                .entries
                .iter()
                .filter(|entry| entry.call == Some(summary.call))
                .filter(|entry| matches!(entry.item, TimelineItem::Action(Action::Log { entry: LogEntry::Ended { .. } })))
                .count();
            prop_assert_eq!(ended, 1, "call {} has {} terminal states", summary.call, ended);
        }
    }
}

fn example_config() -> &'static RoutingConfig {
    static CONFIG: OnceLock<RoutingConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        RoutingConfig::from_toml(include_str!("../examples/ringbase.toml")).unwrap()
    })
}
