//! [`Headers`]: the ordered header lines of a message, kept raw, parsed into typed headers on
//! access through the [`TypedHeader`] trait.

use crate::error::{HeaderError, InvalidValue};
use crate::name::HeaderName;
use crate::scan::split_list;
use crate::text::SharedStr;

/// One header line: its name and its value (unfolded and trimmed, otherwise as received).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderField {
    /// The name.
    pub name: HeaderName,
    /// The raw value.
    pub value: SharedStr,
}

/// A header that can be read from and written to raw header values.
///
/// For a list header (`LIST = true`: Via, Contact, Route, Allow ...) a value of the type is
/// *one element* of the comma-separated list, and one header line may hold several. For the
/// other headers a value of the type is one whole header line.
pub trait TypedHeader: Sized {
    /// The header's name.
    const NAME: HeaderName;
    /// Whether the header is a comma-separated list.
    const LIST: bool = false;

    /// Parses one value (one list element for list headers).
    fn parse(value: &str) -> Result<Self, InvalidValue>;

    /// Writes the value (without the name).
    fn write(&self, out: &mut String);

    /// The value as a string.
    fn to_value(&self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        s
    }
}

/// The header lines of a message, in order.
///
/// Names compare case-insensitively and compact forms are already expanded, so
/// `headers.raw(&HeaderName::Via)` finds `v:` lines too. Values stay raw until a typed accessor
/// parses them, so a proxy-like path that only reads Via, CSeq and Call-ID pays only for those.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    fields: Vec<HeaderField>,
}

impl Headers {
    /// No headers.
    pub const fn new() -> Self {
        Headers { fields: Vec::new() }
    }

