//! [`Message`], [`Request`], [`Response`]: the start line, [`Headers`] and body, their printer,
//! and builders for responses (RFC 3261 8.2.6), CANCEL (9.1) and ACK for non-2xx (17.1.1.3).

use crate::headers::{Headers, TypedHeader};
use crate::method::Method;
use crate::name::HeaderName;
use crate::text::SharedStr;
use crate::typed::{CSeq, ContentType, MaxForwards, To};
use crate::uri::Uri;
use bytes::Bytes;
use std::fmt;

/// `SIP/major.minor`. Only 2.0 is supported; other versions parse so that a request can be
/// answered 505 (RFC 4475 `badvers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Version {
    /// Major version.
    pub major: u16,
    /// Minor version.
    pub minor: u16,
}

impl Version {
    /// SIP/2.0
    pub const SIP_2_0: Version = Version { major: 2, minor: 0 };
}

impl Default for Version {
    fn default() -> Self {
        Version::SIP_2_0
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/{}.{}", self.major, self.minor)
    }
}

/// A status code, 100-699.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusCode(u16);

impl StatusCode {
    /// 100 Trying
    pub const TRYING: StatusCode = StatusCode(100);
    /// 180 Ringing
    pub const RINGING: StatusCode = StatusCode(180);
    /// 183 Session Progress
    pub const SESSION_PROGRESS: StatusCode = StatusCode(183);
    /// 200 OK
    pub const OK: StatusCode = StatusCode(200);
    /// 202 Accepted
    pub const ACCEPTED: StatusCode = StatusCode(202);
    /// 400 Bad Request
    pub const BAD_REQUEST: StatusCode = StatusCode(400);
    /// 401 Unauthorized
    pub const UNAUTHORIZED: StatusCode = StatusCode(401);
    /// 403 Forbidden
    pub const FORBIDDEN: StatusCode = StatusCode(403);
    /// 404 Not Found
    pub const NOT_FOUND: StatusCode = StatusCode(404);
    /// 405 Method Not Allowed
    pub const METHOD_NOT_ALLOWED: StatusCode = StatusCode(405);
    /// 407 Proxy Authentication Required
    pub const PROXY_AUTHENTICATION_REQUIRED: StatusCode = StatusCode(407);
    /// 408 Request Timeout
    pub const REQUEST_TIMEOUT: StatusCode = StatusCode(408);
    /// 415 Unsupported Media Type
    pub const UNSUPPORTED_MEDIA_TYPE: StatusCode = StatusCode(415);
    /// 416 Unsupported URI Scheme
    pub const UNSUPPORTED_URI_SCHEME: StatusCode = StatusCode(416);
    /// 420 Bad Extension
    pub const BAD_EXTENSION: StatusCode = StatusCode(420);
    /// 423 Interval Too Brief
    pub const INTERVAL_TOO_BRIEF: StatusCode = StatusCode(423);
    /// 480 Temporarily Unavailable
    pub const TEMPORARILY_UNAVAILABLE: StatusCode = StatusCode(480);
    /// 481 Call/Transaction Does Not Exist
    pub const CALL_DOES_NOT_EXIST: StatusCode = StatusCode(481);
    /// 482 Loop Detected
    pub const LOOP_DETECTED: StatusCode = StatusCode(482);
    /// 483 Too Many Hops
    pub const TOO_MANY_HOPS: StatusCode = StatusCode(483);
    /// 486 Busy Here
    pub const BUSY_HERE: StatusCode = StatusCode(486);
    /// 487 Request Terminated
    pub const REQUEST_TERMINATED: StatusCode = StatusCode(487);
    /// 488 Not Acceptable Here
    pub const NOT_ACCEPTABLE_HERE: StatusCode = StatusCode(488);
    /// 500 Server Internal Error
    pub const SERVER_INTERNAL_ERROR: StatusCode = StatusCode(500);
    /// 501 Not Implemented
    pub const NOT_IMPLEMENTED: StatusCode = StatusCode(501);
    /// 503 Service Unavailable
    pub const SERVICE_UNAVAILABLE: StatusCode = StatusCode(503);
    /// 505 Version Not Supported
    pub const VERSION_NOT_SUPPORTED: StatusCode = StatusCode(505);
    /// 603 Decline
    pub const DECLINE: StatusCode = StatusCode(603);

