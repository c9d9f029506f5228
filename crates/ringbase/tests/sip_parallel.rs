//! Parallel ringing through `ringbase serve --sip` with real peers: a queue offers a trunk's
//! call to two SIPp phones at once; the first to answer gets the call, the other is sent CANCEL
//! (answers 200 to it and 487 to the INVITE), and the call log holds exactly one answered
//! record with the winner as agent.
//!
//! SIPp must be installed: a missing `sipp` fails this test (scripts/test.sh installs it).

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const REALM: &str = "ringbase.test";

/// `ringbase serve` in a temp data dir, killed on drop.
struct Server {
    child: Child,
    dir: tempfile::TempDir,
    http: SocketAddr,
    sip: SocketAddr,
    key: String,
    client: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ringbase() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ringbase"))
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn field(line: &str, name: &str) -> Option<SocketAddr> {
    let start = line.find(&format!("{name}="))? + name.len() + 1;
    let value: String = line[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    value.trim_matches('"').parse().ok()
}

async fn start_server(trunk_port: u16) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = ringbase()
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--http", "127.0.0.1:0", "--sip", "127.0.0.1:0"])
        .args(["--sip-realm", REALM, "--sip-min-expires", "1"])
        // SIPp 3.6 answers only the first challenge, and only MD5 (see tests/sipp/README.md).
        .args(["--sip-digest-algorithms", "MD5"])
        .arg("--sip-trunk")
        .arg(format!("name=provider,host=127.0.0.1:{trunk_port}"))
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ringbase starts");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(strip_ansi(&line));
        }
    });
    let (mut http, mut sip) = (None, None);
    while http.is_none() || sip.is_none() {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("ringbase logs its HTTP and SIP addresses within 30 s");
        if line.contains("Ringbase is serving") {
            http = field(&line, "http");
        }
        if line.contains("SIP is listening") && line.contains("transport=UDP") {
            sip = field(&line, "sip");
        }
    }
    // Keep draining the log so the server never blocks on a full pipe.
    std::thread::spawn(move || while rx.recv().is_ok() {});

    let out = ringbase()
        .arg("--data-dir")
        .arg(dir.path())
        .args(["apikey", "create", "--role", "admin"])
        .output()
        .expect("apikey create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    Server {
        child,
        dir,
        http: http.unwrap(),
        sip: sip.unwrap(),
        key,
        client: reqwest::Client::new(),
    }
}

impl Server {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .client
            .request(method, format!("http://{}{path}", self.http))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("HTTP");
        let status = response.status();
        let json: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {json}");
        json
    }

    /// An employee with a SIP password.
    async fn phone_user(&self, login: &str, extension: &str, password: &str) -> i64 {
        let user = self
            .call(
                reqwest::Method::POST,
                "/api/v1/users",
                Some(serde_json::json!({"name": login, "login": login, "role": "agent", "extension": extension})),
            )
            .await;
        let id = user["id"].as_i64().unwrap();
        let account = self
            .call(
                reqwest::Method::PUT,
                &format!("/api/v1/users/{id}/sip-password"),
                Some(serde_json::json!({ "password": password })),
            )
            .await;
        assert_eq!(account["username"], login);
        assert_eq!(account["realm"], REALM);
        id
    }

    async fn registrations(&self) -> Vec<Value> {
        let r = self
            .call(reqwest::Method::GET, "/api/v1/registrations", None)
            .await;
        r["items"].as_array().unwrap().clone()
    }
}

/// A loopback port free on both UDP and TCP, for a SIPp instance.
fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/sipp")
        .join(name)
}

fn require_sipp() {
    match Command::new("sipp").arg("-v").output() {
        Ok(_) => {}
        Err(e) => panic!(
            "sipp is not installed ({e}). This test needs SIPp, Debian package `sip-tester`: \
             apt-get install sip-tester (scripts/test.sh installs it)"
        ),
    }
}

/// Runs one SIPp phone (`lines` of the injection file, one call each) on loopback; true when
/// every call of the scenario succeeded.
fn sipp(server: &Server, scenario_file: &str, lines: &[String], port: u16, tcp: bool) -> bool {
    sipp_with(server, scenario_file, lines, port, tcp, &[])
}

