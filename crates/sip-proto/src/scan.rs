//! Character classes of RFC 3261 section 25 and a small cursor for header-value grammars.
//!
//! Header values reach the typed parsers already unfolded (continuation lines joined by one
//! space), so "LWS" here is just spaces and tabs. The cursor only ever stops on ASCII bytes, so
//! every slice it hands out lies on a character boundary; it still uses checked slicing, so a
//! mistake would surface as an error, never as a panic.

use crate::error::InvalidValue;
use std::borrow::Cow;

/// `token` characters: alphanum and `-.!%*_+`'~`.
pub(crate) fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

/// A non-empty token.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_char)
}

/// `unreserved` characters: alphanum and the marks `-_.!~*'()`.
pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
        )
}

/// `word` characters (Call-ID).
pub(crate) fn is_word_char(b: u8) -> bool {
    is_token_char(b)
        || matches!(
            b,
            b'(' | b')'
                | b'<'
                | b'>'
                | b':'
                | b'\\'
                | b'"'
                | b'/'
                | b'['
                | b']'
                | b'?'
                | b'{'
                | b'}'
        )
}

/// Characters of a generic parameter value that is not a quoted string: `token` or `host`
/// (which adds `:` and brackets for IPv6 references, as in `received=2001:db8::1`).
pub(crate) fn is_gen_value_char(b: u8) -> bool {
    is_token_char(b) || matches!(b, b':' | b'[' | b']')
}

/// Whether `s` is made of `allowed` characters and well-formed `%HH` escapes.
pub(crate) fn is_escaped_text(s: &str, allowed: fn(u8) -> bool) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            match (b.get(i + 1), b.get(i + 2)) {
                (Some(h), Some(l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => i += 3,
                _ => return false,
            }
        } else if allowed(b[i]) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

/// Decodes `%HH` escapes. Malformed escapes are kept literally. The result is bytes because an
/// escape may produce anything, even NUL (RFC 4475 `escnull`).
pub fn percent_decode(s: &str) -> Cow<'_, [u8]> {
    if !s.contains('%') {
        return Cow::Borrowed(s.as_bytes());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|c| hex_val(*c)),
                b.get(i + 2).and_then(|c| hex_val(*c)),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(out)
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Removes the quotes and backslash escapes of a quoted string (`"a \"b\""` → `a "b"`).
/// Input without surrounding quotes is returned unchanged.
pub fn unquote(s: &str) -> Cow<'_, str> {
    let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return Cow::Borrowed(s);
    };
    if !inner.contains('\\') {
        return Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Writes `s` as a quoted string, escaping `"` and `\` and the control characters that
/// `qdtext` does not allow (RFC 3261 25.1 `quoted-pair`). CR and LF cannot be escaped in SIP;
/// they are written as spaces so a printed message can never be split by a value.
pub fn write_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' => out.push(' '),
            '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out.push('"');
}

/// A cursor over an unfolded header value.
#[derive(Debug, Clone)]
pub(crate) struct Scanner<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Scanner { s, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn set_pos(&mut self, pos: usize) {
        self.pos = pos.min(self.s.len());
    }

    /// The text between two positions this cursor has been at.
    pub(crate) fn slice(&self, from: usize, to: usize) -> &'a str {
        self.s.get(from..to).unwrap_or("")
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    /// Consumes `b` if it is next.
    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn expect(&mut self, b: u8, what: &'static str) -> Result<(), InvalidValue> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(InvalidValue(what))
        }
    }

    /// Skips spaces and tabs; returns whether any were skipped.
    pub(crate) fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// Consumes `b` with optional whitespace around it (SEMI, COMMA, EQUAL, SLASH ...).
    pub(crate) fn eat_sep(&mut self, b: u8) -> bool {
        let save = self.pos;
        self.skip_ws();
        if self.eat(b) {
            self.skip_ws();
            true
        } else {
            self.pos = save;
            false
        }
    }

    /// The longest run of ASCII bytes matching `pred` (possibly empty).
    pub(crate) fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        let bytes = self.s.as_bytes();
        while self.pos < bytes.len() && bytes[self.pos].is_ascii() && pred(bytes[self.pos]) {
            self.pos += 1;
        }
        self.s.get(start..self.pos).unwrap_or("")
    }

    /// A non-empty token.
    pub(crate) fn token(&mut self, what: &'static str) -> Result<&'a str, InvalidValue> {
        let t = self.take_while(is_token_char);
        if t.is_empty() {
            Err(InvalidValue(what))
        } else {
            Ok(t)
        }
    }

    /// A quoted string, returned raw (with its quotes and escapes). The cursor must be on `"`.
    pub(crate) fn quoted_raw(&mut self) -> Result<&'a str, InvalidValue> {
        let start = self.pos;
        if !self.eat(b'"') {
            return Err(InvalidValue("expected a quoted string"));
        }
        let bytes = self.s.as_bytes();
        loop {
            match bytes.get(self.pos) {
                None => return Err(InvalidValue("unterminated quoted string")),
                Some(b'"') => {
                    self.pos += 1;
                    return self
                        .s
                        .get(start..self.pos)
                        .ok_or(InvalidValue("quoted string"));
                }
                Some(b'\\') => match bytes.get(self.pos + 1) {
                    // quoted-pair escapes any ASCII byte except CR and LF.
                    Some(c) if c.is_ascii() && *c != b'\r' && *c != b'\n' => self.pos += 2,
                    _ => return Err(InvalidValue("invalid escape in quoted string")),
                },
                Some(b'\r' | b'\n') => return Err(InvalidValue("line break in quoted string")),
                // qdtext excludes the other control characters except tab.
                Some(c) if *c < 0x20 && *c != b'\t' => {
                    return Err(InvalidValue("control character in quoted string"))
                }
                Some(0x7f) => return Err(InvalidValue("control character in quoted string")),
                Some(_) => self.pos += 1,
            }
        }
    }
}

