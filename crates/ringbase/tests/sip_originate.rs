//! Click-to-call through `ringbase serve --sip` with real peers: `POST /api/v1/calls/originate`
//! rings the agent's registered SIPp phone; when it answers, the customer is called through
//! the trunk (a SIPp server that answers and, a second later, hangs up). The call log then
//! holds one outgoing answered call for that agent with the customer's number. Refusals are
//! checked first: no registered phone (409), a bad number or user (422 naming the field), an
//! agent key calling for someone else (403).
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

impl Server {
    /// POSTs a click-to-call with the given API key; the status and body.
    async fn originate(&self, key: &str, body: Value) -> (reqwest::StatusCode, Value) {
        let response = self
            .client
            .post(format!("http://{}/api/v1/calls/originate", self.http))
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .expect("HTTP");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A new API key with `role`.
    fn api_key(&self, role: &str) -> String {
        let out = ringbase()
            .arg("--data-dir")
            .arg(self.dir.path())
            .args(["apikey", "create", "--role", role])
            .output()
            .expect("apikey create");
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}

const SALES: &str = "+493012345678";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn click_to_call_rings_the_agent_then_calls_the_customer_and_logs_one_call() {
    require_sipp();
    let trunk_port = free_port();
    let server = start_server(trunk_port).await;
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
    let (status, body) = server
        .originate(&key, json!({"user": alice, "number": "015112345678"}))
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
    let (status, body) = server
        .originate(&key, json!({"user": alice, "number": "not a number"}))
        .await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "number", "{body}");
    let (status, body) = server
        .originate(&key, json!({"user": 999_999, "number": "015112345678"}))
        .await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "user", "{body}");
    // An agent (here a key with no user behind it) may call only for himself.
    let agent_key = server.api_key("agent");
    let (status, body) = server
        .originate(&agent_key, json!({"user": alice, "number": "015112345678"}))
        .await;
    assert_eq!(status, reqwest::StatusCode::FORBIDDEN, "{body}");

    // alice's phone answers; then the customer (behind the trunk) answers and hangs up.
    let phone_answers = phone(&server, "uas-answer.xml", alice_port);
    let customer = phone(&server, "uas-answer-hangup.xml", trunk_port);
    std::thread::sleep(Duration::from_millis(300));
    let (status, body) = server
        .originate(&key, json!({"user": alice, "number": "015112345678"}))
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
    // The customer hung up a second after answering.
    assert!(c["duration_s"].as_i64().unwrap_or(0) >= 1, "{c:#}");
    // Exactly one record, also a moment later.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    server.calls(1).await;
}
