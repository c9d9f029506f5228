//! Just enough SDP (RFC 4566) to answer one offer with another party's offer (RFC 3264).
//!
//! Needed where two parties both sent an offer and neither will ever see the other's answer:
//! a call pickup, where the caller's INVITE and the picker's INVITE each carry an offer and we
//! answer both. The answer to offer A speaks for party B, so it is built from B's offer: for
//! each m-line of A in order, the first unused m-line of B with the same media type and
//! transport gives the address and port, the codecs both offered are kept (static payload
//! types by number, dynamic ones by encoding name, clock rate and channels, always under A's
//! payload numbers), and the direction is what B wants limited by what A allows (A's
//! `sendonly` allows only `recvonly` ...). An m-line of A without a partner, or without a
//! codec in common, is refused with port 0 (RFC 3264 §6).
//!
//! Sans-IO and lenient: lines it does not need are ignored, and no input makes it panic (a
//! property test feeds it arbitrary bytes). Secure profiles (`RTP/SAVP`, DTLS) are never
//! matched: their keys cannot be carried over without a media relay.

use std::fmt::Write as _;

/// Why no answer could be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdpError {
    /// The body is not a session description we can read (no `v=0`, a broken m-line).
    #[error("unreadable SDP: {0}")]
    Unreadable(&'static str),
    /// No m-line of the offer could be accepted: no media type and codec in common.
    #[error("no codec in common")]
    NoCommonCodec,
}

/// A session description, as far as answering needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// The `o=` value, unchanged.
    pub origin: Option<String>,
    /// The `s=` value.
    pub session_name: Option<String>,
    /// The session-level `c=`.
    pub connection: Option<Connection>,
    /// The session-level direction attribute, if any.
    pub direction: Option<Direction>,
    pub media: Vec<Media>,
}

/// A `c=` line: network type, address type, address (TTL and counts kept in `address`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub net_type: String,
    pub addr_type: String,
    pub address: String,
}

/// One `m=` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// `audio`, `video`, `image` ...
    pub kind: String,
    pub port: u16,
    /// `RTP/AVP`, `udptl` ...
    pub proto: String,
    /// Payload types (RTP) or format names, in the offerer's order of preference.
    pub formats: Vec<String>,
    pub connection: Option<Connection>,
    pub rtpmaps: Vec<RtpMap>,
    /// `a=fmtp:<format> <parameters>`.
    pub fmtps: Vec<(String, String)>,
    pub direction: Option<Direction>,
    /// `a=ptime` and `a=maxptime` values: how the party wants to receive packets.
    pub ptime: Option<String>,
    pub maxptime: Option<String>,
}

/// `a=rtpmap:<payload> <encoding>/<clock rate>[/<channels>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    pub payload: String,
    pub encoding: String,
    pub clock_rate: u32,
    pub channels: u32,
}

