//! Working hours: schedule, days off, holidays, the day/night override and daylight saving.
//! Every test is a call against the example settings (`examples/ringbase.toml`) unless it says
//! otherwise. Line 'Sales' is open Mon 09-13 and 14-18, Tue-Thu 09-18, Fri 09-16 Berlin time.

mod common;
use common::*;

fn call_sales_at(start: &str) -> routing::Timeline {
    run_example(&format!(
        "start = \"{start}\"\ntime_zone = \"Europe/Berlin\"\n\
         [[calls]]\ncaller = \"+4917612345678\"\ndialed = \"+493012345678\"\n"
    ))
}

/// Saturday 10:00 Europe/Berlin, unknown caller, line 'Sales' → closing message, then voicemail.
#[test]
fn saturday_10_00_unknown_caller_on_sales_goes_to_voicemail() {
    let timeline = call_sales_at("2026-11-21T10:00:00");
    assert_timeline(
        &timeline,
        &[
            "00:00.000  log: call from +4917612345678 on line 'Sales' (+493012345678), Sat 2026-11-21 10:00 Europe/Berlin",
            "00:00.000  log: closed: outside working hours",
            "00:00.000  play out-of-hours message 'sales-closed'",
            "00:05.000  « prompt finished",
            "00:05.000  record voicemail for line 'Sales'",
        ],
    );
    assert_eq!(outcome_line(&timeline, 1), "voicemail for line 'Sales'");
}

/// Tuesday 10:00, line 'Sales' is open → recording notice, then the greeting.
#[test]
fn tuesday_10_00_sales_is_open_and_plays_notice_then_greeting() {
    let timeline = call_sales_at("2026-11-24T10:00:00");
    assert_timeline(
        &timeline,
        &[
            "00:00.000  play recording notice 'recording-notice'",
            "00:05.000  play greeting 'sales-greeting'",
            "00:05.000  collect up to 3 digit(s)",
        ],
    );
    assert_never(&timeline, "closed");
}

/// Christmas Day 2026 is a Friday at 10:00, inside the weekly hours → the holiday closes the line.
#[test]
fn holiday_inside_working_hours_closes_the_line() {
    let timeline = call_sales_at("2026-12-25T10:00:00");
    assert_timeline(
        &timeline,
        &["00:00.000  log: closed: holiday \"Christmas Day\""],
    );
    assert_eq!(outcome_line(&timeline, 1), "voicemail for line 'Sales'");
}

/// A yearly holiday (`01-01`) repeats: New Year 2027 is a Friday and closed.
#[test]
fn yearly_holiday_repeats_the_next_year() {
    let timeline = call_sales_at("2027-01-01T11:00:00");
    assert_timeline(&timeline, &["00:00.000  log: closed: holiday \"New Year\""]);
}

/// A one-off holiday (`2026-04-03`, Good Friday) is closed that day only; the same date in
/// 2028 (a Monday) is a normal working day.
#[test]
fn dated_holiday_applies_to_its_year_only() {
    let good_friday = call_sales_at("2026-04-03T10:00:00");
    assert_timeline(
        &good_friday,
        &["00:00.000  log: closed: holiday \"Good Friday\""],
    );
    let next_time = call_sales_at("2028-04-03T10:00:00");
    assert_never(&next_time, "closed");
}

/// A company day off (Thursday 2026-12-24) closes the line although Thursday has hours.
#[test]
fn company_day_off_closes_the_line() {
    let timeline = call_sales_at("2026-12-24T10:00:00");
    assert_timeline(&timeline, &["00:00.000  log: closed: day off"]);
}

/// Monday 13:30 is the lunch break between two ranges → closed; 14:00 sharp is open again.
#[test]
fn lunch_break_between_two_ranges_is_closed() {
    let lunch = call_sales_at("2026-11-23T13:30:00");
    assert_timeline(&lunch, &["00:00.000  log: closed: outside working hours"]);
    let after_lunch = call_sales_at("2026-11-23T14:00:00");
    assert_never(&after_lunch, "closed");
}

