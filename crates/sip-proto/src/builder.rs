//! [`RequestBuilder`]: a new out-of-dialog or in-dialog request with the mandatory headers in
//! the conventional order (RFC 3261 8.1.1).

use crate::headers::TypedHeader;
use crate::message::Request;
use crate::method::Method;
use crate::name::HeaderName;
use crate::text::SharedStr;
use crate::typed::{CSeq, CallId, Contact, ContentType, From, MaxForwards, Route, To, Via};
use crate::uri::Uri;
use bytes::Bytes;

/// Builds a request: Via, Route, Max-Forwards, From, To, Call-ID, CSeq, Contact, extra
/// headers, Content-Type, Content-Length, in that order.
///
/// ```
/// use sip_proto::{RequestBuilder, Method, Uri, typed::{From, To, Via, Transport}, Host};
/// let uri: Uri = "sip:bob@example.com".parse().unwrap();
/// let req = RequestBuilder::new(Method::Options, uri.clone())
///     .via(Via::new(Transport::Udp, Host::Domain("pbx.example.com".into()), None, "z9hG4bK1"))
///     .from({ let mut f = From::new("sip:pbx@example.com".parse().unwrap()); f.set_tag("a1"); f })
///     .to(To::new(uri))
///     .call_id("c1@pbx")
///     .cseq(1)
///     .build();
/// assert!(req.validate().is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    request: Request,
    via: Vec<Via>,
    route: Vec<Route>,
    max_forwards: MaxForwards,
    from: Option<From>,
    to: Option<To>,
    call_id: Option<String>,
    cseq: u32,
    contact: Vec<Contact>,
    extra: Vec<(HeaderName, SharedStr)>,
    body: Option<(Bytes, ContentType)>,
}

impl RequestBuilder {
    /// Starts a request.
    pub fn new(method: Method, uri: Uri) -> Self {
        RequestBuilder {
            request: Request::new(method, uri),
            via: Vec::new(),
            route: Vec::new(),
            max_forwards: MaxForwards::DEFAULT,
            from: None,
            to: None,
            call_id: None,
            cseq: 1,
            contact: Vec::new(),
            extra: Vec::new(),
            body: None,
        }
    }

    /// Adds a Via hop (the first added is the top one).
    pub fn via(mut self, via: Via) -> Self {
        self.via.push(via);
        self
    }

    /// Adds a Route entry (route set order).
    pub fn route(mut self, route: Route) -> Self {
        self.route.push(route);
        self
    }

    /// Max-Forwards (default 70).
    pub fn max_forwards(mut self, n: u8) -> Self {
        self.max_forwards = MaxForwards(n);
        self
    }

    /// From.
    pub fn from(mut self, from: From) -> Self {
        self.from = Some(from);
        self
    }

    /// To.
    pub fn to(mut self, to: To) -> Self {
        self.to = Some(to);
        self
    }

    /// Call-ID.
    pub fn call_id(mut self, call_id: &str) -> Self {
        self.call_id = Some(call_id.to_owned());
        self
    }

    /// CSeq number (the method is the request's).
    pub fn cseq(mut self, seq: u32) -> Self {
        self.cseq = seq;
        self
    }

    /// Adds a Contact.
    pub fn contact(mut self, contact: Contact) -> Self {
        self.contact.push(contact);
        self
    }

    /// Adds a typed header.
    pub fn header<H: TypedHeader>(mut self, h: &H) -> Self {
        self.extra.push((H::NAME, h.to_value().into()));
        self
    }

    /// Adds a raw header.
    pub fn raw_header(mut self, name: HeaderName, value: impl Into<SharedStr>) -> Self {
        self.extra.push((name, value.into()));
        self
    }

    /// Sets the body and its type.
    pub fn body(mut self, body: Bytes, content_type: ContentType) -> Self {
        self.body = Some((body, content_type));
        self
    }

    /// The request.
    pub fn build(self) -> Request {
        let mut r = self.request;
        let h = &mut r.headers;
        for v in &self.via {
            h.push_typed(v);
        }
        for route in &self.route {
            h.push_typed(route);
        }
        h.push_typed(&self.max_forwards);
        if let Some(f) = &self.from {
            h.push_typed(f);
        }
        if let Some(t) = &self.to {
            h.push_typed(t);
        }
        if let Some(c) = self.call_id {
            h.push_typed(&CallId(c));
        }
        h.push_typed(&CSeq {
            seq: self.cseq,
            method: r.method.clone(),
        });
        for c in &self.contact {
            h.push_typed(c);
        }
        for (name, value) in self.extra {
            h.push(name, value);
        }
        match self.body {
            Some((body, ct)) => {
                h.push_typed(&ct);
                h.push(HeaderName::ContentLength, body.len().to_string());
                r.body = body;
            }
            None => h.push(HeaderName::ContentLength, SharedStr::from_static("0")),
        }
        r
    }
}
