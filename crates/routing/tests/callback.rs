//! Requested callbacks: the agent first, then the customer; retries at a set interval.
//! Example settings: agent rings 30 s, customer 45 s, 3 retries every 300 s, line 'Sales'.

mod common;
use common::*;

fn callback_scenario(agent_behaviour: &str, customer: &str) -> String {
    format!(
        "start = \"2026-11-24T15:00:00\"\ntime_zone = \"Europe/Berlin\"\n\
         [[agents]]\nid = 101\n{agent_behaviour}\n\
         [callback]\nagent = 101\ncustomer = \"+4917612345678\"\ncustomer_behaviour = [{customer}]\ncustomer_answer_after_seconds = 6\n"
    )
}

/// Anna answers, the customer answers: connected on the first attempt, showing the Sales number.
#[test]
fn callback_connects_agent_then_customer() {
    let timeline = run_example(&callback_scenario(
        "behaviour = \"answer\"\nanswer_after_seconds = 2",
        "\"answer\"",
    ));
    assert_timeline(
        &timeline,
        &[
            "00:00.000  callback attempt 1: ring agent 101 for 30 s",
            "00:02.000  « agent 101 answered",
            "00:02.000  dial customer +4917612345678 showing +493012345678 for 45 s",
            "00:08.000  « customer answered",
            "00:08.000  bridge agent with customer",
        ],
    );
    assert_eq!(
        timeline.callback,
        Some(routing::CallbackOutcome::Connected { attempt: 1 })
    );
}

/// The customer does not answer, then is busy, then answers: retries 300 s after each failure.
#[test]
fn callback_retries_at_the_interval_until_the_customer_answers() {
    let timeline = run_example(include_str!("../examples/scenarios/callback.toml"));
    assert_timeline(
        &timeline,
        &[
            "00:47.000  hang up this attempt",
            "05:47.000  callback attempt 2: ring agent 101 for 30 s",
            "05:49.000  « customer is busy",
            "10:49.000  callback attempt 3: ring agent 101 for 30 s",
            "10:57.000  bridge agent with customer",
        ],
    );
    assert_eq!(
        timeline.callback,
        Some(routing::CallbackOutcome::Connected { attempt: 3 })
    );
}

/// The customer never answers: 1 attempt + 3 retries, then the callback fails.
#[test]
fn callback_gives_up_after_the_last_retry() {
    let timeline = run_example(&callback_scenario(
        "behaviour = \"answer\"\nanswer_after_seconds = 2",
        "",
    ));
    assert_eq!(timeline.to_text().matches("dial customer").count(), 4);
    assert_eq!(
        timeline.callback,
        Some(routing::CallbackOutcome::Failed { attempts: 4 })
    );
}

/// When the agent does not answer, the attempt fails too and is retried.
#[test]
fn callback_agent_no_answer_counts_as_a_failed_attempt() {
    let timeline = run_example(&callback_scenario(
        "behaviour = \"no_answer\"",
        "\"answer\"",
    ));
    assert_timeline(
        &timeline,
        &[
            "00:30.000  hang up this attempt",
            "05:30.000  callback attempt 2: ring agent 101 for 30 s",
        ],
    );
    assert_never(&timeline, "dial customer");
}

/// Retries are limited to 1..=5.
#[test]
fn callback_retries_must_be_one_to_five() {
    for retries in ["0", "6"] {
        let text = EXAMPLE.replacen("retries = 3", &format!("retries = {retries}"), 1);
        let error = routing::RoutingConfig::from_toml(&text)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("callback.retries: must be between 1 and 5"),
            "{error}"
        );
    }
}
