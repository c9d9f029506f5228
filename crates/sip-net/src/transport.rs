//! Sockets: UDP and TCP listeners, one task per socket and per connection. Reads become
//! [`Input`]s for the endpoint loop; writes are done by [`Sockets`] on the loop's behalf.

use crate::endpoint::Input;
use crate::framing::{Frame, StreamFramer};
use sip_core::{Peer, TransportProtocol};
use sip_proto::bytes::Bytes;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Largest datagram we read (the UDP maximum).
const MAX_DATAGRAM: usize = 65_535;
/// How long an outgoing TCP connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Messages queued for one connection's writer before further ones are dropped (the
/// transaction layer retransmits or times out; a stuck peer must not grow memory).
const WRITE_QUEUE: usize = 256;
/// Kernel buffer asked for on each UDP socket, both ways. The default (208 KiB) holds a
/// few hundred datagrams: a burst of calls, or the loop busy for some milliseconds, and the
/// kernel drops INVITEs and BYEs that then cost a 500 ms retransmission each (seen at
/// 2,000 calls/s). Linux caps it at net.core.rmem_max / wmem_max, which we log.
const UDP_BUFFER: usize = 8 << 20;
/// Open TCP connections at most; more are closed at once, so a flood of connections cannot
/// exhaust file descriptors (UDP keeps working).
const MAX_CONNECTIONS: usize = 20_000;

/// Open connections, counted by the connection tasks themselves.
static OPEN_CONNECTIONS: AtomicUsize = AtomicUsize::new(0);

/// Holds one slot of [`MAX_CONNECTIONS`] while a connection task runs.
struct ConnectionSlot;

impl ConnectionSlot {
    fn take() -> Option<ConnectionSlot> {
        let taken = OPEN_CONNECTIONS.fetch_add(1, Ordering::AcqRel);
        if taken >= MAX_CONNECTIONS {
            OPEN_CONNECTIONS.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(ConnectionSlot)
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        OPEN_CONNECTIONS.fetch_sub(1, Ordering::AcqRel);
    }
}

/// IPv4-mapped IPv6 addresses (from a dual-stack socket) as plain IPv4, so `received`, the
/// registrations and the connection table all see one form.
pub(crate) fn canonical(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), addr.port()),
            None => addr,
        },
        IpAddr::V4(_) => addr,
    }
}

/// A live TCP connection as the loop knows it.
#[derive(Debug)]
struct Connection {
    id: u64,
    tx: mpsc::Sender<Bytes>,
}

/// Every socket of the service, and the tasks reading them.
#[derive(Debug)]
pub(crate) struct Sockets {
    /// UDP sockets with their local addresses (read once: `send` picks by family for every
    /// message, and asking the kernel each time was a system call per datagram).
    udp: Vec<(Arc<UdpSocket>, SocketAddr)>,
    tcp_local: Vec<SocketAddr>,
    connections: HashMap<SocketAddr, Connection>,
    tasks: Vec<JoinHandle<()>>,
    input: mpsc::Sender<Input>,
}

static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

/// Binds UDP and TCP on each address (TCP on the port UDP got, so port 0 gives one port for
/// both) and starts reading.
pub(crate) async fn bind_all(
    addrs: &[SocketAddr],
    input: mpsc::Sender<Input>,
) -> io::Result<Sockets> {
    let mut sockets = Sockets {
        udp: Vec::new(),
        tcp_local: Vec::new(),
        connections: HashMap::new(),
        tasks: Vec::new(),
        input: input.clone(),
    };
    for &addr in addrs {
        let (udp, tcp) = bind_pair(addr).await?;
        let udp = Arc::new(udp);
        sockets.tcp_local.push(tcp.local_addr()?);
        sockets
            .tasks
            .push(tokio::spawn(read_udp(udp.clone(), input.clone())));
        sockets
            .tasks
            .push(tokio::spawn(accept_tcp(tcp, input.clone())));
        let local = udp.local_addr()?;
        sockets.udp.push((udp, local));
    }
    Ok(sockets)
}

