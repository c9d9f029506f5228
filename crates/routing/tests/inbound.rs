//! Greeting and extension dialing, the IVR, the responsible manager, pickup and fallbacks.
//! Calls go to the example settings (`examples/ringbase.toml`) on a Tuesday at 10:00 Berlin
//! time unless a test says otherwise. Every prompt lasts 5 s.

mod common;
use common::*;

const TUESDAY: &str = "start = \"2026-11-24T10:00:00\"\ntime_zone = \"Europe/Berlin\"\n";

fn sales_call(extra_call_keys: &str, rest: &str) -> String {
    format!(
        "{TUESDAY}{rest}\n[[calls]]\ncaller = \"+4917612345678\"\ndialed = \"+493012345678\"\n{extra_call_keys}\n"
    )
}

fn answers(agent: i64, after: u32) -> String {
    format!("[[agents]]\nid = {agent}\nbehaviour = \"answer\"\nanswer_after_seconds = {after}\n")
}

// ----- greeting and extensions -----

/// The caller keys 102 while the greeting plays: the greeting stops and Ben rings for
/// 4 rings × 5 s = 20 s; he answers after 3 s.
#[test]
fn extension_keyed_during_greeting_rings_the_employee() {
    let timeline = run_example(&sales_call(
        "digits = [{ at_seconds = 7, keys = \"102\" }]",
        &answers(102, 3),
    ));
    assert_timeline(
        &timeline,
        &[
            "00:05.000  play greeting 'sales-greeting'",
            "00:07.000  « caller pressed 1",
            "00:07.000  stop prompt",
            "00:07.000  log: extension 102 keyed in",
            "00:07.000  ring agent 102 for 20 s",
            "00:10.000  bridge caller with agent 102",
        ],
    );
    assert_eq!(outcome_line(&timeline, 1), "answered by agent 102");
}

/// An extension after `;` in the dialed number skips the greeting (it still plays the
/// recording notice, which must be heard on every call).
#[test]
fn extension_after_semicolon_in_dialed_number_skips_the_greeting() {
    let timeline = run_example(&format!(
        "{TUESDAY}{}\n[[calls]]\ncaller = \"+4917612345678\"\ndialed = \"+493012345678;103\"\n",
        answers(103, 2)
    ));
    assert_timeline(
        &timeline,
        &[
            "00:00.000  play recording notice 'recording-notice'",
            "00:05.000  log: extension 103 from the dialed number",
            "00:05.000  ring agent 103 for 20 s",
            "00:07.000  bridge caller with agent 103",
        ],
    );
    assert_never(&timeline, "greeting");
}

/// `#` works like `;`: `+493012345678#101` rings Anna.
#[test]
fn extension_after_hash_in_dialed_number() {
    let timeline = run_example(&format!(
        "{TUESDAY}{}\n[[calls]]\ncaller = \"+4917612345678\"\ndialed = \"+493012345678#101\"\n",
        answers(101, 1)
    ));
    assert_timeline(
        &timeline,
        &[
            "00:05.000  log: extension 101 from the dialed number",
            "00:06.000  bridge caller with agent 101",
        ],
    );
}

/// An upstream PBX pre-routed the call: the To header carries extension 104.
#[test]
fn extension_in_to_header_from_upstream_pbx() {
    let timeline = run_example(&format!(
        "{TUESDAY}{}\n[[calls]]\ncaller = \"+4917612345678\"\ndialed = \"+493012345678\"\nto = \"104\"\n",
        answers(104, 1)
    ));
    assert_timeline(
        &timeline,
        &[
            "00:05.000  log: extension 104 from the To header",
            "00:05.000  ring agent 104 for 20 s",
        ],
    );
}

/// A group extension (500, queue 'sales') keyed during the greeting goes to the queue.
#[test]
fn group_extension_goes_to_the_queue() {
    let timeline = run_example(&sales_call(
        "digits = [{ at_seconds = 6, keys = \"500\" }]",
        &answers(101, 2),
    ));
    assert_timeline(
        &timeline,
        &[
            "00:06.000  log: extension 500 keyed in",
            "00:06.000  log: queue 'sales' (evenly)",
            "00:06.000  ring agent 101 for 20 s",
        ],
    );
    assert_eq!(
        outcome_line(&timeline, 1),
        "answered by agent 101 (queue 'sales')"
    );
}

