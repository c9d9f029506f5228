//! What a server checks before processing a message (RFC 3261 8.2 and 18.3, RFC 4475):
//! [`Request::validate`], [`Response::validate`], [`Request::check_require`].

use crate::error::{HeaderError, ValidationError};
use crate::headers::{Headers, TypedHeader};
use crate::message::{Message, Request, Response, Version};
use crate::method::Method;
use crate::name::HeaderName;
use crate::typed::{
    is_valid_sip_date, CSeq, CallId, Contact, ContentLength, ContentType, Expires, From,
    MaxForwards, RecordRoute, Require, Route, To, Via,
};

/// A header that may appear at most once; `Ok(None)` if absent.
fn at_most_one<H: TypedHeader>(headers: &Headers) -> Result<Option<H>, ValidationError> {
    if headers.count(&H::NAME) > 1 {
        return Err(ValidationError::DuplicateHeader(H::NAME));
    }
    Ok(headers.typed::<H>()?)
}

/// A header that must appear exactly once.
fn exactly_one<H: TypedHeader>(headers: &Headers) -> Result<H, ValidationError> {
    at_most_one::<H>(headers)?.ok_or(ValidationError::Header(HeaderError::Missing(H::NAME)))
}

/// Every value of a list header parses.
fn all_parse<H: TypedHeader>(headers: &Headers) -> Result<(), ValidationError> {
    for v in headers.typed_iter::<H>() {
        v?;
    }
    Ok(())
}

/// The headers every transaction and dialog reads, parsed once by validation
/// ([`Request::validate_core`], [`Response::validate_core`]) so the caller need not parse them
/// again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreHeaders {
    /// The top Via hop (transaction key: branch, sent-by; rport/received).
    pub top_via: Via,
    /// From (tag).
    pub from: From,
    /// To (tag).
    pub to: To,
    /// Call-ID.
    pub call_id: CallId,
    /// CSeq.
    pub cseq: CSeq,
    /// Max-Forwards of a request, 70 when absent (responses: 70, unused).
    pub max_forwards: MaxForwards,
}

/// Checks shared by requests and responses.
fn check_common(headers: &Headers, body_len: usize) -> Result<CoreHeaders, ValidationError> {
    let mut vias = headers.typed_iter::<Via>();
    let top_via = vias.next().ok_or(HeaderError::Missing(HeaderName::Via))??;
    for v in vias {
        v?;
    }
    let from = exactly_one::<From>(headers)?;
    let to = exactly_one::<To>(headers)?;
    let call_id = exactly_one::<CallId>(headers)?;
    let cseq = exactly_one::<CSeq>(headers)?;
    if let Some(ContentLength(declared)) = at_most_one::<ContentLength>(headers)? {
        // The datagram parser already cut a longer body to Content-Length, so a difference
        // here means the body is short (RFC 3261 18.3: answer 400).
        if declared as usize != body_len {
            return Err(ValidationError::ContentLengthMismatch {
                declared,
                actual: body_len,
            });
        }
    }
    let content_type = at_most_one::<ContentType>(headers)?;
    if body_len > 0 && content_type.is_none() {
        return Err(ValidationError::MissingContentType);
    }
    all_parse::<Contact>(headers)?;
    all_parse::<RecordRoute>(headers)?;
    Ok(CoreHeaders {
        top_via,
        from,
        to,
        call_id,
        cseq,
        max_forwards: MaxForwards::DEFAULT,
    })
}

impl Request {
    /// Checks a request before processing it; the error says what to answer
    /// ([`ValidationError::status_code`], [`ValidationError::reason_phrase`]).
    ///
    /// In order: version 2.0 (else 505); Via present and every hop well-formed; From, To,
    /// Call-ID, CSeq present once and well-formed; CSeq method equal to the request method;
    /// Max-Forwards, Content-Length, Content-Type, Expires at most once and well-formed;
    /// Content-Length equal to the body length; a body has a Content-Type; Contact, Route,
    /// Record-Route well-formed; Date in GMT (all 400); Request-URI scheme sip, sips or tel
    /// (else 416); Max-Forwards not 0 (else 483; an absent Max-Forwards counts as 70).
    /// Extension checks (420) are separate: [`check_require`](Self::check_require).
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.validate_core().map(drop)
    }

    /// [`validate`](Self::validate), returning the core headers it parsed.
    pub fn validate_core(&self) -> Result<CoreHeaders, ValidationError> {
        if self.version != Version::SIP_2_0 {
            return Err(ValidationError::UnsupportedVersion(self.version));
        }
        let h = &self.headers;
        let mut core = check_common(h, self.body.len())?;
        if core.cseq.method != self.method {
            return Err(ValidationError::CSeqMethodMismatch {
                request: self.method.to_string(),
                cseq: core.cseq.method.to_string(),
            });
        }
        let max_forwards = at_most_one::<MaxForwards>(h)?;
        at_most_one::<Expires>(h)?;
        all_parse::<Route>(h)?;
        for date in h.raw_all(&HeaderName::Date) {
            if !is_valid_sip_date(date) {
                return Err(HeaderError::Invalid {
                    name: HeaderName::Date,
                    reason: crate::InvalidValue("not an RFC 1123 date in GMT"),
                }
                .into());
            }
        }
        match self.uri.scheme() {
            "sip" | "sips" | "tel" => {}
            other => return Err(ValidationError::UnsupportedUriScheme(other.to_owned())),
        }
        core.max_forwards = max_forwards.unwrap_or(MaxForwards::DEFAULT);
        if core.max_forwards == MaxForwards(0) {
            return Err(ValidationError::TooManyHops);
        }
        Ok(core)
    }

    /// The RFC 3261 8.2.2.3 extension check: every option tag in Require must be in
    /// `supported` (case-insensitive), else 420 with the missing ones (send them in an
    /// Unsupported header). ACK and CANCEL are never refused for this.
    pub fn check_require(&self, supported: &[&str]) -> Result<(), ValidationError> {
        if matches!(self.method, Method::Ack | Method::Cancel) {
            return Ok(());
        }
        let mut missing = Vec::new();
        for tag in self.headers.typed_iter::<Require>() {
            let Require(tag) = tag?;
            if !supported.iter().any(|s| s.eq_ignore_ascii_case(&tag)) {
                missing.push(tag);
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ValidationError::UnsupportedExtensions(missing))
        }
    }
}

impl Response {
    /// Checks a response before a client transaction uses it (a failure means: discard it,
    /// RFC 3261 8.1.3.3, 18.1.2): version 2.0; Via, From, To, Call-ID, CSeq present and
    /// well-formed (CSeq number within 32 bits: RFC 4475 `scalarlg`); Content-Length equal to
    /// the body length.
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.validate_core().map(drop)
    }

    /// [`validate`](Self::validate), returning the core headers it parsed.
    pub fn validate_core(&self) -> Result<CoreHeaders, ValidationError> {
        if self.version != Version::SIP_2_0 {
            return Err(ValidationError::UnsupportedVersion(self.version));
        }
        check_common(&self.headers, self.body.len())
    }
}

impl Message {
    /// [`Request::validate`] or [`Response::validate`].
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.validate_core().map(drop)
    }

    /// [`Request::validate_core`] or [`Response::validate_core`].
    pub fn validate_core(&self) -> Result<CoreHeaders, ValidationError> {
        match self {
            Message::Request(r) => r.validate_core(),
            Message::Response(r) => r.validate_core(),
        }
    }
}
