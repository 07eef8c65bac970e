//! The validating reader: [`Image::parse`] checks a buffer once, after which the accessors hand
//! out zero-copy views of its records.
//!
//! Order of checks (cheap and global first, so a damaged image fails fast and precisely):
//! length ≥ header → 8-byte alignment → magic → ABI version → `total_len` = buffer length →
//! checksum → `header_len` and flags → directory (bounds, alignment, overlap, duplicates, unknown
//! kinds, record-size multiples) → STRINGS is UTF-8 → every record of every known section
//! (strings, ranges, indices, codes, flags, families, Maglev entries).
//!
//! Invariants after a successful parse, for buffers whose `as_ref` returns the same bytes each
//! time (`Vec`, `ImageBytes`, `&[u8]`, a read-only mapping):
//! * every `StrRef`, `Range` and index stored in a record resolves, and every enum getter on a
//!   record returns `Some`;
//! * the section spans kept in the `Image` are in bounds, 8-aligned and a whole number of records.
//!
//! Accessors never panic and never read out of bounds, for any buffer and any argument: they
//! slice with `get` and cast with `try_cast_slice`, and answer an empty slice (or `""`, or `None`)
//! for a reference that does not resolve, such as a record taken from another image.
//!
//! `#![forbid(unsafe_code)]` rules out `str::from_utf8_unchecked`, so the string pool is copied
//! once into a validated `Box<str>` at parse time; [`Image::str`] is then a bounds-checked slice
//! of it. Everything else is read in place.

mod access;
mod check;
mod ctx;
mod layout;

use crate::error::ImageError;
use crate::format::KNOWN_KINDS;
use core::fmt;

/// Byte span of one section in the image (`0..0` when the section is absent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// A validated image over a buffer `B` (an `ImageBytes`, a `Vec<u8>`, a mapping, a slice).
pub struct Image<B> {
    buf: B,
    generation: u64,
    /// Span of each known section, indexed by `SectionKind::slot`.
    spans: [Span; KNOWN_KINDS],
    /// The STRINGS section, validated as UTF-8.
    strings: Box<str>,
}

impl<B: AsRef<[u8]>> Image<B> {
    /// Validates `buf` as an image (see the module documentation for every check) and keeps
    /// the section offsets so that later accesses are plain slicing.
    pub fn parse(buf: B) -> Result<Self, ImageError> {
        let bytes = buf.as_ref();
        let layout = layout::read(bytes)?;
        let strings = check::validate(bytes, &layout.spans)?;
        Ok(Self {
            generation: layout.generation,
            spans: layout.spans,
            strings,
            buf,
        })
    }

    /// The config generation the image was compiled from.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The image bytes (as the buffer's `as_ref` returns them).
    pub fn bytes(&self) -> &[u8] {
        self.buf.as_ref()
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> B {
        self.buf
    }
}

impl<B: AsRef<[u8]>> fmt::Debug for Image<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Image")
            .field("generation", &self.generation)
            .field("len", &self.buf.as_ref().len())
            .field("l4_services", &self.l4_services().len())
            .field("listeners", &self.listeners().len())
            .field("routes", &self.routes().len())
            .field("clusters", &self.clusters().len())
            .finish_non_exhaustive()
    }
}

/// The records of `span` in `bytes` as `&[R]`; empty if the span does not resolve (never for a
/// validated image over a stable buffer).
pub(crate) fn records_in<R: bytemuck::Pod>(bytes: &[u8], span: Span) -> &[R] {
    bytes
        .get(span.start..span.end)
        .and_then(|b| bytemuck::try_cast_slice(b).ok())
        .unwrap_or_default()
}
