//! Getting the dialable part out of what a trunk or a person wrote.

pub(crate) enum Candidate {
    /// The caller withheld the number.
    Withheld,
    /// What should be a number, without URI or display-name wrapping.
    Text(String),
}

/// Words carriers and phones use for "no number".
const WITHHELD: &[&str] = &[
    "anonymous",
    "restricted",
    "unknown",
    "private",
    "unavailable",
    "withheld",
    "blocked",
    "anonymous.invalid",
];

fn is_withheld_word(s: &str) -> bool {
    let s = s.trim().trim_matches('"').trim();
    s.is_empty() || WITHHELD.iter().any(|w| s.eq_ignore_ascii_case(w))
}

/// Strips `"Name" <...>`, `sip:`/`sips:`/`tel:` and URI parameters, leaving the user part.
pub(crate) fn candidate(raw: &str) -> Candidate {
    let mut s = raw.trim();
    if is_withheld_word(s) {
        return Candidate::Withheld;
    }
    // name-addr: take what is inside the angle brackets.
    if let (Some(open), Some(close)) = (s.find('<'), s.rfind('>')) {
        if open < close {
            s = s[open + 1..close].trim();
        }
    }
    let lower_prefix = s.get(..5).map(str::to_ascii_lowercase).unwrap_or_default();
    let uri_body = if lower_prefix.starts_with("sips:") {
        Some(&s[5..])
    } else if lower_prefix.starts_with("sip:") || lower_prefix.starts_with("tel:") {
        Some(&s[4..])
    } else {
        None
    };
    if let Some(body) = uri_body {
        let is_tel = lower_prefix.starts_with("tel:");
        let (user, host) = match (is_tel, body.split_once('@')) {
            (false, Some((user, host))) => (user, Some(host)),
            _ => (body, None),
        };
        // Parameters (`;user=phone`, `;phone-context=...`, `;isub=...`) are not part of the number.
        let user = user.split(';').next().unwrap_or("");
        let host = host.map(|h| h.split([';', '?', '>']).next().unwrap_or(""));
        if is_withheld_word(user)
            || host.is_some_and(|h| h.eq_ignore_ascii_case("anonymous.invalid"))
        {
            return Candidate::Withheld;
        }
        return Candidate::Text(percent_decode(user));
    }
    if is_withheld_word(s) {
        return Candidate::Withheld;
    }
    Candidate::Text(s.to_string())
}

/// `%2B49...` from URIs that escape the plus sign.
fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Digits with an optional leading `+`, from a text of digits and visual separators.
/// `None` when anything else is in it (letters, `*`, `#`, other scripts' digits).
///
/// `+49 (0)30 1234-567`: after a country code, `(0)` is the national trunk prefix that people
/// write for callers inside the country; it is not dialed from abroad, so it is dropped.
pub(crate) fn dialable(text: &str) -> Option<String> {
    let text = text.trim();
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    let mut seen_digit = false;
    while let Some((i, c)) = chars.next() {
        match c {
            '0'..='9' => {
                seen_digit = true;
                out.push(c);
            }
            '+' if !seen_digit && out.is_empty() => out.push('+'),
            '(' if out.starts_with('+') && text[i..].starts_with("(0)") => {
                // skip "(0)"
                chars.next();
                chars.next();
            }
            ' ' | '-' | '.' | '/' | '(' | ')' | '\u{a0}' | '\t' => {}
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(raw: &str) -> String {
        match candidate(raw) {
            Candidate::Text(t) => t,
            Candidate::Withheld => panic!("{raw} withheld"),
        }
    }

    #[test]
    fn uris_and_name_addr() {
        assert_eq!(text("tel:+4930123456"), "+4930123456");
        assert_eq!(text("tel:+49-30-123456;phone-context=+49"), "+49-30-123456");
        assert_eq!(
            text("sip:+4930123456@trunk.example;user=phone"),
            "+4930123456"
        );
        assert_eq!(
            text("\"Anna\" <sip:4930123456@10.0.0.1>;tag=abc"),
            "4930123456"
        );
        assert_eq!(text("<sip:%2B4930123456@host>"), "+4930123456");
        assert_eq!(text("SIP:030123456@host"), "030123456");
    }

    #[test]
    fn withheld_forms() {
        for raw in [
            "",
            "  ",
            "anonymous",
            "Anonymous",
            "RESTRICTED",
            "unknown",
            "private",
            "\"Anonymous\" <sip:anonymous@anonymous.invalid>",
            "sip:anonymous@anonymous.invalid",
            "sip:someone@anonymous.invalid",
            "<sip:unavailable@host>",
            "withheld",
        ] {
            assert!(matches!(candidate(raw), Candidate::Withheld), "{raw:?}");
        }
    }

    #[test]
    fn visual_separators_and_trunk_prefix() {
        assert_eq!(dialable("+49 (0)30 1234-567").unwrap(), "+49301234567");
        assert_eq!(dialable("030/1234567").unwrap(), "0301234567");
        assert_eq!(dialable("(030) 123.45.67").unwrap(), "0301234567");
        assert_eq!(dialable("+39 02 1234 5678").unwrap(), "+390212345678");
        assert_eq!(dialable("030 1234567 ext"), None);
        assert_eq!(dialable("*100#"), None);
        assert_eq!(dialable("١٢٣٤٥"), None);
        assert_eq!(dialable("12+34"), None);
    }
}
