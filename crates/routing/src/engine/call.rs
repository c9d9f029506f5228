//! One inbound call's state machine.
//!
//! The order of the rules for a call on a line:
//! 1. working hours (with the manual day/night override): closed → out-of-hours action;
//! 2. recording notice;
//! 3. an extension from the dialed string or the To header (extension before IVR);
//! 4. greeting, while which the caller may key an extension;
//! 5. the responsible manager of a known caller;
//! 6. the IVR menu;
//! 7. the line's queue group;
//! 8. the backup number, else hang up.
//!
//! Each step either waits for an event (a prompt, a ring, a digit) or passes on to the next.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use crate::config::{
    DeviceKind, EmployeeNoAnswer, ForwardCallerId, IvrAction, Line, OutOfHours, QueueNoAnswer,
    QueueStrategy, RoutingConfig, MAX_QUEUE_HOPS, SECONDS_PER_RING, SIP_PHONES_PER_OFFER,
};
use crate::engine::queue_state::{QueueState, RotationKey};
use crate::engine::types::{
    Action, CallArrival, Caller, CrmCard, Event, ExtensionSource, FallbackReason, LegStatus,
    LogEntry, Mailbox, MissReason, Outcome, PromptKind, RejectReason, RingTarget, Unavailable,
};
use crate::ids::{AgentId, AgentSet, CallId, PlaybackId, TimerId};
use crate::schedule::{local_time, openness, Openness};

/// Everything a call's handlers need besides the call itself.
pub(crate) struct Ctx<'a> {
    pub(crate) config: &'a RoutingConfig,
    pub(crate) state: &'a mut QueueState,
    pub(crate) now: DateTime<Utc>,
    pub(crate) out: &'a mut Vec<Action>,
}

impl Ctx<'_> {
    fn emit(&mut self, action: Action) {
        self.out.push(action);
    }

    fn log(&mut self, entry: LogEntry) {
        self.out.push(Action::Log { entry });
    }

    fn after(&self, seconds: u32) -> DateTime<Utc> {
        self.now + TimeDelta::seconds(i64::from(seconds))
    }
}

/// The routing steps in order; "continue routing" resumes at one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    RecordingNotice,
    PreRoutedExtension,
    Greeting,
    ResponsibleManager,
    Ivr,
    LineQueue,
    Fallback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimerPurpose {
    /// The caller stopped keying an extension.
    ExtensionDigits,
    /// No IVR digit in time.
    MenuTimeout,
    /// The current offer has rung long enough.
    Ring,
    /// A waiting caller has waited long enough.
    WaitDeadline,
    /// Members who missed a waiting caller may be offered it again.
    WaitRetry,
}

#[derive(Debug, Clone)]
struct EmployeeRing {
    agent: AgentId,
    no_answer: EmployeeNoAnswer,
    resume_at: Step,
    /// The leg is still open (not failed, not timed out).
    pending: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MenuPhase {
    /// The menu prompt plays; a digit interrupts it.
    Prompt,
    /// The prompt has finished; the timeout runs.
    AwaitingDigit,
    /// The invalid-choice prompt plays; the menu repeats after it.
    InvalidPrompt,
}

#[derive(Debug, Clone)]
struct MenuState {
    menu: usize,
    failures: u32,
    phase: MenuPhase,
}

#[derive(Debug, Clone)]
struct QueueRun {
    queue: usize,
    /// Members not yet offered in this pass, in offer order.
    remaining: OfferOrder,
    /// Agents of the current offer whose legs are still open.
    ringing: Vec<AgentId>,
    /// Whether any offered phone rang at all (vs. everyone skipped or unreachable).
    reached_any: bool,
    waiting: Option<Waiting>,
}

#[derive(Debug, Clone)]
struct Waiting {
    /// Members who missed this caller since the last retry.
    excluded: Vec<AgentId>,
    then: QueueNoAnswer,
}

#[derive(Debug, Clone)]
enum Stage {
    Starting,
    ClosedPrompt,
    RecordingNotice,
    /// The greeting plays; `collecting` when extension dialing is on.
    Greeting {
        collecting: bool,
    },
    /// The caller is keying an extension.
    ExtensionDigits,
    Employee(EmployeeRing),
    Menu(MenuState),
    Queue(QueueRun),
    /// Answered; the agent is on the call until a hang-up.
    Bridged {
        agent: AgentId,
    },
    Ended,
}

/// One inbound call. Created and driven by [`crate::Router`]; read it with
/// [`crate::Router::call`].
#[derive(Debug, Clone)]
pub struct Call {
    id: CallId,
    arrival: CallArrival,
    /// The settings the call started with; it finishes under them even if the router's
    /// settings are replaced meanwhile (indexes below point into these).
    config: Arc<RoutingConfig>,
    line: Option<usize>,
    /// Extension written in the dialed string (after `;` or `#`).
    dialed_extension: Option<String>,
    stage: Stage,
    outcome: Option<Outcome>,
    timers: Vec<(TimerId, TimerPurpose)>,
    playing: Option<PlaybackId>,
    digits: String,
    menu_stack: Vec<usize>,
    queue_hops: u8,
    /// Queues this call has been offered in, to stop overflow loops.
    visited_queues: Vec<usize>,
    /// Agents who missed this call (no answer, busy, rejected, unreachable): a later queue
    /// pass does not ring them again at once (a manager who did not answer is not rung twice
    /// in a row); a waiting caller retries them after one ring period.
    declined: Vec<AgentId>,
    arrived_at: DateTime<Utc>,
}

impl Call {
    pub(crate) fn new(
        id: CallId,
        arrival: CallArrival,
        config: Arc<RoutingConfig>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            arrival,
            config,
            line: None,
            dialed_extension: None,
            stage: Stage::Starting,
            outcome: None,
            timers: Vec::new(),
            playing: None,
            digits: String::new(),
            menu_stack: Vec::new(),
            queue_hops: 0,
            visited_queues: Vec::new(),
            declined: Vec::new(),
            arrived_at: now,
        }
    }

    pub fn id(&self) -> CallId {
        self.id
    }

    pub fn arrival(&self) -> &CallArrival {
        &self.arrival
    }

    pub fn arrived_at(&self) -> DateTime<Utc> {
        self.arrived_at
    }

