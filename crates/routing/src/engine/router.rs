//! The router: every live call plus the shared queue state, driven by the server.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::RoutingConfig;
use crate::engine::call::{members_in_offer_order, Call, Ctx};
use crate::engine::queue_state::QueueState;
use crate::engine::types::{Action, AgentState, CallArrival, Event, Outcome};
use crate::error::ConfigError;
use crate::ids::{AgentId, CallId};

/// An action for one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Output {
    pub call: CallId,
    #[serde(flatten)]
    pub action: Action,
}

/// The routing engine: a deterministic, sans-IO state machine for all inbound calls.
///
/// # Driving rules
///
/// The router never reads a clock, opens a socket or touches a database. The driver (the SIP
/// server, the simulator, a test) feeds it inputs and executes what comes out:
///
/// 1. When a call arrives, call [`Router::call_arrived`] with the caller, the dialed number,
///    the To and Diversion values and the caller's CRM card. It returns the call's id and the
///    first actions.
/// 2. Whatever happens to the call afterwards goes to [`Router::handle`] with that id: key
///    presses, prompts that finished, agent legs ringing / answered / busy / rejected /
///    unreachable / hung up, timers that fired, the caller hanging up.
/// 3. Agent presence goes to [`Router::agent_state_changed`]; a pickup request ("take the call
///    ringing at my colleague") to [`Router::pickup`].
/// 4. Every method takes `now` — the current time, supplied by the driver — and returns
///    [`Output`]s, each an [`Action`] for one call, in the order they must be executed.
///    Outputs may concern calls other than the one the input was about: an agent who becomes
///    free is offered to the caller who has waited longest.
/// 5. [`Action::StartTimer`] asks for [`Event::TimerFired`] at an instant; the driver need
///    not cancel timers, since a timer the call no longer waits for is ignored. Likewise a
///    late [`Event::PromptFinished`] for an interrupted prompt is ignored.
/// 6. Every call reaches exactly one [`Outcome`], logged once as
///    [`crate::LogEntry::Ended`]. An answered call stays in the router until the caller or
///    the agent hangs up, so the agent counts as busy; [`Router::remove_finished`] drops
///    calls that are over.
///
/// The same inputs in the same order give the same outputs, which is what makes the
/// simulator and the scenario tests exact.
#[derive(Debug, Clone)]
pub struct Router {
    config: Arc<RoutingConfig>,
    state: QueueState,
    calls: BTreeMap<CallId, Call>,
    next_call: u64,
}

impl Router {
    /// Validates the settings and starts with no calls and every agent free.
    pub fn new(config: RoutingConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let config = Arc::new(config);
        let mut state = QueueState::new();
        state.follow_settings(&config);
        Ok(Self {
            config,
            state,
            calls: BTreeMap::new(),
            next_call: 0,
        })
    }

    /// The settings new calls are routed by.
    pub fn config(&self) -> &RoutingConfig {
        &self.config
    }

    /// Applies new settings (edited over the API or `ringbase config apply`). Calls that
    /// arrive from now on use them; calls in progress finish under the settings they started
    /// with. Presence, the "evenly" rotation and waiting callers are kept.
    pub fn replace_config(&mut self, config: RoutingConfig) -> Result<(), ConfigError> {
        config.validate()?;
        self.config = Arc::new(config);
        self.state.follow_settings(&self.config);
        Ok(())
    }

    /// The shared queue state (presence, rotation, waiting callers).
    pub fn queue_state(&self) -> &QueueState {
        &self.state
    }

    pub fn call(&self, id: CallId) -> Option<&Call> {
        self.calls.get(&id)
    }

    pub fn calls(&self) -> impl Iterator<Item = &Call> {
        self.calls.values()
    }

    /// The terminal state of a call, once reached.
    pub fn outcome(&self, id: CallId) -> Option<&Outcome> {
        self.calls.get(&id).and_then(Call::outcome)
    }

    /// Starts routing a new call.
    pub fn call_arrived(
        &mut self,
        arrival: CallArrival,
        now: DateTime<Utc>,
    ) -> (CallId, Vec<Output>) {
        self.next_call += 1;
        let id = CallId(self.next_call);
        let mut call = Call::new(id, arrival, Arc::clone(&self.config), now);
        let mut actions = Vec::new();
        call.start(&mut Ctx {
            config: &Arc::clone(&self.config),
            state: &mut self.state,
            now,
            out: &mut actions,
        });
        self.calls.insert(id, call);
        let mut outputs = tag(id, actions);
        self.serve_waiting_callers(now, &mut outputs);
        (id, outputs)
    }

