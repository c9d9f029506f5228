//! The routing settings: lines, agents, queue groups, IVR menus, outbound rules and callback.
//!
//! [`RoutingConfig`] is what `ringbase.toml` holds. Every table denies unknown fields, so a typo
//! is an error that names the line, not a silent default. [`RoutingConfig::from_toml`] parses
//! and then validates cross references (an IVR option naming an unknown queue, an outbound
//! prefix that collides with a country code); validation errors name the key path.
//! [`RoutingConfig::to_toml`] exports the settings back to TOML.
//!
//! `crates/routing/examples/ringbase.toml` is the complete, commented example of the format.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{ConfigError, ValidationError};
use crate::ids::AgentId;

/// One ring of a phone, the unit in which queue and employee ring times are configured.
pub const SECONDS_PER_RING: u32 = 5;

/// At most this many SIP phones ring in one "all at once" offer; browsers and apps are not capped.
pub const SIP_PHONES_PER_OFFER: usize = 10;

/// "Another queue" hops allowed before the engine stops and uses the fallback (prevents loops).
pub const MAX_QUEUE_HOPS: u8 = 5;

/// Everything the routing engine needs to decide what happens to a call.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingConfig {
    /// Where calls go when the dialed number matches no line (the system cannot route).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_number: Option<String>,
    /// Employees who take calls, identified by their CRM user id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<Agent>,
    /// Phone numbers the company is reached on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<Line>,
    /// Queue groups: ordered members and a strategy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queues: Vec<QueueGroup>,
    /// Voice menus, referenced by name from lines and from each other.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ivr_menus: Vec<IvrMenu>,
    /// Rules for calls the employees place.
    #[serde(default)]
    pub outbound: OutboundRules,
    /// Requested callbacks: ring an agent, then the customer.
    #[serde(default)]
    pub callback: CallbackSettings,
}

/// An employee who can be rung.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agent {
    /// The CRM user id.
    pub id: AgentId,
    pub name: String,
    /// Internal number callers may dial during the greeting (digits only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    /// Mobile number in E.164, used for "forward to the employee's phones".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    /// What the employee answers on; decides the "all at once" cap.
    #[serde(default)]
    pub device: DeviceKind,
    /// Line used for outbound calls when no dial prefix picks one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbound_line: Option<String>,
}

/// The kind of device an agent answers on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// A desk or soft SIP phone; at most [`SIP_PHONES_PER_OFFER`] ring at once.
    #[default]
    SipPhone,
    /// The web app (WebRTC).
    Browser,
    /// The mobile app.
    App,
}

/// A company phone number and what happens to calls on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    /// E.164, e.g. `+493012345678`.
    pub number: String,
    /// Unique name, e.g. `Sales`; other settings refer to the line by it.
    pub name: String,
    /// Time zone the working hours are written in.
    #[serde(default = "default_time_zone")]
    pub time_zone: Tz,
    /// Manual day/night override.
    #[serde(default)]
    pub mode: DayNightMode,
    /// Weekly working hours; absent means open around the clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_hours: Option<WeeklySchedule>,
    /// Single dates the office is closed (company days off, e.g. `2026-12-24`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days_off: Vec<NaiveDate>,
    /// Public holidays: `MM-DD` repeats every year, `YYYY-MM-DD` is one date.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<Holiday>,
    /// What happens outside working hours.
    #[serde(default)]
    pub out_of_hours: OutOfHours,
    /// Played first on every call ("this call may be recorded").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording_notice: Option<String>,
    /// Played after the notice; the caller may dial an extension meanwhile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting: Option<String>,
    #[serde(default)]
    pub extension_dialing: ExtensionDialing,
    /// Ring the caller's responsible manager first when the CRM knows the caller.
    #[serde(default)]
    pub responsible_manager: ResponsibleManager,
    /// IVR menu name; the menu runs after the greeting and the responsible manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ivr: Option<String>,
    /// Queue group name used when there is no IVR (or an IVR employee did not answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Where calls go when nobody can be reached or nothing else is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_number: Option<String>,
    /// Employees allowed to place outbound calls on this line; empty means everyone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbound_agents: Vec<AgentId>,
}

fn default_time_zone() -> Tz {
    Tz::UTC
}

/// Manual day/night switch, for closing early or opening on a holiday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayNightMode {
    /// Follow the schedule, days off and holidays.
    #[default]
    Auto,
    /// Always open.
    Day,
    /// Always closed.
    Night,
}

/// Working hours for each weekday, in the line's time zone. A missing day is closed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeeklySchedule {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub monday: Vec<TimeRange>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tuesday: Vec<TimeRange>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wednesday: Vec<TimeRange>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thursday: Vec<TimeRange>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub friday: Vec<TimeRange>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub saturday: Vec<TimeRange>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sunday: Vec<TimeRange>,
}

