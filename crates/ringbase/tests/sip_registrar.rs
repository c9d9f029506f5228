//! The SIP registrar with a real peer: the `ringbase` binary on loopback, phones played by SIPp
//! (Debian package `sip-tester`), registrations checked over the HTTP API.
//!
//! SIPp must be installed: a missing `sipp` fails this test (scripts/test.sh installs it).

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

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

async fn start_server() -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = ringbase()
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--http", "127.0.0.1:0", "--sip", "127.0.0.1:0"])
        .args(["--sip-realm", REALM, "--sip-min-expires", "1"])
        // SIPp 3.6 answers only the first challenge, and only MD5 (see tests/sipp/README.md).
        .args(["--sip-digest-algorithms", "MD5"])
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
    let csv = server
        .dir
        .path()
        .join(format!("{scenario_file}-{port}.csv"));
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

fn of_user<'a>(regs: &'a [Value], login: &str) -> Vec<&'a Value> {
    regs.iter()
        .filter(|r| r["user"]["login"] == login)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phones_register_with_digest_auth_expire_and_unregister() {
    require_sipp();
    let server = start_server().await;
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