/// Splits a comma-separated header value into its elements, ignoring commas inside quoted
/// strings and angle brackets. Elements are trimmed. An all-blank value yields no elements.
pub(crate) fn split_list(value: &str) -> ListSplit<'_> {
    ListSplit {
        rest: Some(value),
        first: true,
    }
}

/// Iterator of [`split_list`].
#[derive(Debug, Clone)]
pub(crate) struct ListSplit<'a> {
    rest: Option<&'a str>,
    first: bool,
}

impl<'a> Iterator for ListSplit<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        if self.first {
            self.first = false;
            if rest.trim_matches([' ', '\t']).is_empty() {
                self.rest = None;
                return None;
            }
        }
        let bytes = rest.as_bytes();
        let mut in_quotes = false;
        let mut in_angle = false;
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if in_quotes => i += 1,
                b'"' => in_quotes = !in_quotes,
                b'<' if !in_quotes => in_angle = true,
                b'>' if !in_quotes => in_angle = false,
                b',' if !in_quotes && !in_angle => {
                    self.rest = rest.get(i + 1..);
                    return rest.get(..i).map(|e| e.trim_matches([' ', '\t']));
                }
                _ => {}
            }
            i += 1;
        }
        self.rest = None;
        Some(rest.trim_matches([' ', '\t']))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_list_respects_quotes_and_brackets() {
        let v: Vec<_> =
            split_list(r#""Bell, A." <sip:a@b;x=1,2>;q=1 , <sip:c@d>,"x\",y" <sip:e@f>"#).collect();
        assert_eq!(
            v,
            vec![
                r#""Bell, A." <sip:a@b;x=1,2>;q=1"#,
                "<sip:c@d>",
                r#""x\",y" <sip:e@f>"#
            ]
        );
        assert_eq!(split_list("  ").count(), 0);
        assert_eq!(split_list("a,,b").collect::<Vec<_>>(), vec!["a", "", "b"]);
        assert_eq!(split_list("a,").collect::<Vec<_>>(), vec!["a", ""]);
    }

    #[test]
    fn quoted_strings() {
        let mut s = Scanner::new(r#""J Rosenberg \\\"" <x>"#);
        let raw = s.quoted_raw().unwrap();
        assert_eq!(raw, r#""J Rosenberg \\\"""#);
        assert_eq!(unquote(raw), r#"J Rosenberg \""#);
        assert!(Scanner::new(r#""open"#).quoted_raw().is_err());
        let mut out = String::new();
        write_quoted(&mut out, "a\"b\\c\u{7}");
        assert_eq!(out, "\"a\\\"b\\\\c\\\u{7}\"");
        assert_eq!(unquote(&out), "a\"b\\c\u{7}");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(&*percent_decode("null-%00-null"), b"null-\0-null");
        assert_eq!(&*percent_decode("%75se%72"), b"user");
        assert_eq!(&*percent_decode("100%"), b"100%");
        assert!(is_escaped_text("a%41", is_unreserved));
        assert!(!is_escaped_text("a%4", is_unreserved));
        assert!(!is_escaped_text("a%ZZ", is_unreserved));
    }
}
