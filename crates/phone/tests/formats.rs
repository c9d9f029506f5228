//! What people and trunks really send, per country, and what it must become.

use phone::{parse, InvalidNumber, NumberKind, PhoneInput, Region};

fn region(code: &str) -> Region {
    code.parse().unwrap()
}

/// (default region, raw, expected E.164)
const NUMBERS: &[(&str, &str, &str)] = &[
    // Germany
    ("DE", "+49 (0)30 1234-567", "+49301234567"),
    ("DE", "0049 30 1234567", "+49301234567"),
    ("DE", "030/1234567", "+49301234567"),
    ("DE", "030 1234567", "+49301234567"),
    ("DE", "(030) 123 45 67", "+49301234567"),
    ("DE", "+49301234567", "+49301234567"),
    ("DE", "49301234567", "+49301234567"),
    ("DE", "tel:+49-30-1234567", "+49301234567"),
    (
        "DE",
        "sip:+49301234567@trunk.example;user=phone",
        "+49301234567",
    ),
    ("DE", "\"Kunde\" <sip:49301234567@10.0.0.1>", "+49301234567"),
    (
        "DE",
        "<sip:0301234567@pbx.local;transport=udp>;tag=9f2",
        "+49301234567",
    ),
    ("DE", "0170 1234567", "+491701234567"),
    ("DE", "+49 170 1234567", "+491701234567"),
    ("DE", "089 998877", "+4989998877"),
    ("DE", "0800 1234567", "+498001234567"),
    // Numbers from abroad, seen by a German company
    ("DE", "+39 02 1234 5678", "+390212345678"),
    ("DE", "0039 02 12345678", "+390212345678"),
    ("DE", "390212345678", "+390212345678"),
    ("DE", "393331234567", "+393331234567"),
    ("DE", "+48 601 234 567", "+48601234567"),
    ("DE", "0048601234567", "+48601234567"),
    ("DE", "+44 20 7946 0958", "+442079460958"),
    ("DE", "+1 (212) 555-0123", "+12125550123"),
    ("DE", "+43 1 5123456", "+4315123456"),
    ("DE", "+41 44 668 18 00", "+41446681800"),
    // Italy: the leading 0 of Italian fixed numbers is part of the number
    ("IT", "02 1234 5678", "+390212345678"),
    ("IT", "+39 02 1234 5678", "+390212345678"),
    ("IT", "0039 02 12345678", "+390212345678"),
    ("IT", "333 123 4567", "+393331234567"),
    ("IT", "06 6982", "+39066982"),
    ("IT", "sip:0212345678@voip.example", "+390212345678"),
    ("IT", "0049 30 1234567", "+49301234567"),
    // Poland
    ("PL", "601 234 567", "+48601234567"),
    ("PL", "+48 22 123 45 67", "+48221234567"),
    ("PL", "0048 22 1234567", "+48221234567"),
    ("PL", "22 123-45-67", "+48221234567"),
    ("PL", "48601234567", "+48601234567"),
    ("PL", "tel:+48-601-234-567", "+48601234567"),
    // United Kingdom
    ("GB", "020 7946 0958", "+442079460958"),
    ("GB", "07400 123456", "+447400123456"),
    ("GB", "+44 (0)20 7946 0958", "+442079460958"),
    ("GB", "00 49 30 1234567", "+49301234567"),
    // United States: 011 is the exit code, 1 the trunk prefix
    ("US", "(212) 555-0123", "+12125550123"),
    ("US", "1-212-555-0123", "+12125550123"),
    ("US", "212.555.0123", "+12125550123"),
    ("US", "011 49 30 1234567", "+49301234567"),
    // France
    ("FR", "01 42 68 53 00", "+33142685300"),
    ("FR", "06 12 34 56 78", "+33612345678"),
    ("FR", "+33 (0)1 42 68 53 00", "+33142685300"),
    // Austria and Switzerland
    ("AT", "01 5123456", "+4315123456"),
    ("AT", "0664 1234567", "+436641234567"),
    ("CH", "044 668 18 00", "+41446681800"),
    ("CH", "079 123 45 67", "+41791234567"),
    // Russia: 8 is the trunk prefix, 810 the old exit code
    ("RU", "8 (495) 123-45-67", "+74951234567"),
    ("RU", "+7 495 123 45 67", "+74951234567"),
    ("RU", "8 912 345 67 89", "+79123456789"),
];