/// An extension nobody has is logged and routing continues after the greeting (to the queue).
#[test]
fn unknown_extension_continues_routing() {
    let timeline = run_example(&sales_call(
        "digits = [{ at_seconds = 6, keys = \"999\" }]",
        "",
    ));
    assert_timeline(
        &timeline,
        &[
            "00:06.000  log: extension 999 keyed in",
            "00:06.000  log: extension 999 belongs to nobody",
            "00:06.000  log: queue 'sales' (evenly)",
        ],
    );
}

/// `10` could still become 101-104, so the engine waits the 3 s digit timeout before
/// deciding; `10` belongs to nobody and routing continues.
#[test]
fn partial_extension_waits_for_the_digit_timeout() {
    let timeline = run_example(&sales_call(
        "digits = [{ at_seconds = 6, keys = \"10\" }]",
        "",
    ));
    assert_timeline(
        &timeline,
        &[
            "00:06.000  « caller pressed 0",
            "00:09.000  log: extension 10 keyed in",
            "00:09.000  log: extension 10 belongs to nobody",
        ],
    );
}

/// `#` ends the extension at once.
#[test]
fn hash_ends_the_extension_at_once() {
    let timeline = run_example(&sales_call(
        "digits = [{ at_seconds = 6, keys = \"10#\" }]",
        "",
    ));
    assert_timeline(&timeline, &["00:06.000  log: extension 10 keyed in"]);
}

/// The employee does not answer within 4 rings; "continue" goes on to the queue, where he
/// is not rung again at once.
#[test]
fn employee_no_answer_continues_to_the_queue() {
    let timeline = run_example(&sales_call(
        "digits = [{ at_seconds = 6, keys = \"101\" }]",
        "",
    ));
    assert_timeline(
        &timeline,
        &[
            "00:06.000  ring agent 101 for 20 s",
            "00:26.000  cancel ringing 101",
            "00:26.000  log: agent 101 did not answer",
            "00:26.000  log: queue 'sales' (evenly)",
            "00:26.000  log: skip agent 101: missed this call already",
            "00:26.000  ring agent 102 for 20 s",
        ],
    );
}

/// "Forward to the employee's phones": Anna's mobile rings when her desk phone does not.
#[test]
fn employee_no_answer_forwards_to_his_mobile() {
    let settings = EXAMPLE.replacen(
        "no_answer = { action = \"continue\" } # continue",
        "no_answer = { action = \"forward_to_phones\" } #",
        1,
    );
    let timeline = run(
        &settings,
        &sales_call("digits = [{ at_seconds = 6, keys = \"101\" }]", ""),
    );
    assert_timeline(
        &timeline,
        &["00:26.000  forward to +4915110000101 showing +4917612345678"],
    );
    assert_eq!(outcome_line(&timeline, 1), "forwarded to +4915110000101");
}

/// Without a mobile number, "forward to phones" continues routing instead.
#[test]
fn employee_without_mobile_continues_instead_of_forwarding() {
    let settings = EXAMPLE.replacen(
        "no_answer = { action = \"continue\" } # continue",
        "no_answer = { action = \"forward_to_phones\" } #",
        1,
    );
    let timeline = run(
        &settings,
        &sales_call("digits = [{ at_seconds = 6, keys = \"102\" }]", ""),
    );
    assert_timeline(&timeline, &["00:26.000  log: queue 'sales' (evenly)"]);
}

/// "Voicemail": the caller leaves a message in the employee's own mailbox.
#[test]
fn employee_no_answer_goes_to_his_voicemail() {
    let settings = EXAMPLE.replacen(
        "no_answer = { action = \"continue\" } # continue",
        "no_answer = { action = \"voicemail\" } #",
        1,
    );
    let timeline = run(
        &settings,
        &sales_call("digits = [{ at_seconds = 6, keys = \"102\" }]", ""),
    );
    assert_timeline(&timeline, &["00:26.000  record voicemail for agent 102"]);
}

/// A paused employee is not rung at all; routing continues immediately.
#[test]
fn paused_employee_is_not_rung_for_his_extension() {
    let timeline = run_example(&sales_call(
        "digits = [{ at_seconds = 6, keys = \"102\" }]",
        "[[agents]]\nid = 102\nstate = \"paused\"\n",
    ));
    assert_timeline(
        &timeline,
        &[
            "00:06.000  log: agent 102 is paused",
            "00:06.000  log: queue 'sales' (evenly)",
        ],
    );
    assert_never(&timeline, "ring agent 102");
}

