//! The message parser: datagrams ([`parse_message`]) and streams ([`parse_stream`]).
//!
//! The parser reads structure only: start line, header lines (names, folded continuation
//! lines, raw values) and body framing. Header values are checked for UTF-8 and stored as
//! slices of one shared buffer; their grammar is checked when a typed header is read and by
//! [`Message::validate`](crate::Message::validate). This split keeps the hot path cheap and
//! lets a server answer a malformed-but-framed request with 400 instead of dropping it.
//!
//! Every input is bounded by [`ParseLimits`]; no input can make the parser panic, loop, or
//! allocate more than about twice the input size.

use crate::error::ParseError;
use crate::headers::{HeaderField, Headers, TypedHeader};
use crate::message::{Message, Request, Response, StatusCode, Version};
use crate::method::Method;
use crate::name::HeaderName;
use crate::scan::is_token_char;
use crate::text::SharedStr;
use crate::typed::ContentLength;
use crate::uri::Uri;
use bytes::Bytes;

/// Bounds on what the parser accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLimits {
    /// Largest message (start line, headers and body) in bytes.
    pub max_message_size: usize,
    /// Most header lines (after unfolding).
    pub max_headers: usize,
    /// Longest physical line in bytes.
    pub max_line_length: usize,
}

impl Default for ParseLimits {
    /// 64 KiB messages (the largest UDP datagram), 256 header lines, 8 KiB lines.
    fn default() -> Self {
        ParseLimits {
            max_message_size: 65_535,
            max_headers: 256,
            max_line_length: 8_192,
        }
    }
}

/// Parses one datagram with the default limits (see [`parse_message_with`]).
pub fn parse_message(datagram: &[u8]) -> Result<Message, ParseError> {
    parse_message_with(datagram, &ParseLimits::default())
}

/// Parses one datagram (UDP). Leading CRLFs are skipped (RFC 3261 7.5). Without
/// Content-Length the body is the rest of the datagram; with it, extra bytes are discarded
/// (RFC 3261 18.3). A body shorter than Content-Length is left for
/// [`validate`](crate::Message::validate) to answer 400.
pub fn parse_message_with(datagram: &[u8], limits: &ParseLimits) -> Result<Message, ParseError> {
    if datagram.len() > limits.max_message_size {
        return Err(ParseError::TooLarge {
            limit: limits.max_message_size,
        });
    }
    parse_datagram_bytes(Bytes::copy_from_slice(datagram), limits)
}

/// Parses one datagram already held in [`Bytes`], without copying it.
pub fn parse_message_bytes(datagram: Bytes, limits: &ParseLimits) -> Result<Message, ParseError> {
    if datagram.len() > limits.max_message_size {
        return Err(ParseError::TooLarge {
            limit: limits.max_message_size,
        });
    }
    parse_datagram_bytes(datagram, limits)
}

fn parse_datagram_bytes(buf: Bytes, limits: &ParseLimits) -> Result<Message, ParseError> {
    let skip = leading_keepalives(&buf);
    if buf[skip..].iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ParseError::Empty);
    }
    let (head_end, body_start) = match find_head_end(&buf, skip) {
        Some(ends) => ends,
        // A datagram whose last header line is complete but lacks the empty line: accept
        // it as a message without body rather than drop it.
        None if buf.ends_with(b"\n") => (buf.len(), buf.len()),
        None => return Err(ParseError::UnterminatedHeaders),
    };
    let (mut message, _) = parse_head(&buf, skip, head_end, limits)?;
    let mut body = buf.slice(body_start..);
    let declared = message
        .headers()
        .typed::<ContentLength>()
        .ok()
        .flatten()
        .map(|c| c.0 as usize);
    if let Some(n) = declared {
        if n < body.len() {
            body.truncate(n);
        }
    }
    match &mut message {
        Message::Request(r) => r.body = body,
        Message::Response(r) => r.body = body,
    }
    Ok(message)
}

/// Parses the next message from a stream (TCP/TLS) buffer with the default limits (see
/// [`parse_stream_with`]).
pub fn parse_stream(buf: &[u8]) -> Result<Option<(Message, usize)>, ParseError> {
    parse_stream_with(buf, &ParseLimits::default())
}

