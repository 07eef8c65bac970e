//! Request heads: the request line (RFC 9112 §3), the fields, and the summary the proxy acts on.
//!
//! Invariants: a [`RequestHead`] only exists for a head that passed every rule of this crate; its
//! [`Span`]s index the buffer it was parsed from. [`RequestParser::parse`] is called with the
//! whole buffer so far, which may only grow between calls (bytes are appended, never moved);
//! it resumes where it stopped. After `Complete` the parser is fresh again; after an error it
//! returns that error forever.

use core::ops::Range;

use crate::chars::{SP, is_token, is_vchar};
use crate::fields::{Fields, Span};
use crate::head::HeadCore;
use crate::host::{Host, parse_host};
use crate::semantics::{BodyFraming, Semantics, Upgrade};
use crate::{Error, Limits, Parsed, Version};

/// The request method. Methods are case-sensitive: `get` is a valid token but not [`Method::Get`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`: its response never has a body.
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `CONNECT`: the target is an authority and a 2xx answer opens a tunnel.
    Connect,
    /// `OPTIONS`
    Options,
    /// `TRACE`
    Trace,
    /// `PATCH`
    Patch,
    /// Any other token; read its bytes from [`RequestHead::method_name`].
    Other,
}

impl Method {
    /// The method named by `token` (exact, case-sensitive match).
    pub fn from_bytes(token: &[u8]) -> Method {
        match token {
            b"GET" => Method::Get,
            b"HEAD" => Method::Head,
            b"POST" => Method::Post,
            b"PUT" => Method::Put,
            b"DELETE" => Method::Delete,
            b"CONNECT" => Method::Connect,
            b"OPTIONS" => Method::Options,
            b"TRACE" => Method::Trace,
            b"PATCH" => Method::Patch,
            _ => Method::Other,
        }
    }
}

/// The form of the request target (RFC 9112 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetForm {
    /// `/path?query`.
    Origin,
    /// `scheme:…`: the proxy routes on the target's authority, not on `Host` (RFC 9112 §3.2.2).
    Absolute,
    /// `host:port`, CONNECT only.
    Authority,
    /// `*`, OPTIONS only.
    Asterisk,
}

/// A complete, validated request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The method.
    pub method: Method,
    /// The method's bytes (useful for [`Method::Other`]).
    pub method_name: Span,
    /// The request target, as received.
    pub target: Span,
    /// The target's form.
    pub target_form: TargetForm,
    /// The protocol version.
    pub version: Version,
    /// Every field line, in order.
    pub fields: Fields,
    /// How the body is delimited: `None`, `Length` or `Chunked` for a request.
    pub framing: BodyFraming,
    /// Whether the client connection may carry another request after this one.
    pub keep_alive: bool,
    /// HTTP/1.1 `Expect: 100-continue`: answer 100 (or a final status) before reading the body.
    pub expect_continue: bool,
    /// What the request asks to switch to (HTTP/1.1 only).
    pub upgrade: Option<Upgrade>,
    /// The validated `Host` field; `None` only for HTTP/1.0 requests without one. For a CONNECT
    /// request, the target's authority is in [`RequestHead::connect_authority`].
    pub host: Option<Host>,
    /// CONNECT only: the validated target authority (always with a port).
    pub connect_authority: Option<Host>,
}

/// A resumable request-head parser; see the module invariants.
#[derive(Debug, Clone)]
pub struct RequestParser {
    core: HeadCore,
    line: Option<RequestLine>,
    failed: Option<Error>,
}

/// One-shot [`RequestParser::parse`] with a fresh parser (re-reads the buffer from the start).
pub fn parse_request(buf: &[u8], limits: &Limits) -> Result<Parsed<RequestHead>, Error> {
    RequestParser::new(limits).parse(buf)
}

#[derive(Debug, Clone, Copy)]
struct RequestLine {
    method: Method,
    method_name: Span,
    target: Span,
    target_form: TargetForm,
    connect_authority: Option<Host>,
    version: Version,
}

impl RequestParser {
    /// A parser for one request head under `limits`.
    pub fn new(limits: &Limits) -> Self {
        RequestParser {
            core: HeadCore::new(limits),
            line: None,
            failed: None,
        }
    }