/// With extension dialing off, keys during the greeting are ignored.
#[test]
fn keys_are_ignored_when_extension_dialing_is_off() {
    let settings = EXAMPLE.replacen(
        "[lines.extension_dialing]\nenabled = true",
        "[lines.extension_dialing]\nenabled = false",
        1,
    );
    let timeline = run(
        &settings,
        &sales_call("digits = [{ at_seconds = 6, keys = \"102\" }]", ""),
    );
    assert_never(&timeline, "extension");
    assert_timeline(&timeline, &["00:10.000  log: queue 'sales' (evenly)"]);
}

/// When extension dialing and an IVR are both on, a pre-routed extension is handled before
/// the IVR: the menu never plays.
#[test]
fn extension_is_handled_before_the_ivr() {
    let settings = EXAMPLE.replacen(
        "ivr = \"support-main\"\n",
        "ivr = \"support-main\"\nextension_dialing = { enabled = true }\n",
        1,
    );
    let timeline = run(
        &settings,
        &format!(
            "{TUESDAY}{}\n[[calls]]\ncaller = \"+4917612345678\"\ndialed = \"+493012345679#201\"\n",
            answers(201, 2)
        ),
    );
    assert_timeline(
        &timeline,
        &[
            "00:00.000  log: extension 201 from the dialed number",
            "00:02.000  bridge caller with agent 201",
        ],
    );
    assert_never(&timeline, "IVR menu");
}

// ----- responsible manager -----

/// A known customer whose responsible manager is Anna (101) reaches her directly after the
/// greeting, without the queue.
#[test]
fn known_caller_reaches_his_responsible_manager() {
    let timeline = run_example(&sales_call("responsible = 101", &answers(101, 4)));
    assert_timeline(
        &timeline,
        &[
            "00:10.000  log: caller is known: responsible manager is agent 101",
            "00:10.000  ring agent 101 for 20 s",
            "00:14.000  bridge caller with agent 101",
        ],
    );
    assert_never(&timeline, "queue");
}

/// An unknown caller skips the responsible-manager step.
#[test]
fn unknown_caller_has_no_responsible_manager() {
    let timeline = run_example(&sales_call("", ""));
    assert_never(&timeline, "responsible manager");
    assert_timeline(&timeline, &["00:10.000  log: queue 'sales' (evenly)"]);
}

/// The manager does not answer within 4 rings → on to the queue.
#[test]
fn responsible_manager_no_answer_goes_on_to_the_queue() {
    let timeline = run_example(&sales_call("responsible = 102", &answers(103, 1)));
    assert_timeline(
        &timeline,
        &[
            "00:10.000  ring agent 102 for 20 s",
            "00:30.000  log: agent 102 did not answer",
            "00:30.000  log: queue 'sales' (evenly)",
            "00:30.000  ring agent 101 for 20 s",
            "00:50.000  ring agent 103 for 20 s",
            "00:51.000  bridge caller with agent 103",
        ],
    );
}

/// Responsible manager busy → queue → everyone else unavailable → wait in queue with music →
/// Ben (102) finishes his call at 01:30 and is offered the caller at once → he answers.
#[test]
fn responsible_manager_busy_then_queue_then_wait_then_first_free_member() {
    let scenario = include_str!("../examples/scenarios/queue-wait.toml");
    let timeline = run_example(scenario);
    assert_timeline(
        &timeline,
        &[
            "00:06.000  ring agent 101 for 20 s",
            "00:06.000  log: agent 101 was busy",
            "00:06.000  log: queue 'sales' (evenly)",
            "00:06.000  log: skip agent 101: missed this call already",
            "00:06.000  log: skip agent 102: on a call",
            "00:06.000  log: skip agent 103: paused",
            "00:06.000  play music 'hold-music' (looped)",
            "00:06.000  log: waiting in queue 'sales' at position 1",
            "01:30.000  « agent 102 is now free",
            "01:30.000  ring agent 102 for 20 s",
            "01:34.000  bridge caller with agent 102",
        ],
    );
    assert_eq!(
        outcome_line(&timeline, 1),
        "answered by agent 102 (queue 'sales')"
    );
}

/// A paused responsible manager is skipped without ringing.
#[test]
fn paused_responsible_manager_is_skipped() {
    let timeline = run_example(&sales_call(
        "responsible = 101",
        "[[agents]]\nid = 101\nstate = \"paused\"\n",
    ));
    assert_timeline(
        &timeline,
        &[
            "00:10.000  log: agent 101 is paused",
            "00:10.000  log: queue 'sales' (evenly)",
        ],
    );
}

