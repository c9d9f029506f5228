//! Queue groups: strategies, ring times, skipping, no-answer actions, waiting in the queue.
//! Line 'Main' (+493000000001) goes straight to queue 'q'; agents are SIP phones 1..n unless
//! the test says otherwise. One ring is 5 seconds.

mod common;
use common::*;

const VOICEMAIL: &str = "{ action = \"voicemail\" }";

fn one_call(rest: &str) -> String {
    format!("start = \"2026-11-24T10:00:00\"\n{rest}\n[[calls]]\ncaller = \"+4917612345678\"\ndialed = \"+493000000001\"\n")
}

fn answers(agent: i64, after: u32) -> String {
    format!("[[agents]]\nid = {agent}\nbehaviour = \"answer\"\nanswer_after_seconds = {after}\n")
}

fn behaves(agent: i64, behaviour: &str) -> String {
    format!("[[agents]]\nid = {agent}\nbehaviour = \"{behaviour}\"\n")
}

/// In order: 1 and 2 do not answer, 3 answers. 3 rings = 15 s each, so the offers are at
/// exactly 0, 15 and 30 seconds.
#[test]
fn in_order_moves_on_after_rings_times_five_seconds() {
    let settings = queue_settings("in_order", &[1, 2, 3], 3, VOICEMAIL, "");
    let timeline = run(&settings, &one_call(&answers(3, 4)));
    assert_timeline(
        &timeline,
        &[
            "00:00.000  log: queue 'q' (in order)",
            "00:00.000  ring agent 1 for 15 s",
            "00:15.000  cancel ringing 1",
            "00:15.000  log: agent 1 did not answer",
            "00:15.000  ring agent 2 for 15 s",
            "00:30.000  ring agent 3 for 15 s",
            "00:34.000  bridge caller with agent 3",
        ],
    );
}

/// The ring timeout is exactly rings × 5 s: 7 rings → 35 s, the next offer at 00:35.000.
#[test]
fn ring_timeout_is_exactly_rings_times_five_seconds() {
    let settings = queue_settings("in_order", &[1, 2], 7, VOICEMAIL, "");
    let timeline = run(&settings, &one_call(""));
    assert_timeline(
        &timeline,
        &[
            "00:00.000  ring agent 1 for 35 s",
            "00:35.000  ring agent 2 for 35 s",
            "01:10.000  record voicemail for queue 'q'",
        ],
    );
    // And the engine's timer is due at exactly 35 s.
    let timer = timeline
        .actions()
        .find_map(|(_, _, action)| match action {
            routing::Action::StartTimer { at, .. } => Some(*at),
            _ => None,
        })
        .expect("a ring timer");
    assert_eq!((timer - timeline.start).num_milliseconds(), 35_000);
}

/// In order always starts from the top: the second call rings agent 1 first again.
#[test]
fn in_order_always_starts_from_the_first_member() {
    let settings = queue_settings("in_order", &[1, 2, 3], 2, VOICEMAIL, "");
    let scenario = format!(
        "start = \"2026-11-24T10:00:00\"\n{}\n{}\n\
         [[calls]]\ncaller = \"+49111\"\ndialed = \"+493000000001\"\ntalk_seconds = 10\n\
         [[calls]]\nat_seconds = 60\ncaller = \"+49222\"\ndialed = \"+493000000001\"\n",
        answers(1, 1),
        answers(2, 1)
    );
    let timeline = run(&settings, &scenario);
    assert_timeline(
        &timeline,
        &[
            "00:00.000  [call 1] ring agent 1 for 10 s",
            "01:00.000  [call 2] ring agent 1 for 10 s",
        ],
    );
}