/// Parses the next message from a stream buffer.
///
/// Returns `Ok(None)` when the buffer holds only part of a message (read more and call
/// again), or `Ok(Some((message, consumed)))` where `consumed` counts the bytes to drop from
/// the front of the buffer, leading CRLF keep-alives included. Content-Length is required on
/// streams (RFC 3261 18.3); without it, or with an unusable one, the stream cannot be framed
/// and the error means: close the connection.
pub fn parse_stream_with(
    buf: &[u8],
    limits: &ParseLimits,
) -> Result<Option<(Message, usize)>, ParseError> {
    let skip = leading_keepalives(buf);
    if skip == buf.len() {
        return Ok(None);
    }
    let Some((head_end, body_start)) = find_head_end(buf, skip) else {
        if buf.len() - skip > limits.max_message_size {
            return Err(ParseError::TooLarge {
                limit: limits.max_message_size,
            });
        }
        return Ok(None);
    };
    if body_start - skip > limits.max_message_size {
        return Err(ParseError::TooLarge {
            limit: limits.max_message_size,
        });
    }
    let body_len = stream_content_length(buf, skip, head_end)?;
    if body_start - skip + body_len > limits.max_message_size {
        return Err(ParseError::TooLarge {
            limit: limits.max_message_size,
        });
    }
    let end = body_start + body_len;
    if buf.len() < end {
        return Ok(None);
    }
    let owned = Bytes::copy_from_slice(&buf[..end]);
    let (mut message, _) = parse_head(&owned, skip, head_end, limits)?;
    let body = owned.slice(body_start..end);
    match &mut message {
        Message::Request(r) => r.body = body,
        Message::Response(r) => r.body = body,
    }
    Ok(Some((message, end)))
}

/// Number of CR and LF bytes at the front of a buffer: keep-alives between messages
/// (RFC 3261 7.5; RFC 5626 4.4.1 sends `CRLFCRLF` pings that expect a `CRLF` pong). A stream
/// reader can drop them and answer a ping before calling [`parse_stream`].
pub fn leading_keepalives(buf: &[u8]) -> usize {
    buf.iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count()
}

/// Finds the empty line ending the header section: returns (end of the last header line's
/// content, start of the body).
fn find_head_end(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let region = buf.get(from..)?;
    for nl in memchr::memchr_iter(b'\n', region) {
        let at = from + nl;
        match (buf.get(at + 1), buf.get(at + 2)) {
            (Some(b'\n'), _) => return Some((at + 1, at + 2)),
            (Some(b'\r'), Some(b'\n')) => return Some((at + 1, at + 3)),
            _ => {}
        }
    }
    None
}

/// Content-Length of a stream message's head (`buf[from..head_end]`), read from the raw lines
/// before the message is built, so an incomplete body costs no header parsing.
fn stream_content_length(buf: &[u8], from: usize, head_end: usize) -> Result<usize, ParseError> {
    let mut found: Option<usize> = None;
    // Skip the start line. Continuation lines are joined to their header, so a folded
    // Content-Length is read like the parser reads it.
    let mut lines = lines(buf, from, head_end).skip(1).peekable();
    while let Some(line) = lines.next() {
        let text = &buf[line.start..line.end];
        let Some(colon) = memchr::memchr(b':', text) else {
            continue;
        };
        let name = trim_ws(&text[..colon]);
        let is_cl = name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l");
        if !is_cl || text.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            continue;
        }
        let mut value = std::borrow::Cow::Borrowed(trim_ws(&text[colon + 1..]));
        while let Some(next) = lines.peek() {
            let t = &buf[next.start..next.end];
            if !t.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
                break;
            }
            let v = value.to_mut();
            v.push(b' ');
            v.extend_from_slice(trim_ws(t));
            lines.next();
        }
        let n = std::str::from_utf8(&value)
            .ok()
            .and_then(|v| ContentLength::parse(v).ok())
            .ok_or(ParseError::InvalidContentLength("not a number"))?
            .0 as usize;
        match found {
            Some(prev) if prev != n => {
                return Err(ParseError::InvalidContentLength("conflicting values"))
            }
            _ => found = Some(n),
        }
    }
    found.ok_or(ParseError::MissingContentLength)
}

fn trim_ws(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| *b != b' ' && *b != b'\t')
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| *b != b' ' && *b != b'\t')
        .map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

/// Byte range of one physical line (without its CR LF).
#[derive(Clone, Copy)]
struct Line {
    start: usize,
    end: usize,
}

/// Splits `buf[from..to]` into physical lines.
fn lines(buf: &[u8], from: usize, to: usize) -> impl Iterator<Item = Line> + '_ {
    let mut pos = from;
    std::iter::from_fn(move || {
        if pos >= to {
            return None;
        }
        let region = &buf[pos..to];
        let (end, next) = match memchr::memchr(b'\n', region) {
            Some(i) => (pos + i, pos + i + 1),
            None => (to, to),
        };
        let content_end = if end > pos && buf[end - 1] == b'\r' {
            end - 1
        } else {
            end
        };
        let line = Line {
            start: pos,
            end: content_end,
        };
        pos = next;
        Some(line)
    })
}

