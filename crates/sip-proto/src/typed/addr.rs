//! Headers whose values are addresses: From, To, Contact, Route, Record-Route, Refer-To,
//! Diversion (RFC 5806), P-Asserted-Identity (RFC 3325).

use crate::address::Address;
use crate::error::InvalidValue;
use crate::headers::TypedHeader;
use crate::name::HeaderName;
use crate::uri::Uri;
use std::ops::{Deref, DerefMut};

macro_rules! address_header {
    ($(#[$doc:meta])* $ty:ident, $name:ident, $list:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $ty(pub Address);

        impl $ty {
            /// A value with this URI, no display name and no parameters.
            pub fn new(uri: Uri) -> Self {
                $ty(Address::new(uri))
            }
        }

        impl Deref for $ty {
            type Target = Address;
            fn deref(&self) -> &Address {
                &self.0
            }
        }

        impl DerefMut for $ty {
            fn deref_mut(&mut self) -> &mut Address {
                &mut self.0
            }
        }

        impl std::convert::From<Address> for $ty {
            fn from(a: Address) -> Self {
                $ty(a)
            }
        }

        impl TypedHeader for $ty {
            const NAME: HeaderName = HeaderName::$name;
            const LIST: bool = $list;

            fn parse(value: &str) -> Result<Self, InvalidValue> {
                Address::parse(value).map($ty)
            }

            fn write(&self, out: &mut String) {
                self.0.write(out)
            }
        }
    };
}

address_header!(
    /// `From`: the caller's address and `tag`.
    From, From, false
);
address_header!(
    /// `To`: the callee's address and, in a dialog, `tag`.
    To, To, false
);
address_header!(
    /// One `Route` entry (list header).
    Route, Route, true
);
address_header!(
    /// One `Record-Route` entry (list header).
    RecordRoute, RecordRoute, true
);
address_header!(
    /// `Refer-To` (RFC 3515): the transfer target; may carry `?Replaces=` in its URI.
    ReferTo, ReferTo, false
);
address_header!(
    /// One `P-Asserted-Identity` entry (RFC 3325, list header).
    PAssertedIdentity, PAssertedIdentity, true
);
address_header!(
    /// One `Diversion` entry (RFC 5806, list header): the diverting party with `reason`,
    /// `counter`, `privacy` ... The first entry is the most recent diversion.
    Diversion, Diversion, true
);

impl Diversion {
    /// `reason` parameter (`unconditional`, `user-busy`, `no-answer` ...), unquoted.
    pub fn reason(&self) -> Option<std::borrow::Cow<'_, str>> {
        self.params.get_unquoted("reason")
    }

    /// `counter` parameter: how many diversions this entry stands for.
    pub fn counter(&self) -> Option<u32> {
        self.params.get_unquoted("counter")?.parse().ok()
    }

    /// `privacy` parameter (`full`, `name`, `uri`, `off`), unquoted.
    pub fn privacy(&self) -> Option<std::borrow::Cow<'_, str>> {
        self.params.get_unquoted("privacy")
    }
}

/// One `Contact` value: an address, or `*` (REGISTER: remove all bindings).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Contact {
    /// `Contact: *`
    Wildcard,
    /// An address with `expires`, `q` and other parameters.
    Address(Address),
}

impl Contact {
    /// A contact with this URI.
    pub fn new(uri: Uri) -> Self {
        Contact::Address(Address::new(uri))
    }

    /// The address, unless this is `*`.
    pub fn address(&self) -> Option<&Address> {
        match self {
            Contact::Wildcard => None,
            Contact::Address(a) => Some(a),
        }
    }

    /// The URI, unless this is `*`.
    pub fn uri(&self) -> Option<&Uri> {
        self.address().map(Address::uri)
    }

    /// `expires` parameter in seconds; values beyond 2**32-1 read as 2**32-1 (RFC 3261 10.2.1
    /// asks to treat oversized delta-seconds that way).
    pub fn expires(&self) -> Option<u32> {
        let v = self.address()?.params.get("expires").flatten()?;
        super::parse_delta_seconds(v).ok()
    }

    /// `q` parameter (0.0-1.0).
    pub fn q(&self) -> Option<f32> {
        let v = self.address()?.params.get("q").flatten()?;
        v.parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q))
    }
}

impl TypedHeader for Contact {
    const NAME: HeaderName = HeaderName::Contact;
    const LIST: bool = true;

    fn parse(value: &str) -> Result<Self, InvalidValue> {
        if value.trim_matches([' ', '\t']) == "*" {
            return Ok(Contact::Wildcard);
        }
        let a = Address::parse(value)?;
        if let Some(v) = a.params.get("expires") {
            let v = v.ok_or(InvalidValue("expires without value"))?;
            super::parse_delta_seconds(v)?;
        }
        Ok(Contact::Address(a))
    }

    fn write(&self, out: &mut String) {
        match self {
            Contact::Wildcard => out.push('*'),
            Contact::Address(a) => a.write(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diversion_parameters() {
        let d = Diversion::parse(
            r#"<sip:+4930123456@trunk.example.net;user=phone>;reason=unconditional;counter=1;privacy="off";screen=no"#,
        )
        .unwrap();
        assert_eq!(d.reason().as_deref(), Some("unconditional"));
        assert_eq!(d.counter(), Some(1));
        assert_eq!(d.privacy().as_deref(), Some("off"));
        assert_eq!(d.params.get("screen"), Some(Some("no")));
    }

    #[test]
    fn contact_forms() {
        assert_eq!(Contact::parse(" * "), Ok(Contact::Wildcard));
        let c = Contact::parse(r#""Quoted string \"\"" <sip:jdrosen@example.com> ; newparam = newvalue ; secondparam ; q = 0.33"#).unwrap();
        assert_eq!(c.q(), Some(0.33));
        assert_eq!(
            c.to_value(),
            r#""Quoted string \"\"" <sip:jdrosen@example.com>;newparam=newvalue;secondparam;q=0.33"#
        );
        let c = Contact::parse("<sip:user@host129.example.com>;expires=280297596632815").unwrap();
        assert_eq!(c.expires(), Some(u32::MAX));
        assert!(Contact::parse("<sip:a@b>;expires=soon").is_err());
        assert!(Contact::parse("sip:+19725552222@gw1.example.net;unknownparam").is_ok());
    }
}