/// Evenly: with everyone answering, three calls go to 1, 2 and 3 in turn, and the fourth to
/// 1 again (the member offered a call longest ago goes first).
#[test]
fn evenly_rotates_through_the_members() {
    let settings = queue_settings("evenly", &[1, 2, 3], 2, VOICEMAIL, "");
    let mut scenario = format!(
        "start = \"2026-11-24T10:00:00\"\n{}{}{}",
        answers(1, 1),
        answers(2, 1),
        answers(3, 1)
    );
    for index in 0..4 {
        scenario.push_str(&format!(
            "[[calls]]\nat_seconds = {}\ncaller = \"+4911{index}\"\ndialed = \"+493000000001\"\ntalk_seconds = 5\n",
            index * 60
        ));
    }
    let timeline = run(&settings, &scenario);
    assert_timeline(
        &timeline,
        &[
            "00:01.000  [call 1] bridge caller with agent 1",
            "01:01.000  [call 2] bridge caller with agent 2",
            "02:01.000  [call 3] bridge caller with agent 3",
            "03:01.000  [call 4] bridge caller with agent 1",
        ],
    );
}

/// Evenly: a member who was offered and missed goes to the end. Call 1: agent 1 misses, 2
/// answers. Call 2 goes to 3 (never offered), then 1, then 2.
#[test]
fn evenly_puts_a_member_who_missed_at_the_end() {
    let settings = queue_settings("evenly", &[1, 2, 3], 2, VOICEMAIL, "");
    let scenario = format!(
        "start = \"2026-11-24T10:00:00\"\n{}\n\
         [[calls]]\ncaller = \"+49111\"\ndialed = \"+493000000001\"\ntalk_seconds = 5\n\
         [[calls]]\nat_seconds = 60\ncaller = \"+49222\"\ndialed = \"+493000000001\"\n",
        answers(2, 1)
    );
    let timeline = run(&settings, &scenario);
    assert_timeline(
        &timeline,
        &[
            "00:00.000  [call 1] ring agent 1 for 10 s",
            "00:10.000  [call 1] ring agent 2 for 10 s",
            "01:00.000  [call 2] ring agent 3 for 10 s",
            "01:10.000  [call 2] ring agent 1 for 10 s",
            "01:20.000  [call 2] ring agent 2 for 10 s",
        ],
    );
}

fn devices(ids: std::ops::RangeInclusive<i64>, device: &str) -> String {
    ids.map(|id| format!("[[agents]]\nid = {id}\nname = \"Agent {id}\"\ndevice = \"{device}\"\n\n"))
        .collect()
}

fn all_at_once_settings(agents: &str, members: &str) -> String {
    format!(
        "{agents}[[lines]]\nnumber = \"+493000000001\"\nname = \"Main\"\nqueue = \"q\"\n\n\
         [[queues]]\nname = \"q\"\nstrategy = \"all_at_once\"\nmembers = [{members}]\nrings = 4\n"
    )
}

/// All at once with 12 SIP phones: the first offer rings 10 (the cap), the next offer the
/// remaining 2 after 20 s.
#[test]
fn all_at_once_caps_sip_phones_at_ten_per_offer() {
    let members: Vec<String> = (1..=12).map(|id| id.to_string()).collect();
    let settings = all_at_once_settings(&devices(1..=12, "sip_phone"), &members.join(", "));
    let timeline = run(&settings, &one_call(""));
    assert_timeline(
        &timeline,
        &[
            "00:00.000  ring agents 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 for 20 s",
            "00:20.000  cancel ringing 1, 2, 3, 4, 5, 6, 7, 8, 9, 10",
            "00:20.000  ring agents 11, 12 for 20 s",
            "00:40.000  record voicemail for queue 'q'",
        ],
    );
}

/// Browsers and apps are not capped: 12 browsers ring in one offer.
#[test]
fn all_at_once_does_not_cap_browsers_and_apps() {
    let members: Vec<String> = (1..=12).map(|id| id.to_string()).collect();
    let agents = devices(1..=6, "browser") + &devices(7..=12, "app");
    let timeline = run(
        &all_at_once_settings(&agents, &members.join(", ")),
        &one_call(""),
    );
    assert_timeline(
        &timeline,
        &["00:00.000  ring agents 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 for 20 s"],
    );
    assert_eq!(timeline.to_text().matches("ring agents").count(), 1);
}

