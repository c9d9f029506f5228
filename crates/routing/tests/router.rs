//! The engine's driving rules, exercised through the `Router` API directly (no simulator).

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use routing::{
    Action, AgentId, AgentState, CallArrival, CallId, Caller, CrmCard, Event, LegStatus, LogEntry,
    Outcome, Output, Router, RoutingConfig, TimerId,
};

const SETTINGS: &str = "\
[[agents]]
id = 1
name = \"One\"
[[agents]]
id = 2
name = \"Two\"
[[lines]]
number = \"+493000000001\"
name = \"Main\"
greeting = \"hello\"
queue = \"q\"
[[queues]]
name = \"q\"
strategy = \"in_order\"
members = [1, 2]
rings = 2
";

fn router() -> Router {
    Router::new(RoutingConfig::from_toml(SETTINGS).unwrap()).unwrap()
}

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap() + TimeDelta::seconds(seconds)
}

fn arrival() -> CallArrival {
    CallArrival {
        caller: Caller::Number("+4917612345678".into()),
        dialed: "+493000000001".into(),
        to: None,
        diversion: None,
        card: CrmCard::Unknown,
    }
}

fn prompt_finished(outputs: &[Output]) -> Event {
    outputs
        .iter()
        .find_map(|output| match output.action {
            Action::Play { playback, .. } => Some(Event::PromptFinished { playback }),
            _ => None,
        })
        .expect("a prompt")
}

fn timer(outputs: &[Output]) -> (TimerId, DateTime<Utc>) {
    outputs
        .iter()
        .find_map(|output| match output.action {
            Action::StartTimer { timer, at } => Some((timer, at)),
            _ => None,
        })
        .expect("a timer")
}

/// Arrival plays the greeting; its end starts ringing the first member with a timer due
/// exactly rings × 5 s later; the actions are tagged with the call.
#[test]
fn arrival_then_prompt_then_ring_with_timer() {
    let mut router = router();
    let (id, outputs) = router.call_arrived(arrival(), at(0));
    assert_eq!(id, CallId(1));
    assert!(outputs.iter().all(|output| output.call == id));
    assert!(matches!(&outputs[1].action, Action::Play { prompt, .. } if prompt == "hello"));
    let outputs = router.handle(id, prompt_finished(&outputs), at(4));
    let rings: Vec<&Action> = outputs
        .iter()
        .map(|output| &output.action)
        .filter(|action| matches!(action, Action::Ring { .. }))
        .collect();
    assert_eq!(rings.len(), 1);
    assert_eq!(timer(&outputs).1, at(14));
}

/// A stale timer (from an offer that already ended) and a late "prompt finished" are ignored.
#[test]
fn stale_timer_and_prompt_are_ignored() {
    let mut router = router();
    let (id, outputs) = router.call_arrived(arrival(), at(0));
    let greeting_done = prompt_finished(&outputs);
    let outputs = router.handle(id, greeting_done.clone(), at(4));
    let (ring_timer, _) = timer(&outputs);
    // Agent 1 is busy: the engine moves on to agent 2 and starts a new timer.
    let outputs = router.handle(
        id,
        Event::AgentLeg {
            agent: AgentId(1),
            status: LegStatus::Busy,
        },
        at(5),
    );
    assert!(outputs.iter().any(|output| matches!(&output.action, Action::Ring { agents, .. } if agents[0].agent == AgentId(2))));
    assert!(router
        .handle(id, Event::TimerFired { timer: ring_timer }, at(14))
        .is_empty());
    assert!(router.handle(id, greeting_done, at(15)).is_empty());
}

/// Events for unknown calls produce nothing.
#[test]
fn unknown_call_produces_nothing() {
    let mut router = router();
    assert!(router
        .handle(CallId(42), Event::CallerHungUp, at(0))
        .is_empty());
}