    /// The terminal state, once reached. It never changes afterwards.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// The settings the call is routed by.
    pub fn config(&self) -> &Arc<RoutingConfig> {
        &self.config
    }

    /// The name of the line the call came in on.
    pub fn line_name(&self) -> Option<&str> {
        self.line
            .and_then(|index| self.config.lines.get(index))
            .map(|line| line.name.as_str())
    }

    /// Whether the call is over for the engine (terminal and, if answered, hung up).
    pub fn is_finished(&self) -> bool {
        matches!(self.stage, Stage::Ended)
    }

    /// Agents whose phones ring for this call right now.
    pub fn ringing_agents(&self) -> &[AgentId] {
        match &self.stage {
            Stage::Employee(ring) if ring.pending => std::slice::from_ref(&ring.agent),
            Stage::Queue(run) => &run.ringing,
            _ => &[],
        }
    }

    /// The queue the caller waits in, if waiting with music.
    pub fn waiting_queue(&self) -> Option<&str> {
        match &self.stage {
            Stage::Queue(run) if run.waiting.is_some() => self
                .config
                .queues
                .get(run.queue)
                .map(|queue| queue.name.as_str()),
            _ => None,
        }
    }

    /// Whether a waiting caller can be offered to `agent` now.
    pub(crate) fn wants_member(&self, agent: AgentId) -> bool {
        match &self.stage {
            Stage::Queue(QueueRun {
                waiting: Some(waiting),
                ringing,
                ..
            }) => ringing.is_empty() && !waiting.excluded.contains(&agent),
            _ => false,
        }
    }

    pub(crate) fn queue_index(&self) -> Option<usize> {
        match &self.stage {
            Stage::Queue(run) => Some(run.queue),
            _ => None,
        }
    }

    /// Starts routing: the "call arrived" event.
    pub(crate) fn start(&mut self, ctx: &mut Ctx<'_>) {
        let (line, extension) = match find_line(ctx.config, &self.arrival) {
            Some(found) => found,
            None => {
                ctx.log(LogEntry::UnknownLine {
                    dialed: self.arrival.dialed.clone(),
                });
                match ctx.config.backup_number.clone() {
                    Some(number) => {
                        ctx.log(LogEntry::Fallback {
                            number: number.clone(),
                            reason: FallbackReason::NoRoute,
                        });
                        self.forward(ctx, number);
                    }
                    None => self.reject(ctx, RejectReason::NoRoute),
                }
                return;
            }
        };
        self.line = Some(line);
        self.dialed_extension = extension;
        let line_config = &ctx.config.lines[line];
        let local = local_time(line_config, ctx.now);
        ctx.log(LogEntry::Line {
            line: line_config.name.clone(),
            number: line_config.number.clone(),
            caller: self.arrival.caller.clone(),
            local_time: format!(
                "{} {}",
                local.format("%a %Y-%m-%d %H:%M"),
                line_config.time_zone
            ),
        });
        match openness(line_config, ctx.now) {
            Openness::Open => self.advance(ctx, Step::RecordingNotice),
            Openness::Closed { reason } => {
                ctx.log(LogEntry::Closed { reason });
                match line_config.out_of_hours.prompt() {
                    Some(prompt) => {
                        let prompt = prompt.to_owned();
                        self.play(ctx, PromptKind::OutOfHours, prompt);
                        self.stage = Stage::ClosedPrompt;
                    }
                    None => self.out_of_hours_action(ctx),
                }
            }
        }
    }

    /// Handles one event; returns nothing, the actions go to `ctx.out`.
    pub(crate) fn handle(&mut self, ctx: &mut Ctx<'_>, event: Event) {
        // A call that matched no line ended in `start`; every step below relies on the line.
        if self.line.is_none() {
            return;
        }
        match event {
            Event::Digit { digit } => self.on_digit(ctx, digit),
            Event::PromptFinished { playback } => {
                if self.playing == Some(playback) {
                    self.playing = None;
                    self.on_prompt_finished(ctx);
                }
            }
            Event::AgentLeg { agent, status } => self.on_agent_leg(ctx, agent, status),
            Event::TimerFired { timer } => {
                if let Some(index) = self.timers.iter().position(|(id, _)| *id == timer) {
                    let (_, purpose) = self.timers.remove(index);
                    self.on_timer(ctx, purpose);
                }
            }
            Event::CallerHungUp => self.on_caller_hung_up(ctx),
            Event::PickupRequested { by } => self.on_pickup(ctx, by),
        }
    }

    // ----- the pipeline -----