/// 11 SIP phones and 2 browsers: the first offer has 10 SIP phones plus both browsers; the
/// eleventh SIP phone rings in the next offer.
#[test]
fn all_at_once_mixed_devices() {
    let members: Vec<String> = (1..=13).map(|id| id.to_string()).collect();
    let agents = devices(1..=11, "sip_phone") + &devices(12..=13, "browser");
    let timeline = run(
        &all_at_once_settings(&agents, &members.join(", ")),
        &one_call(""),
    );
    assert_timeline(
        &timeline,
        &[
            "00:00.000  ring agents 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13 for 20 s",
            "00:20.000  ring agent 11 for 20 s",
        ],
    );
}

/// All at once: the first to answer gets the call, the others stop ringing.
#[test]
fn all_at_once_first_answer_wins() {
    let settings = queue_settings("all_at_once", &[1, 2, 3], 4, VOICEMAIL, "");
    let timeline = run(&settings, &one_call(&(answers(2, 3) + &answers(3, 5))));
    assert_timeline(
        &timeline,
        &[
            "00:00.000  ring agents 1, 2, 3 for 20 s",
            "00:03.000  cancel ringing 1, 3",
            "00:03.000  bridge caller with agent 2",
        ],
    );
    assert_never(&timeline, "agent 3 answered");
}

/// Paused members and members on a call are skipped, with the reason in the call record.
#[test]
fn paused_and_busy_members_are_skipped() {
    let settings = queue_settings("in_order", &[1, 2, 3], 2, VOICEMAIL, "");
    let timeline = run(
        &settings,
        &one_call(&format!(
            "[[agents]]\nid = 1\nstate = \"paused\"\n[[agents]]\nid = 2\nstate = \"on_call\"\n{}",
            answers(3, 1)
        )),
    );
    assert_timeline(
        &timeline,
        &[
            "00:00.000  log: skip agent 1: paused",
            "00:00.000  log: skip agent 2: on a call",
            "00:00.000  ring agent 3 for 10 s",
        ],
    );
}

/// Off-shift members are skipped by default...
#[test]
fn off_shift_members_are_skipped_by_default() {
    let settings = queue_settings("in_order", &[1, 2], 2, VOICEMAIL, "");
    let timeline = run(
        &settings,
        &one_call("[[agents]]\nid = 1\nstate = \"off_shift\"\n"),
    );
    assert_timeline(
        &timeline,
        &[
            "00:00.000  log: skip agent 1: off shift",
            "00:00.000  ring agent 2 for 10 s",
        ],
    );
}

/// ...and rung when the queue says `skip_off_shift = false`.
#[test]
fn off_shift_members_ring_when_the_option_is_off() {
    let settings = queue_settings("in_order", &[1, 2], 2, VOICEMAIL, "").replacen(
        "rings = 2\n",
        "rings = 2\nskip_off_shift = false\n",
        1,
    );
    let timeline = run(
        &settings,
        &one_call("[[agents]]\nid = 1\nstate = \"off_shift\"\n"),
    );
    assert_timeline(&timeline, &["00:00.000  ring agent 1 for 10 s"]);
}

/// A busy answer moves on at once instead of waiting the ring time.
#[test]
fn busy_member_moves_on_immediately() {
    let settings = queue_settings("in_order", &[1, 2], 3, VOICEMAIL, "");
    let timeline = run(&settings, &one_call(&behaves(1, "busy")));
    assert_timeline(
        &timeline,
        &[
            "00:00.000  log: agent 1 was busy",
            "00:00.000  ring agent 2 for 15 s",
        ],
    );
}

/// A member who rejects moves the call on after his rejection (1 s in the simulator).
#[test]
fn rejecting_member_moves_on_after_rejecting() {
    let settings = queue_settings("in_order", &[1, 2], 3, VOICEMAIL, "");
    let timeline = run(&settings, &one_call(&behaves(1, "reject")));
    assert_timeline(
        &timeline,
        &[
            "00:01.000  log: agent 1 rejected the call",
            "00:01.000  ring agent 2 for 15 s",
        ],
    );
}

