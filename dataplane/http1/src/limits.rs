//! Bounds on what a peer may send before the parser gives up.
//!
//! Invariants: every limit is checked against the bytes seen so far, so a head or a chunk line
//! that is already past its bound is an error at once, not when the peer finally ends it. Head
//! storage is bounded: at most [`MAX_FIELDS`] fields are kept whatever `max_headers` says, and
//! head offsets are `u32`, so `max_header_bytes` is clamped to `u32::MAX`.

use crate::fields::MAX_FIELDS;

/// Parser and decoder limits. [`Limits::default`] holds the values the proxy starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Longest request line (or status line), CRLF excluded. Longer: 414 URI Too Long.
    pub max_request_line: usize,
    /// Largest whole head: start line, field lines and the final empty line, CRLFs included.
    /// Larger: 431 Request Header Fields Too Large.
    pub max_header_bytes: usize,
    /// Most field lines in one head (clamped to [`MAX_FIELDS`]). More: 431.
    pub max_headers: usize,
    /// Longest chunk extension (from the first `;` to the CRLF) on one chunk-size line.
    /// Longer: 400.
    pub max_chunk_ext: usize,
    /// Largest trailer section (field lines and the final empty line, CRLFs included). Larger: 431.
    pub max_trailer_bytes: usize,
    /// Largest body payload in bytes, whatever its framing; `None` for no bound. Larger: 413.
    pub max_body: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_line: 8 * 1024,
            max_header_bytes: 32 * 1024,
            max_headers: 100,
            max_chunk_ext: 256,
            max_trailer_bytes: 8 * 1024,
            max_body: None,
        }
    }
}

impl Limits {
    /// `max_header_bytes` clamped so every head offset fits a [`crate::Span`].
    pub(crate) fn head_bytes(&self) -> usize {
        self.max_header_bytes.min(u32::MAX as usize)
    }

    /// `max_headers` clamped to [`MAX_FIELDS`].
    pub(crate) fn field_count(&self) -> usize {
        self.max_headers.min(MAX_FIELDS)
    }

    /// Whether a body of `len` bytes is over `max_body`.
    pub(crate) fn body_over(&self, len: u64) -> bool {
        self.max_body.is_some_and(|max| len > max)
    }
}