/// Parses start line and header lines of `buf[from..head_end]`; the body is set by the caller.
fn parse_head(
    buf: &Bytes,
    from: usize,
    head_end: usize,
    limits: &ParseLimits,
) -> Result<(Message, usize), ParseError> {
    let mut lines = lines(buf, from, head_end).peekable();
    let start = lines.next().ok_or(ParseError::Empty)?;
    check_line(buf, start, limits, 1)?;
    let mut headers = Headers::with_capacity(16);
    let mut line_no = 1;
    while let Some(line) = lines.next() {
        line_no += 1;
        check_line(buf, line, limits, line_no)?;
        let text = &buf[line.start..line.end];
        if text.is_empty() {
            break;
        }
        if matches!(text[0], b' ' | b'\t') {
            return Err(ParseError::InvalidHeaderLine {
                line: line_no,
                reason: "continuation line without a header",
            });
        }
        let colon = memchr::memchr(b':', text).ok_or(ParseError::InvalidHeaderLine {
            line: line_no,
            reason: "no colon",
        })?;
        let name_bytes = trim_ws(&text[..colon]);
        if name_bytes.is_empty() || !name_bytes.iter().all(|b| is_token_char(*b)) {
            return Err(ParseError::InvalidHeaderLine {
                line: line_no,
                reason: "invalid header name",
            });
        }
        let name_start = line.start;
        let name = HeaderName::from_bytes_shared(name_bytes, || {
            SharedStr::from_utf8(buf.slice(name_start..name_start + name_bytes.len()))
                .unwrap_or_default()
        });

        // Value: rest of the line, plus continuation lines (LWS folding) joined by one space.
        let value_start = line.start + colon + 1;
        let mut folded: Option<Vec<u8>> = None;
        while let Some(next) = lines.peek() {
            let t = &buf[next.start..next.end];
            if !t.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
                break;
            }
            line_no += 1;
            check_line(buf, *next, limits, line_no)?;
            let acc = folded.get_or_insert_with(|| trim_ws(&buf[value_start..line.end]).to_vec());
            let piece = trim_ws(t);
            if !piece.is_empty() {
                if !acc.is_empty() {
                    acc.push(b' ');
                }
                acc.extend_from_slice(piece);
            }
            lines.next();
        }
        let value = match folded {
            Some(v) => SharedStr::from_utf8(Bytes::from(v)),
            None => {
                let raw = &buf[value_start..line.end];
                let lead = raw
                    .iter()
                    .position(|b| *b != b' ' && *b != b'\t')
                    .unwrap_or(raw.len());
                let trail = raw
                    .iter()
                    .rposition(|b| *b != b' ' && *b != b'\t')
                    .map_or(lead, |p| p + 1);
                SharedStr::from_utf8(buf.slice(value_start + lead..value_start + trail.max(lead)))
            }
        }
        .map_err(|_| ParseError::InvalidHeaderLine {
            line: line_no,
            reason: "value is not UTF-8",
        })?;
        if headers.len() >= limits.max_headers {
            return Err(ParseError::TooManyHeaders {
                limit: limits.max_headers,
            });
        }
        headers.extend(std::iter::once(HeaderField { name, value }));
    }
    let message = parse_start_line(buf, start, headers)?;
    Ok((message, line_no))
}

fn check_line(
    buf: &[u8],
    line: Line,
    limits: &ParseLimits,
    line_no: usize,
) -> Result<(), ParseError> {
    if line.end - line.start > limits.max_line_length {
        return Err(ParseError::LineTooLong {
            limit: limits.max_line_length,
        });
    }
    // A CR that does not end the line would be printed back as a line break by nobody and
    // read differently by every other parser: refuse it.
    if memchr::memchr(b'\r', &buf[line.start..line.end]).is_some() {
        return Err(ParseError::InvalidHeaderLine {
            line: line_no,
            reason: "bare CR",
        });
    }
    Ok(())
}

fn parse_version(s: &str) -> Option<Version> {
    if !s.get(..4)?.eq_ignore_ascii_case("SIP/") {
        return None;
    }
    let (major, minor) = s.get(4..)?.split_once('.')?;
    let num = |d: &str| {
        (!d.is_empty() && d.len() <= 4 && d.bytes().all(|b| b.is_ascii_digit()))
            .then(|| d.parse::<u16>().ok())
            .flatten()
    };
    Some(Version {
        major: num(major)?,
        minor: num(minor)?,
    })
}