/// Nobody reachable (every phone unregistered) with a backup number on the line: the backup
/// number takes the call rather than the no-answer action.
#[test]
fn nobody_reachable_goes_to_the_backup_number() {
    let settings = queue_settings("in_order", &[1, 2], 3, VOICEMAIL, "").replacen(
        "queue = \"q\"\n",
        "queue = \"q\"\nbackup_number = \"+493000000999\"\n",
        1,
    );
    let timeline = run(
        &settings,
        &one_call(&(behaves(1, "unreachable") + &behaves(2, "unreachable"))),
    );
    assert_timeline(
        &timeline,
        &["00:00.000  log: fallback to backup number +493000000999: nobody can be reached"],
    );
}

/// Phones that rang but were not answered are not "unreachable": the no-answer action applies
/// even when the line has a backup number.
#[test]
fn unanswered_queue_takes_the_no_answer_action_not_the_backup() {
    let settings = queue_settings("in_order", &[1], 1, VOICEMAIL, "").replacen(
        "queue = \"q\"\n",
        "queue = \"q\"\nbackup_number = \"+493000000999\"\n",
        1,
    );
    let timeline = run(&settings, &one_call(""));
    assert_timeline(&timeline, &["00:05.000  record voicemail for queue 'q'"]);
}

/// No answer → forward to the member's mobile (the first member, in order, who has one).
#[test]
fn no_answer_forwards_to_the_members_mobile() {
    let settings = queue_settings(
        "in_order",
        &[1, 2],
        1,
        "{ action = \"forward_to_member_mobile\" }",
        "",
    );
    let timeline = run(&settings, &one_call(""));
    assert_timeline(
        &timeline,
        &["00:10.000  forward to +4915100000001 showing +4917612345678"],
    );
}

/// No answer → forward to a number.
#[test]
fn no_answer_forwards_to_a_number() {
    let settings = queue_settings(
        "in_order",
        &[1],
        1,
        "{ action = \"forward\", number = \"+4930555\" }",
        "",
    );
    let timeline = run(&settings, &one_call(""));
    assert_timeline(
        &timeline,
        &["00:05.000  forward to +4930555 showing +4917612345678"],
    );
}

/// No answer → hang up.
#[test]
fn no_answer_hangs_up() {
    let settings = queue_settings("in_order", &[1], 1, "{ action = \"hang_up\" }", "");
    let timeline = run(&settings, &one_call(""));
    assert_timeline(&timeline, &["00:05.000  hang up"]);
    assert_eq!(outcome_line(&timeline, 1), "rejected (nobody answered)");
}

/// No answer → another queue, which rings its own members.
#[test]
fn no_answer_overflows_into_another_queue() {
    let settings = queue_settings(
        "in_order",
        &[1, 2],
        1,
        "{ action = \"queue\", queue = \"second\" }",
        "[[agents]]\nid = 9\nname = \"Nine\"\n\n[[queues]]\nname = \"second\"\nstrategy = \"in_order\"\nmembers = [9]\nrings = 2\n",
    );
    let timeline = run(&settings, &one_call(&answers(9, 1)));
    assert_timeline(
        &timeline,
        &[
            "00:10.000  log: queue 'second' (in order)",
            "00:10.000  ring agent 9 for 10 s",
            "00:11.000  bridge caller with agent 9",
        ],
    );
}

/// Two queues overflowing into each other stop after a few hops and use the fallback.
#[test]
fn queue_overflow_loop_stops_at_the_fallback() {
    let settings = queue_settings(
        "in_order",
        &[1],
        1,
        "{ action = \"queue\", queue = \"second\" }",
        "[[agents]]\nid = 9\nname = \"Nine\"\n\n[[queues]]\nname = \"second\"\nstrategy = \"in_order\"\nmembers = [9]\nrings = 1\nno_answer = { action = \"queue\", queue = \"q\" }\n",
    );
    let timeline = run(&settings, &one_call(""));
    assert_timeline(
        &timeline,
        &[
            "00:05.000  log: queue 'second' (in order)",
            "00:10.000  hang up",
        ],
    );
    assert_eq!(outcome_line(&timeline, 1), "rejected (no route)");
    assert_eq!(
        timeline.to_text().matches("log: queue 'second' (").count(),
        1
    );
    assert_eq!(timeline.to_text().matches("log: queue 'q' (").count(), 1);
}

