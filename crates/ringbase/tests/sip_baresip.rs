//! A real softphone on `ringbase serve --sip`: baresip registers as an agent with its SIP
//! password, a SIPp "trunk" calls the company line, baresip rings and answers by itself
//! (`answermode=auto`), media runs for two seconds, the trunk hangs up, and the call log holds
//! exactly one answered record with that agent.
//!
//! baresip runs headless from a temp config dir (no sound card: its `aubridge` module is both
//! the audio source and the player), on loopback only, and is killed by its PID at the end.
//! SIPp and baresip must be installed: a missing one fails this test (Debian packages
//! `sip-tester` and `baresip`).

mod sip_harness;
use serde_json::json;
use sip_harness::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CALLER: &str = "+4917612345678";
const SALES: &str = "+493012345678";

/// Where Debian's package puts baresip's modules.
const MODULE_DIRS: &[&str] = &[
    "/usr/lib/baresip/modules",
    "/usr/lib/x86_64-linux-gnu/baresip/modules",
    "/usr/local/lib/baresip/modules",
];

/// A running baresip, killed (by its PID) on drop.
struct Baresip {
    child: Child,
    log: PathBuf,
}

impl Baresip {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn module_dir() -> &'static str {
    match Command::new("baresip").arg("-h").output() {
        Ok(_) => {}
        Err(e) => panic!(
            "baresip is not installed ({e}). This test needs a real softphone, Debian package \
             `baresip`: apt-get install baresip"
        ),
    }
    MODULE_DIRS
        .iter()
        .copied()
        .find(|d| Path::new(d).join("menu.so").exists())
        .unwrap_or_else(|| {
            panic!("baresip is installed but its modules are in none of {MODULE_DIRS:?}")
        })
}

/// Starts baresip as `user`'s softphone: a config dir with one account on the server,
/// answering calls itself.
fn baresip(server: &Server, user: &str, password: &str, port: u16) -> Baresip {
    let modules = module_dir();
    let home = server.dir.path().join("baresip-home");
    let conf = home.join(".baresip");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("config"),
        format!(
            "poll_method\t\tpoll\n\
             sip_listen\t\t127.0.0.1:{port}\n\
             sip_trans_def\t\tudp\n\
             net_interface\t\t127.0.0.1\n\
             audio_player\t\taubridge,ringbase\n\
             audio_source\t\taubridge,ringbase\n\
             audio_alert\t\taubridge,ringbase\n\
             module_path\t\t{modules}\n\
             module\t\t\tg711.so\n\
             module\t\t\taubridge.so\n\
             module_app\t\taccount.so\n\
             module_app\t\tmenu.so\n"
        ),
    )
    .unwrap();
    std::fs::write(
        conf.join("accounts"),
        format!(
            "<sip:{user}@{sip};transport=udp>;auth_pass={password};answermode=auto;regint=300\n",
            sip = server.sip
        ),
    )
    .unwrap();
    let log = home.join("baresip.log");
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new("baresip")
        .arg("-f")
        .arg(&conf)
        .arg("-v")
        .env("HOME", &home)
        .current_dir(&home)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("baresip starts");
    Baresip { child, log }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_registers_rings_and_answers_a_trunk_call() {
    require_sipp();
    module_dir();
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

    let phone_port = free_port();
    let mut phone = baresip(&server, "alice", "alice-secret-1", phone_port);

    // baresip registers with alice's SIP password, from its loopback port.
    let deadline = Instant::now() + Duration::from_secs(15);
    let registration = loop {
        let items = server.registrations().await;
        if let Some(r) = items.first() {
            break r.clone();
        }
        if let Some(status) = phone.child.try_wait().unwrap() {
            panic!("baresip exited ({status}):\n{}", phone.log());
        }
        assert!(
            Instant::now() < deadline,
            "baresip did not register within 15 s:\n{}",
            phone.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let text = registration.to_string();
    assert!(text.contains("alice"), "{registration:#}");
    assert!(
        text.to_lowercase().contains("baresip"),
        "User-Agent: {registration:#}"
    );
    assert!(text.contains(&phone_port.to_string()), "{registration:#}");
    // The SIP service picks up stored routing settings within a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // The trunk calls the line: baresip rings, answers itself, the trunk hangs up 2 s later.
    let ok = sipp(
        &server,
        "calls/trunk-call-long.xml",
        &[format!("{SALES};{CALLER}")],
        trunk_port,
        false,
    );
    assert!(ok, "the trunk's call failed; baresip:\n{}", phone.log());
    assert!(
        phone.child.try_wait().unwrap().is_none(),
        "baresip is still running after the call:\n{}",
        phone.log()
    );

    let calls = server.calls(1).await;
    let c = &calls[0];
    assert_eq!(c["status"], "answered", "{c:#}");
    assert_eq!(c["direction"], "incoming");
    assert_eq!(c["agent_id"], alice, "{c:#}");
    assert_eq!(c["called"]["e164"], SALES);
    assert_eq!(c["caller"]["e164"], CALLER);
    assert_eq!(c["queue"], "sales");
    assert_eq!(c["origin"]["kind"], "sip");
    assert!(c["duration_s"].as_i64().unwrap_or(0) >= 1, "{c:#}");
    // baresip's own account of it: it answered, and the trunk's BYE reached it.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = phone.log();
        if log.contains("Call established") && log.contains("terminated") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "baresip did not log the answered and ended call:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(phone);
}
