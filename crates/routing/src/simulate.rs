//! The simulator: "what happens if a customer calls on Saturday at 10:00?"
//!
//! A [`Scenario`] (TOML) sets the time, the calls (caller, dialed line, CRM card, digits pressed
//! at virtual seconds, when the caller hangs up) and how each agent behaves when rung (answers
//! after N s, busy, no answer, rejects, unreachable), plus presence changes and pickups. The
//! runner drives a [`Router`] with a virtual clock and records every event and action in a
//! [`Timeline`], printed as text ([`Timeline::to_text`]) or JSON lines
//! ([`Timeline::to_json_lines`]).
//!
//! `crates/routing/examples/scenarios/` has examples of the format.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::{DateTime, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::callback::{Callback, CallbackAction, CallbackEvent, CallbackOutcome, CallbackRequest};
use crate::config::RoutingConfig;
use crate::engine::router::{Output, Router};
use crate::engine::types::{
    Action, AgentState, CallArrival, Caller, CrmCard, Event, LegStatus, Outcome,
};
use crate::error::{key_path_at, line_and_column, SimulateError};
use crate::ids::{AgentId, CallId, TimerId};

/// A scenario to run against the settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Local start time, `2026-11-21T10:00:00`.
    pub start: String,
    /// Zone of `start`; default UTC.
    #[serde(default = "utc")]
    pub time_zone: Tz,
    /// Length of every prompt unless listed in `prompt_lengths`.
    #[serde(default = "default_prompt_seconds")]
    pub prompt_seconds: f64,
    /// Length of named prompts, in seconds.
    #[serde(default)]
    pub prompt_lengths: BTreeMap<String, f64>,
    /// The simulation stops after this many virtual seconds.
    #[serde(default = "default_max_seconds")]
    pub max_seconds: f64,
    /// How agents behave; agents not listed let their phone ring.
    #[serde(default)]
    pub agents: Vec<AgentBehaviour>,
    /// Presence changes during the scenario.
    #[serde(default)]
    pub agent_events: Vec<AgentEvent>,
    /// Pickup requests.
    #[serde(default)]
    pub pickups: Vec<Pickup>,
    /// Inbound calls.
    #[serde(default)]
    pub calls: Vec<ScenarioCall>,
    /// A requested callback.
    #[serde(default)]
    pub callback: Option<ScenarioCallback>,
}

fn utc() -> Tz {
    Tz::UTC
}
fn default_prompt_seconds() -> f64 {
    5.0
}
fn default_max_seconds() -> f64 {
    3600.0
}
fn default_answer_after() -> f64 {
    2.0
}
fn default_talk_seconds() -> f64 {
    60.0
}

/// How one agent behaves when rung.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentBehaviour {
    pub id: AgentId,
    #[serde(default)]
    pub behaviour: Behaviour,
    /// For `answer`: seconds of ringing before picking up.
    #[serde(default = "default_answer_after")]
    pub answer_after_seconds: f64,
    /// Presence at the start.
    #[serde(default)]
    pub state: AgentState,
    /// How long an answered call lasts before the agent is free again.
    #[serde(default = "default_talk_seconds")]
    pub talk_seconds: f64,
}

/// What a rung phone does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Behaviour {
    /// Picks up after `answer_after_seconds` (if that is shorter than the ring time).
    Answer,
    /// Rings and rings.
    #[default]
    NoAnswer,
    /// Answers "busy" at once.
    Busy,
    /// Rings for a second, then declines.
    Reject,
    /// No device registered.
    Unreachable,
}

/// A presence change at a virtual second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentEvent {
    pub at_seconds: f64,
    pub agent: AgentId,
    pub state: AgentState,
}

/// A pickup request at a virtual second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pickup {
    pub at_seconds: f64,
    pub agent: AgentId,
}

/// One inbound call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioCall {
    #[serde(default)]
    pub at_seconds: f64,
    /// A number, or `anonymous`.
    pub caller: String,
    pub dialed: String,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub diversion: Option<String>,
    /// The CRM knows the caller.
    #[serde(default)]
    pub known: bool,
    /// Responsible manager of the caller's contact, lead or deal (implies `known`).
    #[serde(default)]
    pub responsible: Option<AgentId>,
    /// Keys pressed, relative to the call's start.
    #[serde(default)]
    pub digits: Vec<Keys>,
    /// The caller hangs up this many seconds after calling (if the call is not over).
    #[serde(default)]
    pub hang_up_at_seconds: Option<f64>,
    /// Overrides the answering agent's `talk_seconds`.
    #[serde(default)]
    pub talk_seconds: Option<f64>,
}

