//! Calls through `ringbase serve --sip` with real peers: a SIPp "trunk" calls a company line,
//! SIPp "phones" registered as agents answer, answer busy or only ring; the call log is read
//! back over the HTTP API. Every call must end with exactly one record, and an INVITE from an
//! address that is no trunk must be refused without one.
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

/// An injection line of phone-call.xml: user, credentials, number dialed.
fn auth_line(user: &str, password: &str, number: &str) -> String {
    format!("{user};[authentication username={user} password={password}];{number}")
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
const SUPPORT: &str = "+493012345679";
const LATE: &str = "+493012345670";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trunk_calls_reach_agents_and_every_call_is_logged_once() {
    require_sipp();
    let trunk_port = free_port();
    let server = start_server(trunk_port).await;
    let alice = server.phone_user("alice", "101", "alice-secret-1").await;
    let bob = server.phone_user("bob", "102", "bob-secret-22").await;
    let carol = server.phone_user("carol", "103", "carol-secret-3").await;
    // Agents in routing are CRM user ids.
    server
        .call(
            reqwest::Method::PUT,
            "/api/v1/settings/routing",
            Some(json!({
                "agents": [
                    {"id": alice, "name": "Alice"},
                    {"id": bob, "name": "Bob"},
                    {"id": carol, "name": "Carol"},
                ],
                "lines": [
                    {"number": SALES, "name": "Sales", "queue": "sales"},
                    {"number": SUPPORT, "name": "Support", "queue": "support"},
                    {"number": LATE, "name": "Late", "queue": "late"},
                ],
                "queues": [
                    {"name": "sales", "strategy": "in_order", "members": [alice]},
                    {"name": "support", "strategy": "in_order", "members": [bob, alice]},
                    {"name": "late", "strategy": "in_order", "members": [carol]},
                ],
            })),
        )
        .await;

    let (alice_port, bob_port, carol_port) = (free_port(), free_port(), free_port());
    for (login, password, port) in [
        ("alice", "alice-secret-1", alice_port),
        ("bob", "bob-secret-22", bob_port),
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
    assert_eq!(server.registrations().await.len(), 3);
    // The SIP service picks up stored routing settings within a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // The live event stream the web app's screen pop listens to.
    let mut events = server
        .client
        .get(format!("http://{}/api/v1/events", server.http))
        .bearer_auth(&server.key)
        .send()
        .await
        .expect("event stream");
    assert!(events.status().is_success());
    let ringing = tokio::spawn(async move {
        let mut text = String::new();
        while let Ok(Some(chunk)) = events.chunk().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
            if let Some(at) = text.find("event: call.ringing") {
                let data = text[at..].lines().find_map(|l| l.strip_prefix("data:"));
                if let Some(data) = data {
                    return serde_json::from_str::<Value>(data.trim()).ok();
                }
            }
        }
        None
    });

    // (a) Answered by alice; the caller hangs up.
    let answering = phone(&server, "uas-answer.xml", alice_port);
    std::thread::sleep(Duration::from_millis(300));
    assert!(sipp(
        &server,
        "calls/trunk-call.xml",
        &[format!("{SALES};{CALLER}")],
        trunk_port,
        false
    ));
    assert!(finished(answering, "alice answers"));
    let calls = server.calls(1).await;
    let c = &calls[0];
    assert_eq!(c["status"], "answered", "{c:#}");
    assert_eq!(c["direction"], "incoming");
    assert_eq!(c["agent_id"], alice);
    assert_eq!(c["called"]["e164"], SALES);
    assert_eq!(c["caller"]["e164"], CALLER);
    assert_eq!(c["queue"], "sales");
    assert_eq!(c["origin"]["kind"], "sip");
    assert!(c["line_id"].is_i64(), "the line is tracked: {c:#}");
    // alice's screen popped while her phone rang.
    let pop = tokio::time::timeout(Duration::from_secs(5), ringing)
        .await
        .expect("call.ringing within 5 s")
        .unwrap()
        .expect("a call.ringing event");
    let pop = &pop["data"];
    assert_eq!(pop["agent_ids"], json!([alice]), "{pop:#}");
    assert_eq!(pop["number"], CALLER);
    assert_eq!(pop["origin"], "sip");

    // (b) bob is busy, the next member (alice) answers.
    let busy = phone(&server, "uas-busy.xml", bob_port);
    let answering = phone(&server, "uas-answer.xml", alice_port);
    std::thread::sleep(Duration::from_millis(300));
    assert!(sipp(
        &server,
        "calls/trunk-call.xml",
        &[format!("{SUPPORT};{CALLER}")],
        trunk_port,
        false
    ));
    assert!(finished(busy, "bob busy"));
    assert!(finished(answering, "alice answers after bob"));
    let calls = server.calls(2).await;
    let c = &calls[1];
    assert_eq!(c["status"], "answered", "{c:#}");
    assert_eq!(c["agent_id"], alice);
    assert_eq!(c["called"]["e164"], SUPPORT);
    assert_eq!(c["queue"], "support");

    // (c) The caller gives up while carol's phone rings: 487 to him, CANCEL to her, missed.
    let ringing = phone(&server, "uas-ring.xml", carol_port);
    std::thread::sleep(Duration::from_millis(300));
    assert!(sipp(
        &server,
        "calls/trunk-cancel.xml",
        &[format!("{LATE};{CALLER}")],
        trunk_port,
        false
    ));
    assert!(finished(ringing, "carol rings"));
    let calls = server.calls(3).await;
    let c = &calls[2];
    assert_eq!(c["status"], "missed", "{c:#}");
    assert_eq!(c["called"]["e164"], LATE);
    assert_eq!(c["duration_s"], 0);

    // (d) The same INVITE from a port that is not the trunk's: 403 and no record.
    assert!(sipp(
        &server,
        "calls/invite-refused.xml",
        &[format!("{SALES};{CALLER}")],
        free_port(),
        false
    ));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    server.calls(3).await;

    // (e) alice calls a customer from her registered phone: 407, then with her SIP password
    // the call goes out through the trunk (played by a SIPp server that answers).
    let customer = phone(&server, "uas-answer.xml", trunk_port);
    std::thread::sleep(Duration::from_millis(300));
    // SIPp's digest uri defaults to the server's address; ours must be the Request-URI
    // (RFC 3261 §22.4), so it is given.
    assert!(sipp_with(
        &server,
        "calls/phone-call.xml",
        &[auth_line("alice", "alice-secret-1", "015112345678")],
        alice_port,
        false,
        &["-auth_uri".into(), format!("015112345678@{}", server.sip)],
    ));
    assert!(finished(customer, "the customer answers"));
    let calls = server.calls(4).await;
    let c = &calls[3];
    assert_eq!(c["status"], "answered", "{c:#}");
    assert_eq!(c["direction"], "outgoing");
    assert_eq!(c["agent_id"], alice);
    assert_eq!(c["called"]["e164"], "+4915112345678", "{c:#}");

    // (f) From alice's registered address with a wrong password: 403, nothing placed or logged.
    assert!(sipp_with(
        &server,
        "calls/phone-call-refused.xml",
        &[auth_line("alice", "not-her-password", "015112345678")],
        alice_port,
        false,
        &["-auth_uri".into(), format!("015112345678@{}", server.sip)],
    ));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    server.calls(4).await;
}
