//! Sans-IO, strict HTTP/1.1 message framing for the Strait L7 path (RFC 9112, RFC 9110).
//!
//! This crate decides where a message starts and ends and rejects every head that two HTTP
//! implementations could frame differently: it is the anti-request-smuggling core of the proxy.
//! It performs no I/O, never blocks, and does not allocate while parsing an ordinary head: heads
//! are kept as [`Span`]s into the caller's buffer in a small inline array of [`Field`]s (only a
//! head with more fields than it holds moves them to the heap), and body payload is handed back
//! as ranges of the caller's input, never copied.
//!
//! # Invariants
//! * **CRLF only.** A bare LF or a bare CR anywhere in a head, a chunk-size line or a trailer is
//!   an error; obs-fold, whitespace before a colon and control bytes in values are errors.
//! * **One framing.** A request with both `Content-Length` and `Transfer-Encoding`, a repeated
//!   `Content-Length`, or a `Transfer-Encoding` whose final coding is not `chunked` is rejected;
//!   a response with both keeps the chunked framing and is flagged so its connection is closed.
//! * **Limits are checked on the bytes seen so far** ([`Limits`]): a buffer already past a limit
//!   is an error even when the message is incomplete, so a slow or oversized peer is cut early.
//! * **Prefixes agree with the whole.** Feeding any prefix of a message yields either "need more"
//!   or the same error the whole message yields; never a different answer.
//! * Every [`Error`] names the status the proxy answers with ([`Error::status`]) and a reason
//!   safe to send to a client ([`Error::reason`]). Errors are final: a parser or decoder that
//!   failed returns the same error again.
//!
//! # Order of use
//! 1. Read bytes into a connection buffer and call [`RequestParser::parse`] (or the one-shot
//!    [`parse_request`]) on the whole buffer so far, until it returns
//!    [`Parsed::Complete`]`(head, consumed)`. The parser resumes where it stopped, so each call
//!    costs only the new bytes. On `Err(e)`, answer `e.status()` and close the connection.
//! 2. Route on the head ([`RequestHead::host`], [`RequestHead::target`]); encode the head for
//!    the upstream with [`encode_request`] (dropping hop-by-hop fields, [`is_hop_by_hop`]).
//! 3. Feed the bytes after `consumed` to a [`BodyDecoder`] built from [`RequestHead::framing`];
//!    forward each [`Event::Data`] range (re-chunked with [`chunk_encode`] if needed) until
//!    [`Event::Done`]. Bytes after the body belong to the next request.
//! 4. Parse the upstream answer with [`ResponseParser`] (it needs the request method for
//!    RFC 9112 §6.3 framing) and decode its body the same way.
#![forbid(unsafe_code)]

mod body;
mod chars;
pub mod chunk_encode;
mod chunked;
mod encode;
mod error;
mod fields;
mod head;
mod host;
mod limits;
mod request;
mod response;
mod scan;
mod semantics;

#[cfg(test)]
mod tests;

pub use body::{BodyDecoder, Decoded, Event};
pub use encode::{
    Edit, HopByHop, encode_request, encode_response, end_head, is_always_hop_by_hop, is_hop_by_hop,
    write_field, write_fields, write_request_line, write_status_line,
};
pub use error::Error;
pub use fields::{Field, Fields, MAX_FIELDS, Span};
pub use host::Host;
pub use limits::Limits;
pub use request::{Method, RequestHead, RequestParser, TargetForm, parse_request};
pub use response::{ResponseHead, ResponseParser, parse_response};
pub use semantics::{BodyFraming, Upgrade};

/// The result of feeding a possibly incomplete buffer to a head parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed<T> {
    /// The head is not complete yet and no limit is exceeded: read more bytes and call again
    /// with the whole buffer.
    Partial,
    /// The head is complete: the value and the number of buffer bytes it took (the head's
    /// final CRLF included). The body, if any, starts at that offset.
    Complete(T, usize),
}

/// The HTTP version of a message: only HTTP/1.0 and HTTP/1.1 are spoken here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// `HTTP/1.0`: connections close after each message unless `Connection: keep-alive`.
    Http10,
    /// `HTTP/1.1`: persistent connections by default, `Host` required in requests.
    Http11,
}

impl Version {
    /// The version as it appears on the wire, e.g. `b"HTTP/1.1"`.
    pub fn as_bytes(self) -> &'static [u8] {
        match self {
            Version::Http10 => b"HTTP/1.0",
            Version::Http11 => b"HTTP/1.1",
        }
    }
}
