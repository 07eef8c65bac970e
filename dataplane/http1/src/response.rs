//! Upstream response heads: the status line (RFC 9112 §4), the fields, and the body framing of
//! RFC 9112 §6.3, which depends on the request method.
//!
//! Invariants: the same line and field rules as requests apply (same limits, same errors), and
//! the same resumable-parser contract as [`crate::RequestParser`]. Framing, in order: 101 →
//! tunnel; HEAD, 1xx, 204, 304 → no body; 2xx to CONNECT → tunnel; `Transfer-Encoding` →
//! chunked (a `Content-Length` beside it is ignored, and the connection must not be reused:
//! [`ResponseHead::content_length_ignored`]); `Content-Length` → that length; otherwise the body
//! runs until the upstream closes. Any error here means the proxy answers 502 to its client.

use core::ops::Range;

use crate::chars::{SP, is_field_byte};
use crate::fields::{Fields, Span};
use crate::head::HeadCore;
use crate::semantics::{BodyFraming, Semantics};
use crate::{Error, Limits, Method, Parsed, Version};

/// A complete, validated response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// The protocol version.
    pub version: Version,
    /// The status code, in 100..=599.
    pub status: u16,
    /// The reason phrase (possibly empty).
    pub reason: Span,
    /// Every field line, in order.
    pub fields: Fields,
    /// How the body is delimited.
    pub framing: BodyFraming,
    /// Whether the upstream connection may carry another request after this response.
    pub keep_alive: bool,
    /// The `Upgrade` field's value, if any (meaningful with status 101).
    pub upgrade: Option<Span>,
    /// Both `Transfer-Encoding` and `Content-Length` were present: the length was ignored, must
    /// not be forwarded, and `keep_alive` is false (RFC 9112 §6.3 item 3).
    pub content_length_ignored: bool,
}

/// A resumable response-head parser for the answer to a request with a given method.
#[derive(Debug, Clone)]
pub struct ResponseParser {
    core: HeadCore,
    method: Method,
    line: Option<StatusLine>,
    failed: Option<Error>,
}

#[derive(Debug, Clone, Copy)]
struct StatusLine {
    version: Version,
    status: u16,
    reason: Span,
}

/// One-shot [`ResponseParser::parse`] with a fresh parser.
pub fn parse_response(
    buf: &[u8],
    limits: &Limits,
    request_method: Method,
) -> Result<Parsed<ResponseHead>, Error> {
    ResponseParser::new(limits, request_method).parse(buf)
}

impl ResponseParser {
    /// A parser for the response to a `request_method` request.
    pub fn new(limits: &Limits, request_method: Method) -> Self {
        ResponseParser {
            core: HeadCore::new(limits),
            method: request_method,
            line: None,
            failed: None,
        }
    }

    /// Parses `buf` (the whole buffer since the response started) as far as it goes. After an
    /// interim (1xx other than 101) response, the parser is fresh for the final one.
    pub fn parse(&mut self, buf: &[u8]) -> Result<Parsed<ResponseHead>, Error> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        let result = self.step(buf);
        match &result {
            Err(err) => self.failed = Some(*err),
            Ok(Parsed::Complete(..)) => {
                *self = ResponseParser::new(&self.core.limits(), self.method);
            }
            Ok(Parsed::Partial) => {}
        }
        result
    }

    fn step(&mut self, buf: &[u8]) -> Result<Parsed<ResponseHead>, Error> {
        let line = match self.line {
            Some(line) => line,
            None => {
                let Some(range) = self.core.start_line(buf)? else {
                    return Ok(Parsed::Partial);
                };
                *self.line.insert(status_line(buf, range)?)
            }
        };
        let Some(consumed) = self.core.fields(buf)? else {
            return Ok(Parsed::Partial);
        };
        let fields = self.core.take_fields();
        let s = Semantics::read(&fields, buf, line.version)?;
        let status = line.status;
        let framing = if status == 101 {
            BodyFraming::Tunnel
        } else if self.method == Method::Head || status < 200 || status == 204 || status == 304 {
            BodyFraming::None
        } else if self.method == Method::Connect && (200..300).contains(&status) {
            BodyFraming::Tunnel
        } else if s.transfer_encoding {
            BodyFraming::Chunked
        } else if let Some(len) = s.content_length {
            if self.core.limits().body_over(len) {
                return Err(Error::BodyTooLarge);
            }
            BodyFraming::Length(len)
        } else {
            BodyFraming::UntilClose
        };
        let content_length_ignored = framing == BodyFraming::Chunked && s.content_length.is_some();
        let reusable = !matches!(framing, BodyFraming::UntilClose | BodyFraming::Tunnel);
        let head = ResponseHead {
            version: line.version,
            status,
            reason: line.reason,
            framing,
            keep_alive: s.persistent(line.version) && reusable && !content_length_ignored,
            upgrade: s.upgrade,
            content_length_ignored,
            fields,
        };
        Ok(Parsed::Complete(head, consumed))
    }
}

/// `HTTP-version SP 3DIGIT SP reason-phrase`; the SP before an empty reason may be missing.
fn status_line(buf: &[u8], range: Range<usize>) -> Result<StatusLine, Error> {
    let base = range.start;
    let line = &buf[range];
    let version = match line.get(..8) {
        Some(b"HTTP/1.1") => Version::Http11,
        Some(b"HTTP/1.0") => Version::Http10,
        _ => return Err(Error::InvalidStatusLine),
    };
    let Some([SP, digits @ ..]) = line.get(8..12) else {
        return Err(Error::InvalidStatusLine);
    };
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err(Error::InvalidStatusLine);
    }
    let status = digits
        .iter()
        .fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0'));
    if !(100..=599).contains(&status) {
        return Err(Error::InvalidStatusLine);
    }
    let reason = match &line[12..] {
        [] => Span::new(base + 12, base + 12),
        [SP, text @ ..] if text.iter().all(|&b| is_field_byte(b)) => {
            Span::new(base + 13, base + line.len())
        }
        _ => return Err(Error::InvalidStatusLine),
    };
    Ok(StatusLine {
        version,
        status,
        reason,
    })
}
