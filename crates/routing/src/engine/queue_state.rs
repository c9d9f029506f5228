//! State shared by all calls: agent presence, the "evenly" rotation, callers waiting in
//! queues, and the id counters. It lives in one value that the caller owns (inside a
//! [`crate::Router`]), so routing stays deterministic: the same inputs give the same outputs.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::config::{QueueGroup, QueueStrategy, RoutingConfig};
use crate::engine::types::{AgentState, Unavailable};
use crate::ids::{AgentId, AgentMap, CallId, PlaybackId, TimerId};

#[derive(Debug, Clone, Default)]
struct Presence {
    /// As reported by the server.
    state: AgentState,
    /// A call the engine bridged to this agent, until it ends.
    bridged: Option<CallId>,
    /// Calls currently ringing this agent.
    ringing_for: Vec<CallId>,
}

/// A caller waiting in a queue with music.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingCaller {
    pub call: CallId,
    pub queue: String,
}

/// The "evenly" order of one queue's members under the router's current settings: the member
/// offered longest ago first, members never offered before anyone (in the configured order).
/// Kept up to date offer by offer, so routing a call into a queue of a thousand takes the
/// first free member in O(log n) instead of ordering the whole queue for every call.
#[derive(Debug, Clone, Default)]
struct Rotation {
    order: BTreeSet<RotationKey>,
    /// Each member's key in `order`.
    keys: AgentMap<(u64, usize)>,
}

/// A member's place in a [`Rotation`]: (latest offer or 0, position in the queue, agent).
pub(crate) type RotationKey = (u64, usize, AgentId);

/// Shared queue state.
#[derive(Debug, Clone, Default)]
pub struct QueueState {
    presence: AgentMap<Presence>,
    /// Per queue and member, the sequence number of the member's latest offer ("evenly").
    last_offered: HashMap<String, AgentMap<u64>>,
    /// The "evenly" queues of the settings in `rotations_for`, by name.
    rotations: HashMap<String, Rotation>,
    /// Which settings `rotations` follow: the address of the router's current
    /// [`RoutingConfig`]. The router holds that config for as long as it is current, so no
    /// other config can have its address meanwhile; calls under older settings order their
    /// queue themselves.
    rotations_for: usize,
    offer_seq: u64,
    /// Offers made to each agent in total (for reports and the fairness tests).
    offers: AgentMap<u64>,
    /// Callers waiting, in arrival order (key: a strictly increasing ticket).
    waiting: BTreeMap<u64, WaitingCaller>,
    ticket_seq: u64,
    next_timer: u64,
    next_playback: u64,
    /// Set when an agent may have become available, so waiting callers should be served.
    availability_changed: bool,
}

impl QueueState {
    pub fn new() -> Self {
        Self::default()
    }

    /// The agent's presence as reported by the server (default: free).
    pub fn agent_state(&self, agent: AgentId) -> AgentState {
        self.presence
            .get(&agent)
            .map(|presence| presence.state)
            .unwrap_or_default()
    }

    /// Records the agent's presence as reported by the server.
    pub fn set_agent_state(&mut self, agent: AgentId, state: AgentState) {
        let presence = self.presence.entry(agent).or_default();
        if presence.state != state {
            presence.state = state;
            self.availability_changed = true;
        }
    }

    /// Whether the agent can be offered a call now. Paused agents, agents on a call and
    /// agents already ringing for another call never are; off-shift agents only when
    /// `skip_off_shift` is false.
    pub fn availability(
        &self,
        agent: AgentId,
        skip_off_shift: bool,
        for_call: CallId,
    ) -> Result<(), Unavailable> {
        let Some(presence) = self.presence.get(&agent) else {
            return Ok(());
        };
        match presence.state {
            AgentState::Paused => return Err(Unavailable::Paused),
            AgentState::OnCall => return Err(Unavailable::OnCall),
            AgentState::OffShift if skip_off_shift => return Err(Unavailable::OffShift),
            _ => {}
        }
        if presence.bridged.is_some() {
            return Err(Unavailable::OnCall);
        }
        if presence.ringing_for.iter().any(|call| *call != for_call) {
            return Err(Unavailable::RingingForAnotherCall);
        }
        Ok(())
    }

    /// How many offers the agent has had.
    pub fn offers_made(&self, agent: AgentId) -> u64 {
        self.offers.get(&agent).copied().unwrap_or(0)
    }

    /// Callers waiting in a queue, first come first.
    pub fn waiting_in(&self, queue: &str) -> Vec<CallId> {
        self.waiting
            .values()
            .filter(|waiting| waiting.queue == queue)
            .map(|waiting| waiting.call)
            .collect()
    }

    /// All waiting callers, first come first.
    pub fn waiting(&self) -> impl Iterator<Item = &WaitingCaller> {
        self.waiting.values()
    }