fn parse_start_line(buf: &Bytes, line: Line, headers: Headers) -> Result<Message, ParseError> {
    let raw = &buf[line.start..line.end];
    // Trailing whitespace is tolerated (RFC 4475 `trws` may be accepted either way).
    let trimmed_len = raw
        .iter()
        .rposition(|b| *b != b' ' && *b != b'\t')
        .map_or(0, |p| p + 1);
    let raw = &raw[..trimmed_len];
    if raw.len() >= 4 && raw[..4].eq_ignore_ascii_case(b"SIP/") {
        // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
        let sp1 =
            memchr::memchr(b' ', raw).ok_or(ParseError::InvalidStartLine("no status code"))?;
        let version = std::str::from_utf8(&raw[..sp1])
            .ok()
            .and_then(parse_version)
            .ok_or(ParseError::InvalidStartLine("invalid SIP version"))?;
        let rest = &raw[sp1 + 1..];
        let (code, reason_start) = match memchr::memchr(b' ', rest) {
            Some(sp2) => (&rest[..sp2], sp1 + 1 + sp2 + 1),
            None => (rest, raw.len()),
        };
        if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
            return Err(ParseError::InvalidStartLine("status code is not 3 digits"));
        }
        let code = u16::from(code[0] - b'0') * 100
            + u16::from(code[1] - b'0') * 10
            + u16::from(code[2] - b'0');
        let status = StatusCode::new(code)
            .ok_or(ParseError::InvalidStartLine("status code out of range"))?;
        let reason_end = line.start + trimmed_len;
        let reason_from = (line.start + reason_start).min(reason_end);
        let reason = SharedStr::from_utf8(buf.slice(reason_from..reason_end))
            .map_err(|_| ParseError::InvalidStartLine("reason phrase is not UTF-8"))?;
        return Ok(Message::Response(Response {
            version,
            status,
            reason,
            headers,
            body: Bytes::new(),
        }));
    }

    // Request-Line = Method SP Request-URI SP SIP-Version, single spaces, no LWS inside.
    let text = std::str::from_utf8(raw).map_err(|_| ParseError::InvalidStartLine("not UTF-8"))?;
    let mut parts = text.split(' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::InvalidStartLine(
            "request line is not: method SP Request-URI SP version",
        ));
    };
    let method =
        Method::parse(method).map_err(|_| ParseError::InvalidStartLine("invalid method"))?;
    let version =
        parse_version(version).ok_or(ParseError::InvalidStartLine("invalid SIP version"))?;
    let uri = Uri::parse(uri).map_err(ParseError::InvalidRequestUri)?;
    Ok(Message::Request(Request {
        method,
        uri,
        version,
        headers,
        body: Bytes::new(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::typed::{CSeq, Via};

    const INVITE: &[u8] = b"INVITE sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@example.com>\r\n\
From: Alice <sip:alice@example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.example.com>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\
\r\n\
v=0\r";

    #[test]
    fn parses_request() {
        let m = parse_message(INVITE).unwrap();
        let r = m.as_request().unwrap();
        assert_eq!(r.method, Method::Invite);
        assert_eq!(r.uri.to_string(), "sip:bob@example.com");
        assert_eq!(r.headers.len(), 9);
        assert_eq!(&r.body[..], b"v=0\r");
        assert_eq!(r.headers.require::<CSeq>().unwrap().seq, 314159);
    }

    #[test]
    fn datagram_body_is_truncated_to_content_length() {
        let mut d = INVITE.to_vec();
        d.extend_from_slice(b"garbage");
        let m = parse_message(&d).unwrap();
        assert_eq!(&m.body()[..], b"v=0\r");
    }

    #[test]
    fn folded_and_compact_headers() {
        let m = parse_message(
            b"\r\n\r\nOPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h\r\n ;branch=z9hG4bK1,\r\n\tSIP/2.0/TCP h2;branch=z9hG4bK2\r\nSubject:\r\n\r\n",
        )
        .unwrap();
        let h = m.headers();
        assert_eq!(
            h.raw(&HeaderName::Via),
            Some("SIP/2.0/UDP h ;branch=z9hG4bK1, SIP/2.0/TCP h2;branch=z9hG4bK2")
        );
        let vias = h.typed_all::<Via>().unwrap();
        assert_eq!(vias.len(), 2);
        assert_eq!(vias[1].branch(), Some("z9hG4bK2"));
        assert_eq!(h.raw(&HeaderName::Subject), Some(""));
    }

    #[test]
    fn stream_framing() {
        let mut buf = b"\r\n\r\n".to_vec();
        buf.extend_from_slice(INVITE);
        let total = buf.len();
        buf.extend_from_slice(b"OPTIONS sip:x SIP/2.0\r\n");
        for cut in 0..total {
            assert_eq!(parse_stream(&buf[..cut]), Ok(None), "cut at {cut}");
        }
        assert_eq!(leading_keepalives(&buf), 4);
        assert_eq!(
            parse_stream(b"\r\n\r\n"),
            Ok(None),
            "a lone ping is not a message"
        );
        let (m, used) = parse_stream(&buf).unwrap().unwrap();
        assert_eq!(used, total);
        assert_eq!(&m.body()[..], b"v=0\r");
        assert_eq!(parse_stream(&buf[used..]), Ok(None));
    }

    #[test]
    fn stream_needs_one_content_length() {
        let no_cl = b"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n";
        assert_eq!(parse_stream(no_cl), Err(ParseError::MissingContentLength));
        let two = b"OPTIONS sip:x SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab";
        assert!(matches!(
            parse_stream(two),
            Err(ParseError::InvalidContentLength(_))
        ));
        let neg = b"OPTIONS sip:x SIP/2.0\r\nContent-Length: -1\r\n\r\n";
        assert!(matches!(
            parse_stream(neg),
            Err(ParseError::InvalidContentLength(_))
        ));
        let huge = b"OPTIONS sip:x SIP/2.0\r\nContent-Length: 4000000000\r\n\r\n";
        assert!(matches!(
            parse_stream(huge),
            Err(ParseError::TooLarge { .. })
        ));
    }

    #[test]
    fn start_lines() {
        assert!(matches!(
            parse_message(b"INVITE  sip:a@b SIP/2.0\r\n\r\n"),
            Err(ParseError::InvalidStartLine(_))
        ));
        assert!(matches!(
            parse_message(b"INVITE <sip:a@b> SIP/2.0\r\n\r\n"),
            Err(ParseError::InvalidRequestUri(_))
        ));
        assert!(matches!(
            parse_message(b"SIP/2.0 4294967301 big\r\n\r\n"),
            Err(ParseError::InvalidStartLine(_))
        ));
        let r = parse_message(b"SIP/2.0 100\r\n\r\n").unwrap();
        assert_eq!(r.as_response().unwrap().reason, "");
        let r = parse_message(b"SIP/2.0 180 Ringing now  \r\n\r\n").unwrap();
        assert_eq!(r.as_response().unwrap().reason, "Ringing now");
        let v = parse_message(b"OPTIONS sip:a@b SIP/7.0\r\n\r\n").unwrap();
        assert_eq!(
            v.as_request().unwrap().version,
            Version { major: 7, minor: 0 }
        );
        assert_eq!(parse_message(b"\r\n\r\n"), Err(ParseError::Empty));
    }

    #[test]
    fn limits_hold() {
        let limits = ParseLimits {
            max_message_size: 100,
            max_headers: 2,
            max_line_length: 40,
        };
        assert!(matches!(
            parse_message_with(&[b'a'; 101], &limits),
            Err(ParseError::TooLarge { .. })
        ));
        assert!(matches!(
            parse_message_with(
                b"OPTIONS sip:a@b SIP/2.0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
                &limits
            ),
            Err(ParseError::TooManyHeaders { .. })
        ));
        assert!(matches!(
            parse_message_with(
                b"OPTIONS sip:a@b SIP/2.0\r\nA: 12345678901234567890123456789012345678901\r\n\r\n",
                &limits
            ),
            Err(ParseError::LineTooLong { .. })
        ));
    }

    #[test]
    fn bad_header_lines() {
        for bad in [
            &b"OPTIONS sip:a@b SIP/2.0\r\n folded-first: x\r\n\r\n"[..],
            b"OPTIONS sip:a@b SIP/2.0\r\nno colon\r\n\r\n",
            b"OPTIONS sip:a@b SIP/2.0\r\nbad name: x\r\n\r\n",
            b"OPTIONS sip:a@b SIP/2.0\r\n: x\r\n\r\n",
            b"OPTIONS sip:a@b SIP/2.0\r\nX: a\rb\r\n\r\n",
            b"OPTIONS sip:a@b SIP/2.0\r\nX: \xff\r\n\r\n",
        ] {
            assert!(
                matches!(
                    parse_message(bad),
                    Err(ParseError::InvalidHeaderLine { .. })
                ),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        // whitespace between name and colon is allowed (RFC 4475 wsinv)
        let m = parse_message(b"OPTIONS sip:a@b SIP/2.0\r\nTO :\r\n sip:a@b\r\n\r\n").unwrap();
        assert_eq!(m.headers().raw(&HeaderName::To), Some("sip:a@b"));
    }
}