impl WeeklySchedule {
    /// The ranges for one weekday.
    pub fn day(&self, weekday: chrono::Weekday) -> &[TimeRange] {
        use chrono::Weekday::*;
        match weekday {
            Mon => &self.monday,
            Tue => &self.tuesday,
            Wed => &self.wednesday,
            Thu => &self.thursday,
            Fri => &self.friday,
            Sat => &self.saturday,
            Sun => &self.sunday,
        }
    }
}

/// A half-open range of local time, `"09:00-18:00"`; `24:00` may end a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// Minutes after local midnight, inclusive.
    pub start_minute: u16,
    /// Minutes after local midnight, exclusive (at most 1440).
    pub end_minute: u16,
}

impl TimeRange {
    /// Whether a local minute of the day falls inside the range.
    pub fn contains(&self, minute_of_day: u16) -> bool {
        self.start_minute <= minute_of_day && minute_of_day < self.end_minute
    }

    fn parse(text: &str) -> Result<Self, String> {
        let (start, end) = text
            .split_once('-')
            .ok_or_else(|| format!("time range {text:?} must look like \"09:00-18:00\""))?;
        let start_minute = parse_clock(start.trim())?;
        let end_minute = parse_clock(end.trim())?;
        if start_minute >= end_minute {
            return Err(format!("time range {text:?} ends before it starts"));
        }
        Ok(Self {
            start_minute,
            end_minute,
        })
    }
}

fn parse_clock(text: &str) -> Result<u16, String> {
    let bad = || format!("time {text:?} must look like \"HH:MM\" (00:00 to 24:00)");
    let (hours, minutes) = text.split_once(':').ok_or_else(bad)?;
    let hours: u16 = hours.parse().map_err(|_| bad())?;
    let minutes: u16 = minutes.parse().map_err(|_| bad())?;
    if minutes >= 60 || hours > 24 || (hours == 24 && minutes != 0) {
        return Err(bad());
    }
    Ok(hours * 60 + minutes)
}

impl fmt::Display for TimeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start_minute / 60,
            self.start_minute % 60,
            self.end_minute / 60,
            self.end_minute % 60
        )
    }
}

impl Serialize for TimeRange {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TimeRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        TimeRange::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A named holiday.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Holiday {
    pub date: HolidayDate,
    pub name: String,
}

/// `"12-25"` repeats every year; `"2026-04-03"` is a single date (moving holidays).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolidayDate {
    Yearly { month: u32, day: u32 },
    Once(NaiveDate),
}

impl HolidayDate {
    /// Whether the holiday falls on this local date.
    pub fn matches(&self, date: NaiveDate) -> bool {
        match *self {
            HolidayDate::Yearly { month, day } => date.month() == month && date.day() == day,
            HolidayDate::Once(once) => once == date,
        }
    }
}

impl fmt::Display for HolidayDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HolidayDate::Yearly { month, day } => write!(f, "{month:02}-{day:02}"),
            HolidayDate::Once(date) => write!(f, "{}", date.format("%Y-%m-%d")),
        }
    }
}

impl Serialize for HolidayDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HolidayDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if let Ok(date) = NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
            return Ok(HolidayDate::Once(date));
        }
        // Validate month/day against a leap year so "02-29" is accepted.
        NaiveDate::parse_from_str(&format!("2024-{text}"), "%Y-%m-%d")
            .map(|date| HolidayDate::Yearly {
                month: date.month(),
                day: date.day(),
            })
            .map_err(|_| {
                serde::de::Error::custom(format!(
                    "holiday date {text:?} must be \"MM-DD\" (every year) or \"YYYY-MM-DD\""
                ))
            })
    }
}

/// What happens to a call outside working hours. An optional prompt plays first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum OutOfHours {
    /// Record a message in the line's mailbox.
    Voicemail {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prompt: Option<String>,
    },
    /// Forward to a number (e.g. the on-call phone).
    Forward {
        number: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prompt: Option<String>,
    },
    /// Play the prompt (if any) and hang up.
    HangUp {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prompt: Option<String>,
    },
}

impl Default for OutOfHours {
    fn default() -> Self {
        OutOfHours::Voicemail { prompt: None }
    }
}

impl OutOfHours {
    /// The prompt played before the action.
    pub fn prompt(&self) -> Option<&str> {
        match self {
            OutOfHours::Voicemail { prompt }
            | OutOfHours::Forward { prompt, .. }
            | OutOfHours::HangUp { prompt } => prompt.as_deref(),
        }
    }
}

