//! Requested callbacks: ring the agent first, then the customer; when the customer (or the
//! agent) is not reached, try again after the configured interval, 1 to 5 more times.
//!
//! # Driving rules
//! Like the [`crate::Router`], a [`Callback`] reads no clock: create it with
//! [`Callback::start`] (which returns the first actions), feed it [`CallbackEvent`]s with the
//! current time, execute the returned [`CallbackAction`]s in order, and deliver
//! [`CallbackEvent::TimerFired`] for each [`CallbackAction::StartTimer`]. Stale timers are
//! ignored. [`Callback::outcome`] is set exactly once.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::config::RoutingConfig;
use crate::engine::types::LegStatus;
use crate::ids::{AgentId, TimerId};

/// What was requested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackRequest {
    pub agent: AgentId,
    /// The customer's number, E.164.
    pub customer: String,
}

/// An input to a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", content = "status", rename_all = "snake_case")]
pub enum CallbackEvent {
    AgentLeg(LegStatus),
    CustomerLeg(LegStatus),
    TimerFired(TimerId),
}

/// An instruction for the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CallbackAction {
    /// Ring the agent's devices.
    RingAgent {
        agent: AgentId,
        attempt: u32,
        ring_seconds: u32,
    },
    /// With the agent on the line, dial the customer presenting `caller_id`.
    DialCustomer {
        number: String,
        caller_id: String,
        ring_seconds: u32,
    },
    /// Connect agent and customer.
    Bridge,
    /// Stop ringing / hang up the legs of this attempt.
    HangUpLegs,
    StartTimer {
        timer: TimerId,
        at: DateTime<Utc>,
    },
    /// The attempt failed; the next starts at `at`.
    RetryScheduled {
        attempt: u32,
        at: DateTime<Utc>,
    },
    /// The terminal state.
    Ended {
        outcome: CallbackOutcome,
    },
}

impl fmt::Display for CallbackAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallbackAction::RingAgent {
                agent,
                attempt,
                ring_seconds,
            } => write!(
                f,
                "callback attempt {attempt}: ring agent {agent} for {ring_seconds} s"
            ),
            CallbackAction::DialCustomer {
                number,
                caller_id,
                ring_seconds,
            } => write!(
                f,
                "dial customer {number} showing {caller_id} for {ring_seconds} s"
            ),
            CallbackAction::Bridge => f.write_str("bridge agent with customer"),
            CallbackAction::HangUpLegs => f.write_str("hang up this attempt"),
            CallbackAction::StartTimer { timer, at } => {
                write!(
                    f,
                    "start timer {timer} for {}",
                    at.format("%H:%M:%S%.3f UTC")
                )
            }
            CallbackAction::RetryScheduled { attempt, at } => {
                write!(
                    f,
                    "retry (attempt {attempt}) at {}",
                    at.format("%H:%M:%S UTC")
                )
            }
            CallbackAction::Ended { outcome } => write!(f, "outcome: {outcome}"),
        }
    }
}

/// How a callback ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CallbackOutcome {
    /// Agent and customer talk; `attempt` is 1-based.
    Connected { attempt: u32 },
    /// Every attempt failed.
    Failed { attempts: u32 },
}

impl fmt::Display for CallbackOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallbackOutcome::Connected { attempt } => write!(f, "connected on attempt {attempt}"),
            CallbackOutcome::Failed { attempts } => {
                write!(f, "customer not reached after {attempts} attempts")
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    RingingAgent,
    DialingCustomer,
    WaitingForRetry,
    Done,
}

/// One requested callback.
#[derive(Debug, Clone)]
pub struct Callback {
    request: CallbackRequest,
    caller_id: String,
    agent_ring_seconds: u32,
    customer_ring_seconds: u32,
    max_attempts: u32,
    retry_interval_seconds: u32,
    attempt: u32,
    phase: Phase,
    timer: Option<TimerId>,
    next_timer: u64,
    outcome: Option<CallbackOutcome>,
}

impl Callback {
    /// Starts the first attempt: the agent is rung.
    pub fn start(
        config: &RoutingConfig,
        request: CallbackRequest,
        now: DateTime<Utc>,
    ) -> (Self, Vec<CallbackAction>) {
        let settings = &config.callback;
        let line = settings
            .line
            .as_deref()
            .or(config.outbound.default_line.as_deref())
            .and_then(|name| config.line_by_name(name))
            .or_else(|| config.lines.first());
        let mut callback = Self {
            caller_id: line.map(|line| line.number.clone()).unwrap_or_default(),
            request,
            agent_ring_seconds: settings.agent_ring_seconds,
            customer_ring_seconds: settings.customer_ring_seconds,
            max_attempts: 1 + settings.retries.clamp(1, 5),
            retry_interval_seconds: settings.retry_interval_seconds,
            attempt: 0,
            phase: Phase::Done,
            timer: None,
            next_timer: 0,
            outcome: None,
        };
        let mut out = Vec::new();
        callback.begin_attempt(now, &mut out);
        (callback, out)
    }

