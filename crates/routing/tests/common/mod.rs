//! Helpers shared by the scenario tests.
#![allow(dead_code, unreachable_pub)]

use routing::{run_scenario, Timeline};

/// The documented example settings (`examples/ringbase.toml`).
pub const EXAMPLE: &str = include_str!("../../examples/ringbase.toml");

/// Runs a scenario against settings; panics with the error so a broken fixture is obvious.
pub fn run(settings: &str, scenario: &str) -> Timeline {
    match run_scenario(settings, scenario) {
        Ok(timeline) => timeline,
        Err(error) => panic!("scenario failed: {error}"),
    }
}

/// Runs a scenario against the example settings.
pub fn run_example(scenario: &str) -> Timeline {
    run(EXAMPLE, scenario)
}

/// Asserts that `expected` lines occur in the timeline text in this order (other lines may
/// come between them). Prints the whole timeline when they do not.
pub fn assert_timeline(timeline: &Timeline, expected: &[&str]) {
    let text = timeline.to_text();
    let mut lines = text.lines();
    for wanted in expected {
        if !lines.any(|line| line.trim_end() == *wanted) {
            panic!("timeline is missing (in order) the line\n  {wanted}\n--- timeline ---\n{text}");
        }
    }
}

/// Asserts that no line of the timeline contains `needle`.
pub fn assert_never(timeline: &Timeline, needle: &str) {
    let text = timeline.to_text();
    if let Some(line) = text.lines().find(|line| line.contains(needle)) {
        panic!("timeline unexpectedly has\n  {line}\n--- timeline ---\n{text}");
    }
}

/// The final line for call 1, e.g. `call 1: voicemail for line 'Sales'`.
pub fn outcome_line(timeline: &Timeline, call: u64) -> String {
    let prefix = format!("call {call}: ");
    timeline
        .to_text()
        .lines()
        .find(|line| line.starts_with(&prefix))
        .map(|line| line[prefix.len()..].to_owned())
        .unwrap_or_default()
}

/// A compact set of settings for queue tests: `agents` SIP phones with ids 1..=n unless
/// `devices` says otherwise, one line "Main" routed to queue "q".
pub fn queue_settings(
    strategy: &str,
    members: &[i64],
    rings: u32,
    no_answer: &str,
    extra: &str,
) -> String {
    let mut text = String::new();
    for id in members {
        text.push_str(&format!(
            "[[agents]]\nid = {id}\nname = \"Agent {id}\"\nextension = \"{}\"\nmobile = \"+49151000{id:05}\"\n\n",
            100 + id
        ));
    }
    let member_list: Vec<String> = members.iter().map(ToString::to_string).collect();
    text.push_str(&format!(
        "[[lines]]\nnumber = \"+493000000001\"\nname = \"Main\"\nqueue = \"q\"\n\n\
         [[queues]]\nname = \"q\"\nstrategy = \"{strategy}\"\nmembers = [{}]\nrings = {rings}\nno_answer = {no_answer}\n\n{extra}",
        member_list.join(", ")
    ));
    text
}

/// A scenario on line "Main" (Tuesday 10:00 UTC) with extra TOML appended.
pub fn main_line_scenario(extra: &str) -> String {
    format!("start = \"2026-11-24T10:00:00\"\n{extra}\n")
}
