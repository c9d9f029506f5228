//! The shell on real loopback sockets: where responses go (RFC 3581 rport, §18.2.2 sent-by),
//! TCP framing, garbage, and a full REGISTER with digest authentication over UDP and TCP.

use domain::NewUser;
use sip_core::digest::{authorize, ha1, ClientCredentials, DigestAlgorithm};
use sip_net::{RegistrarConfig, Registry, SipConfig, TransportProtocol};
use sip_proto::typed::Via;
use sip_proto::{parse_message, parse_stream, Message, Response, StatusCode};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use store::{SipCredentials, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

const REALM: &str = "net.test";

struct Server {
    udp: SocketAddr,
    tcp: SocketAddr,
    registry: Registry,
    store: Arc<dyn Store>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn server(listen: &str) -> Server {
    let store: Arc<dyn Store> = Arc::new(
        store_sql::SqlStore::open("sqlite::memory:")
            .await
            .expect("store"),
    );
    let registry = Registry::new(REALM, RegistrarConfig::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let service = sip_net::start(
        SipConfig::new(vec![listen.parse().unwrap()]),
        registry.clone(),
        store.clone(),
        async move {
            let _ = stopped.await;
        },
    )
    .await
    .expect("binds");
    let find = |p| {
        service
            .local_addrs()
            .iter()
            .find(|(proto, _)| *proto == p)
            .unwrap()
            .1
    };
    let (udp, tcp) = (find(TransportProtocol::Udp), find(TransportProtocol::Tcp));
    assert_ne!(udp.port(), 0, "port 0 resolved to the bound port");
    assert_eq!(udp.port(), tcp.port(), "UDP and TCP share the port");
    Server {
        udp,
        tcp,
        registry,
        store,
        _stop: stop,
    }
}

fn options(transport: &str, via_host: &str, rport: bool, branch: &str) -> String {
    let rport = if rport { ";rport" } else { "" };
    format!(
        "OPTIONS sip:{REALM} SIP/2.0\r\n\
         Via: SIP/2.0/{transport} {via_host};branch=z9hG4bK{branch}{rport}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:probe@{REALM}>;tag=p1\r\n\
         To: <sip:{REALM}>\r\n\
         Call-ID: {branch}@probe\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

async fn recv_response(socket: &UdpSocket) -> Response {
    let mut buf = vec![0u8; 65535];
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buf))
        .await
        .expect("a response within 5 s")
        .expect("recv");
    match parse_message(&buf[..n]).expect("parses") {
        Message::Response(r) => r,
        Message::Request(_) => panic!("expected a response"),
    }
}

async fn nothing_arrives(socket: &UdpSocket) {
    let mut buf = vec![0u8; 65535];
    let got = tokio::time::timeout(Duration::from_millis(300), socket.recv_from(&mut buf)).await;
    assert!(got.is_err(), "expected no datagram");
}

#[tokio::test]
async fn udp_responses_honour_rport_and_carry_received() {
    let s = server("127.0.0.1:0").await;
    let phone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // The Via claims another address and port, as a phone behind NAT does; rport asks for the
    // answer to come back where the packet came from.
    let msg = options("UDP", "192.0.2.99:5099", true, "rport1");
    phone.send_to(msg.as_bytes(), s.udp).await.unwrap();
    let r = recv_response(&phone).await;
    assert_eq!(r.status, StatusCode::OK);
    let via: Via = r.headers.typed().unwrap().unwrap();
    let me = phone.local_addr().unwrap();
    assert_eq!(via.received(), Some(me.ip()));
    assert_eq!(via.rport(), Some(Some(me.port())));
    assert!(r.headers.contains(&sip_proto::HeaderName::Allow));
}

#[tokio::test]
async fn udp_responses_without_rport_go_to_the_sent_by_port() {
    let s = server("127.0.0.1:0").await;
    let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let listener = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let sent_by = listener.local_addr().unwrap();
    let msg = options("UDP", &sent_by.to_string(), false, "sentby1");
    sender.send_to(msg.as_bytes(), s.udp).await.unwrap();
    let r = recv_response(&listener).await;
    assert_eq!(r.status, StatusCode::OK);
    let via: Via = r.headers.typed().unwrap().unwrap();
    assert_eq!(via.received(), None, "sent-by host is the source address");
    nothing_arrives(&sender).await;
}

#[tokio::test]
async fn garbage_is_dropped_and_broken_requests_get_400() {
    let s = server("127.0.0.1:0").await;
    let phone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for junk in [
        &b"\0\0\0\0"[..],
        b"\r\n\r\n",
        b"HELLO WORLD\r\n\r\n",
        b"\xff\xfe\xfd\xfc",
        b"INVITE sip:x SIP/2.0\r\n",
    ] {
        phone.send_to(junk, s.udp).await.unwrap();
    }
    nothing_arrives(&phone).await;

    // Framed, with a readable Via, but no Call-ID and a bad CSeq: 400.
    let broken = format!(
        "OPTIONS sip:{REALM} SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKbroken;rport\r\n\
         From: <sip:probe@{REALM}>;tag=p1\r\nTo: <sip:{REALM}>\r\n\
         CSeq: banana\r\nContent-Length: 0\r\n\r\n"
    );
    phone.send_to(broken.as_bytes(), s.udp).await.unwrap();
    assert_eq!(recv_response(&phone).await.status, StatusCode::BAD_REQUEST);

    // Still alive.
    let msg = options("UDP", "127.0.0.1:9", true, "alive1");
    phone.send_to(msg.as_bytes(), s.udp).await.unwrap();
    assert_eq!(recv_response(&phone).await.status, StatusCode::OK);

    // Methods we do not serve.
    let invite = options("UDP", "127.0.0.1:9", true, "inv1")
        .replace("OPTIONS sip", "INVITE sip")
        .replace("1 OPTIONS", "1 INVITE");
    phone.send_to(invite.as_bytes(), s.udp).await.unwrap();
    let mut r = recv_response(&phone).await;
    if r.status == StatusCode::TRYING {
        r = recv_response(&phone).await;
    }
    assert_eq!(r.status, StatusCode::NOT_IMPLEMENTED);
    let message = options("UDP", "127.0.0.1:9", true, "msg1")
        .replace("OPTIONS sip", "MESSAGE sip")
        .replace("1 OPTIONS", "1 MESSAGE");
    phone.send_to(message.as_bytes(), s.udp).await.unwrap();
    assert_eq!(
        recv_response(&phone).await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
}

async fn read_responses(stream: &mut TcpStream, want: usize) -> Vec<Response> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    while out.len() < want {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .expect("data within 5 s")
            .expect("read");
        assert!(n > 0, "connection closed early");
        buf.extend_from_slice(&chunk[..n]);
        while let Some((m, used)) = parse_stream(&buf).expect("framed") {
            buf.drain(..used);
            out.push(m.as_response().expect("response").clone());
        }
    }
    out
}

#[tokio::test]
async fn tcp_messages_are_framed_by_content_length_across_writes() {
    let s = server("127.0.0.1:0").await;
    let mut stream = TcpStream::connect(s.tcp).await.unwrap();
    let mut bytes = String::new();
    for i in 0..3 {
        bytes.push_str(&options("TCP", "127.0.0.1:1", false, &format!("tcp{i}")));
    }
    // A keep-alive ping in front, then three messages cut at odd places.
    stream.write_all(b"\r\n\r\n").await.unwrap();
    let mut pong = [0u8; 2];
    stream.read_exact(&mut pong).await.unwrap();
    assert_eq!(&pong, b"\r\n", "RFC 5626 pong");
    let b = bytes.as_bytes();
    for piece in [&b[..7], &b[7..200], &b[200..b.len() - 3], &b[b.len() - 3..]] {
        stream.write_all(piece).await.unwrap();
        stream.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let responses = read_responses(&mut stream, 3).await;
    let ids: Vec<String> = responses
        .iter()
        .map(|r| {
            assert_eq!(r.status, StatusCode::OK);
            r.headers
                .typed::<sip_proto::typed::CallId>()
                .unwrap()
                .unwrap()
                .0
        })
        .collect();
    assert_eq!(ids, ["tcp0@probe", "tcp1@probe", "tcp2@probe"]);
}

#[tokio::test]
async fn an_unframeable_tcp_stream_is_closed_and_the_server_carries_on() {
    let s = server("127.0.0.1:0").await;
    let mut bad = TcpStream::connect(s.tcp).await.unwrap();
    // No Content-Length: a stream message cannot be framed (RFC 3261 §18.3).
    bad.write_all(b"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKx\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), bad.read(&mut buf))
        .await
        .expect("closed within 5 s")
        .unwrap_or(0);
    assert_eq!(n, 0, "the server closed the connection");

    let mut good = TcpStream::connect(s.tcp).await.unwrap();
    good.write_all(options("TCP", "127.0.0.1:1", false, "after").as_bytes())
        .await
        .unwrap();
    assert_eq!(read_responses(&mut good, 1).await[0].status, StatusCode::OK);
}

async fn add_phone_user(store: &dyn Store, login: &str, password: &str) -> domain::UserId {
    let user = store
        .create_user(
            NewUser {
                name: login.into(),
                login: login.into(),
                role: domain::Role::Agent,
                extension: None,
                mobile: None,
            },
            None,
        )
        .await
        .unwrap();
    store
        .set_sip_credentials(SipCredentials {
            user_id: user.id,
            username: login.into(),
            realm: REALM.into(),
            ha1_md5: ha1(DigestAlgorithm::Md5, login, REALM, password),
            ha1_sha256: ha1(DigestAlgorithm::Sha256, login, REALM, password),
            updated_at: chrono::Utc::now(),
        })
        .await
        .unwrap();
    user.id
}

fn register(transport: &str, local: SocketAddr, user: &str, expires: u32, cseq: u32) -> String {
    format!(
        "REGISTER sip:{REALM} SIP/2.0\r\n\
         Via: SIP/2.0/{transport} {local};branch=z9hG4bKreg{cseq}{transport};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{user}@{REALM}>;tag=r1\r\n\
         To: <sip:{user}@{REALM}>\r\n\
         Call-ID: reg-{transport}@test\r\n\
         CSeq: {cseq} REGISTER\r\n\
         Contact: <sip:{user}@{local};transport={}>\r\n\
         Expires: {expires}\r\n\
         User-Agent: net-test\r\n\
         Content-Length: 0\r\n\r\n",
        transport.to_ascii_lowercase()
    )
}

#[tokio::test]
async fn register_with_digest_over_udp_and_tcp() {
    let s = server("127.0.0.1:0").await;
    let alice = add_phone_user(s.store.as_ref(), "alice", "correct horse").await;
    let creds = ClientCredentials {
        username: "alice".into(),
        password: "correct horse".into(),
    };

    // UDP
    let phone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let local = phone.local_addr().unwrap();
    let first = register("UDP", local, "alice", 300, 1);
    phone.send_to(first.as_bytes(), s.udp).await.unwrap();
    let challenge = recv_response(&phone).await;
    assert_eq!(challenge.status, StatusCode::UNAUTHORIZED);
    let request = parse_message(first.as_bytes()).unwrap();
    let retry = authorize(
        request.as_request().unwrap(),
        &challenge,
        &creds,
        "abc",
        "z9hG4bKudp2",
    )
    .unwrap();
    phone.send_to(&retry.to_bytes(), s.udp).await.unwrap();
    assert_eq!(recv_response(&phone).await.status, StatusCode::OK);

    // TCP, the same user's second phone.
    let mut stream = TcpStream::connect(s.tcp).await.unwrap();
    let local = stream.local_addr().unwrap();
    let first = register("TCP", local, "alice", 300, 1);
    stream.write_all(first.as_bytes()).await.unwrap();
    let challenge = read_responses(&mut stream, 1).await.remove(0);
    assert_eq!(challenge.status, StatusCode::UNAUTHORIZED);
    let request = parse_message(first.as_bytes()).unwrap();
    let retry = authorize(
        request.as_request().unwrap(),
        &challenge,
        &creds,
        "abc",
        "z9hG4bKtcp2",
    )
    .unwrap();
    stream.write_all(&retry.to_bytes()).await.unwrap();
    let ok = read_responses(&mut stream, 1).await.remove(0);
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(
        ok.headers
            .typed_all::<sip_proto::typed::Contact>()
            .unwrap()
            .len(),
        2,
        "both of alice's phones are listed"
    );

    let regs = s.registry.registrations_of(alice);
    let mut transports: Vec<_> = regs.iter().map(|r| r.transport).collect();
    transports.sort_by_key(|t| t.to_string());
    assert_eq!(transports, [TransportProtocol::Tcp, TransportProtocol::Udp]);
    assert!(regs
        .iter()
        .all(|r| r.user_agent.as_deref() == Some("net-test") && r.expires_in <= 300));
}

#[tokio::test]
async fn ipv6_loopback_works_when_available() {
    // Machines without IPv6 on loopback cannot bind ::1; that is the machine, not the code.
    if std::net::UdpSocket::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here; skipping");
        return;
    }
    let s = server("[::1]:0").await;
    let phone = UdpSocket::bind("[::1]:0").await.unwrap();
    let msg = options("UDP", "[2001:db8::9]:5060", true, "v6");
    phone.send_to(msg.as_bytes(), s.udp).await.unwrap();
    let r = recv_response(&phone).await;
    assert_eq!(r.status, StatusCode::OK);
    let via: Via = r.headers.typed().unwrap().unwrap();
    assert_eq!(via.received(), Some("::1".parse().unwrap()));
}
