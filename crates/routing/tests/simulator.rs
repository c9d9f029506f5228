//! The simulator's formats: scenario errors, the text timeline and JSON lines.

mod common;
use common::*;

/// Every example scenario runs against the example settings and every call ends.
#[test]
fn example_scenarios_run() {
    let directory = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/scenarios");
    let mut count = 0;
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        let scenario = std::fs::read_to_string(&path).unwrap();
        let timeline = run_example(&scenario);
        assert!(!timeline.entries.is_empty(), "{}", path.display());
        assert!(
            timeline.calls.iter().all(|call| call.outcome.is_some()),
            "{}",
            path.display()
        );
        count += 1;
    }
    assert!(count >= 4);
}

/// Text lines are `mm:ss.mmm  what happened`; the outcome closes the text.
#[test]
fn text_timeline_format() {
    let timeline = run_example(include_str!("../examples/scenarios/saturday-sales.toml"));
    assert_eq!(
        timeline.to_text(),
        "00:00.000  « call from +4917612345678 to +493012345678\n\
         00:00.000  log: call from +4917612345678 on line 'Sales' (+493012345678), Sat 2026-11-21 10:00 Europe/Berlin\n\
         00:00.000  log: closed: outside working hours\n\
         00:00.000  play out-of-hours message 'sales-closed'\n\
         00:04.000  « prompt finished\n\
         00:04.000  record voicemail for line 'Sales'\n\
         00:04.000  log: outcome: voicemail for line 'Sales'\n\
         call 1: voicemail for line 'Sales'\n"
    );
}

/// The verbose text also shows the timers the engine starts.
#[test]
fn verbose_text_shows_timers() {
    let timeline = run_example(include_str!("../examples/scenarios/weekday-extension.toml"));
    assert!(!timeline.to_text().contains("start timer"));
    assert!(timeline.to_text_verbose().contains("start timer #"));
}

/// JSON lines: one object per entry with `at_ms`, `type` and the action's fields.
#[test]
fn json_lines_are_one_object_per_entry() {
    let timeline = run_example(include_str!("../examples/scenarios/weekday-extension.toml"));
    let lines: Vec<serde_json::Value> = timeline
        .to_json_lines()
        .lines()
        .map(|line| serde_json::from_str(line).expect("valid JSON"))
        .collect();
    assert_eq!(lines.len(), timeline.entries.len());
    let ring = lines
        .iter()
        .find(|line| line["action"] == "ring")
        .expect("a ring action");
    assert_eq!(ring["type"], "action");
    assert_eq!(ring["at_ms"], 5000);
    assert_eq!(ring["call"], 1);
    assert_eq!(ring["ring_seconds"], 20);
    assert_eq!(ring["agents"][0]["agent"], 102);
}

/// A scenario typo names its line.
#[test]
fn scenario_typo_names_the_line() {
    let error = routing::run_scenario(
        EXAMPLE,
        "start = \"2026-11-24T10:00:00\"\n\n[[calls]]\ncaler = \"+49\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.starts_with("scenario: line 4, column 1: calls: unknown field \"caler\""),
        "{error}"
    );
}

/// Settings errors come through the runner too.
#[test]
fn settings_error_is_reported_by_the_runner() {
    let error = routing::run_scenario(
        "[[queues]]\nname = 1\n",
        "start = \"2026-11-24T10:00:00\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(error.starts_with("settings: line 2"), "{error}");
}

/// A scenario naming an agent the settings do not have is refused.
#[test]
fn scenario_with_unknown_agent_is_refused() {
    let error = routing::run_scenario(
        EXAMPLE,
        "start = \"2026-11-24T10:00:00\"\n[[agents]]\nid = 7\n",
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("agent 7 is not in the settings"), "{error}");
}

/// The same scenario gives the same timeline every time (determinism).
#[test]
fn simulation_is_deterministic() {
    let scenario = include_str!("../examples/scenarios/queue-wait.toml");
    assert_eq!(run_example(scenario), run_example(scenario));
}