    /// A status code if `code` is 100-699.
    pub fn new(code: u16) -> Option<StatusCode> {
        (100..=699).contains(&code).then_some(StatusCode(code))
    }

    /// The number.
    pub fn as_u16(self) -> u16 {
        self.0
    }

    /// 1xx
    pub fn is_provisional(self) -> bool {
        self.0 < 200
    }

    /// 2xx
    pub fn is_success(self) -> bool {
        (200..300).contains(&self.0)
    }

    /// 200-699
    pub fn is_final(self) -> bool {
        self.0 >= 200
    }

    /// The reason phrase RFC 3261 21 suggests, or a class phrase for other codes.
    pub fn default_reason(self) -> &'static str {
        // Specific codes first; the class ranges below catch the rest.
        #[allow(clippy::match_overlapping_arm)]
        match self.0 {
            100 => "Trying",
            180 => "Ringing",
            181 => "Call Is Being Forwarded",
            182 => "Queued",
            183 => "Session Progress",
            200 => "OK",
            202 => "Accepted",
            300 => "Multiple Choices",
            301 => "Moved Permanently",
            302 => "Moved Temporarily",
            305 => "Use Proxy",
            380 => "Alternative Service",
            400 => "Bad Request",
            401 => "Unauthorized",
            402 => "Payment Required",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            406 => "Not Acceptable",
            407 => "Proxy Authentication Required",
            408 => "Request Timeout",
            410 => "Gone",
            413 => "Request Entity Too Large",
            414 => "Request-URI Too Long",
            415 => "Unsupported Media Type",
            416 => "Unsupported URI Scheme",
            420 => "Bad Extension",
            421 => "Extension Required",
            423 => "Interval Too Brief",
            480 => "Temporarily Unavailable",
            481 => "Call/Transaction Does Not Exist",
            482 => "Loop Detected",
            483 => "Too Many Hops",
            484 => "Address Incomplete",
            485 => "Ambiguous",
            486 => "Busy Here",
            487 => "Request Terminated",
            488 => "Not Acceptable Here",
            491 => "Request Pending",
            493 => "Undecipherable",
            500 => "Server Internal Error",
            501 => "Not Implemented",
            502 => "Bad Gateway",
            503 => "Service Unavailable",
            504 => "Server Time-out",
            505 => "Version Not Supported",
            513 => "Message Too Large",
            600 => "Busy Everywhere",
            603 => "Decline",
            604 => "Does Not Exist Anywhere",
            606 => "Not Acceptable",
            100..=199 => "Provisional",
            200..=299 => "Success",
            300..=399 => "Redirection",
            400..=499 => "Client Error",
            500..=599 => "Server Error",
            _ => "Global Failure",
        }
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A SIP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Method of the request line.
    pub method: Method,
    /// Request-URI.
    pub uri: Uri,
    /// Version of the request line.
    pub version: Version,
    /// Header lines.
    pub headers: Headers,
    /// Body bytes.
    pub body: Bytes,
}

/// A SIP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Version of the status line.
    pub version: Version,
    /// Status code.
    pub status: StatusCode,
    /// Reason phrase (may be empty).
    pub reason: SharedStr,
    /// Header lines.
    pub headers: Headers,
    /// Body bytes.
    pub body: Bytes,
}