    /// No headers, room for `n`.
    pub fn with_capacity(n: usize) -> Self {
        Headers {
            fields: Vec::with_capacity(n),
        }
    }

    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no header lines.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// All header lines in order.
    pub fn iter(&self) -> std::slice::Iter<'_, HeaderField> {
        self.fields.iter()
    }

    /// Whether a header of this name is present.
    pub fn contains(&self, name: &HeaderName) -> bool {
        self.fields.iter().any(|f| f.name == *name)
    }

    /// Number of lines with this name.
    pub fn count(&self, name: &HeaderName) -> usize {
        self.fields.iter().filter(|f| f.name == *name).count()
    }

    /// The raw value of the first line with this name.
    pub fn raw(&self, name: &HeaderName) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.name == *name)
            .map(|f| f.value.as_str())
    }

    /// The raw values of all lines with this name, in order.
    pub fn raw_all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |f| f.name == *name)
            .map(|f| f.value.as_str())
    }

    /// The first value of a typed header: `Ok(None)` if absent. For list headers, the first
    /// element of the first line (the top Via, the first Route ...).
    pub fn typed<H: TypedHeader>(&self) -> Result<Option<H>, HeaderError> {
        self.typed_iter::<H>().next().transpose()
    }

    /// Like [`typed`](Self::typed) but a missing header is an error.
    pub fn require<H: TypedHeader>(&self) -> Result<H, HeaderError> {
        self.typed::<H>()?.ok_or(HeaderError::Missing(H::NAME))
    }

    /// Every value of a typed header across all its lines (list elements split).
    pub fn typed_all<H: TypedHeader>(&self) -> Result<Vec<H>, HeaderError> {
        self.typed_iter::<H>().collect()
    }

    /// Lazily parses every value of a typed header, in order.
    pub fn typed_iter<H: TypedHeader>(&self) -> impl Iterator<Item = Result<H, HeaderError>> + '_ {
        let name = H::NAME;
        self.fields
            .iter()
            .filter(move |f| f.name == name)
            .flat_map(|f| {
                let (whole, list) = if H::LIST {
                    (None, Some(split_list(f.value.as_str())))
                } else {
                    (Some(f.value.as_str()), None)
                };
                whole.into_iter().chain(list.into_iter().flatten())
            })
            .map(|v| {
                H::parse(v).map_err(|reason| HeaderError::Invalid {
                    name: H::NAME,
                    reason,
                })
            })
    }

    /// Appends a raw header line.
    pub fn push(&mut self, name: HeaderName, value: impl Into<SharedStr>) {
        self.fields.push(HeaderField {
            name,
            value: value.into(),
        });
    }

    /// Appends a typed header as a new line.
    pub fn push_typed<H: TypedHeader>(&mut self, h: &H) {
        self.push(H::NAME, h.to_value());
    }

    /// Inserts a raw header line before all others of the same name, or at the end if there
    /// is none (a new top Via, a new top Record-Route).
    pub fn push_front(&mut self, name: HeaderName, value: impl Into<SharedStr>) {
        let at = self
            .fields
            .iter()
            .position(|f| f.name == name)
            .unwrap_or(self.fields.len());
        self.fields.insert(
            at,
            HeaderField {
                name,
                value: value.into(),
            },
        );
    }

    /// Inserts a typed header before all others of its name.
    pub fn push_front_typed<H: TypedHeader>(&mut self, h: &H) {
        self.push_front(H::NAME, h.to_value());
    }

    /// Replaces all lines of this name by one line, where the first one was (or at the end).
    pub fn set(&mut self, name: HeaderName, value: impl Into<SharedStr>) {
        let value = value.into();
        match self.fields.iter().position(|f| f.name == name) {
            Some(at) => {
                self.fields[at].value = value;
                let mut i = 0;
                self.fields.retain(|f| {
                    let keep = i <= at || f.name != name;
                    i += 1;
                    keep
                });
            }
            None => self.fields.push(HeaderField { name, value }),
        }
    }

    /// Replaces all lines of the typed header's name by this value.
    pub fn set_typed<H: TypedHeader>(&mut self, h: &H) {
        self.set(H::NAME, h.to_value());
    }

    /// Removes all lines of this name; returns how many there were.
    pub fn remove(&mut self, name: &HeaderName) -> usize {
        let before = self.fields.len();
        self.fields.retain(|f| f.name != *name);
        before - self.fields.len()
    }

    /// Removes the first element of a list header: the first line if it holds one element, or
    /// the first element of the first line if it holds several (`Via: a, b` → `Via: b`).
    /// Returns the removed element's raw text.
    pub fn remove_first_element(&mut self, name: &HeaderName) -> Option<String> {
        let at = self.fields.iter().position(|f| f.name == *name)?;
        let value = self.fields[at].value.clone();
        let mut elements = split_list(value.as_str());
        let first = elements.next().unwrap_or("").to_owned();
        let rest: Vec<&str> = elements.collect();
        if rest.is_empty() {
            self.fields.remove(at);
        } else {
            self.fields[at].value = SharedStr::from(rest.join(", "));
        }
        Some(first)
    }

    /// Copies every line of `name` from `other`, in order, to the end of `self`.
    pub fn copy_from(&mut self, other: &Headers, name: &HeaderName) {
        for f in other.fields.iter().filter(|f| f.name == *name) {
            self.fields.push(f.clone());
        }
    }

    /// Writes `Name: value\r\n` for every line.
    pub(crate) fn write_to(&self, out: &mut Vec<u8>) {
        for f in &self.fields {
            out.extend_from_slice(f.name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            write_value(out, f.value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }

    /// Bytes [`write_to`](Self::write_to) will produce.
    pub(crate) fn printed_len(&self) -> usize {
        self.fields
            .iter()
            .map(|f| f.name.as_str().len() + f.value.len() + 4)
            .sum()
    }
}

/// Writes a header value; a CR or LF that a caller put into a value is written as a space, so
/// no value can end its line early and smuggle in a header or a body.
fn write_value(out: &mut Vec<u8>, value: &[u8]) {
    if memchr::memchr2(b'\r', b'\n', value).is_none() {
        out.extend_from_slice(value);
    } else {
        out.extend(
            value
                .iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a HeaderField;
    type IntoIter = std::slice::Iter<'a, HeaderField>;
    fn into_iter(self) -> Self::IntoIter {
        self.fields.iter()
    }
}

impl FromIterator<HeaderField> for Headers {
    fn from_iter<T: IntoIterator<Item = HeaderField>>(iter: T) -> Self {
        Headers {
            fields: iter.into_iter().collect(),
        }
    }
}

impl Extend<HeaderField> for Headers {
    fn extend<T: IntoIterator<Item = HeaderField>>(&mut self, iter: T) {
        self.fields.extend(iter);
    }
}
