//! Error types: [`ParseError`] (bytes are not a SIP message), [`InvalidValue`] and
//! [`HeaderError`] (one value or header is malformed), [`ValidationError`] (a message parsed but
//! a server must refuse it, with the status code to answer).

use crate::message::{StatusCode, Version};
use crate::name::HeaderName;

/// Why some text is not a valid value of its kind (URI, header value, parameter ...).
///
/// A static description keeps the error path free of allocations, so garbage input costs
/// nothing extra.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub &'static str);

/// A header that is missing or does not parse as its type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The message has no such header.
    #[error("missing {0} header")]
    Missing(HeaderName),
    /// The header is there but its value is malformed.
    #[error("invalid {name} header: {reason}")]
    Invalid {
        /// Which header.
        name: HeaderName,
        /// What is wrong with it.
        reason: InvalidValue,
    },
}

/// The bytes could not be read as a SIP message at all: there is no message to answer, so the
/// caller drops it (datagram) or closes the connection (stream).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Nothing but line breaks or whitespace.
    #[error("empty message")]
    Empty,
    /// Larger than [`ParseLimits::max_message_size`](crate::ParseLimits).
    #[error("message larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// More header lines than [`ParseLimits::max_headers`](crate::ParseLimits).
    #[error("more than {limit} header lines")]
    TooManyHeaders {
        /// The limit.
        limit: usize,
    },
    /// A line longer than [`ParseLimits::max_line_length`](crate::ParseLimits).
    #[error("line longer than {limit} bytes")]
    LineTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// The first line is neither a request line nor a status line.
    #[error("invalid start line: {0}")]
    InvalidStartLine(&'static str),
    /// The Request-URI of the request line does not parse.
    #[error("invalid Request-URI: {0}")]
    InvalidRequestUri(InvalidValue),
    /// A header line has no name, a bad name, or no colon.
    #[error("invalid header line {line}: {reason}")]
    InvalidHeaderLine {
        /// 1-based line number in the message (the start line is line 1).
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The header section ended without the empty line that closes it (datagram).
    #[error("header section not terminated by an empty line")]
    UnterminatedHeaders,
    /// A stream message without Content-Length cannot be framed (RFC 3261 18.3).
    #[error("missing Content-Length on a stream transport")]
    MissingContentLength,
    /// Content-Length is not a number, or several disagree, so the body cannot be framed.
    #[error("invalid Content-Length: {0}")]
    InvalidContentLength(&'static str),
}

/// A parsed message that a server must refuse before processing, with the answer to give.
///
/// [`status_code`](Self::status_code) and [`reason_phrase`](Self::reason_phrase) give the
/// response line (400 with what is wrong, 505 for a bad version, 416 for an unsupported URI
/// scheme, 483 for Max-Forwards 0, 420 for an unsupported extension).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// The SIP version is not 2.0.
    #[error("unsupported SIP version {0}")]
    UnsupportedVersion(Version),
    /// The Request-URI scheme is not sip, sips or tel.
    #[error("unsupported URI scheme {0}")]
    UnsupportedUriScheme(String),
    /// A mandatory header is missing or malformed.
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// A header that may appear once appears more than once.
    #[error("more than one {0} header")]
    DuplicateHeader(HeaderName),
    /// The CSeq method differs from the request method.
    #[error("CSeq method {cseq} does not match request method {request}")]
    CSeqMethodMismatch {
        /// Method in the request line.
        request: String,
        /// Method in CSeq.
        cseq: String,
    },
    /// The body is shorter than Content-Length says.
    #[error("Content-Length {declared} but the body has {actual} bytes")]
    ContentLengthMismatch {
        /// The Content-Length value.
        declared: u32,
        /// Bytes present.
        actual: usize,
    },
    /// A body without Content-Type.
    #[error("body without Content-Type")]
    MissingContentType,
    /// Max-Forwards is 0: the request must not be forwarded (RFC 3261 16.3).
    #[error("Max-Forwards is 0")]
    TooManyHops,
    /// The request requires extensions this server does not support (RFC 3261 8.2.2.3).
    #[error("unsupported extensions required: {}", .0.join(", "))]
    UnsupportedExtensions(Vec<String>),
}

impl ValidationError {
    /// The status code to answer a request with.
    pub fn status_code(&self) -> StatusCode {
        match self {
            ValidationError::UnsupportedVersion(_) => StatusCode::VERSION_NOT_SUPPORTED,
            ValidationError::UnsupportedUriScheme(_) => StatusCode::UNSUPPORTED_URI_SCHEME,
            ValidationError::TooManyHops => StatusCode::TOO_MANY_HOPS,
            ValidationError::UnsupportedExtensions(_) => StatusCode::BAD_EXTENSION,
            ValidationError::Header(_)
            | ValidationError::DuplicateHeader(_)
            | ValidationError::CSeqMethodMismatch { .. }
            | ValidationError::ContentLengthMismatch { .. }
            | ValidationError::MissingContentType => StatusCode::BAD_REQUEST,
        }
    }

    /// A reason phrase that says what is wrong, e.g. `Missing Call-ID header` or
    /// `Invalid CSeq header: number larger than 2**32-1`. Reason phrases are free text
    /// (RFC 3261 21), so the phrase names the problem for whoever reads the trace.
    pub fn reason_phrase(&self) -> String {
        match self {
            ValidationError::UnsupportedVersion(_) => "Version Not Supported".to_owned(),
            ValidationError::UnsupportedUriScheme(_) => "Unsupported URI Scheme".to_owned(),
            ValidationError::TooManyHops => "Too Many Hops".to_owned(),
            ValidationError::UnsupportedExtensions(_) => "Bad Extension".to_owned(),
            ValidationError::Header(HeaderError::Missing(name)) => format!("Missing {name} header"),
            ValidationError::Header(HeaderError::Invalid { name, reason }) => {
                format!("Invalid {name} header: {reason}")
            }
            ValidationError::DuplicateHeader(name) => format!("Duplicate {name} header"),
            ValidationError::CSeqMethodMismatch { .. } => "CSeq method mismatch".to_owned(),
            ValidationError::ContentLengthMismatch { .. } => "Content-Length mismatch".to_owned(),
            ValidationError::MissingContentType => "Missing Content-Type header".to_owned(),
        }
    }
}
