//! Click-to-call through `ringbase serve --sip` with real peers: `POST /api/v1/calls/originate`
//! rings the agent's registered SIPp phone; when it answers, the customer is called through
//! the trunk (a SIPp server that answers and, two seconds later, hangs up). The call log then
//! holds one outgoing answered call for that agent with the customer's number. Refusals are
//! checked first: no registered phone (409), a bad number or user (422 naming the field), an
//! agent key calling for someone else (403).
//!
//! SIPp must be installed: a missing `sipp` fails this test (scripts/test.sh installs it).

mod sip_harness;
use serde_json::{json, Value};
use sip_harness::*;
use std::time::Duration;

/// POSTs a click-to-call with the given API key; the status and body.
async fn originate(server: &Server, key: &str, body: Value) -> (reqwest::StatusCode, Value) {
    let response = server
        .client
        .post(format!("http://{}/api/v1/calls/originate", server.http))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .expect("HTTP");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A new API key with `role`.
fn api_key(server: &Server, role: &str) -> String {
    let out = ringbase()
        .arg("--data-dir")
        .arg(server.dir.path())
        .args(["apikey", "create", "--role", role])
        .output()
        .expect("apikey create");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

const SALES: &str = "+493012345678";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn click_to_call_rings_the_agent_then_calls_the_customer_and_logs_one_call() {
    require_sipp();
    let trunk_port = free_port();
    let server = start_server(Some(trunk_port)).await;
    let alice = server.phone_user("alice", "101", "alice-secret-1").await;
    server
        .call(
            reqwest::Method::PUT,
            "/api/v1/settings/routing",
            Some(json!({
                "agents": [{"id": alice, "name": "Alice"}],
                "lines": [{"number": SALES, "name": "Sales", "queue": "sales"}],
                "queues": [{"name": "sales", "strategy": "in_order", "members": [alice]}],
            })),
        )
        .await;
    // The SIP service picks up stored routing settings within a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let key = server.key.clone();

    // alice has no registered phone yet.
    let (status, body) = originate(
        &server,
        &key,
        json!({"user": alice, "number": "015112345678"}),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["field"], "user", "{body}");

    let alice_port = free_port();
    assert!(sipp(
        &server,
        "register.xml",
        &[auth("alice", "alice-secret-1", 300)],
        alice_port,
        false
    ));
    assert_eq!(server.registrations().await.len(), 1);

    // Refusals name the field; nothing rings.
    let (status, body) = originate(
        &server,
        &key,
        json!({"user": alice, "number": "not a number"}),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "number", "{body}");
    let (status, body) = originate(
        &server,
        &key,
        json!({"user": 999_999, "number": "015112345678"}),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "user", "{body}");
    // An agent (here a key with no user behind it) may call only for himself.
    let agent_key = api_key(&server, "agent");
    let (status, body) = originate(
        &server,
        &agent_key,
        json!({"user": alice, "number": "015112345678"}),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::FORBIDDEN, "{body}");

    // alice's phone answers; then the customer (behind the trunk) answers and hangs up.
    let phone_answers = phone(&server, "uas-answer.xml", alice_port);
    let customer = phone(&server, "uas-answer-hangup.xml", trunk_port);
    std::thread::sleep(Duration::from_millis(300));
    let (status, body) = originate(
        &server,
        &key,
        json!({"user": alice, "number": "015112345678"}),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["user"], alice, "{body}");
    assert!(body["call"].is_string(), "{body}");
    assert!(finished(customer, "the customer answers and hangs up"));
    assert!(finished(phone_answers, "alice answers"));

    let calls = server.calls(1).await;
    let c = &calls[0];
    assert_eq!(c["status"], "answered", "{c:#}");
    assert_eq!(c["direction"], "outgoing", "{c:#}");
    assert_eq!(c["agent_id"], alice, "{c:#}");
    assert_eq!(c["called"]["e164"], "+4915112345678", "{c:#}");
    assert_eq!(c["origin"]["kind"], "sip", "{c:#}");
    // The customer hung up two seconds after answering.
    assert!(c["duration_s"].as_i64().unwrap_or(0) >= 1, "{c:#}");
    // Exactly one record, also a moment later.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    server.calls(1).await;
}
