//! Issue 4's remaining call flows with real peers through `ringbase serve --sip`:
//! (a) the agent hangs up: his phone's BYE reaches the trunk (the caller hanging up is in
//! `sip_calls.rs`); (b) nobody answers: the ring time runs out, the phone is sent CANCEL and
//! the call falls back to the queue's forward number through the trunk, where it is answered.
//! Each call ends with exactly one record.
//!
//! The trunk is split: calls arrive from one SIPp port (`allow=`) and calls out go to another
//! (`host=`), so the caller and the fallback's callee can both be SIPp on loopback.
//!
//! SIPp must be installed: a missing `sipp` fails this test (scripts/test.sh installs it).

mod sip_harness;
use serde_json::json;
use sip_harness::*;
use std::time::Duration;

const CALLER: &str = "+4917612345678";
const SALES: &str = "+493012345678";
const HOTLINE: &str = "+493012345670";
const BACKUP: &str = "+4930555000";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_hangs_up_and_an_unanswered_call_falls_back_after_the_ring_time() {
    require_sipp();
    let (caller_port, callee_port) = (free_port(), free_port());
    let server = start_server_with_trunk(Some(format!(
        "name=provider,host=127.0.0.1:{callee_port},allow=127.0.0.1:{caller_port}"
    )))
    .await;
    let alice = server.phone_user("alice", "101", "alice-secret-1").await;
    let carol = server.phone_user("carol", "103", "carol-secret-3").await;
    server
        .call(
            reqwest::Method::PUT,
            "/api/v1/settings/routing",
            Some(json!({
                "agents": [
                    {"id": alice, "name": "Alice"},
                    {"id": carol, "name": "Carol"},
                ],
                "lines": [
                    {"number": SALES, "name": "Sales", "queue": "sales"},
                    {"number": HOTLINE, "name": "Hotline", "queue": "hotline"},
                ],
                "queues": [
                    {"name": "sales", "strategy": "in_order", "members": [alice]},
                    // One ring (5 s), then the backup number.
                    {"name": "hotline", "strategy": "in_order", "members": [carol], "rings": 1,
                     "no_answer": {"action": "forward", "number": BACKUP}},
                ],
            })),
        )
        .await;

    let (alice_port, carol_port) = (free_port(), free_port());
    for (login, password, port) in [
        ("alice", "alice-secret-1", alice_port),
        ("carol", "carol-secret-3", carol_port),
    ] {
        assert!(sipp(
            &server,
            "register.xml",
            &[auth(login, password, 300)],
            port,
            false
        ));
    }
    assert_eq!(server.registrations().await.len(), 2);
    // The SIP service picks up stored routing settings within a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // (a) Alice answers and hangs up two seconds later; the trunk must be sent her BYE.
    let hanging_up = phone(&server, "uas-answer-hangup.xml", alice_port);
    std::thread::sleep(Duration::from_millis(300));
    assert!(sipp(
        &server,
        "calls/trunk-call-callee-hangs-up.xml",
        &[format!("{SALES};{CALLER}")],
        caller_port,
        false
    ));
    assert!(finished(hanging_up, "alice answers and hangs up"));
    let calls = server.calls(1).await;
    let c = &calls[0];
    assert_eq!(c["status"], "answered", "{c:#}");
    assert_eq!(c["agent_id"], alice, "{c:#}");
    assert_eq!(c["queue"], "sales");
    assert!(c["duration_s"].as_i64().unwrap_or(0) >= 1, "{c:#}");

    // (b) Carol's phone only rings: after 5 s it is sent CANCEL, and the call is forwarded to
    // the backup number through the trunk, where it is answered; the caller hangs up.
    let ringing = phone(&server, "uas-ring.xml", carol_port);
    let backup = phone(&server, "uas-answer.xml", callee_port);
    std::thread::sleep(Duration::from_millis(300));
    let started = std::time::Instant::now();
    assert!(sipp(
        &server,
        "calls/trunk-call.xml",
        &[format!("{HOTLINE};{CALLER}")],
        caller_port,
        false
    ));
    assert!(
        started.elapsed() >= Duration::from_secs(5),
        "answered only after carol's ring time"
    );
    assert!(finished(ringing, "carol's phone is cancelled"));
    assert!(finished(backup, "the backup number answers"));
    let calls = server.calls(2).await;
    let c = &calls[1];
    assert_eq!(c["status"], "answered", "{c:#}");
    assert_eq!(c["called"]["e164"], HOTLINE);
    assert_eq!(c["agent_id"], json!(null), "no agent took it: {c:#}");
    // No second record for the forward leg or carol's cancelled ring.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    server.calls(2).await;
}