fn waiting_settings(extra_no_answer: &str) -> String {
    queue_settings(
        "in_order",
        &[1, 2],
        2,
        &format!("{{ action = \"wait_in_queue\", music = \"hold\"{extra_no_answer} }}"),
        "",
    )
}

/// Both members are on calls. Caller A (0 s) and caller B (10 s) wait; agent 1 becomes free
/// at 60 s and takes A; agent 2 becomes free at 70 s and takes B: first come, first served.
#[test]
fn wait_in_queue_serves_callers_first_come_first_served() {
    let scenario = format!(
        "start = \"2026-11-24T10:00:00\"\n{}{}\
         [[agents]]\nid = 1\nstate = \"on_call\"\nbehaviour = \"answer\"\nanswer_after_seconds = 1\n\
         [[agents]]\nid = 2\nstate = \"on_call\"\nbehaviour = \"answer\"\nanswer_after_seconds = 1\n\
         [[agent_events]]\nat_seconds = 60\nagent = 1\nstate = \"free\"\n\
         [[agent_events]]\nat_seconds = 70\nagent = 2\nstate = \"free\"\n\
         [[calls]]\ncaller = \"+49111\"\ndialed = \"+493000000001\"\n\
         [[calls]]\nat_seconds = 10\ncaller = \"+49222\"\ndialed = \"+493000000001\"\n",
        "", ""
    );
    let timeline = run(&waiting_settings(""), &scenario);
    assert_timeline(
        &timeline,
        &[
            "00:00.000  [call 1] log: waiting in queue 'q' at position 1",
            "00:10.000  [call 2] log: waiting in queue 'q' at position 2",
            "01:00.000  [call 1] ring agent 1 for 10 s",
            "01:01.000  [call 1] bridge caller with agent 1",
            "01:10.000  [call 2] ring agent 2 for 10 s",
            "01:11.000  [call 2] bridge caller with agent 2",
        ],
    );
}

/// One member: caller B waits behind A; when the member's call with A ends, B is offered.
#[test]
fn wait_in_queue_next_caller_gets_the_member_after_his_call() {
    let settings = queue_settings(
        "in_order",
        &[1],
        2,
        "{ action = \"wait_in_queue\", music = \"hold\" }",
        "",
    );
    let scenario = "start = \"2026-11-24T10:00:00\"\n\
         [[agents]]\nid = 1\nbehaviour = \"answer\"\nanswer_after_seconds = 1\ntalk_seconds = 30\n\
         [[calls]]\ncaller = \"+49111\"\ndialed = \"+493000000001\"\n\
         [[calls]]\nat_seconds = 5\ncaller = \"+49222\"\ndialed = \"+493000000001\"\n";
    let timeline = run(&settings, scenario);
    assert_timeline(
        &timeline,
        &[
            "00:01.000  [call 1] bridge caller with agent 1",
            "00:05.000  [call 2] log: skip agent 1: on a call",
            "00:05.000  [call 2] play music 'hold' (looped)",
            "00:31.000  [call 1] « caller hung up",
            "00:31.000  [call 2] ring agent 1 for 10 s",
            "00:32.000  [call 2] bridge caller with agent 1",
        ],
    );
}

