//! A real softphone on `ringbase serve --sip`: baresip registers as an agent with its SIP
//! password, a SIPp "trunk" calls the company line, baresip rings and answers by itself
//! (`answermode=auto`), media runs for two seconds, the trunk hangs up, and the call log holds
//! exactly one answered record with that agent.
//!
//! baresip runs headless from a temp config dir (no sound card: its `aubridge` module is both
//! the audio source and the player), on loopback only, and is killed by its PID at the end.
//! SIPp and baresip must be installed: a missing one fails this test (Debian packages
//! `sip-tester` and `baresip`).

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