    fn line<'c>(&self, config: &'c RoutingConfig) -> &'c Line {
        // `line` is an index into this call's own settings, set in `start` before any step
        // runs; calls without a line end in `start` and `handle` ignores them.
        &config.lines[self.line.unwrap_or_default()]
    }

    fn advance(&mut self, ctx: &mut Ctx<'_>, from: Step) {
        let config = ctx.config;
        let line = self.line(config);
        let mut step = from;
        loop {
            match step {
                Step::RecordingNotice => {
                    if let Some(prompt) = &line.recording_notice {
                        self.play(ctx, PromptKind::RecordingNotice, prompt.clone());
                        self.stage = Stage::RecordingNotice;
                        return;
                    }
                    step = Step::PreRoutedExtension;
                }
                Step::PreRoutedExtension => {
                    if let Some((extension, source)) = self.pre_routed_extension(config) {
                        ctx.log(LogEntry::Extension {
                            extension: extension.clone(),
                            source,
                        });
                        if self.route_extension(ctx, &extension) {
                            return;
                        }
                    }
                    step = Step::Greeting;
                }
                Step::Greeting => {
                    if let Some(greeting) = &line.greeting {
                        self.play(ctx, PromptKind::Greeting, greeting.clone());
                        let collecting = line.extension_dialing.enabled;
                        if collecting {
                            ctx.emit(Action::CollectDigits {
                                max_digits: max_extension_len(config),
                            });
                        }
                        self.stage = Stage::Greeting { collecting };
                        return;
                    }
                    step = Step::ResponsibleManager;
                }
                Step::ResponsibleManager => {
                    let responsible = match &self.arrival.card {
                        CrmCard::Known {
                            responsible: Some(agent),
                            ..
                        } if line.responsible_manager.enabled => Some(*agent),
                        _ => None,
                    };
                    if let Some(agent) = responsible.filter(|agent| config.agent(*agent).is_some())
                    {
                        ctx.log(LogEntry::ResponsibleManager { agent });
                        let settings = &line.responsible_manager;
                        self.ring_employee(
                            ctx,
                            agent,
                            settings.rings,
                            settings.no_answer,
                            Step::Ivr,
                        );
                        return;
                    }
                    step = Step::Ivr;
                }
                Step::Ivr => {
                    if let Some(menu) = line
                        .ivr
                        .as_deref()
                        .and_then(|name| menu_index(config, name))
                    {
                        self.menu_stack.clear();
                        self.enter_menu(ctx, menu);
                        return;
                    }
                    step = Step::LineQueue;
                }
                Step::LineQueue => {
                    if let Some(queue) = line
                        .queue
                        .as_deref()
                        .and_then(|name| queue_index(config, name))
                    {
                        self.start_queue(ctx, queue);
                        return;
                    }
                    step = Step::Fallback;
                }
                Step::Fallback => {
                    self.fallback(ctx, FallbackReason::NoRoute);
                    return;
                }
            }
        }
    }

    fn pre_routed_extension(&self, config: &RoutingConfig) -> Option<(String, ExtensionSource)> {
        let settings = &self.line(config).extension_dialing;
        if !settings.enabled {
            return None;
        }
        if settings.from_dialed_string {
            if let Some(extension) = &self.dialed_extension {
                return Some((extension.clone(), ExtensionSource::DialedString));
            }
        }
        if settings.from_to_header {
            let to = self.arrival.to.as_deref().map(normalise_number)?;
            // A short all-digit To user part is an extension; a full number is not.
            if !to.is_empty() && to.len() <= 8 && to.bytes().all(|b| b.is_ascii_digit()) {
                return Some((to, ExtensionSource::ToHeader));
            }
        }
        None
    }

    /// Rings whatever owns the extension; false when it belongs to nobody (routing goes on).
    fn route_extension(&mut self, ctx: &mut Ctx<'_>, extension: &str) -> bool {
        let config = ctx.config;
        if let Some(agent) = config
            .agents
            .iter()
            .find(|agent| agent.extension.as_deref() == Some(extension))
        {
            let settings = &self.line(config).extension_dialing;
            self.ring_employee(
                ctx,
                agent.id,
                settings.rings,
                settings.no_answer,
                Step::ResponsibleManager,
            );
            return true;
        }
        if let Some(queue) = config
            .queues
            .iter()
            .position(|queue| queue.extension.as_deref() == Some(extension))
        {
            self.start_queue(ctx, queue);
            return true;
        }
        ctx.log(LogEntry::UnknownExtension {
            extension: extension.to_owned(),
        });
        false
    }

    fn out_of_hours_action(&mut self, ctx: &mut Ctx<'_>) {
        let line = self.line(ctx.config);
        match &line.out_of_hours {
            OutOfHours::Voicemail { .. } => {
                let mailbox = Mailbox::Line(line.name.clone());
                self.voicemail(ctx, mailbox);
            }
            OutOfHours::Forward { number, .. } => {
                let number = number.clone();
                self.forward(ctx, number);
            }
            OutOfHours::HangUp { .. } => self.reject(ctx, RejectReason::OutOfHours),
        }
    }

    // ----- prompts and digits -----

    fn play(&mut self, ctx: &mut Ctx<'_>, kind: PromptKind, prompt: String) {
        let playback = ctx.state.next_playback();
        let looped = kind == PromptKind::Music;
        self.playing = (!looped).then_some(playback);
        ctx.emit(Action::Play {
            playback,
            kind,
            prompt,
            looped,
        });
    }

    fn stop_prompt(&mut self, ctx: &mut Ctx<'_>) {
        if self.playing.take().is_some() {
            ctx.emit(Action::StopPrompt);
        }
    }

    fn on_prompt_finished(&mut self, ctx: &mut Ctx<'_>) {
        match &self.stage {
            Stage::ClosedPrompt => self.out_of_hours_action(ctx),
            Stage::RecordingNotice => self.advance(ctx, Step::PreRoutedExtension),
            Stage::Greeting { .. } => {
                if self.digits.is_empty() {
                    self.advance(ctx, Step::ResponsibleManager);
                } else {
                    self.stage = Stage::ExtensionDigits;
                    self.arm_digit_timeout(ctx);
                }
            }
            Stage::Menu(menu) => match menu.phase {
                MenuPhase::Prompt => {
                    let timeout = ctx.config.ivr_menus[menu.menu].timeout_seconds;
                    self.arm(ctx, TimerPurpose::MenuTimeout, timeout);
                    if let Stage::Menu(menu) = &mut self.stage {
                        menu.phase = MenuPhase::AwaitingDigit;
                    }
                }
                MenuPhase::InvalidPrompt => {
                    let index = menu.menu;
                    self.play_menu(ctx, index);
                }
                MenuPhase::AwaitingDigit => {}
            },
            _ => {}
        }
    }

    fn on_digit(&mut self, ctx: &mut Ctx<'_>, digit: char) {
        if !(digit.is_ascii_digit() || digit == '*' || digit == '#') {
            return;
        }
        match &self.stage {
            Stage::Greeting { collecting: true } | Stage::ExtensionDigits => {
                self.on_extension_digit(ctx, digit)
            }
            Stage::Menu(menu) if menu.phase != MenuPhase::InvalidPrompt => {
                let index = menu.menu;
                self.on_menu_digit(ctx, index, digit);
            }
            _ => {}
        }
    }

    fn on_extension_digit(&mut self, ctx: &mut Ctx<'_>, digit: char) {
        // The first key interrupts the greeting.
        self.stop_prompt(ctx);
        self.stage = Stage::ExtensionDigits;
        if digit != '#' && digit != '*' {
            self.digits.push(digit);
        }
        let config = ctx.config;
        let complete = digit == '#' || extension_complete(config, &self.digits);
        if complete {
            self.finish_extension(ctx);
        } else {
            self.arm_digit_timeout(ctx);
        }
    }

    fn arm_digit_timeout(&mut self, ctx: &mut Ctx<'_>) {
        self.disarm(TimerPurpose::ExtensionDigits);
        let seconds = self
            .line(ctx.config)
            .extension_dialing
            .digit_timeout_seconds;
        self.arm(ctx, TimerPurpose::ExtensionDigits, seconds);
    }

    fn finish_extension(&mut self, ctx: &mut Ctx<'_>) {
        self.disarm(TimerPurpose::ExtensionDigits);
        let extension = std::mem::take(&mut self.digits);
        if extension.is_empty() {
            self.advance(ctx, Step::ResponsibleManager);
            return;
        }
        ctx.log(LogEntry::Extension {
            extension: extension.clone(),
            source: ExtensionSource::Keypad,
        });
        if !self.route_extension(ctx, &extension) {
            self.advance(ctx, Step::ResponsibleManager);
        }
    }

    // ----- IVR -----

    fn enter_menu(&mut self, ctx: &mut Ctx<'_>, menu: usize) {
        self.menu_stack.push(menu);
        self.stage = Stage::Menu(MenuState {
            menu,
            failures: 0,
            phase: MenuPhase::Prompt,
        });
        self.play_menu(ctx, menu);
    }

    fn play_menu(&mut self, ctx: &mut Ctx<'_>, menu: usize) {
        self.disarm(TimerPurpose::MenuTimeout);
        let prompt = ctx.config.ivr_menus[menu].prompt.clone();
        self.play(ctx, PromptKind::IvrMenu, prompt);
        ctx.emit(Action::CollectDigits { max_digits: 1 });
        if let Stage::Menu(state) = &mut self.stage {
            state.menu = menu;
            state.phase = MenuPhase::Prompt;
        }
    }

    fn on_menu_digit(&mut self, ctx: &mut Ctx<'_>, menu: usize, digit: char) {
        self.stop_prompt(ctx);
        self.disarm(TimerPurpose::MenuTimeout);
        let config = ctx.config;
        let menu_config = &config.ivr_menus[menu];
        match menu_config
            .options
            .get(digit.encode_utf8(&mut [0; 4]) as &str)
        {
            Some(action) => {
                ctx.log(LogEntry::MenuChoice {
                    menu: menu_config.name.clone(),
                    digit,
                });
                self.menu_action(ctx, action);
            }
            None => {
                ctx.log(LogEntry::MenuInvalid {
                    menu: menu_config.name.clone(),
                    digit,
                });
                self.menu_failure(ctx, menu, true);
            }
        }
    }

    fn menu_failure(&mut self, ctx: &mut Ctx<'_>, menu: usize, invalid: bool) {
        let config = ctx.config;
        let menu_config = &config.ivr_menus[menu];
        let failures = match &mut self.stage {
            Stage::Menu(state) => {
                state.failures += 1;
                state.failures
            }
            _ => return,
        };
        if failures > menu_config.max_repeats {
            match &menu_config.on_max_repeats {
                Some(action) => self.menu_action(ctx, action),
                None => self.advance(ctx, Step::LineQueue),
            }
            return;
        }
        match (&menu_config.invalid_prompt, invalid) {
            (Some(prompt), true) => {
                self.play(ctx, PromptKind::InvalidChoice, prompt.clone());
                if let Stage::Menu(state) = &mut self.stage {
                    state.phase = MenuPhase::InvalidPrompt;
                }
            }
            _ => self.play_menu(ctx, menu),
        }
    }

    fn menu_action(&mut self, ctx: &mut Ctx<'_>, action: &IvrAction) {
        let config = ctx.config;
        match action {
            IvrAction::Queue { queue } => match queue_index(config, queue) {
                Some(queue) => self.start_queue(ctx, queue),
                None => self.fallback(ctx, FallbackReason::NoRoute),
            },
            IvrAction::User { agent } => {
                let settings = &self.line(config).extension_dialing;
                self.ring_employee(
                    ctx,
                    *agent,
                    settings.rings,
                    settings.no_answer,
                    Step::LineQueue,
                );
            }
            IvrAction::Submenu { menu } => match menu_index(config, menu) {
                Some(menu) => self.enter_menu(ctx, menu),
                None => self.fallback(ctx, FallbackReason::NoRoute),
            },
            IvrAction::External { number } => self.forward(ctx, number.clone()),
            IvrAction::Voicemail => {
                let mailbox = Mailbox::Line(self.line(config).name.clone());
                self.voicemail(ctx, mailbox);
            }
            IvrAction::Repeat => {
                if let Some(&menu) = self.menu_stack.last() {
                    self.play_menu(ctx, menu);
                }
            }
            IvrAction::Back => {
                if self.menu_stack.len() > 1 {
                    self.menu_stack.pop();
                }
                if let Some(&menu) = self.menu_stack.last() {
                    self.stage = Stage::Menu(MenuState {
                        menu,
                        failures: 0,
                        phase: MenuPhase::Prompt,
                    });
                    self.play_menu(ctx, menu);
                }
            }
            IvrAction::HangUp => self.reject(ctx, RejectReason::MenuHangUp),
        }
    }

    // ----- ringing one employee -----

    fn ring_employee(
        &mut self,
        ctx: &mut Ctx<'_>,
        agent: AgentId,
        rings: u32,
        no_answer: EmployeeNoAnswer,
        resume_at: Step,
    ) {
        self.stop_prompt(ctx);
        if let Err(why) = ctx.state.availability(agent, true, self.id) {
            ctx.log(LogEntry::EmployeeUnavailable { agent, why });
            self.employee_no_answer(ctx, agent, no_answer, resume_at);
            return;
        }
        self.stage = Stage::Employee(EmployeeRing {
            agent,
            no_answer,
            resume_at,
            pending: true,
        });
        self.ring(ctx, vec![agent], rings * SECONDS_PER_RING);
    }

    fn employee_no_answer(
        &mut self,
        ctx: &mut Ctx<'_>,
        agent: AgentId,
        no_answer: EmployeeNoAnswer,
        resume_at: Step,
    ) {
        match no_answer {
            EmployeeNoAnswer::Continue => self.advance(ctx, resume_at),
            EmployeeNoAnswer::ForwardToPhones => {
                match ctx
                    .config
                    .agent(agent)
                    .and_then(|agent| agent.mobile.clone())
                {
                    Some(mobile) => self.forward(ctx, mobile),
                    None => self.advance(ctx, resume_at),
                }
            }
            EmployeeNoAnswer::Voicemail => self.voicemail(ctx, Mailbox::Agent(agent)),
        }
    }

    // ----- queue groups -----

    fn start_queue(&mut self, ctx: &mut Ctx<'_>, queue: usize) {
        self.stop_prompt(ctx);
        let config = ctx.config;
        let group = &config.queues[queue];
        ctx.log(LogEntry::Queue {
            queue: group.name.clone(),
            strategy: group.strategy,
        });
        if !self.visited_queues.contains(&queue) {
            self.visited_queues.push(queue);
        }
        let remaining = offer_order(ctx.state, config, queue);
        self.stage = Stage::Queue(QueueRun {
            queue,
            remaining,
            ringing: Vec::new(),
            reached_any: false,
            waiting: None,
        });
        self.offer_next(ctx);
    }

    /// Offers the call to the next member(s); when the pass is over, takes the no-answer action.
    fn offer_next(&mut self, ctx: &mut Ctx<'_>) {
        let config = ctx.config;
        let Stage::Queue(run) = &mut self.stage else {
            return;
        };
        let group = &config.queues[run.queue];
        let mut offer = Vec::new();
        match group.strategy {
            QueueStrategy::Evenly | QueueStrategy::InOrder => {
                while let Some(agent) = run.remaining.take_next(ctx.state, config) {
                    match availability(
                        ctx.state,
                        &self.declined,
                        agent,
                        group.skip_off_shift,
                        self.id,
                    ) {
                        Ok(()) => {
                            offer.push(agent);
                            break;
                        }
                        Err(why) => ctx.log(LogEntry::Skipped { agent, why }),
                    }
                }
            }
            QueueStrategy::AllAtOnce => {
                let mut sip_phones = 0;
                let mut deferred = VecDeque::new();
                while let Some(agent) = run.remaining.take_next(ctx.state, config) {
                    if let Err(why) = availability(
                        ctx.state,
                        &self.declined,
                        agent,
                        group.skip_off_shift,
                        self.id,
                    ) {
                        ctx.log(LogEntry::Skipped { agent, why });
                        continue;
                    }
                    if device_of(config, agent) == DeviceKind::SipPhone {
                        if sip_phones == SIP_PHONES_PER_OFFER {
                            deferred.push_back(agent);
                            continue;
                        }
                        sip_phones += 1;
                    }
                    offer.push(agent);
                }
                run.remaining = OfferOrder::Listed(deferred);
            }
        }
        if offer.is_empty() {
            self.queue_exhausted(ctx);
            return;
        }
        let queue_name = group.name.clone();
        let seconds = group.ring_seconds();
        for agent in &offer {
            ctx.state.record_offer(Some(&queue_name), *agent);
        }
        self.ring(ctx, offer, seconds);
    }

    /// Emits the ring, remembers the open legs and starts the ring timer.
    fn ring(&mut self, ctx: &mut Ctx<'_>, agents: Vec<AgentId>, seconds: u32) {
        let config = ctx.config;
        for agent in &agents {
            ctx.state.start_ringing(*agent, self.id);
        }
        if let Stage::Queue(run) = &mut self.stage {
            run.ringing = agents.clone();
        }
        ctx.emit(Action::Ring {
            agents: agents
                .iter()
                .map(|agent| RingTarget {
                    agent: *agent,
                    device: device_of(config, *agent),
                })
                .collect(),
            ring_seconds: seconds,
        });
        self.disarm(TimerPurpose::Ring);
        self.arm(ctx, TimerPurpose::Ring, seconds);
    }

    fn queue_exhausted(&mut self, ctx: &mut Ctx<'_>) {
        let config = ctx.config;
        let Stage::Queue(run) = &self.stage else {
            return;
        };
        let group = &config.queues[run.queue];
        ctx.log(LogEntry::QueueExhausted {
            queue: group.name.clone(),
        });
        let waits = matches!(group.no_answer, QueueNoAnswer::WaitInQueue { .. });
        if !run.reached_any && !waits && self.line(config).backup_number.is_some() {
            self.fallback(ctx, FallbackReason::NobodyReachable);
            return;
        }
        self.queue_no_answer(ctx, &group.no_answer.clone());
    }

    fn queue_no_answer(&mut self, ctx: &mut Ctx<'_>, action: &QueueNoAnswer) {
        let config = ctx.config;
        let Some(queue) = self.queue_index() else {
            return;
        };
        let group = &config.queues[queue];
        match action {
            QueueNoAnswer::Voicemail => self.voicemail(ctx, Mailbox::Queue(group.name.clone())),
            QueueNoAnswer::ForwardToMemberMobile => {
                let mobile = group
                    .members
                    .iter()
                    .filter_map(|member| config.agent(*member))
                    .find_map(|agent| agent.mobile.clone());
                match mobile {
                    Some(mobile) => self.forward(ctx, mobile),
                    None => self.fallback(ctx, FallbackReason::NoMobile),
                }
            }
            QueueNoAnswer::Forward { number } => self.forward(ctx, number.clone()),
            QueueNoAnswer::WaitInQueue {
                music,
                max_wait_seconds,
                then,
            } => {
                let position = ctx.state.enqueue(self.id, &group.name);
                if let Stage::Queue(run) = &mut self.stage {
                    run.waiting = Some(Waiting {
                        excluded: self.declined.clone(),
                        then: then.as_deref().cloned().unwrap_or_default(),
                    });
                }
                self.play(ctx, PromptKind::Music, music.clone());
                ctx.log(LogEntry::Waiting {
                    queue: group.name.clone(),
                    position,
                });
                if let Some(seconds) = max_wait_seconds {
                    self.arm(ctx, TimerPurpose::WaitDeadline, *seconds);
                }
                if !self.declined.is_empty() {
                    self.arm(ctx, TimerPurpose::WaitRetry, group.ring_seconds());
                }
            }
            QueueNoAnswer::Queue { queue: next } => {
                self.queue_hops += 1;
                match queue_index(config, next) {
                    Some(next)
                        if self.queue_hops <= MAX_QUEUE_HOPS
                            && !self.visited_queues.contains(&next) =>
                    {
                        self.start_queue(ctx, next)
                    }
                    _ => self.fallback(ctx, FallbackReason::QueueLoop),
                }
            }
            QueueNoAnswer::HangUp => self.reject(ctx, RejectReason::NoAnswer),
        }
    }

    /// A member became free for this waiting caller (chosen by the router, first come first).
    pub(crate) fn offer_to_waiting_caller(&mut self, ctx: &mut Ctx<'_>, agent: AgentId) {
        let Some(queue) = self.queue_index() else {
            return;
        };
        let group = &ctx.config.queues[queue];
        let (name, seconds) = (group.name.clone(), group.ring_seconds());
        ctx.state.record_offer(Some(&name), agent);
        self.ring(ctx, vec![agent], seconds);
    }

    // ----- legs, timers, hang-ups, pickup -----

    fn on_agent_leg(&mut self, ctx: &mut Ctx<'_>, agent: AgentId, status: LegStatus) {
        if let Stage::Bridged { agent: bridged } = self.stage {
            if bridged == agent && status == LegStatus::HungUp {
                ctx.state.release(agent, self.id);
                self.stage = Stage::Ended;
            }
            return;
        }
        let miss = match status {
            LegStatus::Ringing => {
                if let Stage::Queue(run) = &mut self.stage {
                    if run.ringing.contains(&agent) {
                        run.reached_any = true;
                    }
                }
                return;
            }
            LegStatus::Answered => {
                if self.ringing_agents().contains(&agent) {
                    self.answered(ctx, agent);
                }
                return;
            }
            LegStatus::Busy => MissReason::Busy,
            LegStatus::Rejected | LegStatus::HungUp => MissReason::Rejected,
            LegStatus::Unreachable => MissReason::Unreachable,
        };
        if self.ringing_agents().contains(&agent) {
            self.note_declined(agent);
        }
        match &mut self.stage {
            Stage::Employee(ring) if ring.pending && ring.agent == agent => {
                ring.pending = false;
                let ring = ring.clone();
                ctx.state.stop_ringing(agent, self.id);
                self.disarm(TimerPurpose::Ring);
                ctx.log(LogEntry::Missed { agent, why: miss });
                self.employee_no_answer(ctx, agent, ring.no_answer, ring.resume_at);
            }
            Stage::Queue(run) if run.ringing.contains(&agent) => {
                run.ringing.retain(|ringing| *ringing != agent);
                if miss != MissReason::Unreachable {
                    run.reached_any = true;
                }
                let offer_over = run.ringing.is_empty();
                ctx.state.stop_ringing(agent, self.id);
                ctx.log(LogEntry::Missed { agent, why: miss });
                if let Some(waiting) = &mut run.waiting {
                    waiting.excluded.push(agent);
                }
                if offer_over {
                    self.disarm(TimerPurpose::Ring);
                    self.offer_over(ctx);
                }
            }
            _ => {}
        }
    }

    /// Every leg of the current queue offer has ended without an answer.
    fn offer_over(&mut self, ctx: &mut Ctx<'_>) {
        let waiting = matches!(&self.stage, Stage::Queue(run) if run.waiting.is_some());
        if waiting {
            // Members who missed are retried after one ring period; others may be offered now.
            if !self
                .timers
                .iter()
                .any(|(_, purpose)| *purpose == TimerPurpose::WaitRetry)
            {
                let seconds = self.queue_index().map_or(SECONDS_PER_RING, |queue| {
                    ctx.config.queues[queue].ring_seconds()
                });
                self.arm(ctx, TimerPurpose::WaitRetry, seconds);
            }
            ctx.state.mark_availability_changed();
        } else {
            self.offer_next(ctx);
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, purpose: TimerPurpose) {
        match purpose {
            TimerPurpose::ExtensionDigits => {
                if matches!(self.stage, Stage::ExtensionDigits) {
                    self.finish_extension(ctx);
                }
            }
            TimerPurpose::MenuTimeout => {
                if let Stage::Menu(menu) = &self.stage {
                    let index = menu.menu;
                    ctx.log(LogEntry::MenuTimeout {
                        menu: ctx.config.ivr_menus[index].name.clone(),
                    });
                    self.menu_failure(ctx, index, false);
                }
            }
            TimerPurpose::Ring => match &mut self.stage {
                Stage::Employee(ring) if ring.pending => {
                    ring.pending = false;
                    let ring = ring.clone();
                    ctx.state.stop_ringing(ring.agent, self.id);
                    ctx.emit(Action::CancelRings {
                        agents: vec![ring.agent],
                    });
                    ctx.log(LogEntry::Missed {
                        agent: ring.agent,
                        why: MissReason::NoAnswer,
                    });
                    self.note_declined(ring.agent);
                    self.employee_no_answer(ctx, ring.agent, ring.no_answer, ring.resume_at);
                }
                Stage::Queue(run) if !run.ringing.is_empty() => {
                    let missed = std::mem::take(&mut run.ringing);
                    run.reached_any = true;
                    if let Some(waiting) = &mut run.waiting {
                        waiting.excluded.extend(missed.iter().copied());
                    }
                    for agent in &missed {
                        ctx.state.stop_ringing(*agent, self.id);
                    }
                    ctx.emit(Action::CancelRings {
                        agents: missed.clone(),
                    });
                    for agent in missed {
                        ctx.log(LogEntry::Missed {
                            agent,
                            why: MissReason::NoAnswer,
                        });
                        self.note_declined(agent);
                    }
                    self.offer_over(ctx);
                }
                _ => {}
            },
            TimerPurpose::WaitDeadline => {
                let Stage::Queue(run) = &mut self.stage else {
                    return;
                };
                let Some(waiting) = run.waiting.take() else {
                    return;
                };
                let ringing = std::mem::take(&mut run.ringing);
                let queue = ctx.config.queues[run.queue].name.clone();
                self.cancel_rings(ctx, ringing);
                ctx.state.dequeue(self.id);
                self.disarm(TimerPurpose::WaitRetry);
                self.disarm(TimerPurpose::Ring);
                ctx.log(LogEntry::WaitTimedOut { queue });
                self.queue_no_answer(ctx, &waiting.then);
            }
            TimerPurpose::WaitRetry => {
                if let Stage::Queue(QueueRun {
                    waiting: Some(waiting),
                    ..
                }) = &mut self.stage
                {
                    waiting.excluded.clear();
                    ctx.state.mark_availability_changed();
                }
            }
        }
    }

    fn on_caller_hung_up(&mut self, ctx: &mut Ctx<'_>) {
        match &self.stage {
            Stage::Ended => {}
            Stage::Bridged { agent } => {
                ctx.state.release(*agent, self.id);
                self.stage = Stage::Ended;
            }
            _ => {
                let ringing = self.ringing_agents().to_vec();
                self.cancel_rings(ctx, ringing);
                ctx.state.dequeue(self.id);
                self.playing = None;
                self.finish(ctx, Outcome::CallerHungUp);
            }
        }
    }

    /// Whether `by` may take this call from a colleague's ringing phone: it rings at someone
    /// else and `by` shares a queue group with one of them.
    pub(crate) fn can_be_picked_up_by(&self, by: AgentId) -> bool {
        let config = &self.config;
        let ringing = self.ringing_agents();
        !ringing.is_empty()
            && !ringing.contains(&by)
            && config.queues.iter().any(|queue| {
                queue.members.contains(&by)
                    && ringing.iter().any(|agent| queue.members.contains(agent))
            })
    }

    fn on_pickup(&mut self, ctx: &mut Ctx<'_>, by: AgentId) {
        if !self.can_be_picked_up_by(by) {
            return;
        }
        ctx.log(LogEntry::PickedUp { by });
        self.answered(ctx, by);
    }

    fn answered(&mut self, ctx: &mut Ctx<'_>, agent: AgentId) {
        let others: Vec<AgentId> = self
            .ringing_agents()
            .iter()
            .copied()
            .filter(|ringing| *ringing != agent)
            .collect();
        self.cancel_rings(ctx, others);
        ctx.state.stop_ringing(agent, self.id);
        let queue = self
            .queue_index()
            .map(|queue| ctx.config.queues[queue].name.clone());
        ctx.state.dequeue(self.id);
        ctx.state.bridge(agent, self.id);
        self.playing = None;
        ctx.emit(Action::Bridge { agent });
        self.finish(ctx, Outcome::Answered { agent, queue });
        self.stage = Stage::Bridged { agent };
    }

    fn cancel_rings(&mut self, ctx: &mut Ctx<'_>, agents: Vec<AgentId>) {
        if agents.is_empty() {
            return;
        }
        for agent in &agents {
            ctx.state.stop_ringing(*agent, self.id);
        }
        ctx.emit(Action::CancelRings { agents });
    }

    // ----- terminal actions -----

    fn fallback(&mut self, ctx: &mut Ctx<'_>, reason: FallbackReason) {
        let backup = self.line(ctx.config).backup_number.clone();
        match backup {
            Some(number) => {
                ctx.log(LogEntry::Fallback {
                    number: number.clone(),
                    reason,
                });
                self.forward(ctx, number);
            }
            None => self.reject(ctx, RejectReason::NoRoute),
        }
    }

    fn forward(&mut self, ctx: &mut Ctx<'_>, number: String) {
        self.stop_prompt(ctx);
        let line_number = self
            .line
            .map(|index| ctx.config.lines[index].number.clone())
            .unwrap_or_else(|| self.arrival.dialed.clone());
        let caller_id = match (&self.arrival.caller, ctx.config.outbound.forward_caller_id) {
            (Caller::Number(number), ForwardCallerId::Caller) => number.clone(),
            _ => line_number,
        };
        ctx.emit(Action::Forward {
            number: number.clone(),
            caller_id,
        });
        self.finish(ctx, Outcome::Forwarded { number });
    }

    fn voicemail(&mut self, ctx: &mut Ctx<'_>, mailbox: Mailbox) {
        self.stop_prompt(ctx);
        ctx.emit(Action::RecordVoicemail {
            mailbox: mailbox.clone(),
        });
        self.finish(ctx, Outcome::Voicemail { mailbox });
    }

    fn reject(&mut self, ctx: &mut Ctx<'_>, reason: RejectReason) {
        self.stop_prompt(ctx);
        ctx.emit(Action::HangUp);
        self.finish(ctx, Outcome::Rejected { reason });
    }

    fn finish(&mut self, ctx: &mut Ctx<'_>, outcome: Outcome) {
        // A call has exactly one terminal state: a second one would be an engine bug, and
        // the first decision is what the caller experienced.
        if self.outcome.is_some() {
            return;
        }
        self.timers.clear();
        self.outcome = Some(outcome.clone());
        self.stage = Stage::Ended;
        ctx.log(LogEntry::Ended { outcome });
    }

    fn note_declined(&mut self, agent: AgentId) {
        if !self.declined.contains(&agent) {
            self.declined.push(agent);
        }
    }

    // ----- timers -----

    fn arm(&mut self, ctx: &mut Ctx<'_>, purpose: TimerPurpose, seconds: u32) {
        let timer = ctx.state.next_timer();
        self.timers.push((timer, purpose));
        ctx.emit(Action::StartTimer {
            timer,
            at: ctx.after(seconds),
        });
    }

    fn disarm(&mut self, purpose: TimerPurpose) {
        self.timers.retain(|(_, armed)| *armed != purpose);
    }
}

