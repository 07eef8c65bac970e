//! Header and directory checks: everything up to knowing where each section is.
//!
//! All arithmetic on values from the image is done in `u64` with checked operations, so no input
//! can overflow or index out of bounds; every read goes through `get`.

use super::Span;
use crate::error::ImageError;
use crate::format::{
    ABI_VERSION, HEADER_LEN, Header, KNOWN_KINDS, MAGIC, MAX_SECTIONS, SECTION_ENTRY_LEN,
    SECTION_OPTIONAL, SectionEntry, SectionKind, checksum,
};
use crate::records::record_size;

/// Where the sections are, as read from a checked header and directory.
pub(super) struct Layout {
    pub(super) generation: u64,
    pub(super) spans: [Span; KNOWN_KINDS],
}

/// Checks the header, checksum and directory of `bytes`.
pub(super) fn read(bytes: &[u8]) -> Result<Layout, ImageError> {
    let header_bytes = bytes
        .get(..HEADER_LEN)
        .ok_or(ImageError::TooShort { len: bytes.len() })?;
    let misalignment = bytes.as_ptr() as usize % 8;
    if misalignment != 0 {
        return Err(ImageError::Misaligned { misalignment });
    }
    let header: Header = bytemuck::pod_read_unaligned(header_bytes);
    if header.magic != MAGIC {
        return Err(ImageError::BadMagic {
            found: header.magic,
        });
    }
    if header.abi_version != ABI_VERSION {
        return Err(ImageError::UnsupportedVersion {
            found: header.abi_version,
        });
    }
    if header.total_len != bytes.len() as u64 {
        return Err(ImageError::LengthMismatch {
            header: header.total_len,
            buffer: bytes.len(),
        });
    }
    let computed = checksum(bytes);
    if computed != header.checksum {
        return Err(ImageError::ChecksumMismatch {
            stored: header.checksum,
            computed,
        });
    }
    let total = header.total_len;
    let header_len = u64::from(header.header_len);
    if header_len < HEADER_LEN as u64 || !header_len.is_multiple_of(8) || header_len > total {
        return Err(ImageError::BadHeaderLen {
            found: header.header_len,
        });
    }
    if header.flags != 0 {
        return Err(ImageError::UnknownHeaderFlags {
            flags: header.flags,
        });
    }
    let bad_directory = ImageError::BadDirectory {
        count: header.section_count,
        offset: header.header_len,
        total_len: total,
    };
    if header.section_count > MAX_SECTIONS {
        return Err(bad_directory);
    }
    let body_start = header_len + u64::from(header.section_count) * SECTION_ENTRY_LEN as u64;
    if body_start > total {
        return Err(bad_directory);
    }
    // Both bounds are at most `total`, the length of `bytes`, so they fit in usize.
    let directory = bytes
        .get(header_len as usize..body_start as usize)
        .ok_or(bad_directory)?;

    let mut spans = [Span::default(); KNOWN_KINDS];
    let mut seen = [false; KNOWN_KINDS];
    let mut occupied: Vec<(u64, u64, SectionKind)> = Vec::with_capacity(KNOWN_KINDS);
    for (raw, entry) in directory.chunks_exact(SECTION_ENTRY_LEN).zip(0u32..) {
        let e: SectionEntry = bytemuck::pod_read_unaligned(raw);
        let kind = SectionKind(e.kind);
        if e.flags & !SECTION_OPTIONAL != 0 {
            return Err(ImageError::UnknownSectionFlags {
                entry,
                kind,
                flags: e.flags,
            });
        }
        let slot = match kind.slot() {
            Some(slot) if seen[slot] => return Err(ImageError::DuplicateSection { entry, kind }),
            Some(slot) => Some(slot),
            None if e.flags & SECTION_OPTIONAL == 0 => {
                return Err(ImageError::UnknownRequiredSection { entry, kind });
            }
            None => None,
        };
        if !e.offset.is_multiple_of(8) {
            return Err(ImageError::SectionMisaligned {
                kind,
                offset: e.offset,
            });
        }
        let end = e.offset.checked_add(e.len).filter(|&end| end <= total);
        let Some(end) = end.filter(|_| e.offset >= body_start) else {
            return Err(ImageError::SectionOutOfBounds {
                kind,
                offset: e.offset,
                len: e.len,
                body_start,
                total_len: total,
            });
        };
        if e.len > 0 {
            occupied.push((e.offset, end, kind));
        }
        if let Some(slot) = slot {
            seen[slot] = true;
            check_records(kind, e.len)?;
            // In bounds of `bytes`, so both fit in usize.
            spans[slot] = Span {
                start: e.offset as usize,
                end: end as usize,
            };
        }
    }

    occupied.sort_unstable_by_key(|&(offset, _, _)| offset);
    for pair in occupied.windows(2) {
        if let [(_, end, first), (offset, _, second)] = *pair
            && offset < end
        {
            return Err(ImageError::SectionOverlap { first, second });
        }
    }

    Ok(Layout {
        generation: header.generation,
        spans,
    })
}

/// A known section must hold a whole number of records, and no more than `u32` can index.
fn check_records(kind: SectionKind, len: u64) -> Result<(), ImageError> {
    let Some(size) = record_size(kind) else {
        return Ok(());
    };
    if !len.is_multiple_of(size as u64) {
        return Err(ImageError::SectionLength {
            kind,
            len,
            record_size: size,
        });
    }
    let count = len / size as u64;
    // Byte sections are addressed by `StrRef::off: u32` too.
    if count > u64::from(u32::MAX) {
        return Err(ImageError::SectionTooLarge { kind, count });
    }
    Ok(())
}
