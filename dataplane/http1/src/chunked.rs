//! The chunked transfer coding, decoded (RFC 9112 §7.1).
//!
//! Invariants:
//! * A chunk-size line is `1*HEXDIG [chunk-ext] CRLF` with at most 16 digits (leading zeros
//!   count) and nothing between the digits and `;` or CR: no spaces, no sign, no `0x`.
//! * A chunk extension is `*( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )`,
//!   at most `max_chunk_ext` bytes, checked while it arrives.
//! * Chunk data is followed by exactly CRLF; trailer lines follow the field-line rules and the
//!   trailer section (final CRLF included) is at most `max_trailer_bytes`.
//! * The state machine keeps no input: on "need more" it consumes nothing of a partial line,
//!   and it resumes its search for a trailer line's LF where it stopped.

use crate::body::{Decoded, Event};
use crate::chars::{CR, LF, hex_value, is_ows, is_tchar, quoted_string_len};
use crate::scan::{LineEnd, find_line, split_field};
use crate::{Error, Limits};

/// Most hex digits in a chunk size: 16 digits fill a `u64`.
const MAX_SIZE_DIGITS: usize = 16;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum State {
    /// Expecting a chunk-size line.
    #[default]
    Size,
    /// Inside chunk data, this many bytes left.
    Data(u64),
    /// Expecting the CRLF after chunk data.
    DataCrlf,
    /// Expecting a trailer line or the final empty line.
    Trailer,
    /// The body is complete.
    Done,
}

/// Chunked decoding state; driven by [`crate::BodyDecoder`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Chunked {
    state: State,
    /// Trailer-section bytes consumed so far.
    trailer_bytes: usize,
    /// Bytes of the current trailer line already searched for LF.
    searched: usize,
}

fn need_more(consumed: usize) -> Decoded {
    Decoded {
        consumed,
        event: Event::NeedMore,
    }
}

impl Chunked {
    /// Decodes from the front of `input`, adding payload to `payload` (bounded by `max_body`).
    pub(crate) fn decode(
        &mut self,
        input: &[u8],
        limits: &Limits,
        payload: &mut u64,
    ) -> Result<Decoded, Error> {
        let mut pos = 0;
        loop {
            match self.state {
                State::Size => {
                    let Some((size, len)) = size_line(&input[pos..], limits.max_chunk_ext)? else {
                        return Ok(need_more(pos));
                    };
                    pos += len;
                    self.state = if size == 0 {
                        State::Trailer
                    } else if limits.body_over(payload.saturating_add(size)) {
                        return Err(Error::BodyTooLarge);
                    } else {
                        State::Data(size)
                    };
                }
                State::Data(left) => {
                    let avail = input.len() - pos;
                    if avail == 0 {
                        return Ok(need_more(pos));
                    }
                    let n = usize::try_from(left).map_or(avail, |left| left.min(avail));
                    self.state = match left - n as u64 {
                        0 => State::DataCrlf,
                        rest => State::Data(rest),
                    };
                    *payload += n as u64;
                    return Ok(Decoded {
                        consumed: pos + n,
                        event: Event::Data(pos..pos + n),
                    });
                }
                State::DataCrlf => match &input[pos..] {
                    [] | [CR] => return Ok(need_more(pos)),
                    [CR, LF, ..] => {
                        pos += 2;
                        self.state = State::Size;
                    }
                    _ => return Err(Error::MissingChunkCrlf),
                },
                State::Trailer => return self.trailer_line(input, pos, limits),
                State::Done => {
                    return Ok(Decoded {
                        consumed: pos,
                        event: Event::Done,
                    });
                }
            }
        }
    }

    /// Reads one trailer line starting at `input[start..]`.
    fn trailer_line(
        &mut self,
        input: &[u8],
        start: usize,
        limits: &Limits,
    ) -> Result<Decoded, Error> {
        let budget = limits.max_trailer_bytes.saturating_sub(self.trailer_bytes);
        let max_end = start.saturating_add(budget);
        let searched = start + self.searched;
        match find_line(input, start, searched, max_end, Error::TrailersTooLarge)? {
            LineEnd::Partial { searched } => {
                self.searched = searched - start;
                Ok(need_more(start))
            }
            LineEnd::Found { content, next } => {
                self.trailer_bytes += next - start;
                self.searched = 0;
                if content.is_empty() {
                    self.state = State::Done;
                    return Ok(Decoded {
                        consumed: next,
                        event: Event::Done,
                    });
                }
                let (name, value) = split_field(input, content)?;
                Ok(Decoded {
                    consumed: next,
                    event: Event::Trailer { name, value },
                })
            }
        }
    }
}

/// Parses a chunk-size line at the start of `input`: `Some((size, line length))`, or `None`
/// if it has not ended yet and is valid so far.
fn size_line(input: &[u8], max_ext: usize) -> Result<Option<(u64, usize)>, Error> {
    let mut size = 0u64;
    let mut i = 0;
    while let Some(digit) = input.get(i).and_then(|&b| hex_value(b)) {
        if i == MAX_SIZE_DIGITS {
            return Err(Error::ChunkSizeOverflow);
        }
        size = (size << 4) | u64::from(digit);
        i += 1;
    }
    if i == input.len() {
        return Ok(None);
    }
    if i == 0 {
        return Err(Error::InvalidChunkSize);
    }
    if input[i] == b';' {
        let ext_start = i;
        while let Some(&b) = input.get(i) {
            if b == CR || b == LF {
                break;
            }
            if i - ext_start >= max_ext {
                return Err(Error::ChunkExtensionTooLong);
            }
            i += 1;
        }
        if i == input.len() {
            return Ok(None);
        }
        if !valid_extensions(&input[ext_start..i]) {
            return Err(Error::InvalidChunkExtension);
        }
    }
    match &input[i..] {
        [LF, ..] => Err(Error::BareLf),
        [CR] => Ok(None),
        [CR, LF, ..] => Ok(Some((size, i + 2))),
        [CR, ..] => Err(Error::BareCr),
        _ => Err(Error::InvalidChunkSize),
    }
}

fn skip_ows(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| is_ows(b)).count();
    &s[n..]
}

fn token_len(s: &[u8]) -> usize {
    s.iter().take_while(|&&b| is_tchar(b)).count()
}

/// `*( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )`, starting at a `;`.
fn valid_extensions(mut s: &[u8]) -> bool {
    while !s.is_empty() {
        let [b';', rest @ ..] = skip_ows(s) else {
            return false;
        };
        s = skip_ows(rest);
        let name = token_len(s);
        if name == 0 {
            return false;
        }
        s = &s[name..];
        if let [b'=', rest @ ..] = skip_ows(s) {
            s = skip_ows(rest);
            let value = if s.first() == Some(&b'"') {
                quoted_string_len(s)
            } else {
                Some(token_len(s)).filter(|&n| n > 0)
            };
            let Some(value) = value else {
                return false;
            };
            s = &s[value..];
        }
    }
    true
}