// ----- helpers -----

fn menu_index(config: &RoutingConfig, name: &str) -> Option<usize> {
    config.ivr_menus.iter().position(|menu| menu.name == name)
}

fn queue_index(config: &RoutingConfig, name: &str) -> Option<usize> {
    config.queues.iter().position(|queue| queue.name == name)
}

/// Availability for a queue offer: presence, plus not having declined this very call.
fn availability(
    state: &QueueState,
    declined: &[AgentId],
    agent: AgentId,
    skip_off_shift: bool,
    call: CallId,
) -> Result<(), Unavailable> {
    if declined.contains(&agent) {
        return Err(Unavailable::DeclinedThisCall);
    }
    state.availability(agent, skip_off_shift, call)
}

fn device_of(config: &RoutingConfig, agent: AgentId) -> DeviceKind {
    config
        .agent(agent)
        .map(|agent| agent.device)
        .unwrap_or_default()
}

/// The members of a queue a call has yet to offer, first to offer first.
#[derive(Debug, Clone)]
pub(crate) enum OfferOrder {
    /// In this order (the configured one, or what is left of an offer to all).
    Listed(VecDeque<AgentId>),
    /// "Evenly" under the router's current settings: the queue's shared rotation
    /// ([`QueueState::rotation`]), less the members this pass has already taken. Nothing is
    /// copied per call: a call usually takes the first or second member.
    /// `passed`: where the walk stopped (it resumes after it).
    Rotation {
        queue: usize,
        taken: AgentSet,
        passed: Option<RotationKey>,
    },
    /// "Evenly" under settings since replaced: the member offered longest ago first (never
    /// offered before anyone), ties in the configured order; keys are (last offer, position
    /// in the queue).
    LongestIdle(BinaryHeap<Reverse<(u64, usize, AgentId)>>),
}

