//! What the SIP tests share: `ringbase serve --sip` in a temp data dir on loopback, the HTTP
//! API it serves, and SIPp phones and trunks (Debian package `sip-tester`; a missing `sipp`
//! fails the test, scripts/test.sh installs it).

#![allow(dead_code, unreachable_pub)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const REALM: &str = "ringbase.test";

/// `ringbase serve` in a temp data dir, killed on drop.
pub struct Server {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub http: SocketAddr,
    pub sip: SocketAddr,
    pub key: String,
    pub client: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn ringbase() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ringbase"))
}

pub fn strip_ansi(line: &str) -> String {
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

pub fn field(line: &str, name: &str) -> Option<SocketAddr> {
    let start = line.find(&format!("{name}="))? + name.len() + 1;
    let value: String = line[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    value.trim_matches('"').parse().ok()
}

/// `trunk_port`: where a SIPp trunk listens (`--sip-trunk`), if the test needs one.
pub async fn start_server(trunk_port: Option<u16>) -> Server {
    start_server_with_trunk(trunk_port.map(|port| format!("name=provider,host=127.0.0.1:{port}")))
        .await
}

/// Like [`start_server`] with the whole `--sip-trunk` value, e.g. calls that arrive from one
/// SIPp port (`allow=`) while calls out go to another (`host=`).
pub async fn start_server_with_trunk(trunk: Option<String>) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = ringbase()
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--http", "127.0.0.1:0", "--sip", "127.0.0.1:0"])
        .args(["--sip-realm", REALM, "--sip-min-expires", "1"])
        // SIPp 3.6 answers only the first challenge, and only MD5 (see tests/sipp/README.md).
        .args(["--sip-digest-algorithms", "MD5"])
        .args(trunk.map_or_else(Vec::new, |trunk| vec!["--sip-trunk".to_string(), trunk]))
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
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
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
    pub async fn phone_user(&self, login: &str, extension: &str, password: &str) -> i64 {
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

    pub async fn registrations(&self) -> Vec<Value> {
        let r = self
            .call(reqwest::Method::GET, "/api/v1/registrations", None)
            .await;
        r["items"].as_array().unwrap().clone()
    }
}

/// A loopback port free on both UDP and TCP, for a SIPp instance.
pub fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/sipp")
        .join(name)
}

pub fn require_sipp() {
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
pub fn sipp(server: &Server, scenario_file: &str, lines: &[String], port: u16, tcp: bool) -> bool {
    sipp_with(server, scenario_file, lines, port, tcp, &[])
}

/// [`sipp`] with extra command-line arguments.
pub fn sipp_with(
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

pub fn auth(user: &str, password: &str, expires: u32) -> String {
    format!("{user};[authentication username={user} password={password}];{expires}")
}

/// An injection line of phone-call.xml: user, credentials, number dialed.
pub fn auth_line(user: &str, password: &str, number: &str) -> String {
    format!("{user};[authentication username={user} password={password}];{number}")
}

/// A SIPp phone answering as a server on the port it registered from, for one call.
pub fn phone(server: &Server, scenario_file: &str, port: u16) -> Child {
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
pub fn finished(mut child: Child, what: &str) -> bool {
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
    pub async fn calls(&self, n: usize) -> Vec<Value> {
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