/// An answered call keeps its agent busy until a hang-up; then it can be removed.
#[test]
fn answered_call_stays_until_hang_up() {
    let mut router = router();
    let (id, outputs) = router.call_arrived(arrival(), at(0));
    router.handle(id, prompt_finished(&outputs), at(4));
    let outputs = router.handle(
        id,
        Event::AgentLeg {
            agent: AgentId(1),
            status: LegStatus::Answered,
        },
        at(6),
    );
    assert!(outputs
        .iter()
        .any(|output| output.action == Action::Bridge { agent: AgentId(1) }));
    assert_eq!(
        router.outcome(id),
        Some(&Outcome::Answered {
            agent: AgentId(1),
            queue: Some("q".into())
        })
    );
    assert!(router.remove_finished().is_empty(), "still talking");
    assert!(router
        .queue_state()
        .availability(AgentId(1), true, CallId(99))
        .is_err());
    router.handle(
        id,
        Event::AgentLeg {
            agent: AgentId(1),
            status: LegStatus::HungUp,
        },
        at(60),
    );
    assert_eq!(router.remove_finished().len(), 1);
    assert!(router
        .queue_state()
        .availability(AgentId(1), true, CallId(99))
        .is_ok());
}

/// Presence reported by the server is honoured by the next offer.
#[test]
fn presence_changes_affect_offers() {
    let mut router = router();
    router.agent_state_changed(AgentId(1), AgentState::Paused, at(0));
    let (id, outputs) = router.call_arrived(arrival(), at(0));
    let outputs = router.handle(id, prompt_finished(&outputs), at(4));
    assert!(outputs.iter().any(|output| matches!(
        &output.action,
        Action::Log {
            entry: LogEntry::Skipped {
                agent: AgentId(1),
                ..
            }
        }
    )));
    assert!(outputs.iter().any(|output| matches!(&output.action, Action::Ring { agents, .. } if agents[0].agent == AgentId(2))));
}

/// New settings apply to new calls; a call in progress finishes under the settings it
/// started with.
#[test]
fn replaced_settings_apply_to_new_calls_only() {
    let mut router = router();
    let (old_call, outputs) = router.call_arrived(arrival(), at(0));
    let greeting_done = prompt_finished(&outputs);
    let new_settings = SETTINGS.replace(
        "greeting = \"hello\"\nqueue = \"q\"",
        "greeting = \"new-hello\"",
    );
    router
        .replace_config(RoutingConfig::from_toml(&new_settings).unwrap())
        .unwrap();
    // The old call still reaches its queue...
    let outputs = router.handle(old_call, greeting_done, at(4));
    assert!(outputs
        .iter()
        .any(|output| matches!(output.action, Action::Ring { .. })));
    // ...while a new call plays the new greeting and, with no queue, ends with "no route".
    let (new_call, outputs) = router.call_arrived(arrival(), at(5));
    assert!(outputs.iter().any(
        |output| matches!(&output.action, Action::Play { prompt, .. } if prompt == "new-hello")
    ));
    router.handle(new_call, prompt_finished(&outputs), at(9));
    assert!(matches!(
        router.outcome(new_call),
        Some(Outcome::Rejected { .. })
    ));
}

/// Invalid settings are refused by the router, which keeps the old ones.
#[test]
fn invalid_replacement_is_refused() {
    let mut router = router();
    let mut broken = router.config().clone();
    broken.lines[0].queue = Some("missing".into());
    assert!(router.replace_config(broken).is_err());
    assert_eq!(router.config().lines[0].queue.as_deref(), Some("q"));
}

/// Keys outside 0-9, * and # are ignored.
#[test]
fn non_dtmf_keys_are_ignored() {
    let mut router = router();
    let (id, _) = router.call_arrived(arrival(), at(0));
    assert!(router
        .handle(id, Event::Digit { digit: 'x' }, at(1))
        .is_empty());
}

/// `pickup_target` names the call a pickup would take without taking it: none before the
/// call rings, none for the agent it rings at, the ringing call for his colleague — and the
/// call rings on until `pickup` is asked, which bridges the colleague.
#[test]
fn pickup_target_is_a_question_and_pickup_the_answer() {
    let mut router = router();
    let (id, outputs) = router.call_arrived(arrival(), at(0));
    assert_eq!(router.pickup_target(AgentId(2)), None, "the greeting plays");
    router.handle(id, prompt_finished(&outputs), at(4));
    assert_eq!(router.pickup_target(AgentId(1)), None, "it rings at him");
    assert_eq!(router.pickup_target(AgentId(2)), Some(id));
    assert_eq!(
        router.pickup_target(AgentId(2)),
        Some(id),
        "asking changes nothing"
    );
    let outputs = router.pickup(AgentId(2), at(6));
    assert!(outputs
        .iter()
        .any(|o| o.action == Action::Bridge { agent: AgentId(2) }));
    assert!(outputs.iter().any(|o| o.action
        == Action::CancelRings {
            agents: vec![AgentId(1)]
        }));
    assert_eq!(router.pickup_target(AgentId(2)), None);
}