/// Keys pressed at a moment of the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keys {
    pub at_seconds: f64,
    pub keys: String,
}

/// A requested callback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioCallback {
    #[serde(default)]
    pub at_seconds: f64,
    pub agent: AgentId,
    pub customer: String,
    /// What the customer does on each attempt; missing attempts do not answer.
    #[serde(default)]
    pub customer_behaviour: Vec<Behaviour>,
    #[serde(default = "default_answer_after")]
    pub customer_answer_after_seconds: f64,
}

impl Scenario {
    /// Parses a scenario; errors name the line.
    pub fn from_toml(text: &str) -> Result<Self, SimulateError> {
        toml::from_str(text).map_err(|error: toml::de::Error| {
            let (line, column) = line_and_column(text, error.span().map_or(0, |span| span.start));
            let message = error.message().trim().replace('`', "\"");
            SimulateError::Scenario {
                line,
                column,
                message: match key_path_at(text, line, column) {
                    Some(key) => format!("{key}: {message}"),
                    None => message,
                },
            }
        })
    }

    /// The scenario's start as an instant.
    pub fn start_instant(&self) -> Result<DateTime<Utc>, SimulateError> {
        let local = NaiveDateTime::parse_from_str(&self.start, "%Y-%m-%dT%H:%M:%S")
            .or_else(|_| NaiveDateTime::parse_from_str(&self.start, "%Y-%m-%dT%H:%M"))
            .map_err(|_| {
                SimulateError::InvalidScenario(format!(
                    "start {:?} must look like \"2026-11-21T10:00:00\"",
                    self.start
                ))
            })?;
        self.time_zone
            .from_local_datetime(&local)
            .earliest()
            .map(|instant| instant.with_timezone(&Utc))
            .ok_or_else(|| {
                SimulateError::InvalidScenario(format!(
                    "{} does not exist in {} (skipped by a daylight-saving change)",
                    self.start, self.time_zone
                ))
            })
    }
}

/// Something that happened in the simulated world.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SimEvent {
    CallArrived { caller: Caller, dialed: String },
    Digit { digit: char },
    PromptFinished,
    AgentLeg { agent: AgentId, status: LegStatus },
    TimerFired { timer: TimerId },
    CallerHungUp,
    AgentStateChanged { agent: AgentId, state: AgentState },
    PickupRequested { by: AgentId },
    CallbackRequested { agent: AgentId, customer: String },
    CustomerLeg { status: LegStatus },
}

impl fmt::Display for SimEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimEvent::CallArrived { caller, dialed } => write!(f, "call from {caller} to {dialed}"),
            SimEvent::Digit { digit } => write!(f, "caller pressed {digit}"),
            SimEvent::PromptFinished => f.write_str("prompt finished"),
            SimEvent::AgentLeg { agent, status } => {
                let what = match status {
                    LegStatus::Ringing => "phone rings",
                    LegStatus::Answered => "answered",
                    LegStatus::Busy => "is busy",
                    LegStatus::Rejected => "rejected",
                    LegStatus::Unreachable => "is unreachable",
                    LegStatus::HungUp => "hung up",
                };
                write!(f, "agent {agent} {what}")
            }
            SimEvent::TimerFired { timer } => write!(f, "timer {timer} fired"),
            SimEvent::CallerHungUp => f.write_str("caller hung up"),
            SimEvent::AgentStateChanged { agent, state } => {
                let state = match state {
                    AgentState::Free => "free",
                    AgentState::Paused => "paused",
                    AgentState::OffShift => "off shift",
                    AgentState::OnCall => "on a call",
                };
                write!(f, "agent {agent} is now {state}")
            }
            SimEvent::PickupRequested { by } => write!(f, "agent {by} asks to pick up"),
            SimEvent::CallbackRequested { agent, customer } => {
                write!(f, "callback requested: agent {agent} → {customer}")
            }
            SimEvent::CustomerLeg { status } => f.write_str(match status {
                LegStatus::Ringing => "customer's phone rings",
                LegStatus::Answered => "customer answered",
                LegStatus::Busy => "customer is busy",
                LegStatus::Rejected => "customer rejected",
                LegStatus::Unreachable => "customer is unreachable",
                LegStatus::HungUp => "customer hung up",
            }),
        }
    }
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// Virtual milliseconds since the scenario's start.
    pub at_ms: u64,
    /// The call concerned (none for presence changes and callbacks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<CallId>,
    #[serde(flatten)]
    pub item: TimelineItem,
}