/// Which way media flows, from the point of view of the party that wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn parse(attribute: &str) -> Option<Direction> {
        match attribute {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// (sends, receives)
    fn flows(self) -> (bool, bool) {
        match self {
            Direction::SendRecv => (true, true),
            Direction::SendOnly => (true, false),
            Direction::RecvOnly => (false, true),
            Direction::Inactive => (false, false),
        }
    }

    fn from_flows(sends: bool, receives: bool) -> Direction {
        match (sends, receives) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    /// The answerer's direction: what it wants (`self`) within what the offer allows — it
    /// may send only if the offerer receives, and receive only if the offerer sends.
    fn answering(self, offered: Direction) -> Direction {
        let (wants_send, wants_receive) = self.flows();
        let (offer_sends, offer_receives) = offered.flows();
        Direction::from_flows(wants_send && offer_receives, wants_receive && offer_sends)
    }
}

impl SessionDescription {
    /// Reads a session description; unknown lines are skipped.
    pub fn parse(body: &[u8]) -> Result<SessionDescription, SdpError> {
        let text = String::from_utf8_lossy(body);
        let mut lines = text
            .split('\n')
            .map(|line| line.trim_end_matches('\r'))
            .filter(|line| !line.is_empty());
        if lines.next().map(str::trim) != Some("v=0") {
            return Err(SdpError::Unreadable("it does not start with v=0"));
        }
        let mut sdp = SessionDescription {
            origin: None,
            session_name: None,
            connection: None,
            direction: None,
            media: Vec::new(),
        };
        for line in lines {
            let Some((kind, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim();
            match (kind, sdp.media.last_mut()) {
                ("m", _) => sdp.media.push(parse_media_line(value)?),
                ("o", None) => sdp.origin = Some(value.to_owned()),
                ("s", None) => sdp.session_name = Some(value.to_owned()),
                ("c", None) => sdp.connection = parse_connection(value),
                ("c", Some(media)) => media.connection = parse_connection(value),
                ("a", None) => {
                    if let Some(direction) = Direction::parse(value) {
                        sdp.direction = Some(direction);
                    }
                }
                ("a", Some(media)) => media.attribute(value),
                _ => {}
            }
        }
        Ok(sdp)
    }

    /// The address media of `media` goes to: its own `c=`, else the session's.
    fn connection_of<'a>(&'a self, media: &'a Media) -> Option<&'a Connection> {
        media.connection.as_ref().or(self.connection.as_ref())
    }

    fn direction_of(&self, media: &Media) -> Direction {
        media
            .direction
            .or(self.direction)
            .unwrap_or(Direction::SendRecv)
    }
}

fn parse_media_line(value: &str) -> Result<Media, SdpError> {
    let mut fields = value.split_ascii_whitespace();
    let (Some(kind), Some(port), Some(proto)) = (fields.next(), fields.next(), fields.next())
    else {
        return Err(SdpError::Unreadable(
            "an m-line needs media, port and transport",
        ));
    };
    // `<port>/<number of ports>`: the count does not matter for one RTP stream.
    let port = port.split('/').next().unwrap_or(port);
    let port = port
        .parse::<u16>()
        .map_err(|_| SdpError::Unreadable("an m-line's port is not a number"))?;
    let formats: Vec<String> = fields.map(str::to_owned).collect();
    if formats.is_empty() {
        return Err(SdpError::Unreadable("an m-line without formats"));
    }
    Ok(Media {
        kind: kind.to_owned(),
        port,
        proto: proto.to_owned(),
        formats,
        connection: None,
        rtpmaps: Vec::new(),
        fmtps: Vec::new(),
        direction: None,
        ptime: None,
        maxptime: None,
    })
}

fn parse_connection(value: &str) -> Option<Connection> {
    let mut fields = value.split_ascii_whitespace();
    Some(Connection {
        net_type: fields.next()?.to_owned(),
        addr_type: fields.next()?.to_owned(),
        address: fields.next()?.to_owned(),
    })
}

impl Media {
    fn attribute(&mut self, value: &str) {
        if let Some(direction) = Direction::parse(value) {
            self.direction = Some(direction);
            return;
        }
        let Some((name, rest)) = value.split_once(':') else {
            return;
        };
        match name {
            "rtpmap" => {
                if let Some(map) = parse_rtpmap(rest) {
                    self.rtpmaps.push(map);
                }
            }
            "fmtp" => {
                if let Some((format, parameters)) = rest.split_once(' ') {
                    self.fmtps
                        .push((format.to_owned(), parameters.trim().to_owned()));
                }
            }
            "ptime" => self.ptime = Some(rest.trim().to_owned()),
            "maxptime" => self.maxptime = Some(rest.trim().to_owned()),
            _ => {}
        }
    }

    fn rtpmap(&self, format: &str) -> Option<&RtpMap> {
        self.rtpmaps.iter().find(|map| map.payload == format)
    }

    fn fmtp(&self, format: &str) -> Option<&str> {
        self.fmtps
            .iter()
            .find(|(f, _)| f == format)
            .map(|(_, parameters)| parameters.as_str())
    }

    fn is_rtp(&self) -> bool {
        self.proto.to_ascii_uppercase().starts_with("RTP/")
    }

    /// Whether two m-lines can carry the same stream: same media type and transport, a
    /// usable port, and no keys we would have to carry over.
    fn pairs_with(&self, other: &Media) -> bool {
        let secure = |proto: &str| {
            let proto = proto.to_ascii_uppercase();
            proto.contains("SAVP") || proto.contains("TLS")
        };
        self.kind.eq_ignore_ascii_case(&other.kind)
            && self.proto.eq_ignore_ascii_case(&other.proto)
            && !secure(&self.proto)
            && self.port != 0
            && other.port != 0
    }

    /// `other`'s format that is the same codec as our `format`.
    fn same_codec_in<'a>(&self, format: &str, other: &'a Media) -> Option<&'a str> {
        if !self.is_rtp() {
            return other
                .formats
                .iter()
                .find(|f| f.as_str() == format)
                .map(String::as_str);
        }
        let number = format.parse::<u8>().ok()?;
        if number < 96 {
            // Static payload types mean the same codec everywhere (RFC 3551).
            return other
                .formats
                .iter()
                .find(|f| f.parse::<u8>().ok() == Some(number))
                .map(String::as_str);
        }
        // A dynamic number means what each side's rtpmap says. Without a media relay to
        // renumber packets, each side will send with the numbers of its own offer (they are
        // in the answer it gets), so the codec only works if both chose the same number.
        let ours = self.rtpmap(format)?;
        other
            .formats
            .iter()
            .find(|f| {
                f.as_str() == format
                    && other.rtpmap(f).is_some_and(|theirs| {
                        theirs.encoding.eq_ignore_ascii_case(&ours.encoding)
                            && theirs.clock_rate == ours.clock_rate
                            && theirs.channels == ours.channels
                    })
            })
            .map(String::as_str)
    }
}

fn parse_rtpmap(rest: &str) -> Option<RtpMap> {
    let (payload, encoding) = rest.split_once(' ')?;
    let mut parts = encoding.trim().split('/');
    let name = parts.next()?.to_owned();
    let clock_rate = parts.next()?.parse().ok()?;
    let channels = match parts.next() {
        Some(channels) => channels.parse().ok()?,
        None => 1,
    };
    Some(RtpMap {
        payload: payload.trim().to_owned(),
        encoding: name,
        clock_rate,
        channels,
    })
}

fn is_telephone_event(media: &Media, format: &str) -> bool {
    media
        .rtpmap(format)
        .is_some_and(|map| map.encoding.eq_ignore_ascii_case("telephone-event"))
}

/// The answer to `offer` on behalf of the party that sent `other_offer`: that party's
/// addresses and ports, the codecs both offered (under `offer`'s payload numbers), its
/// direction within what `offer` allows; m-lines of `offer` without a partner get port 0.
///
/// Fails when either body is unreadable or no m-line has a codec in common (the call
/// cannot be connected: 488).
pub fn answer_with(offer: &[u8], other_offer: &[u8]) -> Result<String, SdpError> {
    let offer = SessionDescription::parse(offer)?;
    let other = SessionDescription::parse(other_offer)?;
    if offer.media.is_empty() {
        return Err(SdpError::Unreadable("the offer has no m-line"));
    }
    let mut used = vec![false; other.media.len()];
    let mut sections = Vec::with_capacity(offer.media.len());
    let mut session_connection = None;
    let mut accepted_any = false;
    for media in &offer.media {
        let partner = other.media.iter().enumerate().find_map(|(index, theirs)| {
            if used.get(index).copied().unwrap_or(true) || !media.pairs_with(theirs) {
                return None;
            }
            let connection = other.connection_of(theirs)?;
            let codecs = common_codecs(media, theirs);
            // telephone-event alone carries no voice: that is no codec in common.
            let voice = codecs
                .iter()
                .any(|(ours, _)| !is_telephone_event(media, ours));
            voice.then_some((index, theirs, connection, codecs))
        });
        match partner {
            Some((index, theirs, connection, codecs)) => {
                if let Some(slot) = used.get_mut(index) {
                    *slot = true;
                }
                accepted_any = true;
                session_connection.get_or_insert_with(|| connection.clone());
                let direction = other
                    .direction_of(theirs)
                    .answering(offer.direction_of(media));
                sections.push(accepted_section(
                    media, theirs, connection, &codecs, direction,
                ));
            }
            None => sections.push(refused_section(media)),
        }
    }
    let Some(connection) = session_connection.filter(|_| accepted_any) else {
        return Err(SdpError::NoCommonCodec);
    };
    let mut out = String::new();
    out.push_str("v=0\r\n");
    // The other party's origin, unchanged: its later re-offers (relayed as they are) then
    // continue the same session and version count (RFC 3264 §8).
    let origin = other.origin.clone().unwrap_or_else(|| {
        format!(
            "ringbase 0 0 {} {} {}",
            connection.net_type, connection.addr_type, connection.address
        )
    });
    let _ = write!(out, "o={origin}\r\n");
    let name = other.session_name.as_deref().unwrap_or("-");
    let _ = write!(out, "s={name}\r\n");
    let _ = write!(
        out,
        "c={} {} {}\r\n",
        connection.net_type, connection.addr_type, connection.address
    );
    out.push_str("t=0 0\r\n");
    for section in sections {
        out.push_str(&section);
    }
    Ok(out)
}

/// (offer's format, other's format) for each codec both have, in the offer's order.
fn common_codecs(media: &Media, theirs: &Media) -> Vec<(String, String)> {
    let mut common: Vec<(String, String)> = Vec::new();
    for format in &media.formats {
        if common.iter().any(|(ours, _)| ours == format) {
            continue;
        }
        if let Some(their_format) = media.same_codec_in(format, theirs) {
            common.push((format.clone(), their_format.to_owned()));
        }
    }
    common
}

fn accepted_section(
    media: &Media,
    theirs: &Media,
    connection: &Connection,
    codecs: &[(String, String)],
    direction: Direction,
) -> String {
    let mut out = String::new();
    let formats: Vec<&str> = codecs.iter().map(|(ours, _)| ours.as_str()).collect();
    let _ = write!(
        out,
        "m={} {} {} {}\r\n",
        media.kind,
        theirs.port,
        media.proto,
        formats.join(" ")
    );
    let _ = write!(
        out,
        "c={} {} {}\r\n",
        connection.net_type, connection.addr_type, connection.address
    );
    for (ours, their_format) in codecs {
        if let Some(map) = media.rtpmap(ours).or_else(|| theirs.rtpmap(their_format)) {
            let _ = write!(out, "a=rtpmap:{ours} {}/{}", map.encoding, map.clock_rate);
            if map.channels != 1 {
                let _ = write!(out, "/{}", map.channels);
            }
            out.push_str("\r\n");
        }
        // The parameters the other party receives with (its fmtp), under our number.
        if let Some(parameters) = theirs.fmtp(their_format) {
            let _ = write!(out, "a=fmtp:{ours} {parameters}\r\n");
        }
    }
    if let Some(ptime) = &theirs.ptime {
        let _ = write!(out, "a=ptime:{ptime}\r\n");
    }
    if let Some(maxptime) = &theirs.maxptime {
        let _ = write!(out, "a=maxptime:{maxptime}\r\n");
    }
    let _ = write!(out, "a={}\r\n", direction.as_str());
    out
}

/// RFC 3264 §6: a refused stream keeps its place with port 0 and one of the offered formats.
fn refused_section(media: &Media) -> String {
    let format = media.formats.first().map_or("0", String::as_str);
    format!("m={} 0 {} {format}\r\n", media.kind, media.proto)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A caller (trunk) offering G.722, PCMA, PCMU and DTMF on dynamic type 101.
    const CALLER: &str = "v=0\r\n\
o=carrier 1000 1 IN IP4 198.51.100.1\r\n\
s=call\r\n\
c=IN IP4 198.51.100.1\r\n\
t=0 0\r\n\
m=audio 30000 RTP/AVP 9 8 0 101\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n";

    /// A desk phone offering PCMU, Opus (dynamic 111), DTMF on 96, media on its own address.
    const PHONE: &str = "v=0\r\n\
o=bob 2000 7 IN IP4 192.0.2.22\r\n\
s=-\r\n\
t=0 0\r\n\
m=audio 40000 RTP/AVP 0 111 96\r\n\
c=IN IP4 192.0.2.22\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:111 opus/48000/2\r\n\
a=fmtp:111 useinbandfec=1\r\n\
a=rtpmap:96 telephone-event/8000\r\n\
a=fmtp:96 0-15\r\n\
a=ptime:30\r\n";

    fn answer(offer: &str, other: &str) -> Result<String, SdpError> {
        answer_with(offer.as_bytes(), other.as_bytes())
    }

    #[test]
    fn the_callers_answer_has_the_phones_address_and_the_common_codecs_under_its_numbers() {
        // DTMF is 101 for the caller and 96 for the phone: without a relay to renumber it,
        // it is left out (RFC 3264: each side sends with the numbers of its own offer).
        let sdp = answer(CALLER, PHONE).unwrap();
        assert_eq!(
            sdp,
            "v=0\r\n\
o=bob 2000 7 IN IP4 192.0.2.22\r\n\
s=-\r\n\
c=IN IP4 192.0.2.22\r\n\
t=0 0\r\n\
m=audio 40000 RTP/AVP 0\r\n\
c=IN IP4 192.0.2.22\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=ptime:30\r\n\
a=sendrecv\r\n"
        );
    }

    #[test]
    fn the_phones_answer_has_the_callers_address_and_the_phones_payload_numbers() {
        let sdp = answer(PHONE, CALLER).unwrap();
        assert_eq!(
            sdp,
            "v=0\r\n\
o=carrier 1000 1 IN IP4 198.51.100.1\r\n\
s=call\r\n\
c=IN IP4 198.51.100.1\r\n\
t=0 0\r\n\
m=audio 30000 RTP/AVP 0\r\n\
c=IN IP4 198.51.100.1\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n"
        );
    }

    #[test]
    fn dynamic_codecs_match_by_number_name_rate_and_channels() {
        // Same number, same codec: common.
        let a = "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 1000 RTP/AVP 0 97 98\r\n\
a=rtpmap:97 OPUS/48000/2\r\na=rtpmap:98 speex/16000\r\n";
        let b = "v=0\r\nc=IN IP4 10.0.0.2\r\nm=audio 2000 RTP/AVP 0 97 120\r\n\
a=rtpmap:97 opus/48000/2\r\na=rtpmap:120 speex/16000\r\n";
        let sdp = answer(a, b).unwrap();
        assert!(sdp.contains("m=audio 2000 RTP/AVP 0 97\r\n"), "{sdp}");
        assert!(sdp.contains("a=rtpmap:97 OPUS/48000/2\r\n"), "{sdp}");
        // speex is 98 on one side and 120 on the other: each would send a number the other
        // does not expect, so it is left out.
        assert!(!sdp.contains("speex"), "{sdp}");
        // Same number, other codec: not common either.
        let c = "v=0\r\nc=IN IP4 10.0.0.3\r\nm=audio 3000 RTP/AVP 0 97\r\n\
a=rtpmap:97 speex/8000\r\n";
        let sdp = answer(a, c).unwrap();
        assert!(sdp.contains("m=audio 3000 RTP/AVP 0\r\n"), "{sdp}");
    }

    #[test]
    fn an_m_line_the_offer_disabled_stays_disabled() {
        let a = "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\nm=video 0 RTP/AVP 31\r\n";
        let b = "v=0\r\nc=IN IP4 10.0.0.2\r\nm=audio 6000 RTP/AVP 0\r\nm=video 6002 RTP/AVP 31\r\n";
        let sdp = answer(a, b).unwrap();
        assert!(sdp.contains("m=video 0 RTP/AVP 31\r\n"), "{sdp}");
    }

    #[test]
    fn telephone_event_only_when_both_have_it() {
        let phone_without_dtmf = "v=0\r\nc=IN IP4 192.0.2.22\r\nm=audio 40000 RTP/AVP 8\r\n";
        let sdp = answer(CALLER, phone_without_dtmf).unwrap();
        assert!(sdp.contains("m=audio 40000 RTP/AVP 8\r\n"), "{sdp}");
        assert!(!sdp.contains("telephone-event"), "{sdp}");
    }

    #[test]
    fn telephone_event_alone_is_no_common_codec() {
        let dtmf_and_gsm = "v=0\r\nc=IN IP4 192.0.2.22\r\nm=audio 40000 RTP/AVP 3 101\r\n\
a=rtpmap:101 telephone-event/8000\r\n";
        assert_eq!(answer(CALLER, dtmf_and_gsm), Err(SdpError::NoCommonCodec));
    }

    #[test]
    fn no_common_codec_is_an_error() {
        let g729_only = "v=0\r\nc=IN IP4 192.0.2.22\r\nm=audio 40000 RTP/AVP 18\r\n";
        assert_eq!(answer(CALLER, g729_only), Err(SdpError::NoCommonCodec));
        assert_eq!(answer(g729_only, CALLER), Err(SdpError::NoCommonCodec));
    }

    #[test]
    fn unmatched_m_lines_are_refused_with_port_zero_in_their_place() {
        let a = "v=0\r\nc=IN IP4 10.0.0.1\r\n\
m=video 5000 RTP/AVP 31\r\n\
m=audio 4000 RTP/AVP 0\r\n\
m=audio 4002 RTP/AVP 0\r\n";
        let b = "v=0\r\nc=IN IP4 10.0.0.2\r\nm=audio 6000 RTP/AVP 0\r\n";
        let sdp = answer(a, b).unwrap();
        let m_lines: Vec<&str> = sdp.lines().filter(|l| l.starts_with("m=")).collect();
        assert_eq!(
            m_lines,
            [
                "m=video 0 RTP/AVP 31",
                "m=audio 6000 RTP/AVP 0",
                "m=audio 0 RTP/AVP 0"
            ]
        );
    }

    #[test]
    fn m_lines_pair_by_type_in_order_and_each_is_used_once() {
        let a = "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\nm=video 5000 RTP/AVP 31\r\n";
        let b = "v=0\r\nc=IN IP4 10.0.0.2\r\nm=video 7000 RTP/AVP 31\r\n\
m=audio 6000 RTP/AVP 0\r\nc=IN IP4 10.0.0.3\r\n";
        let sdp = answer(a, b).unwrap();
        assert!(
            sdp.contains("m=audio 6000 RTP/AVP 0\r\nc=IN IP4 10.0.0.3\r\n"),
            "{sdp}"
        );
        assert!(
            sdp.contains("m=video 7000 RTP/AVP 31\r\nc=IN IP4 10.0.0.2\r\n"),
            "{sdp}"
        );
        assert!(sdp.contains("c=IN IP4 10.0.0.3\r\nt=0 0"), "{sdp}");
    }

    #[test]
    fn directions_are_mirrored_and_limited() {
        let with = |direction: &str| {
            format!("v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\na={direction}\r\n")
        };
        let cases = [
            ("sendrecv", "sendrecv", "sendrecv"),
            ("sendonly", "sendrecv", "recvonly"),
            ("recvonly", "sendrecv", "sendonly"),
            ("sendrecv", "sendonly", "sendonly"),
            ("sendonly", "sendonly", "inactive"),
            ("inactive", "sendrecv", "inactive"),
        ];
        for (offer, other, expected) in cases {
            let sdp = answer(&with(offer), &with(other)).unwrap();
            assert!(
                sdp.ends_with(&format!("a={expected}\r\n")),
                "{offer} answered by {other}: {sdp}"
            );
        }
        // Session-level direction applies to media without its own.
        let held = "v=0\r\nc=IN IP4 10.0.0.1\r\na=sendonly\r\nm=audio 4000 RTP/AVP 0\r\n";
        assert!(answer(held, &with("sendrecv"))
            .unwrap()
            .ends_with("a=recvonly\r\n"));
    }

    #[test]
    fn a_disabled_or_secure_stream_is_no_partner() {
        let a = "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n";
        let disabled = "v=0\r\nc=IN IP4 10.0.0.2\r\nm=audio 0 RTP/AVP 0\r\n";
        assert_eq!(answer(a, disabled), Err(SdpError::NoCommonCodec));
        let secure = "v=0\r\nc=IN IP4 10.0.0.2\r\nm=audio 6000 RTP/SAVP 0\r\n";
        assert_eq!(answer(a, secure), Err(SdpError::NoCommonCodec));
        let a_secure = "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/SAVP 0\r\n";
        assert_eq!(answer(a_secure, secure), Err(SdpError::NoCommonCodec));
        let no_address = "v=0\r\nm=audio 6000 RTP/AVP 0\r\n";
        assert_eq!(answer(a, no_address), Err(SdpError::NoCommonCodec));
    }

    #[test]
    fn ipv6_addresses_and_port_counts_are_read() {
        let a = "v=0\nc=IN IP6 2001:db8::1\nm=audio 4000/2 RTP/AVP 0\n";
        let b = "v=0\nc=IN IP6 2001:db8::2\nm=audio 6000/2 RTP/AVP 0\n";
        let sdp = answer(a, b).unwrap();
        assert!(sdp.contains("c=IN IP6 2001:db8::2\r\n"), "{sdp}");
        assert!(sdp.contains("m=audio 6000 RTP/AVP 0\r\n"), "{sdp}");
    }

    #[test]
    fn unreadable_bodies_are_errors() {
        for bad in [
            "",
            "hello",
            "v=1\r\n",
            "v=0\r\nm=audio\r\n",
            "v=0\r\nm=audio 99999 RTP/AVP 0\r\n",
            "v=0\r\nm=audio 4000 RTP/AVP\r\n",
        ] {
            assert!(
                matches!(answer(bad, CALLER), Err(SdpError::Unreadable(_))),
                "{bad:?}"
            );
            assert!(
                matches!(answer(CALLER, bad), Err(SdpError::Unreadable(_))),
                "{bad:?}"
            );
        }
        let no_media = "v=0\r\nc=IN IP4 10.0.0.1\r\n";
        assert!(matches!(
            answer(no_media, CALLER),
            Err(SdpError::Unreadable(_))
        ));
        assert_eq!(answer(CALLER, no_media), Err(SdpError::NoCommonCodec));
    }

    /// A well-formed description with 1–3 m-lines drawn from a few codecs.
    fn description() -> impl Strategy<Value = String> {
        let codec = prop::sample::select(vec![
            ("0", None),
            ("8", None),
            ("9", None),
            ("18", None),
            ("96", Some("opus/48000/2")),
            ("97", Some("telephone-event/8000")),
            ("101", Some("telephone-event/8000")),
            ("111", Some("opus/48000/2")),
            ("120", Some("speex/16000")),
        ]);
        let media = (
            prop::sample::select(vec!["audio", "video"]),
            0u16..3,
            prop::collection::vec(codec, 1..4),
            prop::sample::select(vec![
                "",
                "a=sendonly\r\n",
                "a=recvonly\r\n",
                "a=inactive\r\n",
            ]),
        )
            .prop_map(|(kind, port, codecs, direction)| {
                let formats: Vec<&str> = codecs.iter().map(|(pt, _)| *pt).collect();
                let mut m = format!(
                    "m={kind} {} RTP/AVP {}\r\n",
                    u32::from(port) * 2000,
                    formats.join(" ")
                );
                for (pt, map) in codecs {
                    if let Some(map) = map {
                        m.push_str(&format!("a=rtpmap:{pt} {map}\r\n"));
                    }
                }
                m.push_str(direction);
                m
            });
        (1u8..250, prop::collection::vec(media, 1..4)).prop_map(|(host, media)| {
            format!(
                "v=0\r\no=x 1 1 IN IP4 10.0.0.{host}\r\ns=-\r\nc=IN IP4 10.0.0.{host}\r\nt=0 0\r\n{}",
                media.concat()
            )
        })
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(a in prop::collection::vec(any::<u8>(), 0..300),
                                           b in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = answer_with(&a, &b);
            let _ = answer_with(CALLER.as_bytes(), &a);
            let _ = answer_with(&a, PHONE.as_bytes());
        }

        #[test]
        fn never_panics_on_sdp_shaped_text(a in "(v=0\r\n)?([vomcat]=[ -~]{0,30}\r?\n){0,12}",
                                           b in "(v=0\r\n)?([vomcat]=[ -~]{0,30}\r?\n){0,12}") {
            let _ = answer_with(a.as_bytes(), b.as_bytes());
            let _ = answer_with(b.as_bytes(), PHONE.as_bytes());
        }

        /// Every answer reads back, has one m-line per offered one in the same order and
        /// type, and accepted streams use only formats the offer listed.
        #[test]
        fn answers_keep_the_offers_shape(a in description(), b in description()) {
            let Ok(sdp) = answer_with(a.as_bytes(), b.as_bytes()) else {
                return Ok(());
            };
            let offer = SessionDescription::parse(a.as_bytes()).unwrap();
            let answer = SessionDescription::parse(sdp.as_bytes()).unwrap();
            prop_assert_eq!(answer.media.len(), offer.media.len());
            prop_assert!(answer.media.iter().any(|m| m.port != 0));
            for (offered, answered) in offer.media.iter().zip(&answer.media) {
                prop_assert_eq!(&offered.kind, &answered.kind);
                for format in &answered.formats {
                    prop_assert!(offered.formats.contains(format));
                }
            }
        }
    }
}