/// The agents a call's outputs ring.
fn rung(outputs: &[Output]) -> Vec<AgentId> {
    outputs
        .iter()
        .flat_map(|output| match &output.action {
            Action::Ring { agents, .. } => agents.iter().map(|target| target.agent).collect(),
            _ => Vec::new(),
        })
        .collect()
}

fn evenly_settings(members: &str) -> RoutingConfig {
    let agents: String = (1..=4)
        .map(|id| format!("[[agents]]\nid = {id}\nname = \"Agent {id}\"\n"))
        .collect();
    RoutingConfig::from_toml(&format!(
        "{agents}[[lines]]\nnumber = \"+493000000001\"\nname = \"Main\"\nqueue = \"q\"\n\
         [[queues]]\nname = \"q\"\nstrategy = \"evenly\"\nmembers = [{members}]\nrings = 2\n"
    ))
    .unwrap()
}

/// "Evenly" across a settings change: members keep their place by their latest offer, and a
/// member new to the queue counts as never offered, in the new settings' order. A call that
/// started under the old settings goes on in the old member list.
#[test]
fn evenly_order_survives_replaced_settings() {
    let mut router = Router::new(evenly_settings("1, 2, 3")).unwrap();
    // Call 1 goes to agent 1, who answers: 1 is now the member offered last.
    let (first, outputs) = router.call_arrived(arrival(), at(0));
    assert_eq!(rung(&outputs), [AgentId(1)]);
    let answered = Event::AgentLeg {
        agent: AgentId(1),
        status: LegStatus::Answered,
    };
    router.handle(first, answered, at(1));
    // Call 2 starts under the old settings and rings agent 2, who is busy...
    let (second, outputs) = router.call_arrived(arrival(), at(2));
    assert_eq!(rung(&outputs), [AgentId(2)]);
    // ...when the queue becomes [4, 3, 2, 1].
    router
        .replace_config(evenly_settings("4, 3, 2, 1"))
        .unwrap();
    let busy = Event::AgentLeg {
        agent: AgentId(2),
        status: LegStatus::Busy,
    };
    let outputs = router.handle(second, busy, at(3));
    assert_eq!(
        rung(&outputs),
        [AgentId(3)],
        "the old call keeps its member list"
    );
    // A new call: 4 was never offered (first); 3 and 2 were offered after 1, and 1 is on a call.
    let (third, outputs) = router.call_arrived(arrival(), at(4));
    assert_eq!(rung(&outputs), [AgentId(4)]);
    let busy = Event::AgentLeg {
        agent: AgentId(4),
        status: LegStatus::Busy,
    };
    let outputs = router.handle(third, busy, at(5));
    // 3 is ringing for call 2; 2 (offered before 3) is free again.
    assert_eq!(rung(&outputs), [AgentId(2)]);
}

/// One "evenly" pass follows the live order and offers each member at most once: a member
/// another call offered meanwhile comes at the end of the pass, one ringing for another call
/// is passed over.
#[test]
fn an_evenly_pass_offers_each_member_once_while_other_calls_take_members() {
    let mut router = Router::new(evenly_settings("1, 2, 3, 4")).unwrap();
    let busy = |agent| Event::AgentLeg {
        agent: AgentId(agent),
        status: LegStatus::Busy,
    };
    let (a, outputs) = router.call_arrived(arrival(), at(0));
    assert_eq!(rung(&outputs), [AgentId(1)]);
    let (b, outputs) = router.call_arrived(arrival(), at(1));
    assert_eq!(rung(&outputs), [AgentId(2)], "1 rings for call A");
    assert_eq!(rung(&router.handle(b, busy(2), at(2))), [AgentId(3)]);
    // A's pass goes on: 4 was never offered; then 2, offered by B meanwhile, is free again.
    assert_eq!(rung(&router.handle(a, busy(1), at(3))), [AgentId(4)]);
    assert_eq!(rung(&router.handle(a, busy(4), at(4))), [AgentId(2)]);
    // 3 rings for B and 1, 4, 2 had their turn: A's pass is over, nobody is rung again.
    let outputs = router.handle(a, busy(2), at(5));
    assert!(rung(&outputs).is_empty(), "no member twice in one pass");
    assert!(outputs.iter().any(|output| matches!(
        &output.action,
        Action::Log {
            entry: LogEntry::Skipped { agent, .. }
        } if *agent == AgentId(3)
    )));
}