/// An event in the world or a decision of the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TimelineItem {
    Event(SimEvent),
    Action(Action),
    Callback(CallbackAction),
}

impl fmt::Display for TimelineItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimelineItem::Event(event) => write!(f, "« {event}"),
            TimelineItem::Action(action) => write!(f, "{action}"),
            TimelineItem::Callback(action) => write!(f, "{action}"),
        }
    }
}

/// How one call of the scenario ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallSummary {
    pub call: CallId,
    pub outcome: Option<Outcome>,
}

/// The result of a scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    /// The scenario's start.
    pub start: DateTime<Utc>,
    pub entries: Vec<TimelineEntry>,
    /// Every call, in arrival order.
    pub calls: Vec<CallSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<CallbackOutcome>,
}

impl Timeline {
    /// The timeline as text, one line per event or decision:
    /// `00:00.000  play greeting 'sales-greeting'`. Events in the world start with `«`.
    /// Timer bookkeeping is left out; [`Timeline::to_text_verbose`] shows it.
    pub fn to_text(&self) -> String {
        self.render(false)
    }

    /// Like [`Timeline::to_text`], with timers started and fired.
    pub fn to_text_verbose(&self) -> String {
        self.render(true)
    }

    fn render(&self, timers: bool) -> String {
        let tag_calls = self.calls.len() > 1;
        let mut text = String::new();
        for entry in &self.entries {
            let is_timer = matches!(
                entry.item,
                TimelineItem::Event(SimEvent::TimerFired { .. })
                    | TimelineItem::Action(Action::StartTimer { .. })
                    | TimelineItem::Callback(CallbackAction::StartTimer { .. })
            );
            if is_timer && !timers {
                continue;
            }
            text.push_str(&format_ms(entry.at_ms));
            text.push_str("  ");
            if let (true, Some(call)) = (tag_calls, entry.call) {
                text.push_str(&format!("[call {call}] "));
            }
            text.push_str(&entry.item.to_string());
            text.push('\n');
        }
        for summary in &self.calls {
            let outcome = summary
                .outcome
                .as_ref()
                .map_or("still in progress".to_owned(), ToString::to_string);
            text.push_str(&format!("call {}: {outcome}\n", summary.call));
        }
        if let Some(outcome) = &self.callback {
            text.push_str(&format!("callback: {outcome}\n"));
        }
        text
    }

    /// One JSON object per line, for machines (`ringbase simulate --json`).
    pub fn to_json_lines(&self) -> String {
        let mut text = String::new();
        for entry in &self.entries {
            // Serialising plain data to a String cannot fail.
            if let Ok(line) = serde_json::to_string(entry) {
                text.push_str(&line);
                text.push('\n');
            }
        }
        text
    }

    /// The outcome of the `n`-th call (1-based, arrival order).
    pub fn outcome(&self, call: u64) -> Option<&Outcome> {
        self.calls
            .iter()
            .find(|summary| summary.call == CallId(call))
            .and_then(|summary| summary.outcome.as_ref())
    }

    /// The engine's actions only, with their times.
    pub fn actions(&self) -> impl Iterator<Item = (u64, Option<CallId>, &Action)> {
        self.entries.iter().filter_map(|entry| match &entry.item {
            TimelineItem::Action(action) => Some((entry.at_ms, entry.call, action)),
            _ => None,
        })
    }
}

/// `mm:ss.mmm` (minutes keep counting past 59).
pub fn format_ms(at_ms: u64) -> String {
    format!(
        "{:02}:{:02}.{:03}",
        at_ms / 60_000,
        (at_ms / 1000) % 60,
        at_ms % 1000
    )
}