/// Ranges are half-open: Tuesday 17:59 is open, 18:00 sharp is closed.
#[test]
fn closing_time_itself_is_already_closed() {
    assert_never(&call_sales_at("2026-11-24T17:59:00"), "closed");
    assert_timeline(
        &call_sales_at("2026-11-24T18:00:00"),
        &["00:00.000  log: closed: outside working hours"],
    );
}

/// Friday the line closes at 16:00 although other weekdays run to 18:00.
#[test]
fn each_weekday_has_its_own_hours() {
    assert_timeline(
        &call_sales_at("2026-11-27T16:30:00"),
        &["00:00.000  log: closed: outside working hours"],
    );
}

/// The manual night override closes the line in the middle of a working day.
#[test]
fn night_override_closes_during_working_hours() {
    let settings = EXAMPLE.replacen("mode = \"auto\"", "mode = \"night\"", 1);
    let timeline = run(
        &settings,
        "start = \"2026-11-24T10:00:00\"\ntime_zone = \"Europe/Berlin\"\n\
         [[calls]]\ncaller = \"+4917612345678\"\ndialed = \"+493012345678\"\n",
    );
    assert_timeline(&timeline, &["00:00.000  log: closed: night mode is on"]);
}

/// The manual day override opens the line on a Sunday and even on a holiday.
#[test]
fn day_override_opens_on_sunday_and_holidays() {
    let settings = EXAMPLE.replacen("mode = \"auto\"", "mode = \"day\"", 1);
    for start in ["2026-11-22T23:00:00", "2026-12-25T10:00:00"] {
        let timeline = run(
            &settings,
            &format!(
                "start = \"{start}\"\ntime_zone = \"Europe/Berlin\"\n\
                 [[calls]]\ncaller = \"+4917612345678\"\ndialed = \"+493012345678\"\n"
            ),
        );
        assert_never(&timeline, "closed");
        assert_timeline(
            &timeline,
            &["00:00.000  play recording notice 'recording-notice'"],
        );
    }
}

/// Line 'Support' forwards out-of-hours calls to the on-call phone, showing the caller's number.
#[test]
fn support_out_of_hours_forwards_to_the_on_call_phone() {
    let timeline = run_example(
        "start = \"2026-11-21T15:00:00\"\ntime_zone = \"Europe/Berlin\"\n\
         [[calls]]\ncaller = \"+4917612345678\"\ndialed = \"+493012345679\"\n",
    );
    assert_timeline(
        &timeline,
        &[
            "00:00.000  log: closed: outside working hours",
            "00:00.000  forward to +4915100000999 showing +4917612345678",
        ],
    );
    assert_eq!(outcome_line(&timeline, 1), "forwarded to +4915100000999");
}

/// Saturday 10:00 the Support line is open (Saturday 10-14) while Sales is closed.
#[test]
fn lines_have_independent_schedules() {
    let timeline = run_example(
        "start = \"2026-11-21T10:00:00\"\ntime_zone = \"Europe/Berlin\"\n\
         [[calls]]\ncaller = \"+4917612345678\"\ndialed = \"+493012345679\"\n",
    );
    assert_timeline(&timeline, &["00:00.000  play IVR menu 'support-menu'"]);
}

/// Out of hours with "hang up": the closing message plays, then the engine hangs up.
#[test]
fn out_of_hours_hang_up_plays_the_message_and_hangs_up() {
    let settings = EXAMPLE.replacen(
        "action = \"voicemail\"\nprompt = \"sales-closed\"",
        "action = \"hang_up\"\nprompt = \"sales-closed\"",
        1,
    );
    let timeline = run(
        &settings,
        "start = \"2026-11-22T12:00:00\"\ntime_zone = \"Europe/Berlin\"\n\
         [[calls]]\ncaller = \"+4917612345678\"\ndialed = \"+493012345678\"\n",
    );
    assert_timeline(
        &timeline,
        &[
            "00:00.000  play out-of-hours message 'sales-closed'",
            "00:05.000  hang up",
        ],
    );
    assert_eq!(outcome_line(&timeline, 1), "rejected (out of hours)");
}

