//! Working hours: is a line open at a given instant?
//!
//! The instant is turned into the line's local date and time with the IANA rules of its time
//! zone, so daylight-saving changes need no special case: 09:00 local is 08:00 UTC in winter
//! and 07:00 UTC in summer in Europe/Berlin, and a day with 23 or 25 hours still has the
//! configured ranges on its local clock.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{DayNightMode, Line};

/// Whether a line is open, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Openness {
    /// Inside working hours (or no schedule, or forced to day mode).
    Open,
    /// Closed for the given reason.
    Closed { reason: ClosedReason },
}

/// Why a line is closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClosedReason {
    /// The manual day/night override is set to night.
    NightMode,
    /// A public holiday.
    Holiday { name: String },
    /// A company day off.
    DayOff,
    /// Outside the weekly schedule.
    OutsideSchedule,
}

impl fmt::Display for ClosedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClosedReason::NightMode => f.write_str("night mode is on"),
            ClosedReason::Holiday { name } => write!(f, "holiday {name:?}"),
            ClosedReason::DayOff => f.write_str("day off"),
            ClosedReason::OutsideSchedule => f.write_str("outside working hours"),
        }
    }
}

/// The local wall-clock time of a line at an instant.
pub fn local_time(line: &Line, now: DateTime<Utc>) -> NaiveDateTime {
    now.with_timezone(&line.time_zone).naive_local()
}

/// Decides whether the line is open at `now`. The manual override wins, then holidays and
/// days off (even inside the weekly hours), then the weekly schedule.
pub fn openness(line: &Line, now: DateTime<Utc>) -> Openness {
    match line.mode {
        DayNightMode::Day => return Openness::Open,
        DayNightMode::Night => {
            return Openness::Closed {
                reason: ClosedReason::NightMode,
            }
        }
        DayNightMode::Auto => {}
    }
    let local = local_time(line, now);
    let date = local.date();
    if let Some(holiday) = line
        .holidays
        .iter()
        .find(|holiday| holiday.date.matches(date))
    {
        return Openness::Closed {
            reason: ClosedReason::Holiday {
                name: holiday.name.clone(),
            },
        };
    }
    if line.days_off.contains(&date) {
        return Openness::Closed {
            reason: ClosedReason::DayOff,
        };
    }
    let Some(schedule) = &line.working_hours else {
        return Openness::Open;
    };
    // Minutes fit in u16: at most 23 * 60 + 59.
    let minute = (local.hour() * 60 + local.minute()) as u16;
    if schedule
        .day(date.weekday())
        .iter()
        .any(|range| range.contains(minute))
    {
        Openness::Open
    } else {
        Openness::Closed {
            reason: ClosedReason::OutsideSchedule,
        }
    }
}