#[test]
fn every_spelling_becomes_the_same_e164_and_keeps_its_raw_form() {
    let mut failures = Vec::new();
    for (cc, raw, expected) in NUMBERS {
        match parse(raw, region(cc)) {
            PhoneInput::Number(n) if n.e164() == *expected => {
                assert_eq!(n.raw(), raw.trim());
            }
            other => failures.push(format!("{cc} {raw:?}: expected {expected}, got {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn withheld_callers_have_no_number() {
    for raw in [
        "anonymous",
        "Anonymous",
        "Restricted",
        "unknown",
        "private",
        "",
        "   ",
        "sip:anonymous@anonymous.invalid",
        "\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=1",
        "<sip:anonymous@192.0.2.1>",
        "tel:unknown",
        "Unavailable",
        // An empty name-addr carries no number either.
        "<>",
    ] {
        assert_eq!(parse(raw, region("DE")), PhoneInput::NoNumber, "{raw:?}");
    }
}

#[test]
fn garbage_is_invalid_and_never_panics() {
    let cases: &[(&str, InvalidNumber)] = &[
        ("hello", InvalidNumber::NotANumber),
        ("sip:alice@example.com", InvalidNumber::NotANumber),
        ("030-CALL-NOW", InvalidNumber::NotANumber),
        ("📞 030 1234567", InvalidNumber::NotANumber),
        ("٠٣٠١٢٣٤٥٦٧", InvalidNumber::NotANumber),
        ("*100#", InvalidNumber::NotANumber),
        ("sip:", InvalidNumber::NotANumber),
        ("+", InvalidNumber::NotANumber),
        ("112", InvalidNumber::TooShort),
        ("12", InvalidNumber::TooShort),
        ("12345678901234567890123", InvalidNumber::TooLong),
        ("+999 1234567", InvalidNumber::NotValid),
        ("00000000", InvalidNumber::NotValid),
    ];
    for (raw, why) in cases {
        assert_eq!(
            parse(raw, region("DE")),
            PhoneInput::Invalid(*why),
            "{raw:?}"
        );
    }
}

#[test]
fn kinds_and_country_codes() {
    let PhoneInput::Number(mobile) = parse("0170 1234567", region("DE")) else {
        panic!()
    };
    assert_eq!(mobile.kind(), NumberKind::Mobile);
    assert_eq!(mobile.country_code(), 49);
    assert_eq!(mobile.national_significant(), "1701234567");
    let PhoneInput::Number(fixed) = parse("030 1234567", region("DE")) else {
        panic!()
    };
    assert_eq!(fixed.kind(), NumberKind::FixedLine);
    let PhoneInput::Number(italian) = parse("+39 333 123 4567", region("DE")) else {
        panic!()
    };
    assert_eq!(italian.kind(), NumberKind::Mobile);
    assert_eq!(italian.country_code(), 39);
    let PhoneInput::Number(free) = parse("0800 1234567", region("DE")) else {
        panic!()
    };
    assert_eq!(free.kind(), NumberKind::TollFree);
}

#[test]
fn regions_parse_case_insensitively_and_refuse_nonsense() {
    assert_eq!(region("de"), region("DE"));
    assert_eq!(region("DE").to_string(), "DE");
    assert_eq!(region("PL").calling_code(), 48);
    for bad in ["", "XX", "Germany", "D"] {
        assert!(bad.parse::<Region>().is_err(), "{bad:?}");
    }
    let r: Region = serde_json::from_str("\"it\"").unwrap();
    assert_eq!(serde_json::to_string(&r).unwrap(), "\"IT\"");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = parse(&s, region("DE"));
        }

        #[test]
        fn parse_never_panics_on_number_like_text(s in "[+0-9 ()./<>:;@a-z\"-]{0,40}") {
            let _ = parse(&s, region("IT"));
        }

        #[test]
        fn e164_output_parses_to_itself(digits in "[1-9][0-9]{6,12}", cc in prop::sample::select(vec!["DE", "IT", "PL", "US", "GB"])) {
            if let PhoneInput::Number(n) = parse(&digits, region(cc)) {
                for other in ["DE", "IT", "PL", "US"] {
                    match parse(n.e164(), region(other)) {
                        PhoneInput::Number(again) => prop_assert_eq!(again.e164(), n.e164()),
                        other => prop_assert!(false, "{} re-parsed as {:?}", n.e164(), other),
                    }
                }
            }
        }
    }
}
