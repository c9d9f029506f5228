//! Header parameters ([`Params`]) and addresses ([`NameAddr`], [`Address`]): the shared
//! grammar of From, To, Contact, Route, Record-Route, Refer-To, Diversion and friends.

use crate::error::InvalidValue;
use crate::scan::{is_gen_value_char, unquote, write_quoted, Scanner};
use crate::uri::Uri;
use std::borrow::Cow;
use std::fmt;

/// One `;name[=value]` header parameter. The value is kept as written: a token, a host, or a
/// quoted string *with* its quotes, so printing reproduces it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Param {
    /// Name as written.
    pub name: String,
    /// Raw value, if any.
    pub value: Option<String>,
}

impl Param {
    /// The value with quotes and escapes removed.
    pub fn value_unquoted(&self) -> Option<Cow<'_, str>> {
        self.value.as_deref().map(unquote)
    }
}

/// Header parameters in order. Lookups ignore case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Params(pub Vec<Param>);

impl Params {
    /// No parameters.
    pub const fn new() -> Self {
        Params(Vec::new())
    }

    /// The parameter named `name`.
    pub fn find(&self, name: &str) -> Option<&Param> {
        self.0.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The raw value: `None` if absent, `Some(None)` if present without a value.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.find(name).map(|p| p.value.as_deref())
    }

    /// The value with quotes removed, if present with a value.
    pub fn get_unquoted(&self, name: &str) -> Option<Cow<'_, str>> {
        self.find(name).and_then(Param::value_unquoted)
    }

    /// Whether the parameter is present (with or without a value).
    pub fn contains(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// Sets a parameter (raw value), replacing one of the same name in place.
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        let value = value.map(str::to_owned);
        match self
            .0
            .iter_mut()
            .find(|p| p.name.eq_ignore_ascii_case(name))
        {
            Some(p) => p.value = value,
            None => self.0.push(Param {
                name: name.to_owned(),
                value,
            }),
        }
    }

    /// Removes every parameter named `name`; returns whether any was there.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.0.len();
        self.0.retain(|p| !p.name.eq_ignore_ascii_case(name));
        self.0.len() != before
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Parses `*( SEMI generic-param )` from the cursor, stopping at the first character that
    /// cannot continue the list (left for the caller to judge).
    pub(crate) fn parse(sc: &mut Scanner<'_>) -> Result<Params, InvalidValue> {
        let mut params = Vec::new();
        while sc.eat_sep(b';') {
            let name = sc.token("invalid parameter name")?;
            let value = if sc.eat_sep(b'=') {
                if sc.peek() == Some(b'"') {
                    Some(sc.quoted_raw()?.to_owned())
                } else {
                    let v = sc.take_while(is_gen_value_char);
                    if v.is_empty() {
                        return Err(InvalidValue("empty parameter value"));
                    }
                    Some(v.to_owned())
                }
            } else {
                None
            };
            params.push(Param {
                name: name.to_owned(),
                value,
            });
        }
        Ok(Params(params))
    }

    /// Writes `;name=value` for each parameter.
    pub fn write(&self, out: &mut String) {
        for p in &self.0 {
            out.push(';');
            out.push_str(&p.name);
            if let Some(v) = &p.value {
                out.push('=');
                out.push_str(v);
            }
        }
    }
}

/// `[display-name] <URI>` or a bare URI (addr-spec).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NameAddr {
    /// The display name, unquoted and unescaped (`"J \"R\""` → `J "R"`). Token display names
    /// are joined with single spaces.
    pub display_name: Option<String>,
    /// The URI.
    pub uri: Uri,
}

impl NameAddr {
    /// An address without display name.
    pub fn new(uri: Uri) -> Self {
        NameAddr {
            display_name: None,
            uri,
        }
    }

    /// Parses a name-addr or addr-spec at the cursor. An addr-spec (no angle brackets) ends at
    /// `;`, `,` or whitespace, so its parameters belong to the header (RFC 3261 20).
    pub(crate) fn parse(sc: &mut Scanner<'_>) -> Result<NameAddr, InvalidValue> {
        sc.skip_ws();
        let mut display_name = None;
        if sc.peek() == Some(b'"') {
            let raw = sc.quoted_raw()?;
            display_name = Some(unquote(raw).into_owned());
            sc.skip_ws();
            if sc.peek() != Some(b'<') {
                return Err(InvalidValue("quoted display name not followed by <"));
            }
        } else if sc.peek() != Some(b'<') {
            // Either `token token <uri>` or an addr-spec; try the display name first.
            let start = sc.pos();
            let mut end = start;
            while !sc.take_while(crate::scan::is_token_char).is_empty() {
                end = sc.pos();
                sc.skip_ws();
            }
            if end > start && sc.peek() == Some(b'<') {
                // Tokens separated by LWS: keep them, one space between each.
                let raw = sc.slice(start, end);
                display_name = Some(if raw.contains(['\t', ' ']) {
                    raw.split([' ', '\t'])
                        .filter(|w| !w.is_empty())
                        .collect::<Vec<_>>()
                        .join(" ")
                } else {
                    raw.to_owned()
                });
            } else {
                sc.set_pos(start);
                let spec = sc.take_while(|b| !matches!(b, b';' | b',' | b' ' | b'\t'));
                // take_while stops at non-ASCII too; a URI cannot contain it.
                if spec.is_empty() {
                    return Err(InvalidValue("expected an address"));
                }
                let uri = Uri::parse(spec)?;
                return Ok(NameAddr {
                    display_name: None,
                    uri,
                });
            }
        }
        sc.expect(b'<', "expected <")?;
        // LAQUOT / RAQUOT allow no whitespace inside the brackets (RFC 4475 badaspec).
        let inner = sc.take_while(|b| b != b'>');
        sc.expect(b'>', "missing >")?;
        let uri = Uri::parse(inner)?;
        Ok(NameAddr { display_name, uri })
    }