impl OfferOrder {
    /// The next member to offer, taken out of this order.
    fn take_next(&mut self, state: &QueueState, config: &RoutingConfig) -> Option<AgentId> {
        match self {
            OfferOrder::Listed(members) => members.pop_front(),
            OfferOrder::LongestIdle(heap) => heap.pop().map(|Reverse((_, _, agent))| agent),
            OfferOrder::Rotation {
                queue,
                taken,
                passed,
            } => {
                let Some(mut rotation) =
                    state.rotation(config, &config.queues[*queue].name, *passed)
                else {
                    // The settings were replaced during this pass: the rest of it goes through
                    // this call's own member list.
                    *self = OfferOrder::LongestIdle(longest_idle(state, config, *queue, taken));
                    return self.take_next(state, config);
                };
                // Members this pass took that were offered since (by this call or another)
                // moved to the end: the walk meets them again there.
                let key = rotation.find(|(_, _, agent)| !taken.contains(agent))?;
                *passed = Some(key);
                taken.insert(key.2);
                Some(key.2)
            }
        }
    }
}

/// The queue's members but `except`, keyed for "evenly" (last offer, position).
fn longest_idle(
    state: &QueueState,
    config: &RoutingConfig,
    queue: usize,
    except: &AgentSet,
) -> BinaryHeap<Reverse<(u64, usize, AgentId)>> {
    let keyed: Vec<Reverse<RotationKey>> = state
        .evenly_keys(&config.queues[queue])
        .filter(|(_, _, member)| !except.contains(member))
        .map(Reverse)
        .collect();
    BinaryHeap::from(keyed)
}