    /// Feeds one event to a call. Unknown call ids produce nothing.
    pub fn handle(&mut self, id: CallId, event: Event, now: DateTime<Utc>) -> Vec<Output> {
        let mut outputs = Vec::new();
        self.handle_into(id, event, now, &mut outputs);
        self.serve_waiting_callers(now, &mut outputs);
        outputs
    }

    fn handle_into(
        &mut self,
        id: CallId,
        event: Event,
        now: DateTime<Utc>,
        outputs: &mut Vec<Output>,
    ) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let config = Arc::clone(call.config());
        let mut actions = Vec::new();
        call.handle(
            &mut Ctx {
                config: &config,
                state: &mut self.state,
                now,
                out: &mut actions,
            },
            event,
        );
        outputs.extend(tag(id, actions));
    }

    /// Records an agent's presence; a newly free agent is offered to the longest-waiting caller.
    pub fn agent_state_changed(
        &mut self,
        agent: AgentId,
        state: AgentState,
        now: DateTime<Utc>,
    ) -> Vec<Output> {
        self.state.set_agent_state(agent, state);
        let mut outputs = Vec::new();
        self.serve_waiting_callers(now, &mut outputs);
        outputs
    }

    /// An agent asks to pick up a call ringing at a colleague of one of his queue groups; the
    /// call that has rung longest is taken. Nothing happens when no such call rings.
    pub fn pickup(&mut self, by: AgentId, now: DateTime<Utc>) -> Vec<Output> {
        match self.pickup_target(by) {
            Some(id) => self.handle(id, Event::PickupRequested { by }, now),
            None => Vec::new(),
        }
    }

    /// The call [`pickup`](Self::pickup) would take for `by`, without taking it: the SIP
    /// server first checks that the picker's phone and the caller can talk (common codecs).
    pub fn pickup_target(&self, by: AgentId) -> Option<CallId> {
        self.calls
            .values()
            .filter(|call| call.can_be_picked_up_by(by))
            .min_by_key(|call| (call.arrived_at(), call.id()))
            .map(Call::id)
    }

    /// Drops calls that are over (terminal, and hung up if they were answered).
    pub fn remove_finished(&mut self) -> Vec<Call> {
        let finished: Vec<CallId> = self
            .calls
            .values()
            .filter(|call| call.is_finished())
            .map(Call::id)
            .collect();
        finished
            .into_iter()
            .filter_map(|id| self.calls.remove(&id))
            .collect()
    }

    /// Drops this call if it is over; answers whether it was. The SIP server ends one call
    /// at a time, and looking at every call in progress for each would cost it dearly.
    pub fn remove_if_finished(&mut self, call: CallId) -> bool {
        match self.calls.get(&call) {
            Some(c) if c.is_finished() => self.calls.remove(&call).is_some(),
            _ => false,
        }
    }

    /// Offers free members to waiting callers, first come first served, until no waiting
    /// caller can be matched with a free member.
    fn serve_waiting_callers(&mut self, now: DateTime<Utc>, outputs: &mut Vec<Output>) {
        while self.state.take_availability_changed() {
            let waiting: Vec<CallId> = self.state.waiting().map(|waiting| waiting.call).collect();
            for id in waiting {
                let Some(call) = self.calls.get(&id) else {
                    continue;
                };
                let Some(queue) = call.queue_index() else {
                    continue;
                };
                let config = Arc::clone(call.config());
                let Some(group) = config.queues.get(queue) else {
                    continue;
                };
                let member = members_in_offer_order(&self.state, &config, queue).find(|member| {
                    call.wants_member(*member)
                        && self
                            .state
                            .availability(*member, group.skip_off_shift, id)
                            .is_ok()
                        && !self.state.is_ringing_for(*member, id)
                });
                let Some(member) = member else {
                    continue;
                };
                let mut actions = Vec::new();
                if let Some(call) = self.calls.get_mut(&id) {
                    call.offer_to_waiting_caller(
                        &mut Ctx {
                            config: &config,
                            state: &mut self.state,
                            now,
                            out: &mut actions,
                        },
                        member,
                    );
                }
                outputs.extend(tag(id, actions));
            }
        }
    }
}

fn tag(call: CallId, actions: Vec<Action>) -> Vec<Output> {
    actions
        .into_iter()
        .map(|action| Output { call, action })
        .collect()
}