/// A responsible user who is not an agent in the settings (e.g. left the company) is ignored.
#[test]
fn responsible_user_unknown_to_routing_is_ignored() {
    let timeline = run_example(&sales_call("responsible = 999", ""));
    assert_never(&timeline, "responsible manager");
}

/// Responsible manager with "voicemail" as the no-answer action: his own mailbox.
#[test]
fn responsible_manager_no_answer_voicemail() {
    let settings = EXAMPLE.replacen(
        "[lines.responsible_manager]        # a known caller rings his responsible manager first\nenabled = true\nrings = 4\nno_answer = { action = \"continue\" }",
        "[lines.responsible_manager]\nenabled = true\nrings = 2\nno_answer = { action = \"voicemail\" }",
        1,
    );
    let timeline = run(&settings, &sales_call("responsible = 101", ""));
    assert_timeline(
        &timeline,
        &[
            "00:10.000  ring agent 101 for 10 s",
            "00:20.000  record voicemail for agent 101",
        ],
    );
}

// ----- IVR -----

fn support_call(digits: &str, rest: &str) -> String {
    format!(
        "{TUESDAY}{rest}\n[[calls]]\ncaller = \"+4917612345678\"\ndialed = \"+493012345679\"\ndigits = [{digits}]\n"
    )
}

/// Support line, key 1 → queue 'support' (in order: Eva 201 first).
#[test]
fn ivr_digit_into_a_queue() {
    let timeline = run_example(&support_call(
        "{ at_seconds = 2, keys = \"1\" }",
        &answers(201, 3),
    ));
    assert_timeline(
        &timeline,
        &[
            "00:00.000  play IVR menu 'support-menu'",
            "00:00.000  collect up to 1 digit(s)",
            "00:02.000  stop prompt",
            "00:02.000  log: menu 'support-main': caller chose 1",
            "00:02.000  log: queue 'support' (in order)",
            "00:02.000  ring agent 201 for 15 s",
            "00:05.000  bridge caller with agent 201",
        ],
    );
}

/// Key 1 into queue 'support' whose members are all paused: nobody can be reached, so the
/// line's backup number takes the call.
#[test]
fn ivr_digit_into_a_queue_whose_members_are_all_paused_uses_the_backup_number() {
    let timeline = run_example(&support_call(
        "{ at_seconds = 2, keys = \"1\" }",
        "[[agents]]\nid = 201\nstate = \"paused\"\n[[agents]]\nid = 202\nstate = \"paused\"\n",
    ));
    assert_timeline(
        &timeline,
        &[
            "00:02.000  log: skip agent 201: paused",
            "00:02.000  log: skip agent 202: paused",
            "00:02.000  log: queue 'support': nobody answered",
            "00:02.000  log: fallback to backup number +4930123459: nobody can be reached",
            "00:02.000  forward to +4930123459 showing +4917612345678",
        ],
    );
}

/// Same, without a backup number: the queue's own no-answer action (overflow to 'everyone').
#[test]
fn ivr_digit_into_all_paused_queue_without_backup_overflows() {
    let settings = EXAMPLE.replacen(
        "ivr = \"support-main\"\nbackup_number = \"+4930123459\"\n",
        "ivr = \"support-main\"\n",
        1,
    );
    let timeline = run(
        &settings,
        &support_call(
            "{ at_seconds = 2, keys = \"1\" }",
            "[[agents]]\nid = 201\nstate = \"paused\"\n[[agents]]\nid = 202\nstate = \"paused\"\n",
        ),
    );
    assert_timeline(
        &timeline,
        &[
            "00:02.000  log: queue 'support': nobody answered",
            "00:02.000  log: queue 'everyone' (all at once)",
            "00:02.000  ring agents 101, 102, 103, 104 for 25 s",
        ],
    );
}

/// An invalid key plays the invalid-choice prompt, then the menu again.
#[test]
fn ivr_invalid_digit_replays_the_menu() {
    let timeline = run_example(&support_call("{ at_seconds = 1, keys = \"7\" }", ""));
    assert_timeline(
        &timeline,
        &[
            "00:01.000  log: menu 'support-main': 7 is not an option",
            "00:01.000  play invalid choice 'invalid-choice'",
            "00:06.000  play IVR menu 'support-menu'",
        ],
    );
}