/// Parses both files and runs the scenario.
pub fn run_scenario(config_toml: &str, scenario_toml: &str) -> Result<Timeline, SimulateError> {
    let config = RoutingConfig::from_toml(config_toml)?;
    let scenario = Scenario::from_toml(scenario_toml)?;
    simulate(&config, &scenario)
}

/// Runs a scenario against the settings with a virtual clock.
pub fn simulate(config: &RoutingConfig, scenario: &Scenario) -> Result<Timeline, SimulateError> {
    let start = scenario.start_instant()?;
    let router = Router::new(config.clone())?;
    let mut sim = Simulation {
        config,
        scenario,
        start,
        router,
        queue: BTreeMap::new(),
        seq: 0,
        entries: Vec::new(),
        call_ids: HashMap::new(),
        ring_generation: HashMap::new(),
        callback: None,
        behaviours: scenario
            .agents
            .iter()
            .map(|agent| (agent.id, agent))
            .collect(),
        max_ms: seconds_to_ms(scenario.max_seconds),
    };
    sim.run()?;
    let calls = sim
        .router
        .calls()
        .map(|call| CallSummary {
            call: call.id(),
            outcome: call.outcome().cloned(),
        })
        .collect();
    Ok(Timeline {
        start,
        entries: sim.entries,
        calls,
        callback: sim.callback.as_ref().and_then(Callback::outcome),
    })
}

fn seconds_to_ms(seconds: f64) -> u64 {
    if seconds.is_finite() && seconds > 0.0 {
        (seconds * 1000.0).round() as u64
    } else {
        0
    }
}

/// Inputs scheduled at a virtual time.
#[derive(Debug, Clone)]
enum Input {
    CallArrives(usize),
    Keys {
        call: usize,
        keys: String,
    },
    CallerHangsUp {
        call: usize,
    },
    /// A leg event, valid only while the ring generation is unchanged.
    Leg {
        call: CallId,
        agent: AgentId,
        status: LegStatus,
        generation: u64,
    },
    Engine {
        call: CallId,
        event: Event,
    },
    TalkEnds {
        call: CallId,
    },
    AgentState {
        agent: AgentId,
        state: AgentState,
    },
    Pickup {
        agent: AgentId,
    },
    CallbackStarts,
    CallbackEvent(CallbackEvent),
}

struct Simulation<'a> {
    config: &'a RoutingConfig,
    scenario: &'a Scenario,
    start: DateTime<Utc>,
    router: Router,
    queue: BTreeMap<(u64, u64), Input>,
    seq: u64,
    entries: Vec<TimelineEntry>,
    /// Scenario call index → router call id, once arrived.
    call_ids: HashMap<usize, CallId>,
    ring_generation: HashMap<(CallId, AgentId), u64>,
    callback: Option<Callback>,
    behaviours: HashMap<AgentId, &'a AgentBehaviour>,
    max_ms: u64,
}

