//! The SIP registrar with a real peer: the `ringbase` binary on loopback, phones played by SIPp
//! (Debian package `sip-tester`), registrations checked over the HTTP API.
//!
//! SIPp must be installed: a missing `sipp` fails this test (scripts/test.sh installs it).

mod sip_harness;
use serde_json::Value;
use sip_harness::*;
use std::time::Duration;

fn of_user<'a>(regs: &'a [Value], login: &str) -> Vec<&'a Value> {
    regs.iter()
        .filter(|r| r["user"]["login"] == login)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phones_register_with_digest_auth_expire_and_unregister() {
    require_sipp();
    let server = start_server(None).await;
    let alice = server.phone_user("alice", "101", "alice-secret-1").await;
    server.phone_user("bob", "102", "bob-secret-22").await;
    assert!(server.registrations().await.is_empty());

    // Right password over UDP: 200 with the binding.
    let udp_port = free_port();
    assert!(sipp(
        &server,
        "register.xml",
        &[auth("alice", "alice-secret-1", 300)],
        udp_port,
        false
    ));
    let regs = server.registrations().await;
    assert_eq!(regs.len(), 1, "{regs:?}");
    let r = &regs[0];
    assert_eq!(r["user"]["id"], alice);
    assert_eq!(r["username"], "alice");
    assert_eq!(r["aor"], "sip:alice@127.0.0.1");
    assert_eq!(
        r["contact"],
        format!("sip:alice@127.0.0.1:{udp_port};transport=UDP")
    );
    assert_eq!(r["source"], format!("127.0.0.1:{udp_port}"));
    assert_eq!(r["transport"], "UDP");
    assert_eq!(r["user_agent"], "SIPp-ringbase-test");
    let expires = r["expires"].as_u64().unwrap();
    assert!((290..=300).contains(&expires), "expires {expires}");

    // A second phone of alice's, over TCP: both contacts are bound.
    let tcp_port = free_port();
    assert!(sipp(
        &server,
        "register.xml",
        &[auth("alice", "alice-secret-1", 600)],
        tcp_port,
        true
    ));
    let regs = server.registrations().await;
    let mine = of_user(&regs, "alice");
    assert_eq!(mine.len(), 2, "{regs:?}");
    let tcp = mine
        .iter()
        .find(|r| r["transport"] == "TCP")
        .expect("TCP binding");
    assert_eq!(
        tcp["contact"],
        format!("sip:alice@127.0.0.1:{tcp_port};transport=TCP")
    );

    // Wrong password and unknown user: the same 403 (checked by the scenario), nothing bound.
    assert!(sipp(
        &server,
        "register-refused.xml",
        &[
            auth("alice", "not-her-password", 300),
            auth("mallory", "whatever-pass", 300),
            // bob's password, but on alice's account: still alice's name in the digest.
            auth("alice", "bob-secret-22", 300),
        ],
        free_port(),
        false
    ));
    assert_eq!(server.registrations().await.len(), 2);

    // Expiry: bob registers for 2 s and is gone after that.
    assert!(sipp(
        &server,
        "register.xml",
        &[auth("bob", "bob-secret-22", 2)],
        free_port(),
        false
    ));
    assert_eq!(of_user(&server.registrations().await, "bob").len(), 1);
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let regs = server.registrations().await;
    assert!(
        of_user(&regs, "bob").is_empty(),
        "bob's binding expired: {regs:?}"
    );
    assert_eq!(of_user(&regs, "alice").len(), 2);

    // Unregister alice's UDP phone with Expires: 0: only the TCP phone stays.
    assert!(sipp(
        &server,
        "unregister.xml",
        &[auth("alice", "alice-secret-1", 0)],
        udp_port,
        false
    ));
    let regs = server.registrations().await;
    assert_eq!(regs.len(), 1, "{regs:?}");
    assert_eq!(regs[0]["transport"], "TCP");
}