/// Dialing an employee's extension: during the greeting, after `;`/`#` in the dialed string,
/// or in the SIP To header when an upstream PBX pre-routed the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionDialing {
    #[serde(default)]
    pub enabled: bool,
    /// Take an extension written after `;` or `#` in the dialed number.
    #[serde(default = "yes")]
    pub from_dialed_string: bool,
    /// Take an extension from the To header's user part.
    #[serde(default = "yes")]
    pub from_to_header: bool,
    /// Seconds to wait for the next digit once the greeting has finished.
    #[serde(default = "default_digit_timeout")]
    pub digit_timeout_seconds: u32,
    /// Rings (5 s each) before the no-answer action.
    #[serde(default = "default_employee_rings")]
    pub rings: u32,
    #[serde(default)]
    pub no_answer: EmployeeNoAnswer,
}

impl Default for ExtensionDialing {
    fn default() -> Self {
        Self {
            enabled: false,
            from_dialed_string: true,
            from_to_header: true,
            digit_timeout_seconds: default_digit_timeout(),
            rings: default_employee_rings(),
            no_answer: EmployeeNoAnswer::Continue,
        }
    }
}

fn yes() -> bool {
    true
}
fn default_digit_timeout() -> u32 {
    3
}
fn default_employee_rings() -> u32 {
    4
}
fn default_queue_rings() -> u32 {
    3
}

/// What happens when an employee rung directly (extension, responsible manager, IVR "user")
/// does not answer, is busy or cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum EmployeeNoAnswer {
    /// Go on with the line's routing (IVR, then queue, then backup number).
    #[default]
    Continue,
    /// Forward to the employee's mobile (continue when he has none).
    ForwardToPhones,
    /// Record a message in the employee's mailbox.
    Voicemail,
}

/// Ring the responsible user of the caller's contact, lead or deal first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponsibleManager {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default = "default_employee_rings")]
    pub rings: u32,
    #[serde(default)]
    pub no_answer: EmployeeNoAnswer,
}

impl Default for ResponsibleManager {
    fn default() -> Self {
        Self {
            enabled: false,
            rings: default_employee_rings(),
            no_answer: EmployeeNoAnswer::Continue,
        }
    }
}

/// A queue group: ordered members offered calls by a strategy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueGroup {
    /// Unique name, e.g. `sales`.
    pub name: String,
    /// Group extension callers may dial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    pub strategy: QueueStrategy,
    /// Agent ids in order.
    pub members: Vec<AgentId>,
    /// Rings (5 s each) per offer before moving on.
    #[serde(default = "default_queue_rings")]
    pub rings: u32,
    /// Skip members who are off shift (members who are paused or on a call are always skipped).
    #[serde(default = "yes")]
    pub skip_off_shift: bool,
    /// What happens when every member has been offered the call and none answered.
    #[serde(default)]
    pub no_answer: QueueNoAnswer,
}

impl QueueGroup {
    /// Ring time of one offer.
    pub fn ring_seconds(&self) -> u32 {
        self.rings * SECONDS_PER_RING
    }
}

/// The order in which members are offered a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueStrategy {
    /// The member offered a call longest ago goes first; one who was offered and missed
    /// goes to the end.
    Evenly,
    /// Always from the first member down.
    InOrder,
    /// Everyone at once (SIP phones capped at 10 per offer).
    AllAtOnce,
}

/// What happens when nobody in a queue answered.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum QueueNoAnswer {
    /// Record a message in the queue's mailbox.
    #[default]
    Voicemail,
    /// Forward to the mobile of the first member (in configured order) who has one.
    ForwardToMemberMobile,
    /// Forward to a number.
    Forward { number: String },
    /// Music until a member is free; callers are served first come, first served.
    WaitInQueue {
        music: String,
        /// Give up waiting after this long and take `then`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_wait_seconds: Option<u32>,
        /// What happens after `max_wait_seconds` (voicemail when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        then: Option<Box<QueueNoAnswer>>,
    },
    /// Offer the call to another queue group.
    Queue { queue: String },
    /// Hang up.
    HangUp,
}

/// A voice menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IvrMenu {
    /// Unique name.
    pub name: String,
    /// The menu prompt ("for sales press 1 ...").
    pub prompt: String,
    /// Seconds to wait for a digit after the prompt has finished.
    #[serde(default = "default_ivr_timeout")]
    pub timeout_seconds: u32,
    /// How often the menu is repeated after a timeout or an invalid digit.
    #[serde(default = "default_max_repeats")]
    pub max_repeats: u32,
    /// Played after an invalid digit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_prompt: Option<String>,
    /// Digit (`0`-`9`, `*`, `#`) to action.
    #[serde(default)]
    pub options: BTreeMap<String, IvrAction>,
    /// After the last repeat; absent means the line's queue, then its backup number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_max_repeats: Option<IvrAction>,
}

fn default_ivr_timeout() -> u32 {
    5
}
fn default_max_repeats() -> u32 {
    2
}

/// What an IVR digit does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum IvrAction {
    Queue {
        queue: String,
    },
    /// Ring one employee; rings and no-answer action come from the line's extension dialing.
    User {
        agent: AgentId,
    },
    Submenu {
        menu: String,
    },
    External {
        number: String,
    },
    /// The line's mailbox.
    Voicemail,
    Repeat,
    /// The menu that led here (repeats the top menu).
    Back,
    HangUp,
}

