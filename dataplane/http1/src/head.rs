//! The part of head parsing common to requests and responses: the start line, then field lines
//! up to the empty line, within the head limits.
//!
//! Invariants: lines are consumed strictly in order and each is validated as soon as its CRLF
//! arrives, so the first error in byte order is the one reported, and any prefix of a head yields
//! either "need more" or that same error. The start line is bounded by `max_request_line` (414),
//! the whole head by `max_header_bytes` (431), the field count by `max_headers` (431).

use core::ops::Range;

use crate::fields::Fields;
use crate::scan::{LineScanner, parse_field};
use crate::{Error, Limits};

/// Resumable state of one head being read.
#[derive(Debug, Clone)]
pub(crate) struct HeadCore {
    limits: Limits,
    lines: LineScanner,
    fields: Fields,
}

impl HeadCore {
    pub(crate) fn new(limits: &Limits) -> Self {
        HeadCore {
            limits: *limits,
            lines: LineScanner::default(),
            fields: Fields::default(),
        }
    }

    /// The limits this head is read under.
    pub(crate) fn limits(&self) -> Limits {
        self.limits
    }

    /// The start line's content once its CRLF has arrived. Call until it returns `Some`, then
    /// validate it and move on to [`HeadCore::fields`].
    pub(crate) fn start_line(&mut self, buf: &[u8]) -> Result<Option<Range<usize>>, Error> {
        let max_end = self.limits.max_request_line.saturating_add(2);
        let line = self
            .lines
            .next_line(buf, max_end, Error::StartLineTooLong)?;
        if line.is_some() && self.lines.pos() > self.limits.head_bytes() {
            return Err(Error::HeadTooLarge);
        }
        Ok(line)
    }

    /// Reads field lines up to the empty line; `Some(consumed)` once the head is complete.
    pub(crate) fn fields(&mut self, buf: &[u8]) -> Result<Option<usize>, Error> {
        let max_end = self.limits.head_bytes();
        while let Some(line) = self.lines.next_line(buf, max_end, Error::HeadTooLarge)? {
            if line.is_empty() {
                return Ok(Some(self.lines.pos()));
            }
            let field = parse_field(buf, line)?;
            if self.fields.len() >= self.limits.field_count() || !self.fields.push(field) {
                return Err(Error::TooManyHeaders);
            }
        }
        Ok(None)
    }

    /// The fields read so far (all of them once [`HeadCore::fields`] returned `Some`).
    pub(crate) fn take_fields(&mut self) -> Fields {
        core::mem::take(&mut self.fields)
    }
}
