//! The chunked transfer coding, encoded (RFC 9112 §7.1).
//!
//! Order of use: for each non-empty piece of payload send [`ChunkHeader::new`]`(len)`, the
//! payload, then [`CRLF`] (three buffers for a vectored write, no copy of the payload), or
//! append all three with [`write_chunk`]; end the body with [`write_last_chunk`].
//!
//! Invariants: a chunk header is the shortest lowercase hex of a non-zero length followed by
//! CRLF, with no extension; an empty chunk is never written as data (it would end the body);
//! trailers are checked like any other field before they are written.

use crate::Error;
use crate::encode::{end_head, write_field};

/// The line ending that closes a chunk's data.
pub const CRLF: &[u8] = b"\r\n";

/// A chunk-size line, `HEX CRLF`, held on the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkHeader {
    bytes: [u8; 18],
    len: u8,
}

impl ChunkHeader {
    /// The header of a chunk of `size` bytes; `None` for 0, which is the last-chunk marker
    /// (use [`write_last_chunk`]).
    pub fn new(size: u64) -> Option<ChunkHeader> {
        if size == 0 {
            return None;
        }
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digits = (64 - size.leading_zeros()).div_ceil(4) as usize;
        let mut bytes = [0u8; 18];
        for (i, slot) in bytes[..digits].iter_mut().enumerate() {
            let shift = 4 * (digits - 1 - i);
            *slot = HEX[((size >> shift) & 0xf) as usize];
        }
        bytes[digits] = b'\r';
        bytes[digits + 1] = b'\n';
        Some(ChunkHeader {
            bytes,
            len: (digits + 2) as u8,
        })
    }

    /// The line's bytes, CRLF included.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// Appends `data` as one chunk (header, data, CRLF); nothing for empty `data`.
pub fn write_chunk(out: &mut Vec<u8>, data: &[u8]) {
    if let Some(header) = ChunkHeader::new(data.len() as u64) {
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out.extend_from_slice(CRLF);
    }
}

/// Appends the last chunk (`0 CRLF`), the `trailers` and the final CRLF. On `Err` (a trailer
/// name that is not a token, or a value with a control byte or surrounding whitespace) `out`
/// is left as it was.
pub fn write_last_chunk(out: &mut Vec<u8>, trailers: &[(&[u8], &[u8])]) -> Result<(), Error> {
    let start = out.len();
    out.extend_from_slice(b"0\r\n");
    for (name, value) in trailers {
        write_field(out, name, value).inspect_err(|_| out.truncate(start))?;
    }
    end_head(out);
    Ok(())
}