/// Outbound call rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundRules {
    /// ISO 3166 country the office dials from, e.g. `DE`.
    #[serde(default = "default_country")]
    pub country: String,
    /// Area code added to short local numbers (without the national prefix), e.g. `30`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_area_code: Option<String>,
    /// Numbers with at most this many digits are local and get the default area code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_number_length: Option<u32>,
    /// National trunk prefix, `0` in most of Europe, `8` in Russia.
    #[serde(default = "default_national_prefix")]
    pub national_prefix: String,
    /// International exit prefix, `00` in most of Europe, `011` in North America.
    #[serde(default = "default_international_prefix")]
    pub international_prefix: String,
    /// Country calling codes nobody may call, e.g. `[882, 883]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forbidden_country_codes: Vec<u16>,
    /// Directions employees may call; default all four.
    #[serde(default = "all_directions")]
    pub allowed_directions: Vec<Direction>,
    /// Line chosen when neither a prefix nor the agent's own `outbound_line` picks one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_line: Option<String>,
    /// Dial prefixes that pick a line, e.g. `*123*`, `#123#`, `801`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub line_prefixes: Vec<LinePrefix>,
    /// Rewrite rules tried in order after the prefix is removed; the first match applies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rewrite: Vec<RewriteRule>,
    /// Caller ID presented when a call is forwarded to an external number.
    #[serde(default)]
    pub forward_caller_id: ForwardCallerId,
    /// What an agent dials to take a call ringing at a colleague of his queue group
    /// (1–8 of `0-9*#`); unset means [`DEFAULT_PICKUP_CODE`]. See [`Self::pickup_code`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_code: Option<String>,
}

/// The pickup feature code when the settings name none.
pub const DEFAULT_PICKUP_CODE: &str = "*8";

impl OutboundRules {
    /// The pickup feature code in effect.
    pub fn pickup_code(&self) -> &str {
        self.pickup_code.as_deref().unwrap_or(DEFAULT_PICKUP_CODE)
    }
}

impl Default for OutboundRules {
    fn default() -> Self {
        Self {
            country: default_country(),
            default_area_code: None,
            local_number_length: None,
            national_prefix: default_national_prefix(),
            international_prefix: default_international_prefix(),
            forbidden_country_codes: Vec::new(),
            allowed_directions: all_directions(),
            default_line: None,
            line_prefixes: Vec::new(),
            rewrite: Vec::new(),
            forward_caller_id: ForwardCallerId::default(),
            pickup_code: None,
        }
    }
}

fn default_country() -> String {
    "DE".to_owned()
}
fn default_national_prefix() -> String {
    "0".to_owned()
}
fn default_international_prefix() -> String {
    "00".to_owned()
}
fn all_directions() -> Vec<Direction> {
    vec![
        Direction::Local,
        Direction::National,
        Direction::Mobile,
        Direction::International,
    ]
}

/// Where an outbound number goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Same area code.
    Local,
    /// Same country, fixed line or service number.
    National,
    /// A mobile number in the same country.
    Mobile,
    /// Another country.
    International,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Local => "local",
            Direction::National => "national",
            Direction::Mobile => "mobile",
            Direction::International => "international",
        })
    }
}

/// A dial prefix that selects a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinePrefix {
    pub prefix: String,
    /// Line name.
    pub line: String,
}

/// `pattern` (a regex on the dialed digits) is replaced by `replacement` (`$1` for groups).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewriteRule {
    pub pattern: Pattern,
    pub replacement: String,
}

/// A compiled regular expression that (de)serialises as its source text.
#[derive(Debug, Clone)]
pub struct Pattern(pub regex::Regex);

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Serialize for Pattern {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.as_str())
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        regex::Regex::new(&text)
            .map(Pattern)
            .map_err(|error| serde::de::Error::custom(format!("invalid pattern: {error}")))
    }
}

/// Caller ID shown to the external party when the engine forwards a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForwardCallerId {
    /// The original caller's number (the line's number when the caller is anonymous).
    #[default]
    Caller,
    /// Always the line's number, so the mobile shows "a call from the office".
    Line,
}

/// Requested callbacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackSettings {
    /// Line whose number is presented to the customer; absent means the outbound default line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
    #[serde(default = "default_agent_ring")]
    pub agent_ring_seconds: u32,
    #[serde(default = "default_customer_ring")]
    pub customer_ring_seconds: u32,
    /// Further attempts after the first when the customer is not reached (1 to 5).
    #[serde(default = "default_retries")]
    pub retries: u32,
    #[serde(default = "default_retry_interval")]
    pub retry_interval_seconds: u32,
}

