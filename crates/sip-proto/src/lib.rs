//! SIP protocol types for Ringbase: messages, URIs, typed headers, parser and printer.
//!
//! Sans-IO and runtime-free: bytes in, [`Message`] out, and back. No clock, no sockets.
//!
//! # Layout
//! - [`parse`](parse_message): framing of datagrams ([`parse_message`]) and streams
//!   ([`parse_stream`], Content-Length framing, CRLF keep-alives), bounded by [`ParseLimits`].
//! - [`Message`], [`Request`], [`Response`]: start line, [`Headers`], body; the printer
//!   ([`Message::to_bytes`]); builders ([`Request::make_response`], [`Request::make_cancel`],
//!   [`Request::make_ack_for_error`], [`RequestBuilder`]).
//! - [`Headers`]: ordered raw header lines (compact names expanded, folding undone), parsed
//!   lazily into the types of [`typed`] through [`TypedHeader`].
//! - [`Uri`]: sip/sips ([`SipUri`]), tel ([`TelUri`]), anything else ([`AbsoluteUri`]);
//!   [`NameAddr`] / [`Address`] for display name, URI and header parameters.
//! - `validate`: [`Request::validate`] / [`Response::validate`] decide whether a server may
//!   process a message and, if not, which status to answer ([`ValidationError`]).
//!
//! # Where errors go
//! [`ParseError`]: not a SIP message (drop the datagram, close the stream).
//! [`ValidationError`]: a message that must be refused, with its status code and reason.
//! [`HeaderError`]: a header missing or malformed when read.
//!
//! # Example
//! ```
//! use sip_proto::{parse_message, typed::{CSeq, Via}, StatusCode};
//! let datagram = b"OPTIONS sip:pbx.example.com SIP/2.0\r\n\
//! Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK1;rport\r\n\
//! From: <sip:100@pbx.example.com>;tag=a\r\nTo: <sip:pbx.example.com>\r\n\
//! Call-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
//! let msg = parse_message(datagram).unwrap();
//! msg.validate().unwrap();
//! let req = msg.as_request().unwrap();
//! let top: Via = req.headers.typed().unwrap().unwrap();
//! assert_eq!(top.rport(), Some(None));
//! let ok = req.make_response(StatusCode::OK, Some("srv1"));
//! assert!(ok.to_bytes().starts_with(b"SIP/2.0 200 OK\r\n"));
//! ```

mod address;
mod builder;
mod error;
mod headers;
mod message;
mod method;
mod name;
mod parse;
mod scan;
mod text;
pub mod typed;
mod uri;
mod validate;

pub use address::{Address, NameAddr, Param, Params};
pub use builder::RequestBuilder;
pub use error::{HeaderError, InvalidValue, ParseError, ValidationError};
pub use headers::{HeaderField, Headers, TypedHeader};
pub use message::{Message, Request, Response, StatusCode, Version};
pub use method::Method;
pub use name::HeaderName;
pub use parse::{
    leading_keepalives, parse_message, parse_message_bytes, parse_message_with, parse_stream,
    parse_stream_with, ParseLimits,
};
pub use scan::{percent_decode, unquote, write_quoted};
pub use text::SharedStr;
pub use uri::{AbsoluteUri, Host, SipUri, TelUri, Uri, UriHeader, UriParam};
pub use validate::CoreHeaders;

/// The [`bytes`] crate, re-exported: bodies are [`bytes::Bytes`].
pub use bytes;