/// Waiting has a limit: after max_wait_seconds the `then` action (voicemail by default).
#[test]
fn wait_in_queue_gives_up_after_max_wait() {
    let timeline = run(
        &waiting_settings(", max_wait_seconds = 120"),
        &one_call(
            "[[agents]]\nid = 1\nstate = \"paused\"\n[[agents]]\nid = 2\nstate = \"paused\"\n",
        ),
    );
    assert_timeline(
        &timeline,
        &[
            "00:00.000  play music 'hold' (looped)",
            "02:00.000  log: waited too long in queue 'q'",
            "02:00.000  record voicemail for queue 'q'",
        ],
    );
}

/// `then` can be any non-waiting action, e.g. forward to a number.
#[test]
fn wait_in_queue_then_forwards() {
    let timeline = run(
        &waiting_settings(
            ", max_wait_seconds = 60, then = { action = \"forward\", number = \"+4930777\" }",
        ),
        &one_call(
            "[[agents]]\nid = 1\nstate = \"paused\"\n[[agents]]\nid = 2\nstate = \"paused\"\n",
        ),
    );
    assert_timeline(
        &timeline,
        &["01:00.000  forward to +4930777 showing +4917612345678"],
    );
}

/// A waiting caller who hangs up leaves the line; the next caller is served first.
#[test]
fn waiting_caller_who_hangs_up_leaves_the_queue() {
    let scenario = "start = \"2026-11-24T10:00:00\"\n\
         [[agents]]\nid = 1\nstate = \"on_call\"\nbehaviour = \"answer\"\nanswer_after_seconds = 1\n\
         [[agents]]\nid = 2\nstate = \"paused\"\n\
         [[agent_events]]\nat_seconds = 60\nagent = 1\nstate = \"free\"\n\
         [[calls]]\ncaller = \"+49111\"\ndialed = \"+493000000001\"\nhang_up_at_seconds = 30\n\
         [[calls]]\nat_seconds = 10\ncaller = \"+49222\"\ndialed = \"+493000000001\"\n";
    let timeline = run(&waiting_settings(""), scenario);
    assert_timeline(
        &timeline,
        &[
            "00:30.000  [call 1] log: outcome: caller hung up",
            "01:00.000  [call 2] ring agent 1 for 10 s",
        ],
    );
    assert_eq!(
        outcome_line(&timeline, 2),
        "answered by agent 1 (queue 'q')"
    );
}

/// A member already ringing for one call is not rung for a second call at the same time.
#[test]
fn member_ringing_for_another_call_is_skipped() {
    let settings = queue_settings("in_order", &[1, 2], 4, VOICEMAIL, "");
    let scenario = "start = \"2026-11-24T10:00:00\"\n\
         [[calls]]\ncaller = \"+49111\"\ndialed = \"+493000000001\"\n\
         [[calls]]\nat_seconds = 2\ncaller = \"+49222\"\ndialed = \"+493000000001\"\n";
    let timeline = run(&settings, scenario);
    assert_timeline(
        &timeline,
        &[
            "00:00.000  [call 1] ring agent 1 for 20 s",
            "00:02.000  [call 2] log: skip agent 1: ringing for another call",
            "00:02.000  [call 2] ring agent 2 for 20 s",
        ],
    );
}

/// While a member talks on an answered call he is skipped; after the hang-up he is free.
#[test]
fn member_is_busy_until_his_answered_call_ends() {
    let settings = queue_settings("in_order", &[1, 2], 2, VOICEMAIL, "");
    let scenario = format!(
        "start = \"2026-11-24T10:00:00\"\n{}\
         [[calls]]\ncaller = \"+49111\"\ndialed = \"+493000000001\"\ntalk_seconds = 20\n\
         [[calls]]\nat_seconds = 10\ncaller = \"+49222\"\ndialed = \"+493000000001\"\nhang_up_at_seconds = 5\n\
         [[calls]]\nat_seconds = 30\ncaller = \"+49333\"\ndialed = \"+493000000001\"\n",
        answers(1, 1)
    );
    let timeline = run(&settings, &scenario);
    assert_timeline(
        &timeline,
        &[
            "00:10.000  [call 2] log: skip agent 1: on a call",
            "00:30.000  [call 3] ring agent 1 for 10 s",
        ],
    );
}