/// A line without working hours ('Hotline') is open around the clock, Sunday 03:00 included.
#[test]
fn line_without_schedule_is_always_open() {
    let timeline = run_example(
        "start = \"2026-11-22T03:00:00\"\ntime_zone = \"Europe/Berlin\"\n\
         [[calls]]\ncaller = \"+4917612345678\"\ndialed = \"+498001234567\"\n",
    );
    assert_never(&timeline, "closed");
    assert_timeline(&timeline, &["00:00.000  log: queue 'support' (in order)"]);
}

fn sunday_line(time_zone: &str) -> String {
    format!(
        "[[agents]]\nid = 1\nname = \"A\"\n\n[[lines]]\nnumber = \"+493000000001\"\nname = \"Weekend\"\n\
         time_zone = \"{time_zone}\"\nqueue = \"q\"\n[lines.working_hours]\nsaturday = [\"09:00-18:00\"]\nsunday = [\"09:00-18:00\"]\n\
         [lines.out_of_hours]\naction = \"hang_up\"\n\n\
         [[queues]]\nname = \"q\"\nstrategy = \"in_order\"\nmembers = [1]\n"
    )
}

fn call_at_utc(settings: &str, utc: &str) -> routing::Timeline {
    run(
        settings,
        &format!("start = \"{utc}\"\n[[calls]]\ncaller = \"+4917612345678\"\ndialed = \"+493000000001\"\n"),
    )
}

/// Spring forward (Sunday 2026-03-29, Berlin moves from UTC+1 to UTC+2): 09:00 local is
/// 07:00 UTC that day, so 07:00 UTC is open and 06:59 UTC (08:59 local) is closed.
#[test]
fn dst_spring_forward_day_opens_at_local_nine() {
    let settings = sunday_line("Europe/Berlin");
    assert_never(&call_at_utc(&settings, "2026-03-29T07:00:00"), "closed");
    assert_timeline(
        &call_at_utc(&settings, "2026-03-29T06:59:00"),
        &["00:00.000  log: call from +4917612345678 on line 'Weekend' (+493000000001), Sun 2026-03-29 08:59 Europe/Berlin", "00:00.000  log: closed: outside working hours"],
    );
    // The day before is still winter time: 09:00 local is 08:00 UTC.
    assert_timeline(
        &call_at_utc(&settings, "2026-03-28T07:30:00"),
        &["00:00.000  log: closed: outside working hours"],
    );
    assert_never(&call_at_utc(&settings, "2026-03-28T08:00:00"), "closed");
}

/// Fall back (Sunday 2026-10-25, Berlin returns to UTC+1): 09:00 local is 08:00 UTC, so
/// 07:30 UTC is 08:30 local and still closed; 17:30 UTC is 18:30 local and closed again.
#[test]
fn dst_fall_back_day_follows_the_local_clock() {
    let settings = sunday_line("Europe/Berlin");
    assert_timeline(
        &call_at_utc(&settings, "2026-10-25T07:30:00"),
        &["00:00.000  log: closed: outside working hours"],
    );
    assert_never(&call_at_utc(&settings, "2026-10-25T08:00:00"), "closed");
    assert_never(&call_at_utc(&settings, "2026-10-25T16:59:00"), "closed");
    assert_timeline(
        &call_at_utc(&settings, "2026-10-25T17:30:00"),
        &["00:00.000  log: closed: outside working hours"],
    );
}

/// New York changes on a different date (2026-03-08): 09:00 EDT is 13:00 UTC.
#[test]
fn dst_in_another_time_zone_uses_its_own_rules() {
    let settings = sunday_line("America/New_York");
    assert_never(&call_at_utc(&settings, "2026-03-08T13:00:00"), "closed");
    assert_timeline(
        &call_at_utc(&settings, "2026-03-08T12:59:00"),
        &["00:00.000  log: closed: outside working hours"],
    );
}

/// A scenario starting at a local time that the spring-forward change skips is refused.
#[test]
fn scenario_at_a_skipped_local_time_is_an_error() {
    let error = routing::run_scenario(
        EXAMPLE,
        "start = \"2026-03-29T02:30:00\"\ntime_zone = \"Europe/Berlin\"\n",
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("does not exist in Europe/Berlin"),
        "{error}"
    );
}