impl Default for CallbackSettings {
    fn default() -> Self {
        Self {
            line: None,
            agent_ring_seconds: default_agent_ring(),
            customer_ring_seconds: default_customer_ring(),
            retries: default_retries(),
            retry_interval_seconds: default_retry_interval(),
        }
    }
}

fn default_agent_ring() -> u32 {
    30
}
fn default_customer_ring() -> u32 {
    45
}
fn default_retries() -> u32 {
    3
}
fn default_retry_interval() -> u32 {
    300
}

impl RoutingConfig {
    /// Parses and validates a `ringbase.toml`.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config: RoutingConfig =
            toml::from_str(text).map_err(|error| ConfigError::from_toml(text, &error))?;
        config.validate()?;
        Ok(config)
    }

    /// Exports the settings as TOML that [`RoutingConfig::from_toml`] reads back unchanged.
    pub fn to_toml(&self) -> Result<String, ConfigError> {
        toml::to_string_pretty(self).map_err(|error| ConfigError::Export(error.to_string()))
    }

    /// The agent with this id.
    pub fn agent(&self, id: AgentId) -> Option<&Agent> {
        self.agents.iter().find(|agent| agent.id == id)
    }

    /// The line with this name.
    pub fn line_by_name(&self, name: &str) -> Option<&Line> {
        self.lines.iter().find(|line| line.name == name)
    }

    /// The queue group with this name.
    pub fn queue(&self, name: &str) -> Option<&QueueGroup> {
        self.queues.iter().find(|queue| queue.name == name)
    }

    /// The IVR menu with this name.
    pub fn ivr_menu(&self, name: &str) -> Option<&IvrMenu> {
        self.ivr_menus.iter().find(|menu| menu.name == name)
    }

    /// Every prompt the settings play, with its key path (`lines[0].greeting`): what must
    /// exist among the uploaded prompts.
    pub fn prompt_references(&self) -> Vec<(String, &str)> {
        let mut found = Vec::new();
        for (i, line) in self.lines.iter().enumerate() {
            if let Some(p) = &line.recording_notice {
                found.push((format!("lines[{i}].recording_notice"), p.as_str()));
            }
            if let Some(p) = &line.greeting {
                found.push((format!("lines[{i}].greeting"), p.as_str()));
            }
            if let Some(p) = line.out_of_hours.prompt() {
                found.push((format!("lines[{i}].out_of_hours.prompt"), p));
            }
        }
        for (i, menu) in self.ivr_menus.iter().enumerate() {
            found.push((format!("ivr_menus[{i}].prompt"), menu.prompt.as_str()));
            if let Some(p) = &menu.invalid_prompt {
                found.push((format!("ivr_menus[{i}].invalid_prompt"), p.as_str()));
            }
        }
        found
    }

    /// Checks cross references and value ranges; every problem is reported with its key path.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut errors = Vec::new();
        let mut report = |path: String, message: String| {
            errors.push(ValidationError { path, message });
        };

        if let Some(number) = &self.backup_number {
            check_e164(number, "backup_number".into(), &mut report);
        }

        // Agents: unique ids and extensions.
        let mut agent_ids = BTreeSet::new();
        let mut extensions: BTreeMap<String, String> = BTreeMap::new();
        for (index, agent) in self.agents.iter().enumerate() {
            let path = format!("agents[{index}]");
            if !agent_ids.insert(agent.id) {
                report(
                    format!("{path}.id"),
                    format!("duplicate agent id {}", agent.id),
                );
            }
            if let Some(extension) = &agent.extension {
                check_extension(
                    extension,
                    &format!("{path}.extension"),
                    &mut extensions,
                    &mut report,
                );
            }
            if let Some(mobile) = &agent.mobile {
                check_e164(mobile, format!("{path}.mobile"), &mut report);
            }
            if let Some(line) = &agent.outbound_line {
                if self.line_by_name(line).is_none() {
                    report(
                        format!("{path}.outbound_line"),
                        format!("unknown line {line:?}"),
                    );
                }
            }
        }
        let check_agent = |agent: AgentId, path: String, report: &mut dyn FnMut(String, String)| {
            if !agent_ids.contains(&agent) {
                report(path, format!("unknown agent {agent}"));
            }
        };

        // Queues.
        let mut queue_names = BTreeSet::new();
        for queue in &self.queues {
            let path = format!("queues[{:?}]", queue.name);
            if !queue_names.insert(queue.name.as_str()) {
                report(
                    format!("{path}.name"),
                    format!("duplicate queue name {:?}", queue.name),
                );
            }
            if let Some(extension) = &queue.extension {
                check_extension(
                    extension,
                    &format!("{path}.extension"),
                    &mut extensions,
                    &mut report,
                );
            }
            let mut seen = BTreeSet::new();
            for (index, member) in queue.members.iter().enumerate() {
                check_agent(*member, format!("{path}.members[{index}]"), &mut report);
                if !seen.insert(*member) {
                    report(
                        format!("{path}.members[{index}]"),
                        format!("agent {member} is listed twice"),
                    );
                }
            }
            if !(1..=60).contains(&queue.rings) {
                report(format!("{path}.rings"), "must be between 1 and 60".into());
            }
            self.check_queue_no_answer(
                &queue.no_answer,
                &queue.name,
                &format!("{path}.no_answer"),
                &mut report,
            );
        }

        // IVR menus.
        let mut menu_names = BTreeSet::new();
        for menu in &self.ivr_menus {
            let path = format!("ivr_menus[{:?}]", menu.name);
            if !menu_names.insert(menu.name.as_str()) {
                report(
                    format!("{path}.name"),
                    format!("duplicate menu name {:?}", menu.name),
                );
            }
            if menu.timeout_seconds == 0 {
                report(
                    format!("{path}.timeout_seconds"),
                    "must be at least 1".into(),
                );
            }
            if menu.max_repeats > 10 {
                report(format!("{path}.max_repeats"), "must be at most 10".into());
            }
            for (digit, action) in &menu.options {
                let option_path = format!("{path}.options.{digit:?}");
                if !is_menu_key(digit) {
                    report(
                        option_path.clone(),
                        "an option key must be one of 0-9, * or #".into(),
                    );
                }
                self.check_ivr_action(action, &option_path, &mut report);
            }
            if let Some(action) = &menu.on_max_repeats {
                self.check_ivr_action(action, &format!("{path}.on_max_repeats"), &mut report);
            }
        }

        // Lines.
        let mut line_names = BTreeSet::new();
        let mut line_numbers = BTreeSet::new();
        for line in &self.lines {
            let path = format!("lines[{:?}]", line.name);
            if !line_names.insert(line.name.as_str()) {
                report(
                    format!("{path}.name"),
                    format!("duplicate line name {:?}", line.name),
                );
            }
            check_e164(&line.number, format!("{path}.number"), &mut report);
            if !line_numbers.insert(line.number.as_str()) {
                report(
                    format!("{path}.number"),
                    format!("duplicate line number {}", line.number),
                );
            }
            if let Some(schedule) = &line.working_hours {
                for weekday in WEEKDAYS {
                    check_overlaps(
                        schedule.day(weekday),
                        &format!("{path}.working_hours.{}", weekday_key(weekday)),
                        &mut report,
                    );
                }
            }
            if let OutOfHours::Forward { number, .. } = &line.out_of_hours {
                check_e164(number, format!("{path}.out_of_hours.number"), &mut report);
            }
            if let Some(menu) = &line.ivr {
                if self.ivr_menu(menu).is_none() {
                    report(format!("{path}.ivr"), format!("unknown IVR menu {menu:?}"));
                }
            }
            if let Some(queue) = &line.queue {
                if self.queue(queue).is_none() {
                    report(format!("{path}.queue"), format!("unknown queue {queue:?}"));
                }
            }
            if let Some(number) = &line.backup_number {
                check_e164(number, format!("{path}.backup_number"), &mut report);
            }
            for (index, agent) in line.outbound_agents.iter().enumerate() {
                check_agent(
                    *agent,
                    format!("{path}.outbound_agents[{index}]"),
                    &mut report,
                );
            }
            for (key, rings) in [
                ("extension_dialing.rings", line.extension_dialing.rings),
                ("responsible_manager.rings", line.responsible_manager.rings),
            ] {
                if !(1..=60).contains(&rings) {
                    report(format!("{path}.{key}"), "must be between 1 and 60".into());
                }
            }
        }

        // Outbound.
        let outbound = &self.outbound;
        if country_id(&outbound.country).is_none() {
            report(
                "outbound.country".into(),
                format!("unknown country {:?}", outbound.country),
            );
        }
        if let Some(area) = &outbound.default_area_code {
            if area.is_empty() || !area.bytes().all(|b| b.is_ascii_digit()) {
                report("outbound.default_area_code".into(), "must be digits".into());
            }
        }
        for (key, prefix) in [
            ("national_prefix", &outbound.national_prefix),
            ("international_prefix", &outbound.international_prefix),
        ] {
            if !prefix.bytes().all(|b| b.is_ascii_digit()) {
                report(format!("outbound.{key}"), "must be digits".into());
            }
        }
        for (index, code) in outbound.forbidden_country_codes.iter().enumerate() {
            if !is_country_code(*code) {
                report(
                    format!("outbound.forbidden_country_codes[{index}]"),
                    format!("{code} is not a country calling code"),
                );
            }
        }
        if outbound.allowed_directions.is_empty() {
            report(
                "outbound.allowed_directions".into(),
                "allow at least one direction".into(),
            );
        }
        if let Some(line) = &outbound.default_line {
            if self.line_by_name(line).is_none() {
                report(
                    "outbound.default_line".into(),
                    format!("unknown line {line:?}"),
                );
            }
        }
        let mut prefixes = BTreeSet::new();
        for (index, rule) in outbound.line_prefixes.iter().enumerate() {
            let path = format!("outbound.line_prefixes[{index}]");
            if self.line_by_name(&rule.line).is_none() {
                report(
                    format!("{path}.line"),
                    format!("unknown line {:?}", rule.line),
                );
            }
            if !prefixes.insert(rule.prefix.as_str()) {
                report(
                    format!("{path}.prefix"),
                    format!("duplicate prefix {:?}", rule.prefix),
                );
            }
            if let Err(message) = check_line_prefix(&rule.prefix, outbound) {
                report(format!("{path}.prefix"), message);
            }
        }

        if let Some(code) = &outbound.pickup_code {
            let well_formed = (1..=8).contains(&code.len())
                && code
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#');
            if !well_formed {
                report(
                    "outbound.pickup_code".into(),
                    "must be 1 to 8 of the characters 0-9, * and #".into(),
                );
            }
        }
        // The pickup code is checked before extensions, so one equal to an extension would
        // make that colleague unreachable.
        let pickup_code = outbound.pickup_code();
        if let Some(index) = self
            .agents
            .iter()
            .position(|agent| agent.extension.as_deref() == Some(pickup_code))
        {
            report(
                "outbound.pickup_code".into(),
                format!("{pickup_code:?} is the extension of agents[{index}]"),
            );
        }

        // Callback.
        let callback = &self.callback;
        if !(1..=5).contains(&callback.retries) {
            report("callback.retries".into(), "must be between 1 and 5".into());
        }
        if callback.retry_interval_seconds == 0 {
            report(
                "callback.retry_interval_seconds".into(),
                "must be at least 1".into(),
            );
        }
        if callback.agent_ring_seconds == 0 || callback.customer_ring_seconds == 0 {
            report(
                "callback".into(),
                "ring times must be at least 1 second".into(),
            );
        }
        if let Some(line) = &callback.line {
            if self.line_by_name(line).is_none() {
                report("callback.line".into(), format!("unknown line {line:?}"));
            }
        }

        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(errors))
        }
    }

    fn check_queue_no_answer(
        &self,
        action: &QueueNoAnswer,
        own_queue: &str,
        path: &str,
        report: &mut dyn FnMut(String, String),
    ) {
        match action {
            QueueNoAnswer::Forward { number } => {
                check_e164(number, format!("{path}.number"), report)
            }
            QueueNoAnswer::Queue { queue } => {
                if self.queue(queue).is_none() {
                    report(format!("{path}.queue"), format!("unknown queue {queue:?}"));
                } else if queue == own_queue {
                    report(
                        format!("{path}.queue"),
                        "a queue cannot overflow into itself".into(),
                    );
                }
            }
            QueueNoAnswer::WaitInQueue {
                then: Some(then),
                max_wait_seconds,
                ..
            } => {
                if max_wait_seconds.is_none() {
                    report(format!("{path}.then"), "needs max_wait_seconds".into());
                }
                if matches!(**then, QueueNoAnswer::WaitInQueue { .. }) {
                    report(format!("{path}.then"), "cannot wait in queue again".into());
                }
                self.check_queue_no_answer(then, own_queue, &format!("{path}.then"), report);
            }
            QueueNoAnswer::WaitInQueue {
                max_wait_seconds: Some(0),
                ..
            } => {
                report(
                    format!("{path}.max_wait_seconds"),
                    "must be at least 1".into(),
                );
            }
            _ => {}
        }
    }

    fn check_ivr_action(
        &self,
        action: &IvrAction,
        path: &str,
        report: &mut dyn FnMut(String, String),
    ) {
        match action {
            IvrAction::Queue { queue } if self.queue(queue).is_none() => {
                report(format!("{path}.queue"), format!("unknown queue {queue:?}"));
            }
            IvrAction::User { agent } if self.agent(*agent).is_none() => {
                report(format!("{path}.agent"), format!("unknown agent {agent}"));
            }
            IvrAction::Submenu { menu } if self.ivr_menu(menu).is_none() => {
                report(format!("{path}.menu"), format!("unknown IVR menu {menu:?}"));
            }
            IvrAction::External { number } => check_e164(number, format!("{path}.number"), report),
            _ => {}
        }
    }
}