    /// Parses `buf` (the whole buffer since the request started) as far as it goes.
    pub fn parse(&mut self, buf: &[u8]) -> Result<Parsed<RequestHead>, Error> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        let result = self.step(buf);
        match &result {
            Err(err) => self.failed = Some(*err),
            Ok(Parsed::Complete(..)) => *self = RequestParser::new(&self.core.limits()),
            Ok(Parsed::Partial) => {}
        }
        result
    }

    fn step(&mut self, buf: &[u8]) -> Result<Parsed<RequestHead>, Error> {
        let line = match self.line {
            Some(line) => line,
            None => {
                let Some(range) = self.core.start_line(buf)? else {
                    return Ok(Parsed::Partial);
                };
                *self.line.insert(request_line(buf, range)?)
            }
        };
        let Some(consumed) = self.core.fields(buf)? else {
            return Ok(Parsed::Partial);
        };
        let fields = self.core.take_fields();
        let s = Semantics::read(&fields, buf, line.version)?;
        let (framing, host) = s.check_request(buf, line.version, &self.core.limits())?;
        let http11 = line.version == Version::Http11;
        let upgrade = match (line.method, s.upgrade) {
            (Method::Connect, _) => Some(Upgrade::Connect),
            (_, Some(proto)) if http11 && s.upgrade_option => Some(Upgrade::Protocol(proto)),
            _ => None,
        };
        let head = RequestHead {
            method: line.method,
            method_name: line.method_name,
            target: line.target,
            target_form: line.target_form,
            version: line.version,
            framing,
            keep_alive: s.persistent(line.version),
            expect_continue: http11 && s.expect.is_some(),
            upgrade,
            host,
            connect_authority: line.connect_authority,
            fields,
        };
        Ok(Parsed::Complete(head, consumed))
    }
}

/// `method SP request-target SP HTTP-version`, exactly one SP between parts.
fn request_line(buf: &[u8], range: Range<usize>) -> Result<RequestLine, Error> {
    let base = range.start;
    let line = &buf[range];
    let mut parts = line.splitn(3, |&b| b == SP);
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::InvalidRequestLine);
    };
    if method.is_empty() || target.is_empty() {
        return Err(Error::InvalidRequestLine);
    }
    if !is_token(method) {
        return Err(Error::InvalidMethod);
    }
    let method_name = Span::new(base, base + method.len());
    let target_start = method_name.range().end + 1;
    let target_range = target_start..target_start + target.len();
    let version = parse_version(version)?;
    let method_kind = Method::from_bytes(method);
    let (target_form, connect_authority) = target_form(buf, target_range.clone(), method_kind)?;
    Ok(RequestLine {
        method: method_kind,
        method_name,
        target: Span::new(target_range.start, target_range.end),
        target_form,
        connect_authority,
        version,
    })
}

/// `HTTP/1.1` or `HTTP/1.0`; other `HTTP/DIGIT.DIGIT` versions are 505, anything else 400.
pub(crate) fn parse_version(v: &[u8]) -> Result<Version, Error> {
    match v {
        b"HTTP/1.1" => Ok(Version::Http11),
        b"HTTP/1.0" => Ok(Version::Http10),
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            Err(Error::UnsupportedVersion)
        }
        _ if v.contains(&SP) => Err(Error::InvalidRequestLine),
        _ => Err(Error::InvalidVersion),
    }
}

/// Validates the target's bytes and its form for `method`.
fn target_form(
    buf: &[u8],
    range: Range<usize>,
    method: Method,
) -> Result<(TargetForm, Option<Host>), Error> {
    let target = &buf[range.clone()];
    if !target.iter().all(|&b| is_vchar(b) && b != b'#') {
        return Err(Error::InvalidTarget);
    }
    if method == Method::Connect {
        return match parse_host(buf, range) {
            Some(host) if host.port.is_some() => Ok((TargetForm::Authority, Some(host))),
            _ => Err(Error::InvalidTarget),
        };
    }
    let form = match target {
        [b'/', ..] => TargetForm::Origin,
        b"*" if method == Method::Options => TargetForm::Asterisk,
        [first, ..] if first.is_ascii_alphabetic() && has_scheme(target) => TargetForm::Absolute,
        _ => return Err(Error::InvalidTarget),
    };
    Ok((form, None))
}

/// `scheme ":"` at the start: `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"`.
fn has_scheme(target: &[u8]) -> bool {
    let end = target.iter().position(|&b| b == b':');
    end.is_some_and(|end| {
        target[..end]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    })
}
