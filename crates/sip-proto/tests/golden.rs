//! Golden files: realistic messages under `tests/fixtures/*.sip` are parsed and printed, and
//! the printed form is compared byte for byte with `*.printed`. A second file, `*.typed`,
//! holds every header read through its typed parser and printed back, so a change in a typed
//! header's grammar or printer shows up as a readable diff too.
//!
//! After an intended change, regenerate with `UPDATE_GOLDEN=1 cargo test -p sip-proto --test
//! golden` and review the diff before committing.

use sip_proto::typed::{
    Allow, Authorization, CSeq, CallId, Contact, ContentLength, ContentType, Diversion, Event,
    Expires, From, MaxForwards, PAssertedIdentity, Privacy, ProxyAuthenticate, ProxyAuthorization,
    RecordRoute, ReferTo, Replaces, Require, Route, Server, Supported, To, UserAgent, Via,
    WwwAuthenticate,
};
use sip_proto::{parse_message, parse_stream, HeaderName, Message, TypedHeader};
use std::fmt::Write;
use std::path::{Path, PathBuf};

const FIXTURES: &[&str] = &[
    "invite-trunk-diversion",
    "register-auth",
    "401-www-authenticate",
    "200-ok-invite-record-route",
    "bye",
    "cancel",
    "compact-form",
    "folded-headers",
];

fn fixture_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"))
}

/// Shows both texts line by line (CRLF split, escapes for other control bytes) and marks the
/// lines that differ.
fn readable_diff(expected: &[u8], actual: &[u8]) -> String {
    let show = |b: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(b)
            .split("\r\n")
            .map(|l| l.escape_debug().to_string())
            .collect()
    };
    let (e, a) = (show(expected), show(actual));
    let mut out = String::new();
    for i in 0..e.len().max(a.len()) {
        match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) if x == y => {
                let _ = writeln!(out, "    {x}");
            }
            (x, y) => {
                if let Some(x) = x {
                    let _ = writeln!(out, "  - {x}");
                }
                if let Some(y) = y {
                    let _ = writeln!(out, "  + {y}");
                }
            }
        }
    }
    out
}

fn compare_or_update(path: &Path, actual: &[u8]) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{} differs (- expected, + actual):\n{}",
        path.display(),
        readable_diff(&expected, actual)
    );
}

fn dump<H: TypedHeader>(out: &mut String, msg: &Message) {
    for value in msg.headers().typed_iter::<H>() {
        match value {
            Ok(v) => {
                let _ = writeln!(out, "{}: {}", H::NAME, v.to_value());
            }
            Err(e) => {
                let _ = writeln!(out, "{}: ERROR {e}", H::NAME);
            }
        }
    }
}

/// Every header of a known type, parsed and printed back, one list element per line; then
/// the names of headers left raw.
fn typed_dump(msg: &Message) -> String {
    let mut out = String::new();
    dump::<Via>(&mut out, msg);
    dump::<Route>(&mut out, msg);
    dump::<RecordRoute>(&mut out, msg);
    dump::<MaxForwards>(&mut out, msg);
    dump::<From>(&mut out, msg);
    dump::<To>(&mut out, msg);
    dump::<CallId>(&mut out, msg);
    dump::<CSeq>(&mut out, msg);
    dump::<Contact>(&mut out, msg);
    dump::<Diversion>(&mut out, msg);
    dump::<PAssertedIdentity>(&mut out, msg);
    dump::<Privacy>(&mut out, msg);
    dump::<Authorization>(&mut out, msg);
    dump::<ProxyAuthorization>(&mut out, msg);
    dump::<WwwAuthenticate>(&mut out, msg);
    dump::<ProxyAuthenticate>(&mut out, msg);
    dump::<Expires>(&mut out, msg);
    dump::<Allow>(&mut out, msg);
    dump::<Supported>(&mut out, msg);
    dump::<Require>(&mut out, msg);
    dump::<Event>(&mut out, msg);
    dump::<ReferTo>(&mut out, msg);
    dump::<Replaces>(&mut out, msg);
    dump::<UserAgent>(&mut out, msg);
    dump::<Server>(&mut out, msg);
    dump::<ContentType>(&mut out, msg);
    dump::<ContentLength>(&mut out, msg);
    let typed = [
        HeaderName::Via,
        HeaderName::Route,
        HeaderName::RecordRoute,
        HeaderName::MaxForwards,
        HeaderName::From,
        HeaderName::To,
        HeaderName::CallId,
        HeaderName::CSeq,
        HeaderName::Contact,
        HeaderName::Diversion,
        HeaderName::PAssertedIdentity,
        HeaderName::Privacy,
        HeaderName::Authorization,
        HeaderName::ProxyAuthorization,
        HeaderName::WwwAuthenticate,
        HeaderName::ProxyAuthenticate,
        HeaderName::Expires,
        HeaderName::Allow,
        HeaderName::Supported,
        HeaderName::Require,
        HeaderName::Event,
        HeaderName::ReferTo,
        HeaderName::Replaces,
        HeaderName::UserAgent,
        HeaderName::Server,
        HeaderName::ContentType,
        HeaderName::ContentLength,
    ];
    for f in msg.headers() {
        if !typed.contains(&f.name) {
            let _ = writeln!(out, "(raw) {}: {}", f.name, f.value);
        }
    }
    out
}

#[test]
fn golden_fixtures_print_as_expected() {
    let dir = fixture_dir();
    for name in FIXTURES {
        let input_path = dir.join(format!("{name}.sip"));
        let input =
            std::fs::read(&input_path).unwrap_or_else(|e| panic!("{}: {e}", input_path.display()));
        let msg = parse_message(&input).unwrap_or_else(|e| panic!("{name}: {e}"));
        msg.validate()
            .unwrap_or_else(|e| panic!("{name}: fixture must validate: {e}"));

        let printed = msg.to_bytes();
        compare_or_update(&dir.join(format!("{name}.printed")), &printed);
        compare_or_update(
            &dir.join(format!("{name}.typed")),
            typed_dump(&msg).as_bytes(),
        );

        // parse → print → parse gives the same message, and printing is a fixed point.
        let again = parse_message(&printed).unwrap_or_else(|e| panic!("{name} reparse: {e}"));
        assert_eq!(again, msg, "{name}: print → parse changed the message");
        assert_eq!(again.to_bytes(), printed, "{name}: printing is not stable");
        // The same bytes framed on a stream give the same message.
        let (framed, used) = parse_stream(&input)
            .unwrap_or_else(|e| panic!("{name} stream: {e}"))
            .unwrap_or_else(|| panic!("{name} stream: incomplete"));
        assert_eq!(used, input.len(), "{name}: stream consumed");
        assert_eq!(framed, msg, "{name}: stream and datagram parse differ");
        // No typed header of a fixture may fail to parse.
        assert!(
            !typed_dump(&msg).contains("ERROR"),
            "{name}: a typed header failed:\n{}",
            typed_dump(&msg)
        );
    }
}

#[test]
fn diff_shows_the_differing_line() {
    let d = readable_diff(b"A: 1\r\nB: 2\r\n", b"A: 1\r\nB: 3\r\n");
    assert_eq!(d, "    A: 1\n  - B: 2\n  + B: 3\n    \n");
}
