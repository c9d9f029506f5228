//! Call tracking: which of our numbers did the customer dial?
//!
//! A trunk tells us in the To header (a direct DID) or in Diversion (the provider forwarded a
//! tracking number to our trunk). Which one to trust is a per-connection setting, tried in order.

use domain::{DialedHeader, DialedNumberPriority, Phone};
use phone::{PhoneInput, Region};

/// The dialed number per `priority`: the first header present whose value is a number.
///
/// With several Diversion entries the last one is used: RFC 5806 lists the most recent
/// diversion first, so the last entry is the number the customer originally dialed. Providers
/// that forward a tracking number once send one entry, where both readings agree.
pub fn dialed_number(
    priority: &DialedNumberPriority,
    to: Option<&str>,
    diversion: Option<&str>,
    region: Region,
) -> Option<Phone> {
    priority.0.iter().find_map(|header| {
        let value = match header {
            DialedHeader::To => to?,
            DialedHeader::Diversion => last_list_entry(diversion?)?,
        };
        match phone::parse(value, region) {
            PhoneInput::Number(n) => Some(Phone {
                e164: n.e164().to_string(),
                raw: uri_user(value).to_string(),
            }),
            _ => None,
        }
    })
}

/// What a header value shows of the number: the user part of its URI, without the display
/// name, the scheme, the host and the parameters (`"Ad" <sip:+4989998877@carrier>;reason=x`
/// shows `+4989998877`).
fn uri_user(value: &str) -> &str {
    let mut s = value.trim();
    if let (Some(open), Some(close)) = (s.find('<'), s.rfind('>')) {
        if open < close {
            s = &s[open + 1..close];
        }
    }
    for scheme in ["sips:", "sip:", "tel:"] {
        if s.len() >= scheme.len() && s[..scheme.len()].eq_ignore_ascii_case(scheme) {
            s = &s[scheme.len()..];
            break;
        }
    }
    s.split(['@', ';']).next().unwrap_or(s).trim()
}

/// The last entry of a comma-separated header value, ignoring commas inside `<...>` and quotes.
fn last_list_entry(value: &str) -> Option<&str> {
    let (mut in_quotes, mut in_angle, mut start) = (false, false, 0);
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_quotes => i += 1,
            b'"' => in_quotes = !in_quotes,
            b'<' if !in_quotes => in_angle = true,
            b'>' if !in_quotes => in_angle = false,
            b',' if !in_quotes && !in_angle => start = i + 1,
            _ => {}
        }
        i += 1;
    }
    let entry = value.get(start..)?.trim();
    (!entry.is_empty()).then_some(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn de() -> Region {
        "DE".parse().unwrap()
    }

    #[test]
    fn diversion_first_when_configured() {
        let p: DialedNumberPriority = "diversion,to".parse().unwrap();
        let got = dialed_number(
            &p,
            Some("<sip:+493012345670@pbx.example>"),
            Some("<sip:+4989998877@carrier.example>;reason=unconditional;counter=1"),
            de(),
        )
        .unwrap();
        assert_eq!(got.e164, "+4989998877");
        assert_eq!(
            got.raw, "+4989998877",
            "the raw form is the URI's user part"
        );
    }

    #[test]
    fn falls_back_to_to_without_diversion() {
        let p: DialedNumberPriority = "diversion,to".parse().unwrap();
        let got = dialed_number(&p, Some("<sip:030123456@pbx.example>"), None, de()).unwrap();
        assert_eq!(got.e164, "+4930123456");
        assert_eq!(got.raw, "030123456");
    }

    #[test]
    fn to_only_ignores_diversion() {
        let p: DialedNumberPriority = "to".parse().unwrap();
        let got = dialed_number(
            &p,
            Some("sip:+4930123456@pbx"),
            Some("<sip:+4989998877@carrier>"),
            de(),
        )
        .unwrap();
        assert_eq!(got.e164, "+4930123456");
    }

    #[test]
    fn several_diversions_take_the_original_dialed_number() {
        let p: DialedNumberPriority = "diversion".parse().unwrap();
        let value = "<sip:+4940111222@a.example>;reason=no-answer, \"Ad, Google\" <sip:+4989998877@b.example>;reason=unconditional";
        assert_eq!(
            dialed_number(&p, None, Some(value), de()).unwrap().e164,
            "+4989998877"
        );
    }

    #[test]
    fn nothing_usable_gives_none() {
        let p: DialedNumberPriority = "diversion,to".parse().unwrap();
        assert_eq!(
            dialed_number(&p, Some("sip:alice@example.com"), None, de()),
            None
        );
        assert_eq!(dialed_number(&p, None, None, de()), None);
    }
}