/// [`sipp`] with extra command-line arguments.
fn sipp_with(
    server: &Server,
    scenario_file: &str,
    lines: &[String],
    port: u16,
    tcp: bool,
    extra: &[String],
) -> bool {
    let csv = server
        .dir
        .path()
        .join(format!("{}-{port}.csv", scenario_file.replace('/', "-")));
    std::fs::write(&csv, format!("SEQUENTIAL\n{}\n", lines.join("\n"))).unwrap();
    let mut cmd = Command::new("sipp");
    cmd.arg(server.sip.to_string())
        .arg("-sf")
        .arg(scenario(scenario_file))
        .arg("-inf")
        .arg(&csv)
        .args(["-m", &lines.len().to_string(), "-i", "127.0.0.1"])
        .args(["-p", &port.to_string()])
        .args([
            "-nostdin",
            "-timeout",
            "30s",
            "-timeout_error",
            "-trace_err",
        ])
        .args(["-t", if tcp { "t1" } else { "u1" }])
        .args(extra)
        .current_dir(server.dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let out = cmd.output().expect("sipp runs");
    if !out.status.success() {
        eprintln!(
            "sipp {scenario_file} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        for entry in std::fs::read_dir(server.dir.path()).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.ends_with("_errors.log") {
                eprintln!(
                    "{name}:\n{}",
                    std::fs::read_to_string(entry.path()).unwrap()
                );
            }
        }
    }
    out.status.success()
}

fn auth(user: &str, password: &str, expires: u32) -> String {
    format!("{user};[authentication username={user} password={password}];{expires}")
}

/// A SIPp phone answering as a server on the port it registered from, for one call.
fn phone(server: &Server, scenario_file: &str, port: u16) -> Child {
    Command::new("sipp")
        .arg("-sf")
        .arg(scenario(&format!("calls/{scenario_file}")))
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

/// Waits for a phone's SIPp; true when its call went as the scenario says.
fn finished(mut child: Child, what: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            if !status.success() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                eprintln!("phone {what} failed ({status}): {err}");
            }
            return status.success();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            eprintln!("phone {what} did not finish");
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Server {
    /// The call log, oldest first, once it holds `n` calls (records are written just after
    /// the call ends); panics after 10 s.
    async fn calls(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let r = self.call(reqwest::Method::GET, "/api/v1/calls", None).await;
            let mut items = r["items"].as_array().cloned().unwrap_or_default();
            if items.len() >= n || Instant::now() > deadline {
                assert_eq!(items.len(), n, "call log: {items:#?}");
                items.sort_by_key(|c| c["id"].as_i64());
                return items;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

const CALLER: &str = "+4917612345678";
const SALES: &str = "+493012345678";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_at_once_rings_both_phones_and_cancels_the_loser() {
    require_sipp();
    let trunk_port = free_port();
    let server = start_server(trunk_port).await;
    let alice = server.phone_user("alice", "101", "alice-secret-1").await;
    let bob = server.phone_user("bob", "102", "bob-secret-22").await;
    server
        .call(
            reqwest::Method::PUT,
            "/api/v1/settings/routing",
            Some(json!({
                "agents": [
                    {"id": alice, "name": "Alice"},
                    {"id": bob, "name": "Bob"},
                ],
                "lines": [
                    {"number": SALES, "name": "Sales", "queue": "sales"},
                ],
                "queues": [
                    {"name": "sales", "strategy": "all_at_once", "members": [alice, bob]},
                ],
            })),
        )
        .await;

    let (alice_port, bob_port) = (free_port(), free_port());
    for (login, password, port) in [
        ("alice", "alice-secret-1", alice_port),
        ("bob", "bob-secret-22", bob_port),
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

    // Both phones ring; alice answers after a second (so bob's phone is surely ringing by
    // then), bob's scenario passes only if it is sent CANCEL (200 to it, 487 to the INVITE,
    // then the ACK of the 487).
    let answering = phone(&server, "uas-answer-late.xml", alice_port);
    let cancelled = phone(&server, "uas-ring.xml", bob_port);
    std::thread::sleep(Duration::from_millis(300));
    assert!(sipp(
        &server,
        "calls/trunk-call.xml",
        &[format!("{SALES};{CALLER}")],
        trunk_port,
        false
    ));
    assert!(finished(answering, "alice answers"));
    assert!(finished(cancelled, "bob is cancelled"));

    let calls = server.calls(1).await;
    let c = &calls[0];
    assert_eq!(c["status"], "answered", "{c:#}");
    assert_eq!(c["direction"], "incoming");
    assert_eq!(c["agent_id"], alice, "{c:#}");
    assert_eq!(c["called"]["e164"], SALES);
    assert_eq!(c["caller"]["e164"], CALLER);
    assert_eq!(c["queue"], "sales");
    assert_eq!(c["origin"]["kind"], "sip");
    // No second record turns up for bob's cancelled leg.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    server.calls(1).await;
}
