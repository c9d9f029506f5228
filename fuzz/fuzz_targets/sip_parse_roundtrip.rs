//! Parse, print, parse again, compare: whatever the SIP parser accepts must print to bytes
//! that parse back to the same message, and printing that message again must give the same
//! bytes. Validation and the stream framer run on the same input and must not panic.
//!
//! Run: `cargo +nightly fuzz run sip_parse_roundtrip` from `fuzz/` (seed the corpus with
//! `crates/sip-proto/tests/fixtures/*.sip` and `../shared/conformance/rfc4475/*.dat`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use sip_proto::{parse_message, parse_stream};

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = parse_message(data) {
        let _ = message.validate();
        let printed = message.to_bytes();
        let reparsed = match parse_message(&printed) {
            Ok(m) => m,
            Err(e) => panic!(
                "printed message does not parse ({e}):\n{}",
                String::from_utf8_lossy(&printed)
            ),
        };
        assert_eq!(reparsed, message, "print → parse changed the message");
        assert_eq!(reparsed.to_bytes(), printed, "printing is not stable");
    }
    if let Ok(Some((message, used))) = parse_stream(data) {
        assert!(used <= data.len());
        assert!(used > 0);
        let _ = message.validate();
    }
});
