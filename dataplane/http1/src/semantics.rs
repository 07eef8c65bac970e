//! The fields that decide framing and connection handling, read once per head: `Content-Length`,
//! `Transfer-Encoding`, `Connection`, `Upgrade`, `Expect`, `Host`.
//!
//! Invariants (RFC 9112 §6, RFC 9110 §7.2, §7.6.1, §10.1.1):
//! * `Content-Length` is 1*DIGIT fitting a `u64` and appears at most once, even with equal values.
//! * All `Transfer-Encoding` lines form one list; every element is a token coding, `chunked`
//!   appears at most once and last, nothing else is accepted (501); never in HTTP/1.0.
//! * `Connection` elements are tokens (empty elements are ignored); `close` wins over
//!   `keep-alive`.
//! * Request-only rules (both length fields, one valid `Host`, `Expect`) are applied by
//!   [`Semantics::check_request`]; the response caller applies RFC 9112 §6.3 itself.

use crate::chars::{is_token, list_items, parse_decimal, trim_ows};
use crate::fields::{Fields, Span};
use crate::host::{Host, parse_host};
use crate::{Error, Limits, Version};

/// How the body of a message is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodyFraming {
    /// No body: the next message starts right after the head.
    None,
    /// Exactly this many bytes follow the head.
    Length(u64),
    /// The chunked transfer coding.
    Chunked,
    /// Responses only: the body runs until the upstream closes the connection.
    UntilClose,
    /// Responses only (101, or 2xx to CONNECT): after the head the connection is an opaque byte
    /// tunnel in both directions.
    Tunnel,
}

/// What a request asks to switch to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Upgrade {
    /// A CONNECT request: a tunnel to the target authority once the upstream answers 2xx.
    Connect,
    /// `Connection: upgrade` with an `Upgrade` field: the span of that field's value (the first
    /// one if there are several), e.g. `websocket`.
    Protocol(Span),
}

/// The framing-relevant facts of one head.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Semantics {
    pub content_length: Option<u64>,
    /// A `Transfer-Encoding` field is present (its list has been validated).
    pub transfer_encoding: bool,
    pub close: bool,
    pub keep_alive: bool,
    pub upgrade_option: bool,
    pub upgrade: Option<Span>,
    pub expect: Option<Span>,
    pub expect_other: bool,
    pub host: Option<Span>,
    pub host_count: usize,
}

/// What one `Transfer-Encoding` list, combined over every line, holds.
#[derive(Debug, Default)]
struct Codings {
    chunked: usize,
    last_is_chunked: bool,
    other: bool,
}

impl Semantics {
    /// Reads every field once and applies the rules common to requests and responses.
    pub(crate) fn read(fields: &Fields, buf: &[u8], version: Version) -> Result<Self, Error> {
        let mut s = Semantics::default();
        let mut codings = Codings::default();
        for field in fields.as_slice() {
            let name = field.name.get(buf);
            let value = field.value.get(buf);
            if name.eq_ignore_ascii_case(b"content-length") {
                if s.content_length.is_some() {
                    return Err(Error::DuplicateContentLength);
                }
                s.content_length = Some(parse_decimal(value).ok_or(Error::InvalidContentLength)?);
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                s.transfer_encoding = true;
                read_codings(value, &mut codings)?;
            } else if name.eq_ignore_ascii_case(b"connection") {
                s.read_connection(value)?;
            } else if name.eq_ignore_ascii_case(b"upgrade") && !value.is_empty() {
                s.upgrade = s.upgrade.or(Some(field.value));
            } else if name.eq_ignore_ascii_case(b"expect") {
                s.expect = Some(field.value);
                s.expect_other |= !value.eq_ignore_ascii_case(b"100-continue");
            } else if name.eq_ignore_ascii_case(b"host") {
                s.host = s.host.or(Some(field.value));
                s.host_count += 1;
            }
        }
        if s.transfer_encoding {
            if version == Version::Http10 {
                return Err(Error::TransferEncodingInHttp10);
            }
            if codings.chunked > 1 {
                return Err(Error::ChunkedRepeated);
            }
            if codings.chunked == 1 && !codings.last_is_chunked {
                return Err(Error::ChunkedNotLast);
            }
            if codings.other {
                return Err(Error::UnsupportedTransferCoding);
            }
        }
        Ok(s)
    }

    fn read_connection(&mut self, value: &[u8]) -> Result<(), Error> {
        for option in list_items(value).filter(|o| !o.is_empty()) {
            if !is_token(option) {
                return Err(Error::InvalidConnection);
            }
            if option.eq_ignore_ascii_case(b"close") {
                self.close = true;
            } else if option.eq_ignore_ascii_case(b"keep-alive") {
                self.keep_alive = true;
            } else if option.eq_ignore_ascii_case(b"upgrade") {
                self.upgrade_option = true;
            }
        }
        Ok(())
    }

    /// Whether the connection stays open after this message, from version and `Connection`.
    pub(crate) fn persistent(&self, version: Version) -> bool {
        match version {
            Version::Http11 => !self.close,
            Version::Http10 => self.keep_alive && !self.close,
        }
    }

    /// The request rules: one framing, `Host`, `Expect`, `max_body`. Returns the framing and
    /// the validated host.
    pub(crate) fn check_request(
        &self,
        buf: &[u8],
        version: Version,
        limits: &Limits,
    ) -> Result<(BodyFraming, Option<Host>), Error> {
        if self.transfer_encoding && self.content_length.is_some() {
            return Err(Error::ContentLengthWithTransferEncoding);
        }
        if self.host_count > 1 {
            return Err(Error::DuplicateHost);
        }
        let host = match self.host {
            Some(span) => Some(parse_host(buf, span.range()).ok_or(Error::InvalidHost)?),
            None if version == Version::Http11 => return Err(Error::MissingHost),
            None => None,
        };
        if self.expect_other && version == Version::Http11 {
            return Err(Error::ExpectationFailed);
        }
        let framing = match self.content_length {
            _ if self.transfer_encoding => BodyFraming::Chunked,
            Some(len) if limits.body_over(len) => return Err(Error::BodyTooLarge),
            Some(len) => BodyFraming::Length(len),
            None => BodyFraming::None,
        };
        Ok((framing, host))
    }
}

/// Adds the elements of one `Transfer-Encoding` line to `codings`.
fn read_codings(value: &[u8], codings: &mut Codings) -> Result<(), Error> {
    for element in list_items(value) {
        let (name, params) = match element.iter().position(|&b| b == b';') {
            Some(semi) => (trim_ows(&element[..semi]), true),
            None => (element, false),
        };
        if !is_token(name) {
            return Err(Error::InvalidTransferEncoding);
        }
        if name.eq_ignore_ascii_case(b"chunked") {
            if params {
                return Err(Error::InvalidTransferEncoding);
            }
            codings.chunked += 1;
            codings.last_is_chunked = true;
        } else {
            codings.other = true;
            codings.last_is_chunked = false;
        }
    }
    Ok(())
}