/// Silence: 5 s prompt + 5 s timeout, repeated twice (max_repeats = 2), then the
/// on_max_repeats action (queue 'support') at exactly 30 s.
#[test]
fn ivr_timeouts_repeat_then_take_the_max_repeats_action() {
    let timeline = run_example(&support_call("", ""));
    assert_timeline(
        &timeline,
        &[
            "00:00.000  play IVR menu 'support-menu'",
            "00:10.000  log: menu 'support-main': no choice in time",
            "00:10.000  play IVR menu 'support-menu'",
            "00:20.000  log: menu 'support-main': no choice in time",
            "00:20.000  play IVR menu 'support-menu'",
            "00:30.000  log: menu 'support-main': no choice in time",
            "00:30.000  log: queue 'support' (in order)",
        ],
    );
}

/// Key 2 opens the billing submenu; `*` goes back to the main menu; 3 rings Eva directly.
#[test]
fn ivr_submenu_back_and_user() {
    let timeline = run_example(&support_call(
        "{ at_seconds = 1, keys = \"2\" }, { at_seconds = 2, keys = \"*\" }, { at_seconds = 3, keys = \"3\" }",
        &answers(201, 2),
    ));
    assert_timeline(
        &timeline,
        &[
            "00:01.000  play IVR menu 'billing-menu'",
            "00:02.000  log: menu 'billing': caller chose *",
            "00:02.000  play IVR menu 'support-menu'",
            "00:03.000  log: menu 'support-main': caller chose 3",
            "00:03.000  ring agent 201 for 20 s",
            "00:05.000  bridge caller with agent 201",
        ],
    );
}

/// Key 0 forwards to an external number; the caller's number is shown.
#[test]
fn ivr_external_number() {
    let timeline = run_example(&support_call("{ at_seconds = 1, keys = \"0\" }", ""));
    assert_timeline(
        &timeline,
        &["00:01.000  forward to +4930987654 showing +4917612345678"],
    );
}

/// Billing, key 1: voicemail in the line's mailbox.
#[test]
fn ivr_voicemail() {
    let timeline = run_example(&support_call(
        "{ at_seconds = 1, keys = \"2\" }, { at_seconds = 2, keys = \"1\" }",
        "",
    ));
    assert_timeline(
        &timeline,
        &["00:02.000  record voicemail for line 'Support'"],
    );
}

/// Key 9 repeats the menu (and does not count as a failure).
#[test]
fn ivr_repeat() {
    let timeline = run_example(&support_call("{ at_seconds = 1, keys = \"9\" }", ""));
    assert_timeline(
        &timeline,
        &[
            "00:01.000  log: menu 'support-main': caller chose 9",
            "00:01.000  play IVR menu 'support-menu'",
        ],
    );
}

// ----- pickup, hang-ups, fallbacks, caller ID -----

/// Anna's phone rings for a sales call; Ben (same queue group) picks it up at 00:15.
#[test]
fn pickup_by_a_colleague_of_the_same_group() {
    let timeline = run_example(&format!(
        "{TUESDAY}[[pickups]]\nat_seconds = 15\nagent = 102\n\n[[calls]]\ncaller = \"+4917612345678\"\ndialed = \"+493012345678\"\n"
    ));
    assert_timeline(
        &timeline,
        &[
            "00:10.000  ring agent 101 for 20 s",
            "00:15.000  « agent 102 asks to pick up",
            "00:15.000  log: agent 102 picked the call up",
            "00:15.000  cancel ringing 101",
            "00:15.000  bridge caller with agent 102",
        ],
    );
    assert_eq!(
        outcome_line(&timeline, 1),
        "answered by agent 102 (queue 'sales')"
    );
}

/// Eva (support) is in no group with Anna, so she cannot pick up Anna's ringing sales call.
#[test]
fn pickup_from_outside_the_group_is_ignored() {
    let settings = EXAMPLE.replacen(
        "members = [101, 102, 103, 104, 201, 202]",
        "members = [104, 202]",
        1,
    );
    let timeline = run(
        &settings,
        &format!("{TUESDAY}[[pickups]]\nat_seconds = 15\nagent = 201\n\n[[calls]]\ncaller = \"+4917612345678\"\ndialed = \"+493012345678\"\n"),
    );
    assert_never(&timeline, "picked the call up");
    assert_timeline(&timeline, &["00:30.000  ring agent 102 for 20 s"]);
}

/// The caller hangs up during the greeting: one terminal state, "caller hung up".
#[test]
fn caller_hangs_up_during_greeting() {
    let timeline = run_example(&sales_call("hang_up_at_seconds = 7", ""));
    assert_eq!(outcome_line(&timeline, 1), "caller hung up");
    assert_eq!(timeline.to_text().matches("log: outcome:").count(), 1);
}