    pub fn request(&self) -> &CallbackRequest {
        &self.request
    }

    /// 1-based number of the current (or last) attempt.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    pub fn outcome(&self) -> Option<CallbackOutcome> {
        self.outcome
    }

    /// Handles one event.
    pub fn handle(&mut self, event: CallbackEvent, now: DateTime<Utc>) -> Vec<CallbackAction> {
        let mut out = Vec::new();
        match (self.phase, event) {
            (Phase::RingingAgent, CallbackEvent::AgentLeg(LegStatus::Answered)) => {
                self.phase = Phase::DialingCustomer;
                out.push(CallbackAction::DialCustomer {
                    number: self.request.customer.clone(),
                    caller_id: self.caller_id.clone(),
                    ring_seconds: self.customer_ring_seconds,
                });
                self.arm(now, self.customer_ring_seconds, &mut out);
            }
            (Phase::DialingCustomer, CallbackEvent::CustomerLeg(LegStatus::Answered)) => {
                self.timer = None;
                out.push(CallbackAction::Bridge);
                self.end(
                    CallbackOutcome::Connected {
                        attempt: self.attempt,
                    },
                    &mut out,
                );
            }
            (
                Phase::RingingAgent,
                CallbackEvent::AgentLeg(
                    LegStatus::Busy
                    | LegStatus::Rejected
                    | LegStatus::Unreachable
                    | LegStatus::HungUp,
                ),
            )
            | (
                Phase::DialingCustomer,
                CallbackEvent::CustomerLeg(
                    LegStatus::Busy
                    | LegStatus::Rejected
                    | LegStatus::Unreachable
                    | LegStatus::HungUp,
                ),
            )
            | (Phase::DialingCustomer, CallbackEvent::AgentLeg(LegStatus::HungUp)) => {
                self.attempt_failed(now, &mut out);
            }
            (_, CallbackEvent::TimerFired(timer)) if self.timer == Some(timer) => {
                self.timer = None;
                match self.phase {
                    Phase::RingingAgent | Phase::DialingCustomer => {
                        self.attempt_failed(now, &mut out)
                    }
                    Phase::WaitingForRetry => self.begin_attempt(now, &mut out),
                    Phase::Done => {}
                }
            }
            _ => {}
        }
        out
    }

    fn begin_attempt(&mut self, now: DateTime<Utc>, out: &mut Vec<CallbackAction>) {
        self.attempt += 1;
        self.phase = Phase::RingingAgent;
        out.push(CallbackAction::RingAgent {
            agent: self.request.agent,
            attempt: self.attempt,
            ring_seconds: self.agent_ring_seconds,
        });
        self.arm(now, self.agent_ring_seconds, out);
    }

    fn attempt_failed(&mut self, now: DateTime<Utc>, out: &mut Vec<CallbackAction>) {
        self.timer = None;
        out.push(CallbackAction::HangUpLegs);
        if self.attempt >= self.max_attempts {
            self.end(
                CallbackOutcome::Failed {
                    attempts: self.attempt,
                },
                out,
            );
            return;
        }
        self.phase = Phase::WaitingForRetry;
        let at = now + TimeDelta::seconds(i64::from(self.retry_interval_seconds));
        out.push(CallbackAction::RetryScheduled {
            attempt: self.attempt + 1,
            at,
        });
        self.arm(now, self.retry_interval_seconds, out);
    }

    fn arm(&mut self, now: DateTime<Utc>, seconds: u32, out: &mut Vec<CallbackAction>) {
        self.next_timer += 1;
        let timer = TimerId(self.next_timer);
        self.timer = Some(timer);
        out.push(CallbackAction::StartTimer {
            timer,
            at: now + TimeDelta::seconds(i64::from(seconds)),
        });
    }

    fn end(&mut self, outcome: CallbackOutcome, out: &mut Vec<CallbackAction>) {
        self.phase = Phase::Done;
        self.timer = None;
        if self.outcome.is_none() {
            self.outcome = Some(outcome);
            out.push(CallbackAction::Ended { outcome });
        }
    }
}