/// UDP and TCP on the same port. With port 0 the port UDP picked may be taken on TCP: try a
/// few times.
async fn bind_pair(addr: SocketAddr) -> io::Result<(UdpSocket, TcpListener)> {
    let mut last_error = None;
    for _ in 0..8 {
        let udp = bind_udp(addr)?;
        let port = udp.local_addr()?.port();
        match TcpListener::bind(SocketAddr::new(addr.ip(), port)).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if addr.port() == 0 => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no free port for UDP and TCP")))
}

/// A UDP socket with [`UDP_BUFFER`]-sized kernel buffers, as far as the system allows.
fn bind_udp(addr: SocketAddr) -> io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    // Best effort: a smaller buffer still works, only less calmly under bursts.
    let _ = socket.set_recv_buffer_size(UDP_BUFFER);
    let _ = socket.set_send_buffer_size(UDP_BUFFER);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    tracing::debug!(
        %addr,
        receive = socket.recv_buffer_size().unwrap_or(0),
        send = socket.send_buffer_size().unwrap_or(0),
        "UDP socket buffers"
    );
    UdpSocket::from_std(socket.into())
}

impl Sockets {
    pub(crate) fn local_addrs(&self) -> Vec<(TransportProtocol, SocketAddr)> {
        let mut out = Vec::new();
        for ((_, udp), tcp) in self.udp.iter().zip(&self.tcp_local) {
            out.push((TransportProtocol::Udp, *udp));
            out.push((TransportProtocol::Tcp, *tcp));
        }
        out
    }

    /// Sends one message. Failures are logged: the transaction layer's timers deal with loss.
    pub(crate) fn send(&mut self, destination: Peer, payload: Bytes) {
        match destination.protocol {
            TransportProtocol::Udp => self.send_udp(destination.addr, payload),
            TransportProtocol::Tcp => self.send_tcp(destination.addr, payload),
            other => tracing::debug!(%other, "no socket for this transport; message dropped"),
        }
    }

    fn send_udp(&self, to: SocketAddr, payload: Bytes) {
        let Some((socket, to)) = self.udp_for(to) else {
            tracing::debug!(%to, "no UDP socket of this address family");
            return;
        };
        match socket.try_send_to(&payload, to) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let socket = socket.clone();
                tokio::spawn(async move {
                    if let Err(e) = socket.send_to(&payload, to).await {
                        tracing::debug!(%to, error = %e, "UDP send failed");
                    }
                });
            }
            Err(e) => tracing::debug!(%to, error = %e, "UDP send failed"),
        }
    }

    /// A socket that can reach `to`: one of the same family, else a dual-stack IPv6 socket
    /// (with the IPv4 address mapped).
    fn udp_for(&self, to: SocketAddr) -> Option<(&Arc<UdpSocket>, SocketAddr)> {
        if let Some((s, _)) = self.udp.iter().find(|(_, a)| a.is_ipv4() == to.is_ipv4()) {
            return Some((s, to));
        }
        let IpAddr::V4(v4) = to.ip() else {
            return None;
        };
        let mapped = SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), to.port());
        self.udp
            .iter()
            .find(|(_, a)| a.is_ipv6())
            .map(|(s, _)| (s, mapped))
    }

    fn send_tcp(&mut self, to: SocketAddr, payload: Bytes) {
        if let Some(conn) = self.connections.get(&to) {
            if conn.tx.try_send(payload).is_err() {
                tracing::debug!(%to, "TCP write queue full or closed; message dropped");
            }
            return;
        }
        // No connection to that peer (it closed, or a request goes to a new one): open one.
        let input = self.input.clone();
        let Some(slot) = ConnectionSlot::take() else {
            tracing::warn!(%to, "too many TCP connections; message dropped");
            return;
        };
        tokio::spawn(async move {
            let _slot = slot;
            match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(to)).await {
                Ok(Ok(stream)) => run_connection(stream, to, input, Some(payload)).await,
                Ok(Err(e)) => tracing::debug!(%to, error = %e, "TCP connect failed"),
                Err(_) => tracing::debug!(%to, "TCP connect timed out"),
            }
        });
    }

    pub(crate) fn connected(&mut self, peer: SocketAddr, id: u64, tx: mpsc::Sender<Bytes>) {
        self.connections.insert(peer, Connection { id, tx });
    }

    pub(crate) fn closed(&mut self, peer: SocketAddr, id: u64) {
        if self.connections.get(&peer).is_some_and(|c| c.id == id) {
            self.connections.remove(&peer);
        }
    }

    pub(crate) fn connection_count(&self) -> usize {
        self.connections.len()
    }
}

