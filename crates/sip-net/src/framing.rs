//! Stream framing (TCP, TLS): messages cut out of a byte stream by Content-Length
//! (RFC 3261 §18.3), with RFC 5626 keep-alives. Sans-IO: bytes in, frames out.

use sip_proto::{leading_keepalives, parse_stream_with, Message, ParseError, ParseLimits};

/// What the framer found at the front of the stream.
#[derive(Debug)]
// Frames are handed on at once, never stored: boxing would cost an allocation per message.
#[allow(clippy::large_enum_variant)]
pub enum Frame {
    /// One whole message.
    Message(Message),
    /// A `CRLFCRLF` keep-alive ping (RFC 5626 §4.4.1): answer with a single `CRLF`.
    Ping,
}

/// Buffers the bytes of one connection and cuts messages out of them.
///
/// Feed every read with [`push`](Self::push), then call [`next_frame`](Self::next_frame)
/// until it returns `Ok(None)`. An error means the stream cannot be framed any more (no or a
/// bad Content-Length, a message over the size limit, garbage): close the connection.
#[derive(Debug, Default)]
pub struct StreamFramer {
    buf: Vec<u8>,
    limits: ParseLimits,
}

const PING: &[u8] = b"\r\n\r\n";

impl StreamFramer {
    /// A framer with these limits.
    pub fn new(limits: ParseLimits) -> StreamFramer {
        StreamFramer {
            buf: Vec::new(),
            limits,
        }
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes held that do not form a whole message yet.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next frame, `Ok(None)` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, ParseError> {
        let crlfs = leading_keepalives(&self.buf);
        if crlfs > 0 {
            if self.buf.starts_with(PING) {
                self.buf.drain(..PING.len());
                return Ok(Some(Frame::Ping));
            }
            if crlfs == self.buf.len() {
                // Maybe the first half of a ping; a lone CRLF (a pong) just waits here.
                return Ok(None);
            }
            // Line breaks before a message (RFC 3261 §7.5): skip them.
            self.buf.drain(..crlfs);
        }
        match parse_stream_with(&self.buf, &self.limits)? {
            Some((message, consumed)) => {
                self.buf.drain(..consumed);
                Ok(Some(Frame::Message(message)))
            }
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &[u8] = b"OPTIONS sip:ringbase SIP/2.0\r\n\
Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK1\r\n\
From: <sip:a@ringbase>;tag=1\r\nTo: <sip:ringbase>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\
Content-Length: 5\r\n\r\nhello";

    fn messages(framer: &mut StreamFramer) -> Vec<Message> {
        let mut out = Vec::new();
        while let Some(frame) = framer.next_frame().expect("frames") {
            match frame {
                Frame::Message(m) => out.push(m),
                Frame::Ping => panic!("unexpected ping"),
            }
        }
        out
    }

    #[test]
    fn messages_split_anywhere_are_reassembled_by_content_length() {
        let mut stream = Vec::new();
        for _ in 0..3 {
            stream.extend_from_slice(OPTIONS);
        }
        // Every split point of the three-message stream, fed in two pieces.
        for cut in 0..stream.len() {
            let mut framer = StreamFramer::default();
            framer.push(&stream[..cut]);
            let mut got = messages(&mut framer);
            framer.push(&stream[cut..]);
            got.extend(messages(&mut framer));
            assert_eq!(got.len(), 3, "cut at {cut}");
            for m in &got {
                assert_eq!(m.body().as_ref(), b"hello", "body framed by Content-Length");
            }
            assert_eq!(framer.buffered(), 0);
        }
    }

    #[test]
    fn byte_by_byte_delivery_frames_the_same() {
        let mut framer = StreamFramer::default();
        let mut got = Vec::new();
        for b in OPTIONS.iter().chain(OPTIONS) {
            framer.push(std::slice::from_ref(b));
            got.extend(messages(&mut framer));
        }
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn keepalive_pings_are_reported_and_stray_crlfs_skipped() {
        let mut framer = StreamFramer::default();
        framer.push(b"\r\n");
        assert!(framer.next_frame().unwrap().is_none(), "half a ping waits");
        framer.push(b"\r\n");
        assert!(matches!(framer.next_frame().unwrap(), Some(Frame::Ping)));
        framer.push(b"\r\n");
        framer.push(OPTIONS);
        assert!(matches!(
            framer.next_frame().unwrap(),
            Some(Frame::Message(_))
        ));
        assert!(framer.next_frame().unwrap().is_none());
    }

    #[test]
    fn a_stream_without_content_length_cannot_be_framed() {
        let mut framer = StreamFramer::default();
        framer.push(b"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\r\n");
        assert!(framer.next_frame().is_err());
    }

    #[test]
    fn an_endless_header_section_is_refused_at_the_size_limit() {
        let mut framer = StreamFramer::new(ParseLimits {
            max_message_size: 1000,
            ..ParseLimits::default()
        });
        framer.push(b"OPTIONS sip:x SIP/2.0\r\n");
        for _ in 0..100 {
            framer.push(b"X-Filler: aaaaaaaaaaaaaaaaaaaa\r\n");
        }
        assert!(framer.next_frame().is_err(), "no unbounded buffering");
    }

    #[test]
    fn garbage_never_panics() {
        let samples: [&[u8]; 6] = [
            b"\0\0\0\0\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            b"INVITE sip:x SIP/2.0\r\nContent-Length: -1\r\n\r\n",
            b"INVITE sip:x SIP/2.0\r\nContent-Length: 99999999999999999999\r\n\r\n",
            b"\xff\xfe\xfd\r\n\r\n\r\n",
            b"SIP/2.0 200\r\nl: 3\r\n\r\nabc",
        ];
        for s in samples {
            let mut framer = StreamFramer::default();
            framer.push(s);
            for _ in 0..4 {
                match framer.next_frame() {
                    Ok(Some(_)) => continue,
                    Ok(None) | Err(_) => break,
                }
            }
        }
    }
}
