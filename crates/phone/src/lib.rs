//! Phone numbers as people type them and as trunks send them.
//!
//! libphonenumber (the `phonenumber` crate) knows every country's numbering plan; it does not
//! know telephony. This crate adds what a PBX sees: numbers inside `sip:`/`tel:` URIs and
//! `"Name" <sip:...>` headers, withheld callers (`anonymous`, `Restricted`, ...), the `(0)` that
//! people write after a country code, and trunks that send international numbers without `+`.
//! The raw form is kept for display; the E.164 form is the key every lookup matches on.

mod extract;
mod mask;

pub use mask::MaskRule;

use phonenumber::country;
use std::fmt;
use std::str::FromStr;

/// The country assumed for numbers written without a country code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region(country::Id);

impl Region {
    /// The region's country calling code (49 for DE).
    pub fn calling_code(&self) -> u16 {
        phonenumber::metadata::DATABASE
            .by_id(self.0.as_ref())
            .map(|m| m.country_code())
            .unwrap_or(0)
    }
}

/// A default region that is not a known ISO 3166 alpha-2 code with a numbering plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown region {0:?}: use a two-letter country code such as DE, IT or PL")]
pub struct UnknownRegion(pub String);

impl FromStr for Region {
    type Err = UnknownRegion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        let id = country::Id::from_str(&upper).map_err(|_| UnknownRegion(s.to_string()))?;
        if phonenumber::metadata::DATABASE.by_id(&upper).is_none() {
            return Err(UnknownRegion(s.to_string()));
        }
        Ok(Region(id))
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_ref())
    }
}

impl serde::Serialize for Region {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_ref())
    }
}

impl<'de> serde::Deserialize<'de> for Region {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What kind of line a number is, from libphonenumber's metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NumberKind {
    Mobile,
    FixedLine,
    /// Some plans (US, CA, ...) cannot tell fixed from mobile.
    FixedLineOrMobile,
    TollFree,
    PremiumRate,
    Other,
}

/// A valid number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber {
    e164: String,
    raw: String,
    country_code: u16,
    kind: NumberKind,
}

impl PhoneNumber {
    /// `+4930123456`.
    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// The input, trimmed.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    pub fn country_code(&self) -> u16 {
        self.country_code
    }

    pub fn kind(&self) -> NumberKind {
        self.kind
    }

    /// The number without `+` and country code.
    pub fn national_significant(&self) -> &str {
        let digits = self.country_code.to_string().len();
        &self.e164[1 + digits..]
    }
}

/// Why an input is not a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidNumber {
    #[error("is not a phone number")]
    NotANumber,
    #[error("is too short to be a phone number")]
    TooShort,
    #[error("is too long to be a phone number")]
    TooLong,
    #[error("is not a valid number in any numbering plan")]
    NotValid,
}

/// The outcome of reading a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneInput {
    /// Withheld or absent: `anonymous`, `Restricted`, `unknown`, `private`, empty, ...
    NoNumber,
    Number(PhoneNumber),
    Invalid(InvalidNumber),
}

/// Fewer digits than this are service codes (112, 110), not subscriber numbers.
const MIN_DIGITS: usize = 5;
/// E.164 allows 15 digits; an IDD prefix adds up to 4 more.
const MAX_DIGITS: usize = 19;

/// Reads `raw` as a number of `region` unless it carries its own country code.
pub fn parse(raw: &str, region: Region) -> PhoneInput {
    let raw_trimmed = raw.trim();
    let candidate = match extract::candidate(raw_trimmed) {
        extract::Candidate::Withheld => return PhoneInput::NoNumber,
        extract::Candidate::Text(t) => t,
    };
    let Some(dialable) = extract::dialable(&candidate) else {
        return PhoneInput::Invalid(InvalidNumber::NotANumber);
    };
    let digit_count = dialable.len() - usize::from(dialable.starts_with('+'));
    if digit_count == 0 {
        return PhoneInput::Invalid(InvalidNumber::NotANumber);
    }
    if digit_count < MIN_DIGITS {
        return PhoneInput::Invalid(InvalidNumber::TooShort);
    }
    if digit_count > MAX_DIGITS {
        return PhoneInput::Invalid(InvalidNumber::TooLong);
    }
    match best_interpretation(&dialable, region) {
        Some(number) => PhoneInput::Number(PhoneNumber {
            e164: phonenumber::format(&number)
                .mode(phonenumber::Mode::E164)
                .to_string(),
            raw: raw_trimmed.to_string(),
            country_code: number.code().value(),
            kind: kind_of(&number),
        }),
        None => PhoneInput::Invalid(InvalidNumber::NotValid),
    }
}

/// `Ok(None)` for withheld callers; an error for what is not a number.
pub fn normalize(raw: &str, region: Region) -> Result<Option<PhoneNumber>, InvalidNumber> {
    match parse(raw, region) {
        PhoneInput::NoNumber => Ok(None),
        PhoneInput::Number(n) => Ok(Some(n)),
        PhoneInput::Invalid(e) => Err(e),
    }
}

fn valid(region: Option<country::Id>, text: &str) -> Option<phonenumber::PhoneNumber> {
    phonenumber::parse(region, text)
        .ok()
        .filter(|n| n.is_valid())
}

/// `dialable` is digits with an optional leading `+`.
fn best_interpretation(dialable: &str, region: Region) -> Option<phonenumber::PhoneNumber> {
    if dialable.starts_with('+') {
        return valid(None, dialable);
    }
    let metadata = phonenumber::metadata::DATABASE.by_id(region.0.as_ref());
    // An exit code (00, 011, 810, ...) means an international number follows. Handled here
    // rather than by libphonenumber, which misreads some (`0039 02...` loses Italy's 0).
    if let Some(idd) = metadata.and_then(|m| m.international_prefix()) {
        if let Some(found) = idd.find(dialable) {
            if found.start() == 0 && found.end() > 0 && found.end() < dialable.len() {
                return valid(None, &format!("+{}", &dialable[found.end()..]));
            }
        }
    }
    let national = valid(Some(region.0), dialable);
    // Trunks often send international numbers without `+` (4930..., 39333...). A leading 0 is
    // a trunk or exit prefix, never a country code, so only other numbers are tried that way.
    let international = if dialable.starts_with('0') {
        None
    } else {
        valid(None, &format!("+{dialable}"))
    };
    match (national, international) {
        (Some(n), Some(i)) => {
            // Both readings are valid. Where national numbers are dialed with a trunk prefix
            // 0 (most of Europe), ten digits or more without it can only be international:
            // without the 0 a national number is a local one, and local numbers are shorter.
            let trunk_prefix_zero = metadata.and_then(|m| m.national_prefix()) == Some("0");
            if trunk_prefix_zero && dialable.len() >= 10 {
                Some(i)
            } else {
                Some(n)
            }
        }
        (Some(n), None) => Some(n),
        (None, i) => i,
    }
}

fn kind_of(number: &phonenumber::PhoneNumber) -> NumberKind {
    use phonenumber::Type;
    match number.number_type(&phonenumber::metadata::DATABASE) {
        Type::Mobile => NumberKind::Mobile,
        Type::FixedLine => NumberKind::FixedLine,
        Type::FixedLineOrMobile => NumberKind::FixedLineOrMobile,
        Type::TollFree => NumberKind::TollFree,
        Type::PremiumRate => NumberKind::PremiumRate,
        _ => NumberKind::Other,
    }
}

/// The digits of a string, in order.
pub fn digits_only(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}