/// A request or a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Message {
    /// The headers.
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }

    /// The headers, mutable.
    pub fn headers_mut(&mut self) -> &mut Headers {
        match self {
            Message::Request(r) => &mut r.headers,
            Message::Response(r) => &mut r.headers,
        }
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        match self {
            Message::Request(r) => &r.body,
            Message::Response(r) => &r.body,
        }
    }

    /// The request, if this is one.
    pub fn as_request(&self) -> Option<&Request> {
        match self {
            Message::Request(r) => Some(r),
            Message::Response(_) => None,
        }
    }

    /// The response, if this is one.
    pub fn as_response(&self) -> Option<&Response> {
        match self {
            Message::Response(r) => Some(r),
            Message::Request(_) => None,
        }
    }

    /// Appends the wire form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Message::Request(r) => r.write_to(out),
            Message::Response(r) => r.write_to(out),
        }
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }
}

impl From<Request> for Message {
    fn from(r: Request) -> Self {
        Message::Request(r)
    }
}

impl From<Response> for Message {
    fn from(r: Response) -> Self {
        Message::Response(r)
    }
}

fn write_tail(out: &mut Vec<u8>, headers: &Headers, body: &[u8]) {
    headers.write_to(out);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

/// Writes a start-line field that callers can set freely (reason phrase, extension method,
/// opaque URI); a CR or LF becomes a space so it cannot end the start line early.
fn write_line_text(out: &mut Vec<u8>, text: &[u8]) {
    out.extend(
        text.iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
}

fn set_body(
    headers: &mut Headers,
    body: &mut Bytes,
    new_body: Bytes,
    content_type: Option<&ContentType>,
) {
    headers.set(HeaderName::ContentLength, new_body.len().to_string());
    match content_type {
        Some(ct) => headers.set_typed(ct),
        None => {
            headers.remove(&HeaderName::ContentType);
        }
    }
    *body = new_body;
}

impl Request {
    /// A request with no headers and an empty body. Add headers with
    /// [`Headers::push_typed`]; see [`RequestBuilder`](crate::RequestBuilder) for the usual set.
    pub fn new(method: Method, uri: Uri) -> Request {
        Request {
            method,
            uri,
            version: Version::SIP_2_0,
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// Appends the wire form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let mut uri = String::with_capacity(64);
        self.uri.write(&mut uri);
        write_line_text(out, self.method.as_str().as_bytes());
        out.push(b' ');
        write_line_text(out, uri.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.version.to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
        write_tail(out, &self.headers, &self.body);
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128 + self.headers.printed_len() + self.body.len());
        self.write_to(&mut out);
        out
    }

    /// Replaces the body and sets Content-Length and Content-Type (removed if `None`).
    pub fn set_body(&mut self, body: Bytes, content_type: Option<&ContentType>) {
        set_body(&mut self.headers, &mut self.body, body, content_type);
    }

    /// Max-Forwards, or 70 when absent (RFC 3261 8.1.1.6) or malformed.
    pub fn max_forwards(&self) -> MaxForwards {
        self.headers
            .typed::<MaxForwards>()
            .ok()
            .flatten()
            .unwrap_or(MaxForwards::DEFAULT)
    }

    /// A response to this request per RFC 3261 8.2.6: Via (all, in order), From, To, Call-ID
    /// and CSeq copied; `to_tag` added to To if To has no tag and the status is not 100
    /// (a 100 Trying also copies Timestamp, 8.2.6.1). Content-Length: 0 closes the headers.
    pub fn make_response(&self, status: StatusCode, to_tag: Option<&str>) -> Response {
        let mut headers = Headers::with_capacity(8);
        headers.copy_from(&self.headers, &HeaderName::Via);
        headers.copy_from(&self.headers, &HeaderName::From);
        for value in self.headers.raw_all(&HeaderName::To) {
            let needs_tag =
                status != StatusCode::TRYING && To::parse(value).is_ok_and(|t| t.tag().is_none());
            match to_tag {
                Some(tag) if needs_tag => {
                    headers.push(HeaderName::To, format!("{value};tag={tag}"))
                }
                _ => headers.push(HeaderName::To, value),
            }
        }
        headers.copy_from(&self.headers, &HeaderName::CallId);
        headers.copy_from(&self.headers, &HeaderName::CSeq);
        if status == StatusCode::TRYING {
            headers.copy_from(&self.headers, &HeaderName::Timestamp);
        }
        headers.push(HeaderName::ContentLength, SharedStr::from_static("0"));
        Response {
            version: Version::SIP_2_0,
            status,
            reason: SharedStr::from_static(status.default_reason()),
            headers,
            body: Bytes::new(),
        }
    }

    /// A CANCEL for this (INVITE) request per RFC 3261 9.1: same Request-URI, Call-ID, To,
    /// From, CSeq number with method CANCEL, only the top Via, and the same Route headers.
    pub fn make_cancel(&self) -> Request {
        let mut headers = Headers::with_capacity(8);
        if let Some(top) = self.headers.raw(&HeaderName::Via) {
            let first = crate::scan::split_list(top).next().unwrap_or(top);
            headers.push(HeaderName::Via, first);
        }
        headers.copy_from(&self.headers, &HeaderName::Route);
        headers.push(HeaderName::MaxForwards, SharedStr::from_static("70"));
        headers.copy_from(&self.headers, &HeaderName::From);
        headers.copy_from(&self.headers, &HeaderName::To);
        headers.copy_from(&self.headers, &HeaderName::CallId);
        let seq = self
            .headers
            .typed::<CSeq>()
            .ok()
            .flatten()
            .map_or(1, |c| c.seq);
        headers.push_typed(&CSeq {
            seq,
            method: Method::Cancel,
        });
        headers.push(HeaderName::ContentLength, SharedStr::from_static("0"));
        Request {
            method: Method::Cancel,
            uri: self.uri.clone(),
            version: Version::SIP_2_0,
            headers,
            body: Bytes::new(),
        }
    }

    /// The ACK a client transaction sends for a non-2xx final response to this INVITE
    /// (RFC 3261 17.1.1.3): Request-URI, Call-ID, From, top Via and Route of the INVITE, To of
    /// the response (with its tag), CSeq number with method ACK.
    pub fn make_ack_for_error(&self, response: &Response) -> Request {
        let mut ack = self.make_cancel();
        ack.method = Method::Ack;
        ack.headers.remove(&HeaderName::To);
        let mut rebuilt = Headers::with_capacity(ack.headers.len() + 1);
        for f in ack.headers.iter() {
            if f.name == HeaderName::CallId {
                rebuilt.copy_from(&response.headers, &HeaderName::To);
            }
            if f.name == HeaderName::CSeq {
                let seq = ack
                    .headers
                    .typed::<CSeq>()
                    .ok()
                    .flatten()
                    .map_or(1, |c| c.seq);
                rebuilt.push_typed(&CSeq {
                    seq,
                    method: Method::Ack,
                });
                continue;
            }
            rebuilt.push(f.name.clone(), f.value.clone());
        }
        ack.headers = rebuilt;
        ack
    }
}

impl Response {
    /// A response with no headers (prefer [`Request::make_response`]).
    pub fn new(status: StatusCode) -> Response {
        Response {
            version: Version::SIP_2_0,
            status,
            reason: SharedStr::from_static(status.default_reason()),
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// Appends the wire form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.version.to_string().as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.status.to_string().as_bytes());
        out.push(b' ');
        write_line_text(out, self.reason.as_bytes());
        out.extend_from_slice(b"\r\n");
        write_tail(out, &self.headers, &self.body);
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.headers.printed_len() + self.body.len());
        self.write_to(&mut out);
        out
    }

    /// Replaces the body and sets Content-Length and Content-Type (removed if `None`).
    pub fn set_body(&mut self, body: Bytes, content_type: Option<&ContentType>) {
        set_body(&mut self.headers, &mut self.body, body, content_type);
    }
}

/// Printed as text; a body that is not UTF-8 is shown lossily (use `to_bytes` for the wire).
impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}