    /// Rebuilds the "evenly" rotations for the router's new current settings; each member
    /// keeps its place by its latest offer.
    pub(crate) fn follow_settings(&mut self, config: &RoutingConfig) {
        self.rotations_for = config as *const RoutingConfig as usize;
        self.rotations.clear();
        for group in &config.queues {
            if group.strategy != QueueStrategy::Evenly {
                continue;
            }
            let mut rotation = Rotation::default();
            for (seq, position, member) in self.evenly_keys(group) {
                if rotation.keys.insert(member, (seq, position)).is_none() {
                    rotation.order.insert((seq, position, member));
                }
            }
            self.rotations.insert(group.name.clone(), rotation);
        }
    }

    /// Each member's "evenly" key in `group`: (latest offer in this queue or 0, position,
    /// agent). The last offers are read from one map for the queue, once per member.
    pub(crate) fn evenly_keys<'s>(
        &'s self,
        group: &'s QueueGroup,
    ) -> impl Iterator<Item = RotationKey> + 's {
        let offered = self.last_offered.get(&group.name);
        group
            .members
            .iter()
            .enumerate()
            .map(move |(position, member)| {
                let seq = offered.and_then(|o| o.get(member)).copied().unwrap_or(0);
                (seq, position, *member)
            })
    }

    /// The members of an "evenly" queue in offer order, as (key, agent), from just after the
    /// key `after` (from the start for `None`); `None` unless `config` is the settings the
    /// rotations follow (the caller then orders the queue itself). A member's key only grows
    /// (a new offer puts it last), so a walk resumed after the key it stopped at misses no
    /// one: whoever was passed is either behind it still or moved to the end.
    pub(crate) fn rotation<'s>(
        &'s self,
        config: &RoutingConfig,
        queue: &str,
        after: Option<RotationKey>,
    ) -> Option<impl Iterator<Item = RotationKey> + 's> {
        use std::ops::Bound;
        if config as *const RoutingConfig as usize != self.rotations_for {
            return None;
        }
        let rotation = self.rotations.get(queue)?;
        let from = match after {
            Some(key) => Bound::Excluded(key),
            None => Bound::Unbounded,
        };
        Some(rotation.order.range((from, Bound::Unbounded)).copied())
    }

    pub(crate) fn record_offer(&mut self, queue: Option<&str>, agent: AgentId) {
        self.offer_seq += 1;
        if let Some(queue) = queue {
            self.last_offered
                .entry(queue.to_owned())
                .or_default()
                .insert(agent, self.offer_seq);
            if let Some(rotation) = self.rotations.get_mut(queue) {
                if let Some(key) = rotation.keys.get_mut(&agent) {
                    rotation.order.remove(&(key.0, key.1, agent));
                    key.0 = self.offer_seq;
                    rotation.order.insert((key.0, key.1, agent));
                }
            }
        }
        *self.offers.entry(agent).or_default() += 1;
    }

    pub(crate) fn start_ringing(&mut self, agent: AgentId, call: CallId) {
        let presence = self.presence.entry(agent).or_default();
        if !presence.ringing_for.contains(&call) {
            presence.ringing_for.push(call);
        }
    }

    pub(crate) fn stop_ringing(&mut self, agent: AgentId, call: CallId) {
        if let Some(presence) = self.presence.get_mut(&agent) {
            presence.ringing_for.retain(|ringing| *ringing != call);
            self.availability_changed = true;
        }
    }

    pub(crate) fn is_ringing_for(&self, agent: AgentId, call: CallId) -> bool {
        self.presence
            .get(&agent)
            .is_some_and(|presence| presence.ringing_for.contains(&call))
    }

    pub(crate) fn bridge(&mut self, agent: AgentId, call: CallId) {
        let presence = self.presence.entry(agent).or_default();
        presence.ringing_for.retain(|ringing| *ringing != call);
        presence.bridged = Some(call);
    }

    pub(crate) fn release(&mut self, agent: AgentId, call: CallId) {
        if let Some(presence) = self.presence.get_mut(&agent) {
            if presence.bridged == Some(call) {
                presence.bridged = None;
                self.availability_changed = true;
            }
        }
    }

    /// Puts a caller at the end of the queue's waiting line; returns its position (1-based).
    pub(crate) fn enqueue(&mut self, call: CallId, queue: &str) -> usize {
        self.ticket_seq += 1;
        self.waiting.insert(
            self.ticket_seq,
            WaitingCaller {
                call,
                queue: queue.to_owned(),
            },
        );
        self.availability_changed = true;
        self.waiting_in(queue).len()
    }

    pub(crate) fn dequeue(&mut self, call: CallId) {
        self.waiting.retain(|_, waiting| waiting.call != call);
    }

    pub(crate) fn mark_availability_changed(&mut self) {
        self.availability_changed = true;
    }

    pub(crate) fn take_availability_changed(&mut self) -> bool {
        std::mem::take(&mut self.availability_changed)
    }

    pub(crate) fn next_timer(&mut self) -> TimerId {
        self.next_timer += 1;
        TimerId(self.next_timer)
    }

    pub(crate) fn next_playback(&mut self) -> PlaybackId {
        self.next_playback += 1;
        PlaybackId(self.next_playback)
    }
}