/// The caller hangs up while an agent's phone rings: the ringing is cancelled.
#[test]
fn caller_hangs_up_while_ringing_cancels_the_ring() {
    let timeline = run_example(&sales_call("hang_up_at_seconds = 12", ""));
    assert_timeline(
        &timeline,
        &[
            "00:12.000  « caller hung up",
            "00:12.000  cancel ringing 101",
            "00:12.000  log: outcome: caller hung up",
        ],
    );
}

/// A number that matches no line goes to the global backup number.
#[test]
fn unknown_dialed_number_goes_to_the_global_backup_number() {
    let timeline = run_example(&format!(
        "{TUESDAY}[[calls]]\ncaller = \"+4917612345678\"\ndialed = \"+491111111\"\n"
    ));
    assert_timeline(
        &timeline,
        &[
            "00:00.000  log: no line has the number +491111111",
            "00:00.000  log: fallback to backup number +4930123450: no route configured",
            "00:00.000  forward to +4930123450 showing +4917612345678",
        ],
    );
}

/// A carrier forwarded the call from our Sales number: the Diversion header finds the line.
#[test]
fn diversion_header_identifies_the_line() {
    let timeline = run_example(&format!(
        "{TUESDAY}[[calls]]\ncaller = \"+4917612345678\"\ndialed = \"+4930999999\"\ndiversion = \"+493012345678\"\n"
    ));
    assert_timeline(&timeline, &["00:00.000  log: call from +4917612345678 on line 'Sales' (+493012345678), Tue 2026-11-24 10:00 Europe/Berlin"]);
}

/// A dialed number in national format without `+` still matches its line.
#[test]
fn dialed_number_without_plus_matches() {
    let timeline = run_example(&format!(
        "{TUESDAY}[[calls]]\ncaller = \"+4917612345678\"\ndialed = \"493012345678\"\n"
    ));
    assert_timeline(
        &timeline,
        &["00:00.000  play recording notice 'recording-notice'"],
    );
}

/// An anonymous caller forwarded out of hours is presented with the line's number.
#[test]
fn anonymous_caller_is_forwarded_with_the_line_number() {
    let timeline = run_example(
        "start = \"2026-11-21T15:00:00\"\ntime_zone = \"Europe/Berlin\"\n[[calls]]\ncaller = \"anonymous\"\ndialed = \"+493012345679\"\n",
    );
    assert_timeline(
        &timeline,
        &["00:00.000  forward to +4915100000999 showing +493012345679"],
    );
}

/// With `forward_caller_id = "line"`, forwards always show the line's number.
#[test]
fn caller_id_substitution_on_forward() {
    let settings = EXAMPLE.replacen(
        "forward_caller_id = \"caller\"",
        "forward_caller_id = \"line\"",
        1,
    );
    let timeline = run(
        &settings,
        "start = \"2026-11-21T15:00:00\"\ntime_zone = \"Europe/Berlin\"\n[[calls]]\ncaller = \"+4917612345678\"\ndialed = \"+493012345679\"\n",
    );
    assert_timeline(
        &timeline,
        &["00:00.000  forward to +4915100000999 showing +493012345679"],
    );
}

/// A line with nothing to route to and no backup number: the engine hangs up ("no route").
#[test]
fn line_without_any_route_hangs_up() {
    let settings = "[[lines]]\nnumber = \"+493000000001\"\nname = \"Empty\"\n";
    let timeline = run(settings, "start = \"2026-11-24T10:00:00\"\n[[calls]]\ncaller = \"+4917612345678\"\ndialed = \"+493000000001\"\n");
    assert_timeline(&timeline, &["00:00.000  hang up"]);
    assert_eq!(outcome_line(&timeline, 1), "rejected (no route)");
}

/// The same line with a backup number forwards there instead.
#[test]
fn line_without_any_route_uses_its_backup_number() {
    let settings = "[[lines]]\nnumber = \"+493000000001\"\nname = \"Empty\"\nbackup_number = \"+493000000999\"\n";
    let timeline = run(settings, "start = \"2026-11-24T10:00:00\"\n[[calls]]\ncaller = \"+4917612345678\"\ndialed = \"+493000000001\"\n");
    assert_timeline(
        &timeline,
        &["00:00.000  log: fallback to backup number +493000000999: no route configured"],
    );
}
