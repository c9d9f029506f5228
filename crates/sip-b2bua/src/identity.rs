//! Reading an inbound INVITE: the caller (From / P-Asserted-Identity, privacy) and the dialed
//! number (Diversion / To / Request-URI in the configured order).

use crate::config::DialedNumberSource;
use routing::Caller;
use sip_proto::typed::{Diversion, From, PAssertedIdentity, Privacy, To};
use sip_proto::{Request, Uri};

/// The user part of a sip/sips URI, or the number of a tel URI, with visual separators
/// dropped (`+49 (30) 123-45` → `+493012345`); `None` when there is none.
pub fn number_of(uri: &Uri) -> Option<String> {
    let raw = if let Some(sip) = uri.as_sip() {
        let decoded = sip.user_decoded()?;
        String::from_utf8_lossy(&decoded).into_owned()
    } else if let Some(tel) = uri.as_tel() {
        tel.number.clone()
    } else {
        return None;
    };
    // A user part may carry parameters (`+4930;npdi`): they are not part of the number.
    let raw = raw.split(';').next().unwrap_or_default();
    let cleaned: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    (!cleaned.is_empty()).then_some(cleaned)
}

/// The values routing reads from an inbound INVITE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundNumbers {
    pub caller: Caller,
    pub dialed: String,
    /// To user part, when it differs from `dialed`.
    pub to: Option<String>,
    /// First Diversion's number, when present and different from `dialed`.
    pub diversion: Option<String>,
}

/// Reads caller and dialed number. `None` when no configured source yields a number.
pub fn inbound_numbers(request: &Request, order: &[DialedNumberSource]) -> Option<InboundNumbers> {
    let diversion = request
        .headers
        .typed::<Diversion>()
        .ok()
        .flatten()
        .and_then(|d| number_of(d.uri()));
    let to = request
        .headers
        .typed::<To>()
        .ok()
        .flatten()
        .and_then(|t| number_of(t.uri()));
    let request_uri = number_of(&request.uri);
    let dialed = order.iter().find_map(|source| match source {
        DialedNumberSource::Diversion => diversion.clone(),
        DialedNumberSource::To => to.clone(),
        DialedNumberSource::RequestUri => request_uri.clone(),
    })?;
    Some(InboundNumbers {
        caller: caller_of(request),
        to: to.filter(|to| *to != dialed),
        diversion: diversion.filter(|d| *d != dialed),
        dialed,
    })
}

/// The caller: P-Asserted-Identity (the network's word) before From; anonymous when the
/// identity is withheld (`Privacy: id`, RFC 3325), or the URI says so (RFC 3323 `anonymous`,
/// or the `unknown`/`restricted` carriers write), or it carries no number.
pub fn caller_of(request: &Request) -> Caller {
    let withheld = request
        .headers
        .typed::<Privacy>()
        .ok()
        .flatten()
        .is_some_and(|p| p.contains("id") || p.contains("user"));
    if withheld {
        return Caller::Anonymous;
    }
    let asserted = request
        .headers
        .typed::<PAssertedIdentity>()
        .ok()
        .flatten()
        .map(|p| p.uri().clone());
    let from = request
        .headers
        .typed::<From>()
        .ok()
        .flatten()
        .map(|f| f.uri().clone());
    let number = asserted
        .as_ref()
        .and_then(number_of)
        .filter(|n| !is_anonymous(n))
        .or_else(|| from.as_ref().and_then(number_of));
    match number {
        Some(n) if !is_anonymous(&n) => Caller::Number(n),
        _ => Caller::Anonymous,
    }
}

fn is_anonymous(user: &str) -> bool {
    [
        "anonymous",
        "unknown",
        "restricted",
        "private",
        "unavailable",
    ]
    .iter()
    .any(|word| user.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sip_proto::parse_message;

    fn invite(extra: &str, to: &str) -> Request {
        let text = format!(
            "INVITE sip:+493012345678@pbx.example SIP/2.0\r\n\
             Via: SIP/2.0/UDP 198.51.100.1;branch=z9hG4bK1\r\n\
             From: \"Kim\" <sip:+4917612345678@carrier.example>;tag=a\r\n\
             To: <{to}>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        match parse_message(text.as_bytes()).unwrap() {
            sip_proto::Message::Request(r) => r,
            sip_proto::Message::Response(_) => unreachable!(),
        }
    }

    #[test]
    fn diversion_wins_over_to_in_the_default_order() {
        let order = [DialedNumberSource::Diversion, DialedNumberSource::To];
        let r = invite(
            "Diversion: <sip:+493012345678@carrier.example>;reason=unconditional\r\n",
            "sip:101@pbx.example",
        );
        let n = inbound_numbers(&r, &order).unwrap();
        assert_eq!(n.dialed, "+493012345678");
        assert_eq!(n.to.as_deref(), Some("101"));
        assert_eq!(n.caller, Caller::Number("+4917612345678".into()));
    }

    #[test]
    fn to_first_when_configured_so() {
        let order = [DialedNumberSource::To, DialedNumberSource::Diversion];
        let r = invite(
            "Diversion: <sip:+493099999999@carrier.example>\r\n",
            "sip:+49-30-1234-5678@pbx.example",
        );
        let n = inbound_numbers(&r, &order).unwrap();
        assert_eq!(n.dialed, "+493012345678");
        assert_eq!(n.diversion.as_deref(), Some("+493099999999"));
    }

    #[test]
    fn no_usable_source_gives_none() {
        let r = invite("", "sip:pbx.example");
        assert_eq!(inbound_numbers(&r, &[DialedNumberSource::To]), None);
    }

    #[test]
    fn asserted_identity_and_privacy() {
        let r = invite(
            "P-Asserted-Identity: <tel:+4989555>\r\n",
            "sip:+493012345678@pbx.example",
        );
        assert_eq!(caller_of(&r), Caller::Number("+4989555".into()));
        let r = invite(
            "P-Asserted-Identity: <tel:+4989555>\r\nPrivacy: id\r\n",
            "sip:+493012345678@pbx.example",
        );
        assert_eq!(caller_of(&r), Caller::Anonymous);
    }

    #[test]
    fn anonymous_from_is_anonymous() {
        let text = "INVITE sip:+493012345678@pbx.example SIP/2.0\r\n\
             Via: SIP/2.0/UDP 198.51.100.1;branch=z9hG4bK1\r\n\
             From: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=a\r\n\
             To: <sip:+493012345678@pbx.example>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n\
             Content-Length: 0\r\n\r\n";
        let sip_proto::Message::Request(r) = parse_message(text.as_bytes()).unwrap() else {
            unreachable!()
        };
        assert_eq!(caller_of(&r), Caller::Anonymous);
    }
}