const WEEKDAYS: [chrono::Weekday; 7] = [
    chrono::Weekday::Mon,
    chrono::Weekday::Tue,
    chrono::Weekday::Wed,
    chrono::Weekday::Thu,
    chrono::Weekday::Fri,
    chrono::Weekday::Sat,
    chrono::Weekday::Sun,
];

fn weekday_key(weekday: chrono::Weekday) -> &'static str {
    use chrono::Weekday::*;
    match weekday {
        Mon => "monday",
        Tue => "tuesday",
        Wed => "wednesday",
        Thu => "thursday",
        Fri => "friday",
        Sat => "saturday",
        Sun => "sunday",
    }
}

fn check_overlaps(ranges: &[TimeRange], path: &str, report: &mut dyn FnMut(String, String)) {
    let mut sorted: Vec<TimeRange> = ranges.to_vec();
    sorted.sort_by_key(|range| range.start_minute);
    for pair in sorted.windows(2) {
        if pair[1].start_minute < pair[0].end_minute {
            report(path.to_owned(), format!("{} overlaps {}", pair[0], pair[1]));
        }
    }
}

fn is_menu_key(key: &str) -> bool {
    key.len() == 1
        && key
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
}

fn check_extension(
    extension: &str,
    path: &str,
    seen: &mut BTreeMap<String, String>,
    report: &mut dyn FnMut(String, String),
) {
    if extension.is_empty() || extension.len() > 8 || !extension.bytes().all(|b| b.is_ascii_digit())
    {
        report(
            path.to_owned(),
            format!("extension {extension:?} must be 1 to 8 digits"),
        );
        return;
    }
    if let Some(first) = seen.get(extension) {
        report(
            path.to_owned(),
            format!("extension {extension} is already used by {first}"),
        );
        return;
    }
    seen.insert(extension.to_owned(), path.to_owned());
}

