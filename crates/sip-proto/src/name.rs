//! Header names: case-insensitive, compact forms mapped to full names.

use crate::text::SharedStr;
use std::fmt;
use std::hash::{Hash, Hasher};

macro_rules! header_names {
    ($( $variant:ident => $name:literal $(, $compact:literal)? ; )*) => {
        /// A header name. Known names are variants (compact forms such as `v` or `m` parse to
        /// the full name); any other name is kept as written in [`HeaderName::Other`] and
        /// compares case-insensitively.
        #[derive(Clone)]
        #[non_exhaustive]
        pub enum HeaderName {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
            /// An extension header, spelled as received.
            Other(SharedStr),
        }

        impl HeaderName {
            /// The canonical spelling used when printing.
            pub fn as_str(&self) -> &str {
                match self {
                    $( HeaderName::$variant => $name, )*
                    HeaderName::Other(s) => s.as_str(),
                }
            }

            fn known(name: &[u8]) -> Option<HeaderName> {
                $(
                    if name.eq_ignore_ascii_case($name.as_bytes()) {
                        return Some(HeaderName::$variant);
                    }
                )*
                None
            }

            fn compact(c: u8) -> Option<HeaderName> {
                match c.to_ascii_lowercase() {
                    $( $( $compact => Some(HeaderName::$variant), )? )*
                    _ => None,
                }
            }

            /// The compact form, if the header has one (RFC 3261 7.3.3 and extensions).
            pub fn compact_form(&self) -> Option<char> {
                match self {
                    $( $( HeaderName::$variant => Some($compact as char), )? )*
                    _ => None,
                }
            }
        }
    };
}

header_names! {
    Via => "Via", b'v';
    From => "From", b'f';
    To => "To", b't';
    CallId => "Call-ID", b'i';
    CSeq => "CSeq";
    MaxForwards => "Max-Forwards";
    Contact => "Contact", b'm';
    ContentLength => "Content-Length", b'l';
    ContentType => "Content-Type", b'c';
    ContentEncoding => "Content-Encoding", b'e';
    ContentDisposition => "Content-Disposition";
    Route => "Route";
    RecordRoute => "Record-Route";
    Expires => "Expires";
    Authorization => "Authorization";
    ProxyAuthorization => "Proxy-Authorization";
    WwwAuthenticate => "WWW-Authenticate";
    ProxyAuthenticate => "Proxy-Authenticate";
    Allow => "Allow";
    AllowEvents => "Allow-Events", b'u';
    Supported => "Supported", b'k';
    Require => "Require";
    ProxyRequire => "Proxy-Require";
    Unsupported => "Unsupported";
    Accept => "Accept";
    Subject => "Subject", b's';
    Event => "Event", b'o';
    ReferTo => "Refer-To", b'r';
    ReferredBy => "Referred-By", b'b';
    Replaces => "Replaces";
    SessionExpires => "Session-Expires", b'x';
    MinSe => "Min-SE";
    UserAgent => "User-Agent";
    Server => "Server";
    Diversion => "Diversion";
    PAssertedIdentity => "P-Asserted-Identity";
    PPreferredIdentity => "P-Preferred-Identity";
    Privacy => "Privacy";
    Date => "Date";
    Timestamp => "Timestamp";
    Warning => "Warning";
    RetryAfter => "Retry-After";
    MinExpires => "Min-Expires";
    SubscriptionState => "Subscription-State";
    RSeq => "RSeq";
    RAck => "RAck";
    Reason => "Reason";
}

impl HeaderName {
    /// Parses a header name (a token, checked by the caller). Never fails: unknown names
    /// become [`HeaderName::Other`].
    pub(crate) fn from_bytes_shared(name: &[u8], shared: impl FnOnce() -> SharedStr) -> HeaderName {
        if name.len() == 1 {
            if let Some(n) = HeaderName::compact(name[0]) {
                return n;
            }
        }
        HeaderName::known(name).unwrap_or_else(|| HeaderName::Other(shared()))
    }

    /// A header name from text, e.g. `"v"` → [`HeaderName::Via`], `"X-Foo"` →
    /// `Other("X-Foo")`.
    pub fn new(name: &str) -> HeaderName {
        HeaderName::from_bytes_shared(name.as_bytes(), || SharedStr::from(name))
    }
}

impl PartialEq for HeaderName {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (HeaderName::Other(a), HeaderName::Other(b)) => {
                a.as_bytes().eq_ignore_ascii_case(b.as_bytes())
            }
            (HeaderName::Other(_), _) | (_, HeaderName::Other(_)) => false,
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}

impl Eq for HeaderName {}

impl Hash for HeaderName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            HeaderName::Other(s) => {
                for b in s.as_bytes() {
                    state.write_u8(b.to_ascii_lowercase());
                }
            }
            _ => std::mem::discriminant(self).hash(state),
        }
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HeaderName({})", self.as_str())
    }
}

impl From<&str> for HeaderName {
    fn from(s: &str) -> Self {
        HeaderName::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive_and_compact_forms_expand() {
        assert_eq!(HeaderName::new("v"), HeaderName::Via);
        assert_eq!(HeaderName::new("V"), HeaderName::Via);
        assert_eq!(HeaderName::new("MaX-fOrWaRdS"), HeaderName::MaxForwards);
        assert_eq!(HeaderName::new("i").as_str(), "Call-ID");
        assert_eq!(HeaderName::new("l"), HeaderName::ContentLength);
        assert_eq!(HeaderName::new("x-custom"), HeaderName::new("X-Custom"));
        assert_eq!(HeaderName::new("X-Custom").as_str(), "X-Custom");
        assert_ne!(HeaderName::new("C%6Fntact"), HeaderName::Contact);
        assert_eq!(HeaderName::Via.compact_form(), Some('v'));
        assert_eq!(HeaderName::CSeq.compact_form(), None);
    }
}