    /// Writes the address, always in angle brackets (unambiguous whatever the URI holds).
    pub fn write(&self, out: &mut String) {
        if let Some(name) = &self.display_name {
            write_quoted(out, name);
            out.push(' ');
        }
        out.push('<');
        self.uri.write(out);
        out.push('>');
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.write(&mut s);
        f.write_str(&s)
    }
}

/// An address with header parameters: the value of From, To, a Contact entry, a Route entry,
/// Refer-To, Diversion ...
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address {
    /// Display name and URI.
    pub name_addr: NameAddr,
    /// Header parameters (`tag`, `expires`, `q`, `reason` ...).
    pub params: Params,
}

impl Address {
    /// An address with no display name and no parameters.
    pub fn new(uri: Uri) -> Self {
        Address {
            name_addr: NameAddr::new(uri),
            params: Params::new(),
        }
    }

    /// Parses a complete value: address, parameters, nothing after.
    pub fn parse(s: &str) -> Result<Address, InvalidValue> {
        let mut sc = Scanner::new(s);
        let a = Address::parse_at(&mut sc)?;
        sc.skip_ws();
        if !sc.at_end() {
            return Err(InvalidValue("unexpected text after address"));
        }
        Ok(a)
    }

    pub(crate) fn parse_at(sc: &mut Scanner<'_>) -> Result<Address, InvalidValue> {
        let name_addr = NameAddr::parse(sc)?;
        let params = Params::parse(sc)?;
        Ok(Address { name_addr, params })
    }

    /// The URI.
    pub fn uri(&self) -> &Uri {
        &self.name_addr.uri
    }

    /// The display name.
    pub fn display_name(&self) -> Option<&str> {
        self.name_addr.display_name.as_deref()
    }

    /// The `tag` parameter (From, To).
    pub fn tag(&self) -> Option<&str> {
        self.params.get("tag").flatten()
    }

    /// Sets the `tag` parameter.
    pub fn set_tag(&mut self, tag: &str) {
        self.params.set("tag", Some(tag));
    }

    /// Writes the address and its parameters.
    pub fn write(&self, out: &mut String) {
        self.name_addr.write(out);
        self.params.write(out);
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.write(&mut s);
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_addr_forms() {
        let a =
            Address::parse(r#""Bell, Alexander" <sip:a.g.bell@example.com>;tag=433423"#).unwrap();
        assert_eq!(a.display_name(), Some("Bell, Alexander"));
        assert_eq!(a.tag(), Some("433423"));

        let a = Address::parse("sip:caller@example.net;tag=93942939o2").unwrap();
        assert_eq!(a.display_name(), None);
        assert_eq!(a.uri().to_string(), "sip:caller@example.net");
        assert_eq!(a.tag(), Some("93942939o2"));

        let a = Address::parse("caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(a.display_name(), Some("caller"));

        let a = Address::parse("token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%=\"\u{440}\";tag=_token~1'+`*%!-.").unwrap();
        assert_eq!(a.display_name(), Some("token1~` token2'+_ token3*%!.-"));
        assert_eq!(
            a.params.get_unquoted("fromparam''~+*_!.-%").as_deref(),
            Some("\u{440}")
        );

        let a = Address::parse(
            r#""J Rosenberg \\\""       <sip:jdrosen@example.com> ;  tag = 98asjd8"#,
        )
        .unwrap();
        assert_eq!(a.display_name(), Some(r#"J Rosenberg \""#));
        assert_eq!(a.tag(), Some("98asjd8"));
        assert_eq!(
            a.to_string(),
            r#""J Rosenberg \\\"" <sip:jdrosen@example.com>;tag=98asjd8"#
        );
    }

    #[test]
    fn malformed_addresses() {
        // RFC 4475 badaspec, baddn, quotbal
        assert!(Address::parse(r#""Watson, Thomas" < sip:t.watson@example.org >"#).is_err());
        assert!(Address::parse("Bell, Alexander <sip:a.g.bell@example.com>;tag=43").is_err());
        assert!(Address::parse(r#""Mr. J. User <sip:j.user@example.com>"#).is_err());
        assert!(Address::parse(r#""Joe" <sip:joe@example.org>;;;;"#).is_err());
        assert!(Address::parse("<sip:a@b").is_err());
        assert!(Address::parse("").is_err());
    }
}