fn check_e164(number: &str, path: String, report: &mut dyn FnMut(String, String)) {
    let digits = number.strip_prefix('+').unwrap_or("");
    if digits.len() < 3 || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        report(
            path,
            format!("{number:?} is not an E.164 number like \"+493012345678\""),
        );
    }
}

/// The `phonenumber` country for an ISO 3166 code.
pub(crate) fn country_id(iso: &str) -> Option<phonenumber::country::Id> {
    iso.parse().ok()
}

/// Whether a number is an assigned country calling code.
pub(crate) fn is_country_code(code: u16) -> bool {
    phonenumber::metadata::DATABASE.by_code(&code).is_some()
}

/// A digits-only line prefix is refused when a country calling code starts it or it starts a
/// country calling code (`7` and `49` would swallow numbers dialled in international form
/// without `+`), or when it starts with the national or international prefix (it would
/// swallow ordinary numbers). Prefixes with `*` or `#` never collide with a number.
fn check_line_prefix(prefix: &str, rules: &OutboundRules) -> Result<(), String> {
    if prefix.is_empty()
        || !prefix
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
    {
        return Err(format!("prefix {prefix:?} must be digits, * or #"));
    }
    if !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(());
    }
    for prefix_of_dialing in [&rules.international_prefix, &rules.national_prefix] {
        if !prefix_of_dialing.is_empty() && prefix.starts_with(prefix_of_dialing.as_str()) {
            return Err(format!(
                "prefix {prefix:?} starts with the dialing prefix {prefix_of_dialing:?}"
            ));
        }
    }
    for length in 1..=3.min(prefix.len()) {
        if let Ok(code) = prefix[..length].parse::<u16>() {
            if is_country_code(code) {
                return Err(format!(
                    "prefix {prefix:?} collides with country code +{code}"
                ));
            }
        }
    }
    if prefix.len() < 3 {
        for code in 1..=999u16 {
            if code.to_string().starts_with(prefix) && is_country_code(code) {
                return Err(format!(
                    "prefix {prefix:?} collides with country code +{code}"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_range_accepts_midnight_end_and_rejects_nonsense() {
        let range = TimeRange::parse("22:00-24:00").unwrap();
        assert!(range.contains(23 * 60 + 59));
        assert!(!range.contains(21 * 60 + 59));
        assert_eq!(range.to_string(), "22:00-24:00");
        for bad in [
            "24:30-25:00",
            "09:60-10:00",
            "10:00",
            "10:00-09:00",
            "10:00-10:00",
            "a-b",
        ] {
            assert!(TimeRange::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn holiday_dates_yearly_and_once() {
        let yearly: HolidayDate = toml::Value::String("02-29".into()).try_into().unwrap();
        assert_eq!(yearly, HolidayDate::Yearly { month: 2, day: 29 });
        let once: HolidayDate = toml::Value::String("2026-04-03".into()).try_into().unwrap();
        assert!(once.matches(NaiveDate::from_ymd_opt(2026, 4, 3).unwrap()));
        assert!(!once.matches(NaiveDate::from_ymd_opt(2027, 4, 3).unwrap()));
        assert!(toml::Value::String("13-01".into())
            .try_into::<HolidayDate>()
            .is_err());
    }

    #[test]
    fn line_prefix_rules() {
        let rules = OutboundRules::default();
        assert!(check_line_prefix("801", &rules).is_ok());
        assert!(check_line_prefix("*5*", &rules).is_ok());
        assert!(check_line_prefix("44", &rules).is_err());
        assert!(check_line_prefix("00", &rules).is_err());
        assert!(check_line_prefix("8a", &rules).is_err());
    }
}
