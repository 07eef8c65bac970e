//! Strict CRLF line splitting and field-line parsing, shared by heads and trailers.
//!
//! Invariants:
//! * A line ends at the first LF; that LF must follow a CR ([`Error::BareLf`] otherwise), and no
//!   other CR may appear in the line ([`Error::BareCr`]). Returned content never holds CR or LF.
//! * A line that has not ended within its bound is an error as soon as the buffer reaches the
//!   bound, so callers never wait for a line that could not be accepted anyway.
//! * Searching resumes where the previous call stopped: feeding a line byte by byte costs
//!   O(line length) in total, not O(length²).

use core::ops::Range;

use crate::Error;
use crate::chars::{CR, LF, is_field_byte, is_ows, is_tchar, trim_ows_range};
use crate::fields::{Field, Span};

/// The outcome of looking for the end of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LineEnd {
    /// The line `start..` has no LF yet; bytes before `searched` hold none.
    Partial { searched: usize },
    /// The line's content (CRLF excluded) and the offset just past its LF.
    Found { content: Range<usize>, next: usize },
}

/// Finds the end of the line starting at `start` in `buf`, searching from `searched`
/// (`start <= searched`). The whole line, CRLF included, must end before `max_end`;
/// otherwise `too_long` is returned once `buf` reaches `max_end`.
pub(crate) fn find_line(
    buf: &[u8],
    start: usize,
    searched: usize,
    max_end: usize,
    too_long: Error,
) -> Result<LineEnd, Error> {
    let stop = buf.len().min(max_end);
    let from = searched.max(start);
    let hit = buf
        .get(from..stop)
        .and_then(|window| window.iter().position(|&b| b == LF));
    match hit {
        Some(off) => {
            let lf = from + off;
            if lf == start || buf[lf - 1] != CR {
                return Err(Error::BareLf);
            }
            let content = start..lf - 1;
            if buf[content.clone()].contains(&CR) {
                return Err(Error::BareCr);
            }
            Ok(LineEnd::Found {
                content,
                next: lf + 1,
            })
        }
        None if buf.len() >= max_end => Err(too_long),
        None => Ok(LineEnd::Partial {
            searched: stop.max(from),
        }),
    }
}

/// Walks the lines of a growing head buffer, remembering where it stopped.
#[derive(Debug, Clone, Default)]
pub(crate) struct LineScanner {
    /// Start of the next line not returned yet.
    pos: usize,
    /// Bytes of that line already searched for LF.
    searched: usize,
}

impl LineScanner {
    /// Offset of the first byte not yet returned as part of a line.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The next complete line's content, or `None` if it has not ended yet.
    pub(crate) fn next_line(
        &mut self,
        buf: &[u8],
        max_end: usize,
        too_long: Error,
    ) -> Result<Option<Range<usize>>, Error> {
        match find_line(buf, self.pos, self.searched, max_end, too_long)? {
            LineEnd::Partial { searched } => {
                self.searched = searched;
                Ok(None)
            }
            LineEnd::Found { content, next } => {
                self.pos = next;
                self.searched = next;
                Ok(Some(content))
            }
        }
    }
}

/// Parses a non-empty field line `buf[line]` (no CR or LF inside) into name and value spans.
pub(crate) fn parse_field(buf: &[u8], line: Range<usize>) -> Result<Field, Error> {
    let (name, value) = split_field(buf, line)?;
    Ok(Field {
        name: Span::new(name.start, name.end),
        value: Span::new(value.start, value.end),
    })
}

/// Like [`parse_field`], with plain ranges (for trailers, which may lie anywhere in the input).
pub(crate) fn split_field(
    buf: &[u8],
    line: Range<usize>,
) -> Result<(Range<usize>, Range<usize>), Error> {
    let bytes = &buf[line.clone()];
    if bytes.first().is_some_and(|&b| is_ows(b)) {
        return Err(Error::ObsFold);
    }
    let Some(colon) = bytes.iter().position(|&b| b == b':') else {
        return Err(Error::InvalidHeaderName);
    };
    let name = &bytes[..colon];
    if name.last().is_some_and(|&b| is_ows(b)) {
        return Err(Error::WhitespaceBeforeColon);
    }
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(Error::InvalidHeaderName);
    }
    let raw = &bytes[colon + 1..];
    if !raw.iter().all(|&b| is_field_byte(b)) {
        return Err(Error::InvalidHeaderValue);
    }
    let (vs, ve) = trim_ows_range(raw);
    let value_start = line.start + colon + 1;
    Ok((
        line.start..line.start + colon,
        value_start + vs..value_start + ve,
    ))
}