impl Drop for Sockets {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn read_udp(socket: Arc<UdpSocket>, input: mpsc::Sender<Input>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((n, from)) => {
                let datagram = Input::Datagram {
                    source: Peer::udp(canonical(from)),
                    data: Bytes::copy_from_slice(&buf[..n]),
                    received_at: SystemTime::now(),
                };
                if input.send(datagram).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                // ICMP errors surface here on some systems; they concern one peer, not us.
                tracing::debug!(error = %e, "UDP receive error");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
}

async fn accept_tcp(listener: TcpListener, input: mpsc::Sender<Input>) {
    loop {
        match listener.accept().await {
            Ok((stream, from)) => match ConnectionSlot::take() {
                Some(slot) => {
                    let input = input.clone();
                    tokio::spawn(async move {
                        run_connection(stream, canonical(from), input, None).await;
                        drop(slot);
                    });
                }
                None => {
                    tracing::warn!(%from, max = MAX_CONNECTIONS, "too many TCP connections; refused");
                    drop(stream);
                }
            },
            Err(e) => {
                // Out of file descriptors and the like: wait a little rather than spin.
                tracing::warn!(error = %e, "TCP accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// One TCP connection: registers itself with the loop, frames what it reads, writes what the
/// loop queues, and reports its end.
async fn run_connection(
    stream: TcpStream,
    peer: SocketAddr,
    input: mpsc::Sender<Input>,
    first: Option<Bytes>,
) {
    let id = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed);
    let _ = stream.set_nodelay(true);
    let (tx, mut rx) = mpsc::channel::<Bytes>(WRITE_QUEUE);
    if let Some(first) = first {
        let _ = tx.try_send(first);
    }
    if input
        .send(Input::Connected {
            peer,
            id,
            tx: tx.clone(),
        })
        .await
        .is_err()
    {
        return;
    }
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if writer.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = writer.shutdown().await;
    });
    let mut framer = StreamFramer::default();
    let mut buf = vec![0u8; 16 * 1024];
    'read: loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        // Every message completed by this read arrived now.
        let received_at = SystemTime::now();
        framer.push(&buf[..n]);
        loop {
            match framer.next_frame() {
                Ok(Some(Frame::Message(message))) => {
                    let msg = Input::Message {
                        source: Peer::tcp(peer),
                        message,
                        received_at,
                    };
                    if input.send(msg).await.is_err() {
                        break 'read;
                    }
                }
                Ok(Some(Frame::Ping)) => {
                    let _ = tx.try_send(Bytes::from_static(b"\r\n"));
                }
                Ok(None) => break,
                Err(e) => {
                    // The stream cannot be framed any more: nothing sensible can follow.
                    tracing::debug!(%peer, error = %e, "closing unframeable TCP stream");
                    break 'read;
                }
            }
        }
    }
    drop(tx);
    // The loop drops its sender on `Closed`; the writer then flushes what is queued and ends.
    let _ = input.send(Input::Closed { peer, id }).await;
    let _ = writing.await;
}
