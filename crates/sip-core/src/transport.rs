//! Where messages come from and go to: [`Peer`], [`TransportProtocol`], [`Transmit`].

use sip_proto::bytes::Bytes;
use sip_proto::typed::Transport;
use std::fmt;
use std::net::SocketAddr;

/// The transport protocols the core knows how to time. Only UDP is unreliable: on the others
/// the retransmission timers (A, E, G) do not run and the wait timers (D, I, J, K) are zero
/// (RFC 3261 §17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportProtocol {
    /// UDP: unreliable, the transaction layer retransmits.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// SCTP.
    Sctp,
    /// WebSocket (RFC 7118).
    Ws,
    /// Secure WebSocket.
    Wss,
}

impl TransportProtocol {
    /// Whether the transport delivers reliably (everything but UDP).
    pub fn is_reliable(self) -> bool {
        self != TransportProtocol::Udp
    }

    /// The protocol named in a Via, if it is one the core can time.
    pub fn from_via(transport: &Transport) -> Option<TransportProtocol> {
        Some(match transport {
            Transport::Udp => TransportProtocol::Udp,
            Transport::Tcp => TransportProtocol::Tcp,
            Transport::Tls => TransportProtocol::Tls,
            Transport::Sctp => TransportProtocol::Sctp,
            Transport::Ws => TransportProtocol::Ws,
            Transport::Wss => TransportProtocol::Wss,
            Transport::Other(_) => return None,
        })
    }

    /// The name as written in a Via.
    pub fn to_via(self) -> Transport {
        match self {
            TransportProtocol::Udp => Transport::Udp,
            TransportProtocol::Tcp => Transport::Tcp,
            TransportProtocol::Tls => Transport::Tls,
            TransportProtocol::Sctp => Transport::Sctp,
            TransportProtocol::Ws => Transport::Ws,
            TransportProtocol::Wss => Transport::Wss,
        }
    }
}

impl fmt::Display for TransportProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.to_via().as_str())
    }
}

/// The other end of a message: protocol and socket address. For connection-oriented
/// transports the shell maps it to the connection the message arrived on (or opens one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    /// Transport protocol.
    pub protocol: TransportProtocol,
    /// Remote address.
    pub addr: SocketAddr,
}

impl Peer {
    /// A UDP peer.
    pub fn udp(addr: SocketAddr) -> Peer {
        Peer {
            protocol: TransportProtocol::Udp,
            addr,
        }
    }

    /// A TCP peer.
    pub fn tcp(addr: SocketAddr) -> Peer {
        Peer {
            protocol: TransportProtocol::Tcp,
            addr,
        }
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.protocol, self.addr)
    }
}

/// One message to put on the wire, already printed (retransmissions reuse the bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it.
    pub destination: Peer,
    /// The message in wire form.
    pub payload: Bytes,
}