/// Members of a queue in the order this call offers them.
pub(crate) fn offer_order(state: &QueueState, config: &RoutingConfig, queue: usize) -> OfferOrder {
    let group = &config.queues[queue];
    if group.strategy != QueueStrategy::Evenly {
        return OfferOrder::Listed(group.members.iter().copied().collect());
    }
    if state.rotation(config, &group.name, None).is_some() {
        return OfferOrder::Rotation {
            queue,
            passed: None,
            taken: AgentSet::default(),
        };
    }
    OfferOrder::LongestIdle(longest_idle(state, config, queue, &AgentSet::default()))
}

/// Every member of a queue this call may still offer, in offer order, without taking them.
pub(crate) fn members_in_offer_order<'s>(
    state: &'s QueueState,
    config: &'s RoutingConfig,
    queue: usize,
) -> impl Iterator<Item = AgentId> + 's {
    let mut order = offer_order(state, config, queue);
    std::iter::from_fn(move || order.take_next(state, config))
}

fn max_extension_len(config: &RoutingConfig) -> u8 {
    let agents = config
        .agents
        .iter()
        .filter_map(|agent| agent.extension.as_ref());
    let queues = config
        .queues
        .iter()
        .filter_map(|queue| queue.extension.as_ref());
    // Extensions are validated to at most 8 digits.
    agents
        .chain(queues)
        .map(String::len)
        .max()
        .unwrap_or(1)
        .min(8) as u8
}

