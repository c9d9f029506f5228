//! The 4527 PROTOS c07-sip cases (University of Oulu): malformed INVITEs and their teardown
//! requests. Each case file is `LEN MESSAGE LEN TEARDOWN`, with placeholders (`<To>`,
//! `<Call-ID>`, `<Content-Length>` ...) filled here with plausible values, as
//! `shared/conformance/sip-torture.py` does.
//!
//! Every message goes through the datagram parser, validation, the stream framer, and (when it
//! parses) print → parse; nothing may panic, every printed message must parse back to itself,
//! and the whole run must be quick.

mod common;

use sip_proto::{parse_message, parse_stream, ParseError};
use std::time::{Duration, Instant};

/// Splits a case file into its messages (`LEN SP MESSAGE`, separated by whitespace).
fn split_case(raw: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let sp = raw[i..]
            .iter()
            .position(|b| *b == b' ')
            .map(|p| i + p)
            .expect("length prefix followed by a space");
        let len: usize = std::str::from_utf8(&raw[i..sp])
            .expect("ASCII length")
            .parse()
            .expect("numeric length");
        let end = (sp + 1 + len).min(raw.len());
        out.push(raw[sp + 1..end].to_vec());
        i = end;
        while i < raw.len() && matches!(raw[i], b' ' | b'\r' | b'\n') {
            i += 1;
        }
    }
    out
}

fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut last = 0;
    for at in memchr::memmem::find_iter(haystack, needle) {
        out.extend_from_slice(&haystack[last..at]);
        out.extend_from_slice(with);
        last = at + needle.len();
    }
    out.extend_from_slice(&haystack[last..]);
    out
}

/// Fills the placeholders; Content-Length gets the real body length.
fn fill(message: &[u8], case: usize) -> Vec<u8> {
    let branch = format!("{case}");
    let cseq = format!("{}", case + 1);
    let mut m = message.to_vec();
    for (key, value) in [
        (&b"<To>"[..], &b"service@127.0.0.1:5060"[..]),
        (b"<From>", b"protos@127.0.0.1:5070"),
        (b"<From-Address>", b"127.0.0.1"),
        (b"<From-IP>", b"127.0.0.1"),
        (b"<Local-Port>", b"5070"),
        (b"<Branch-ID>", branch.as_bytes()),
        (b"<Call-ID>", b"protos-42"),
        (b"<CSeq>", cseq.as_bytes()),
        (b"<Teardown-Method>", b"CANCEL"),
    ] {
        m = replace_all(&m, key, value);
    }
    let body_len = memchr::memmem::find(&m, b"\r\n\r\n").map_or(0, |p| m.len() - p - 4);
    replace_all(&m, b"<Content-Length>", body_len.to_string().as_bytes())
}

#[test]
fn protos_c07_sip_cases_never_panic_and_round_trip() {
    let cases = common::read_all("protos-c07-sip/cases");
    assert_eq!(cases.len(), 4527, "PROTOS c07-sip has 4527 cases");
    let filled: Vec<(&str, Vec<u8>)> = cases
        .iter()
        .enumerate()
        .flat_map(|(k, (name, raw))| {
            split_case(raw)
                .into_iter()
                .map(move |m| (name.as_str(), fill(&m, k)))
        })
        .collect();
    let started = Instant::now();
    let (mut messages, mut dropped, mut refused, mut accepted) = (0usize, 0usize, 0usize, 0usize);
    for (name, message) in &filled {
        messages += 1;
        // What sip-torture.py sends: at most 65000 bytes of a datagram.
        let datagram = &message[..message.len().min(65_000)];
        match parse_message(datagram) {
            Err(_) => dropped += 1,
            Ok(parsed) => {
                if parsed.validate().is_ok() {
                    accepted += 1;
                } else {
                    refused += 1;
                }
                let printed = parsed.to_bytes();
                let again = parse_message(&printed)
                    .unwrap_or_else(|e| panic!("case {name}: printed message does not parse: {e}"));
                assert_eq!(
                    again, parsed,
                    "case {name}: print → parse changed the message"
                );
            }
        }
        // The same bytes on a stream: framed, incomplete, or refused — never a panic.
        if let Ok(Some((_, used))) = parse_stream(message) {
            assert!(used <= message.len(), "case {name}");
        }
    }
    let elapsed = started.elapsed();
    println!(
        "PROTOS: {} cases, {messages} messages: {accepted} accepted, {refused} refused by \
         validate, {dropped} dropped by the parser, in {elapsed:?}",
        cases.len()
    );
    assert_eq!(
        messages,
        2 * 4527,
        "every case has a message and a teardown"
    );
    assert_eq!(accepted + refused + dropped, messages);
    // A debug build does the whole suite in well under a second on this machine; 20 s leaves
    // room for a loaded CI box while still catching anything quadratic.
    assert!(
        elapsed < Duration::from_secs(20),
        "PROTOS run took {elapsed:?}"
    );
}

#[test]
fn protos_baseline_case_is_a_valid_invite() {
    // Case 0 is the unmodified reference INVITE: it must be accepted, or the mutations above
    // prove nothing about the parser accepting real traffic.
    let cases = common::read_all("protos-c07-sip/cases");
    let (name, raw) = &cases[0];
    assert_eq!(name, "0000000");
    let parts = split_case(raw);
    let invite = fill(&parts[0], 0);
    let msg = parse_message(&invite).expect("baseline INVITE parses");
    msg.validate().expect("baseline INVITE validates");
    assert!(msg.body().starts_with(b"v=0"));
    let (framed, used) = parse_stream(&invite)
        .expect("baseline INVITE frames on a stream")
        .expect("complete");
    assert_eq!(used, invite.len());
    assert_eq!(framed, msg);
    let teardown = fill(&parts[1], 0);
    assert!(parse_message(&teardown)
        .expect("teardown parses")
        .validate()
        .is_ok());
    assert!(!matches!(
        parse_stream(&teardown),
        Err(ParseError::MissingContentLength)
    ));
}
