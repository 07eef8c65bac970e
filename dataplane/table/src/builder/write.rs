//! The output side of [`ImageBuilder`]: layout, writing and reuse.
//!
//! Layout: the header, a directory entry for each non-empty section in kind order, then the
//! sections in the same order, each starting on a [`SECTION_ALIGN`] boundary; `total_len` is
//! rounded up to 8. Every byte of the output is written (gaps as zero), so `write_to` may target
//! a reused buffer or a fresh memfd mapping, and the checksum is computed last over the result.
//!
//! For a steady stream of generations, keep one builder: `clear` it, fill it, then
//! `write_to` the memfd mapping (or `finish` into a new buffer). Its buffers keep their capacity,
//! so a rebuild neither allocates nor faults in fresh pages.

use super::{ImageBuilder, ImageBytes};
use crate::format::{
    ABI_VERSION, HEADER_LEN, Header, KNOWN_KINDS, MAGIC, SECTION_ALIGN, SECTION_ENTRY_LEN,
    SECTION_OPTIONAL, SectionEntry, SectionKind, align_up, reseal,
};
use thiserror::Error;

/// The buffer given to [`ImageBuilder::write_to`] is not exactly the image's length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[error("output buffer is {got} bytes, the image needs exactly {need}")]
pub struct OutputLenError {
    /// [`ImageBuilder::image_len`].
    pub need: usize,
    /// Length of the buffer given.
    pub got: usize,
}

/// Where each present section goes.
struct Plan<'a> {
    sections: [(SectionKind, &'a [u8]); KNOWN_KINDS],
    present: usize,
    total_len: usize,
}

impl ImageBuilder {
    fn plan(&self) -> Plan<'_> {
        let mut sections = [(SectionKind(0), &[][..]); KNOWN_KINDS];
        let mut present = 0;
        for kind in SectionKind::KNOWN {
            let bytes: &[u8] = match kind {
                SectionKind::STRINGS => self.strings.bytes(),
                SectionKind::MAGLEV => bytemuck::cast_slice(&self.maglev),
                _ => kind.slot().map_or(&[], |s| &self.sections[s]),
            };
            if !bytes.is_empty() {
                sections[present] = (kind, bytes);
                present += 1;
            }
        }
        let mut end = HEADER_LEN + present * SECTION_ENTRY_LEN;
        for &(_, bytes) in &sections[..present] {
            end = align_up(end, SECTION_ALIGN) + bytes.len();
        }
        Plan {
            sections,
            present,
            total_len: align_up(end, 8),
        }
    }

    /// Length in bytes of the image [`Self::write_to`] would write now.
    pub fn image_len(&self) -> usize {
        self.plan().total_len
    }

    /// Writes the sealed image into `out`, which must be exactly [`Self::image_len`] bytes
    /// (e.g. a freshly sized memfd mapping). Every byte of `out` is overwritten.
    pub fn write_to(&self, out: &mut [u8]) -> Result<(), OutputLenError> {
        let plan = self.plan();
        if out.len() != plan.total_len {
            return Err(OutputLenError {
                need: plan.total_len,
                got: out.len(),
            });
        }
        let sections = &plan.sections[..plan.present];
        let header = Header {
            magic: MAGIC,
            abi_version: ABI_VERSION,
            header_len: HEADER_LEN as u32,
            generation: self.generation,
            total_len: plan.total_len as u64,
            checksum: 0,
            section_count: plan.present as u32,
            flags: 0,
        };
        let (head, mut rest) = out.split_at_mut(HEADER_LEN);
        head.copy_from_slice(bytemuck::bytes_of(&header));
        let mut at = HEADER_LEN;
        let mut offset = align_up(
            HEADER_LEN + sections.len() * SECTION_ENTRY_LEN,
            SECTION_ALIGN,
        );
        for &(kind, bytes) in sections {
            let flags = if kind == SectionKind::POLICIES {
                SECTION_OPTIONAL
            } else {
                0
            };
            let entry = SectionEntry {
                kind: kind.0,
                flags,
                offset: offset as u64,
                len: bytes.len() as u64,
            };
            let (dst, tail) = rest.split_at_mut(SECTION_ENTRY_LEN);
            dst.copy_from_slice(bytemuck::bytes_of(&entry));
            rest = tail;
            at += SECTION_ENTRY_LEN;
            offset = align_up(offset + bytes.len(), SECTION_ALIGN);
        }
        for &(_, bytes) in sections {
            let start = align_up(at, SECTION_ALIGN);
            let (gap, tail) = rest.split_at_mut(start - at);
            gap.fill(0);
            let (dst, tail) = tail.split_at_mut(bytes.len());
            dst.copy_from_slice(bytes);
            rest = tail;
            at = start + bytes.len();
        }
        rest.fill(0);
        reseal(out);
        Ok(())
    }

    /// Lays out and seals the image in a new 8-byte-aligned buffer.
    pub fn finish(self) -> ImageBytes {
        self.to_image()
    }

    /// [`Self::finish`] without giving up the builder, which can then be [`Self::clear`]ed
    /// for the next generation.
    pub fn to_image(&self) -> ImageBytes {
        let mut image = ImageBytes::zeroed(self.image_len());
        // The buffer was sized by `image_len`, so this cannot fail.
        let _ = self.write_to(image.as_bytes_mut());
        image
    }

    /// Empties the builder for the next generation, keeping every buffer's capacity.
    pub fn clear(&mut self, generation: u64) {
        self.generation = generation;
        self.strings.clear();
        self.maglev.clear();
        for section in &mut self.sections {
            section.clear();
        }
    }
}