/// Keyed digits are complete when they name an extension that no longer extension extends
/// (`10` waits for a possible `101`), or when they are as long as the longest extension.
/// Anything else waits for more keys, `#` or the digit timeout.
fn extension_complete(config: &RoutingConfig, digits: &str) -> bool {
    let extensions = || {
        config
            .agents
            .iter()
            .filter_map(|agent| agent.extension.as_deref())
            .chain(
                config
                    .queues
                    .iter()
                    .filter_map(|queue| queue.extension.as_deref()),
            )
    };
    let exact = extensions().any(|extension| extension == digits);
    let longer = extensions()
        .any(|extension| extension.len() > digits.len() && extension.starts_with(digits));
    (exact && !longer) || digits.len() >= usize::from(max_extension_len(config))
}

/// Keeps `+` and digits.
fn normalise_number(raw: &str) -> String {
    raw.chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect()
}

fn same_number(candidate: &str, line_number: &str) -> bool {
    let candidate = normalise_number(candidate);
    if candidate.is_empty() {
        return false;
    }
    candidate == line_number || candidate == line_number.trim_start_matches('+')
}

/// The line a call is for: the dialed number (an extension may follow `;` or `#`), else the
/// To header, else the Diversion header (a carrier forwarded it from one of our numbers).
fn find_line(config: &RoutingConfig, arrival: &CallArrival) -> Option<(usize, Option<String>)> {
    let (number, extension) = match arrival.dialed.find([';', '#']) {
        Some(at) => {
            let extension: String = arrival.dialed[at + 1..]
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            (
                &arrival.dialed[..at],
                (!extension.is_empty()).then_some(extension),
            )
        }
        None => (arrival.dialed.as_str(), None),
    };
    let position = |candidate: &str| {
        config
            .lines
            .iter()
            .position(|line| same_number(candidate, &line.number))
    };
    if let Some(line) = position(number) {
        return Some((line, extension));
    }
    for header in [&arrival.to, &arrival.diversion].into_iter().flatten() {
        if let Some(line) = position(header) {
            return Some((line, None));
        }
    }
    None
}
