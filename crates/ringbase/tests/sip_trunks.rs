//! Trunks with real peers: SIPp plays the provider. Trunks are configured over the API
//! (`PUT /api/v1/trunks`, taken up by the running SIP service within a second); the
//! provider's registrar checks Ringbase's digest answer with SIPp's `<verifyauth>`, and
//! `GET /api/v1/trunks` shows the live status. Then a registered phone calls out through a
//! trunk whose provider challenges the INVITE with 407.
//!
//! SIPp must be installed: a missing `sipp` fails this test (scripts/test.sh installs it).

mod sip_harness;
use serde_json::{json, Value};
use sip_harness::*;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const SALES: &str = "+493012345678";

/// SIPp as the provider, a server on `port` for one call (a registration is one Call-ID).
fn provider(server: &Server, scenario_file: &str, port: u16) -> Child {
    Command::new("sipp")
        .arg("-sf")
        .arg(scenario(&format!("trunks/{scenario_file}")))
        .args(["-m", "1", "-i", "127.0.0.1"])
        .args(["-p", &port.to_string()])
        .args([
            "-nostdin",
            "-timeout",
            "30s",
            "-timeout_error",
            "-trace_err",
        ])
        .args(["-t", "u1"])
        .current_dir(server.dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sipp runs")
}

/// The trunks as the API lists them, once `done` holds for them (10 s at most).
async fn trunks_when(server: &Server, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = server
            .call(reqwest::Method::GET, "/api/v1/trunks", None)
            .await;
        let items = r["items"].as_array().cloned().unwrap_or_default();
        if done(&items) || std::time::Instant::now() > deadline {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn state(trunk: &Value) -> &str {
    trunk["status"]["state"].as_str().unwrap_or("none")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trunks_register_with_digest_and_show_their_status() {
    require_sipp();
    let server = start_server(None).await;
    let (good_port, bad_port) = (free_port(), free_port());
    let good = provider(&server, "provider-registrar-unregister.xml", good_port);
    let bad = provider(&server, "provider-registrar.xml", bad_port);
    std::thread::sleep(Duration::from_millis(300));
    server
        .call(
            reqwest::Method::PUT,
            "/api/v1/trunks",
            Some(json!({"trunks": [
                {"name": "good", "username": "acc1", "password": "trunk-secret-1",
                 "domain": "provider.test", "host": format!("127.0.0.1:{good_port}")},
                {"name": "bad", "username": "acc1", "password": "not-the-password",
                 "domain": "provider.test", "host": format!("127.0.0.1:{bad_port}")},
            ]})),
        )
        .await;
    let trunks = trunks_when(&server, |items| {
        items.len() == 2
            && items
                .iter()
                .all(|t| matches!(state(t), "registered" | "failed"))
    })
    .await;
    let by_name = |name: &str| trunks.iter().find(|t| t["name"] == name).cloned().unwrap();
    let good_trunk = by_name("good");
    assert_eq!(state(&good_trunk), "registered", "{good_trunk:#}");
    assert_eq!(good_trunk["status"]["detail"], "registered for 3600 s");
    assert!(
        good_trunk["status"]["expires_at"].is_string(),
        "{good_trunk:#}"
    );
    assert_eq!(good_trunk["password_set"], true);
    assert!(good_trunk.get("password").is_none());
    let bad_trunk = by_name("bad");
    assert_eq!(state(&bad_trunk), "failed", "{bad_trunk:#}");
    assert_eq!(bad_trunk["status"]["detail"], "403 Forbidden");
    assert!(bad_trunk["status"]["expires_at"].is_null());
    assert!(finished(bad, "the provider refuses the bad trunk"));

    // The good trunk removed: it unregisters (Expires: 0, challenged and answered again) and
    // its status goes with it; the bad one stays without registering.
    server
        .call(
            reqwest::Method::PUT,
            "/api/v1/trunks",
            Some(json!({"trunks": [
                {"name": "bad", "username": "acc1", "domain": "provider.test",
                 "host": format!("127.0.0.1:{bad_port}"), "register": false},
            ]})),
        )
        .await;
    let trunks = trunks_when(&server, |items| {
        items.len() == 1 && state(&items[0]) == "not_registering"
    })
    .await;
    assert_eq!(trunks.len(), 1, "{trunks:#?}");
    assert_eq!(state(&trunks[0]), "not_registering", "{trunks:#?}");
    // Sent without a password: the stored one stays.
    assert_eq!(trunks[0]["password_set"], true);
    assert!(finished(
        good,
        "the provider registers the good trunk, then sees it unregister"
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_calls_answer_the_providers_challenge() {
    require_sipp();
    let server = start_server(None).await;
    let alice = server.phone_user("alice", "101", "alice-secret-1").await;
    // Outbound calls are placed for agents the routing knows (CRM user ids).
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
    let trunk_port = free_port();
    server
        .call(
            reqwest::Method::PUT,
            "/api/v1/trunks",
            Some(json!({"trunks": [
                {"name": "provider", "username": "acc1", "password": "trunk-secret-1",
                 "domain": "provider.test", "host": format!("127.0.0.1:{trunk_port}"),
                 "register": false},
            ]})),
        )
        .await;
    let trunks = trunks_when(&server, |items| {
        items.first().is_some_and(|t| state(t) == "not_registering")
    })
    .await;
    assert_eq!(state(&trunks[0]), "not_registering", "{trunks:#?}");

    let alice_port = free_port();
    assert!(sipp(
        &server,
        "register.xml",
        &[auth("alice", "alice-secret-1", 300)],
        alice_port,
        false
    ));
    let customer = provider(&server, "provider-auth-answer.xml", trunk_port);
    std::thread::sleep(Duration::from_millis(300));
    let phone_ok = sipp_with(
        &server,
        "calls/phone-call.xml",
        &[auth_line("alice", "alice-secret-1", "015112345678")],
        alice_port,
        false,
        &["-auth_uri".into(), format!("015112345678@{}", server.sip)],
    );
    let provider_ok = finished(customer, "the provider verifies the digest and answers");
    assert!(
        phone_ok && provider_ok,
        "phone {phone_ok}, provider {provider_ok}"
    );
    let calls = server.calls(1).await;
    let c = &calls[0];
    assert_eq!(c["status"], "answered", "{c:#}");
    assert_eq!(c["direction"], "outgoing");
    assert_eq!(c["agent_id"], alice);
    assert_eq!(c["called"]["e164"], "+4915112345678", "{c:#}");

    // A provider that challenges as a proxy (407): answered in Proxy-Authorization.
    let customer = provider(&server, "provider-proxy-auth.xml", trunk_port);
    std::thread::sleep(Duration::from_millis(300));
    let phone_ok = sipp_with(
        &server,
        "calls/phone-call.xml",
        &[auth_line("alice", "alice-secret-1", "015112345679")],
        alice_port,
        false,
        &["-auth_uri".into(), format!("015112345679@{}", server.sip)],
    );
    let provider_ok = finished(customer, "the proxy sees the digest answer and answers");
    assert!(
        phone_ok && provider_ok,
        "phone {phone_ok}, provider {provider_ok}"
    );
    let calls = server.calls(2).await;
    assert_eq!(calls[1]["status"], "answered", "{:#}", calls[1]);
    assert_eq!(calls[1]["called"]["e164"], "+4915112345679");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_at_another_address_gets_in_with_a_trunks_credentials() {
    require_sipp();
    let server = start_server(None).await;
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
    // The trunk's own address is elsewhere: the peer below is not allowed by address.
    let elsewhere = free_port();
    server
        .call(
            reqwest::Method::PUT,
            "/api/v1/trunks",
            Some(json!({"trunks": [
                {"name": "pbx", "username": "pbx1", "password": "pbx-secret-1",
                 "host": format!("127.0.0.1:{elsewhere}"), "register": false},
            ]})),
        )
        .await;
    let alice_port = free_port();
    assert!(sipp(
        &server,
        "register.xml",
        &[auth("alice", "alice-secret-1", 300)],
        alice_port,
        false
    ));
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let peer_port = free_port();
    let caller = "+4917612345678";
    let line = |user: &str, password: &str| {
        format!("{caller};[authentication username={user} password={password}];{SALES}")
    };
    let auth_uri = ["-auth_uri".to_string(), format!("{SALES}@{}", server.sip)];
    // A wrong password and an unknown user: the same 403 after the 407, nothing logged.
    for (user, password) in [("pbx1", "wrong-secret"), ("nobody", "pbx-secret-1")] {
        assert!(
            sipp_with(
                &server,
                "calls/phone-call-refused.xml",
                &[line(user, password)],
                peer_port,
                false,
                &auth_uri,
            ),
            "{user} / {password} is refused 403"
        );
    }
    // The trunk's account: the call reaches alice's phone and is logged as incoming.
    let phone_of_alice = phone(&server, "uas-answer.xml", alice_port);
    std::thread::sleep(Duration::from_millis(300));
    let peer_ok = sipp_with(
        &server,
        "calls/phone-call.xml",
        &[line("pbx1", "pbx-secret-1")],
        peer_port,
        false,
        &auth_uri,
    );
    let alice_ok = finished(phone_of_alice, "alice answers");
    assert!(peer_ok && alice_ok, "peer {peer_ok}, alice {alice_ok}");
    let calls = server.calls(1).await;
    let c = &calls[0];
    assert_eq!(c["direction"], "incoming", "{c:#}");
    assert_eq!(c["status"], "answered", "{c:#}");
    assert_eq!(c["agent_id"], alice);
}