impl Simulation<'_> {
    fn schedule(&mut self, at_ms: u64, input: Input) {
        self.seq += 1;
        self.queue.insert((at_ms, self.seq), input);
    }

    fn instant(&self, at_ms: u64) -> DateTime<Utc> {
        self.start + TimeDelta::milliseconds(at_ms as i64)
    }

    fn ms_of(&self, instant: DateTime<Utc>) -> u64 {
        (instant - self.start).num_milliseconds().max(0) as u64
    }

    fn record(&mut self, at_ms: u64, call: Option<CallId>, item: TimelineItem) {
        self.entries.push(TimelineEntry { at_ms, call, item });
    }

    fn run(&mut self) -> Result<(), SimulateError> {
        let scenario = self.scenario;
        for agent in &scenario.agents {
            if agent.state != AgentState::Free {
                self.schedule(
                    0,
                    Input::AgentState {
                        agent: agent.id,
                        state: agent.state,
                    },
                );
            }
            if self.config.agent(agent.id).is_none() {
                return Err(SimulateError::InvalidScenario(format!(
                    "agent {} is not in the settings",
                    agent.id
                )));
            }
        }
        for event in &scenario.agent_events {
            self.schedule(
                seconds_to_ms(event.at_seconds),
                Input::AgentState {
                    agent: event.agent,
                    state: event.state,
                },
            );
        }
        for pickup in &scenario.pickups {
            self.schedule(
                seconds_to_ms(pickup.at_seconds),
                Input::Pickup {
                    agent: pickup.agent,
                },
            );
        }
        for (index, call) in scenario.calls.iter().enumerate() {
            let start = seconds_to_ms(call.at_seconds);
            self.schedule(start, Input::CallArrives(index));
            for keys in &call.digits {
                self.schedule(
                    start + seconds_to_ms(keys.at_seconds),
                    Input::Keys {
                        call: index,
                        keys: keys.keys.clone(),
                    },
                );
            }
            if let Some(hang_up) = call.hang_up_at_seconds {
                self.schedule(
                    start + seconds_to_ms(hang_up),
                    Input::CallerHangsUp { call: index },
                );
            }
        }
        if let Some(callback) = &scenario.callback {
            self.schedule(seconds_to_ms(callback.at_seconds), Input::CallbackStarts);
        }

        while let Some(((at_ms, _), input)) = self.queue.pop_first() {
            if at_ms > self.max_ms {
                break;
            }
            self.step(at_ms, input);
        }
        Ok(())
    }

    fn step(&mut self, at_ms: u64, input: Input) {
        let now = self.instant(at_ms);
        match input {
            Input::CallArrives(index) => {
                let call = &self.scenario.calls[index];
                let caller =
                    if call.caller.eq_ignore_ascii_case("anonymous") || call.caller.is_empty() {
                        Caller::Anonymous
                    } else {
                        Caller::Number(call.caller.clone())
                    };
                let card = if call.known || call.responsible.is_some() {
                    CrmCard::Known {
                        name: None,
                        responsible: call.responsible,
                    }
                } else {
                    CrmCard::Unknown
                };
                let arrival = CallArrival {
                    caller: caller.clone(),
                    dialed: call.dialed.clone(),
                    to: call.to.clone(),
                    diversion: call.diversion.clone(),
                    card,
                };
                let next_id = CallId(self.call_ids.len() as u64 + 1);
                self.record(
                    at_ms,
                    Some(next_id),
                    TimelineItem::Event(SimEvent::CallArrived {
                        caller,
                        dialed: call.dialed.clone(),
                    }),
                );
                let (id, outputs) = self.router.call_arrived(arrival, now);
                self.call_ids.insert(index, id);
                self.execute(at_ms, outputs);
            }
            Input::Keys { call, keys } => {
                let Some(&id) = self.call_ids.get(&call) else {
                    return;
                };
                if self.call_is_over(id) {
                    return;
                }
                for digit in keys.chars() {
                    self.record(
                        at_ms,
                        Some(id),
                        TimelineItem::Event(SimEvent::Digit { digit }),
                    );
                    let outputs = self.router.handle(id, Event::Digit { digit }, now);
                    self.execute(at_ms, outputs);
                }
            }
            Input::CallerHangsUp { call } => {
                let Some(&id) = self.call_ids.get(&call) else {
                    return;
                };
                if self
                    .router
                    .call(id)
                    .is_none_or(|call| call.outcome().is_some())
                {
                    return;
                }
                self.record(at_ms, Some(id), TimelineItem::Event(SimEvent::CallerHungUp));
                let outputs = self.router.handle(id, Event::CallerHungUp, now);
                self.execute(at_ms, outputs);
            }
            Input::Leg {
                call,
                agent,
                status,
                generation,
            } => {
                if self.ring_generation.get(&(call, agent)) != Some(&generation) {
                    return;
                }
                self.record(
                    at_ms,
                    Some(call),
                    TimelineItem::Event(SimEvent::AgentLeg { agent, status }),
                );
                let outputs = self
                    .router
                    .handle(call, Event::AgentLeg { agent, status }, now);
                self.execute(at_ms, outputs);
            }
            Input::Engine { call, event } => {
                if self.call_is_over(call) {
                    return;
                }
                let sim_event = match &event {
                    Event::PromptFinished { .. } => SimEvent::PromptFinished,
                    Event::TimerFired { timer } => SimEvent::TimerFired { timer: *timer },
                    _ => return,
                };
                let outputs = self.router.handle(call, event, now);
                // Stale prompts and timers change nothing; keep them out of the timeline.
                if outputs.is_empty() {
                    return;
                }
                self.record(at_ms, Some(call), TimelineItem::Event(sim_event));
                self.execute(at_ms, outputs);
            }
            Input::TalkEnds { call } => {
                self.record(
                    at_ms,
                    Some(call),
                    TimelineItem::Event(SimEvent::CallerHungUp),
                );
                let outputs = self.router.handle(call, Event::CallerHungUp, now);
                self.execute(at_ms, outputs);
            }
            Input::AgentState { agent, state } => {
                self.record(
                    at_ms,
                    None,
                    TimelineItem::Event(SimEvent::AgentStateChanged { agent, state }),
                );
                let outputs = self.router.agent_state_changed(agent, state, now);
                self.execute(at_ms, outputs);
            }
            Input::Pickup { agent } => {
                self.record(
                    at_ms,
                    None,
                    TimelineItem::Event(SimEvent::PickupRequested { by: agent }),
                );
                let outputs = self.router.pickup(agent, now);
                self.execute(at_ms, outputs);
            }
            Input::CallbackStarts => {
                let Some(request) = &self.scenario.callback else {
                    return;
                };
                self.record(
                    at_ms,
                    None,
                    TimelineItem::Event(SimEvent::CallbackRequested {
                        agent: request.agent,
                        customer: request.customer.clone(),
                    }),
                );
                let (callback, actions) = Callback::start(
                    self.config,
                    CallbackRequest {
                        agent: request.agent,
                        customer: request.customer.clone(),
                    },
                    now,
                );
                self.callback = Some(callback);
                self.execute_callback(at_ms, actions);
            }
            Input::CallbackEvent(event) => {
                let Some(callback) = &mut self.callback else {
                    return;
                };
                let actions = callback.handle(event, now);
                if actions.is_empty() && matches!(event, CallbackEvent::TimerFired(_)) {
                    return;
                }
                let sim_event = match event {
                    CallbackEvent::AgentLeg(status) => SimEvent::AgentLeg {
                        agent: callback.request().agent,
                        status,
                    },
                    CallbackEvent::CustomerLeg(status) => SimEvent::CustomerLeg { status },
                    CallbackEvent::TimerFired(timer) => SimEvent::TimerFired { timer },
                };
                self.record(at_ms, None, TimelineItem::Event(sim_event));
                self.execute_callback(at_ms, actions);
            }
        }
    }

    fn call_is_over(&self, call: CallId) -> bool {
        self.router.call(call).is_none_or(|call| call.is_finished())
    }

    fn behaviour(&self, agent: AgentId) -> (Behaviour, f64, f64) {
        self.behaviours.get(&agent).map_or(
            (
                Behaviour::NoAnswer,
                default_answer_after(),
                default_talk_seconds(),
            ),
            |behaviour| {
                (
                    behaviour.behaviour,
                    behaviour.answer_after_seconds,
                    behaviour.talk_seconds,
                )
            },
        )
    }

    fn execute(&mut self, at_ms: u64, outputs: Vec<Output>) {
        for Output { call, action } in outputs {
            self.record(at_ms, Some(call), TimelineItem::Action(action.clone()));
            match action {
                Action::Play {
                    playback,
                    prompt,
                    looped,
                    ..
                } => {
                    if !looped {
                        let seconds = self
                            .scenario
                            .prompt_lengths
                            .get(&prompt)
                            .copied()
                            .unwrap_or(self.scenario.prompt_seconds);
                        self.schedule(
                            at_ms + seconds_to_ms(seconds),
                            Input::Engine {
                                call,
                                event: Event::PromptFinished { playback },
                            },
                        );
                    }
                }
                Action::Ring {
                    agents,
                    ring_seconds,
                } => {
                    for target in agents {
                        self.ring(at_ms, call, target.agent, ring_seconds);
                    }
                }
                Action::CancelRings { agents } => {
                    for agent in agents {
                        *self.ring_generation.entry((call, agent)).or_default() += 1;
                    }
                }
                Action::Bridge { agent } => {
                    *self.ring_generation.entry((call, agent)).or_default() += 1;
                    let call_talk = self
                        .call_ids
                        .iter()
                        .find(|(_, id)| **id == call)
                        .and_then(|(index, _)| self.scenario.calls[*index].talk_seconds);
                    let talk = call_talk.unwrap_or(self.behaviour(agent).2);
                    self.schedule(at_ms + seconds_to_ms(talk), Input::TalkEnds { call });
                }
                Action::StartTimer { timer, at } => {
                    let due = self.ms_of(at);
                    self.schedule(
                        due,
                        Input::Engine {
                            call,
                            event: Event::TimerFired { timer },
                        },
                    );
                }
                Action::StopPrompt
                | Action::CollectDigits { .. }
                | Action::Forward { .. }
                | Action::RecordVoicemail { .. }
                | Action::HangUp
                | Action::Log { .. } => {}
            }
        }
    }

    fn ring(&mut self, at_ms: u64, call: CallId, agent: AgentId, ring_seconds: u32) {
        let generation = {
            let counter = self.ring_generation.entry((call, agent)).or_default();
            *counter += 1;
            *counter
        };
        let (behaviour, answer_after, _) = self.behaviour(agent);
        let leg = |status| Input::Leg {
            call,
            agent,
            status,
            generation,
        };
        match behaviour {
            Behaviour::Answer => {
                self.schedule(at_ms, leg(LegStatus::Ringing));
                let after = seconds_to_ms(answer_after);
                // Answering exactly when the ring time is up is too late: the engine moves on.
                if after < u64::from(ring_seconds) * 1000 {
                    self.schedule(at_ms + after, leg(LegStatus::Answered));
                }
            }
            Behaviour::NoAnswer => self.schedule(at_ms, leg(LegStatus::Ringing)),
            Behaviour::Busy => self.schedule(at_ms, leg(LegStatus::Busy)),
            Behaviour::Reject => {
                self.schedule(at_ms, leg(LegStatus::Ringing));
                self.schedule(at_ms + 1000, leg(LegStatus::Rejected));
            }
            Behaviour::Unreachable => self.schedule(at_ms, leg(LegStatus::Unreachable)),
        }
    }

    fn execute_callback(&mut self, at_ms: u64, actions: Vec<CallbackAction>) {
        for action in actions {
            self.record(at_ms, None, TimelineItem::Callback(action.clone()));
            match action {
                CallbackAction::RingAgent {
                    agent,
                    ring_seconds,
                    ..
                } => {
                    let (behaviour, after, _) = self.behaviour(agent);
                    self.leg_outcome(
                        at_ms,
                        behaviour,
                        after,
                        ring_seconds,
                        CallbackEvent::AgentLeg,
                    );
                }
                CallbackAction::DialCustomer { ring_seconds, .. } => {
                    let Some(request) = &self.scenario.callback else {
                        continue;
                    };
                    let attempt = self.callback.as_ref().map_or(1, Callback::attempt);
                    let behaviour = request
                        .customer_behaviour
                        .get(attempt.saturating_sub(1) as usize)
                        .copied()
                        .unwrap_or(Behaviour::NoAnswer);
                    let after = request.customer_answer_after_seconds;
                    self.leg_outcome(
                        at_ms,
                        behaviour,
                        after,
                        ring_seconds,
                        CallbackEvent::CustomerLeg,
                    );
                }
                CallbackAction::StartTimer { timer, at } => {
                    let due = self.ms_of(at);
                    self.schedule(due, Input::CallbackEvent(CallbackEvent::TimerFired(timer)));
                }
                CallbackAction::Bridge
                | CallbackAction::HangUpLegs
                | CallbackAction::RetryScheduled { .. }
                | CallbackAction::Ended { .. } => {}
            }
        }
    }

    fn leg_outcome(
        &mut self,
        at_ms: u64,
        behaviour: Behaviour,
        answer_after: f64,
        ring_seconds: u32,
        event: fn(LegStatus) -> CallbackEvent,
    ) {
        match behaviour {
            Behaviour::Answer => {
                let after = seconds_to_ms(answer_after);
                if after < u64::from(ring_seconds) * 1000 {
                    self.schedule(
                        at_ms + after,
                        Input::CallbackEvent(event(LegStatus::Answered)),
                    );
                }
            }
            Behaviour::NoAnswer => {}
            Behaviour::Busy => self.schedule(at_ms, Input::CallbackEvent(event(LegStatus::Busy))),
            Behaviour::Reject => self.schedule(
                at_ms + 1000,
                Input::CallbackEvent(event(LegStatus::Rejected)),
            ),
            Behaviour::Unreachable => {
                self.schedule(at_ms, Input::CallbackEvent(event(LegStatus::Unreachable)))
            }
        }
    }
}
