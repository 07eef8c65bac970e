//! Why an image was refused.
//!
//! Every error says what is wrong and where: header field, directory entry, or section and
//! record index ([`At`]). Errors are plain data (`Clone + Eq`) so callers can log or compare them;
//! none is retryable, since an image never changes: the data plane stays on its current
//! generation and reports the error to the agent.

use crate::format::{ABI_VERSION, HEADER_LEN, MAX_SECTIONS, SectionKind};
use core::fmt;

/// A record of a section, as named in errors: `section ROUTES record 12`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct At {
    /// The section holding the record.
    pub section: SectionKind,
    /// Index of the record in its section.
    pub record: u32,
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "section {} record {}", self.section, self.record)
    }
}

/// A reason [`crate::Image::parse`] refused a buffer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// The buffer does not start on an 8-byte boundary.
    #[error(
        "image buffer is not 8-byte aligned (address % 8 = {misalignment}); \
         copy it into an aligned buffer such as ImageBytes"
    )]
    Misaligned {
        /// Address of the buffer modulo 8.
        misalignment: usize,
    },
    /// The buffer is shorter than the fixed header.
    #[error("image is {len} bytes, shorter than the {HEADER_LEN}-byte header")]
    TooShort {
        /// Buffer length.
        len: usize,
    },
    /// The buffer does not start with the magic bytes.
    #[error("bad magic {found:02x?}, expected \"STRAITTB\"")]
    BadMagic {
        /// The first eight bytes.
        found: [u8; 8],
    },
    /// The image was written for an ABI version this reader does not read.
    #[error("unsupported ABI version {found} (this reader reads version {ABI_VERSION})")]
    UnsupportedVersion {
        /// Version in the header.
        found: u32,
    },
    /// `header_len` is too small, not a multiple of 8, or beyond the image.
    #[error(
        "bad header_len {found}: need a multiple of 8, at least {HEADER_LEN}, inside the image"
    )]
    BadHeaderLen {
        /// Value in the header.
        found: u32,
    },
    /// `total_len` differs from the buffer length (they must be equal).
    #[error("header total_len {header} does not equal the buffer length {buffer}")]
    LengthMismatch {
        /// `total_len` in the header.
        header: u64,
        /// Length of the buffer.
        buffer: usize,
    },
    /// The checksum does not match the contents.
    #[error("checksum mismatch: header says {stored:#018x}, image hashes to {computed:#018x}")]
    ChecksumMismatch {
        /// Checksum in the header.
        stored: u64,
        /// Checksum of the buffer.
        computed: u64,
    },
    /// Reserved header flag bits are set.
    #[error("unknown header flags {flags:#x}")]
    UnknownHeaderFlags {
        /// The flags field.
        flags: u32,
    },
    /// The section directory has too many entries or does not fit in the image.
    #[error(
        "section directory of {count} entries at offset {offset} does not fit in {total_len} \
         bytes or exceeds {MAX_SECTIONS} entries"
    )]
    BadDirectory {
        /// `section_count`.
        count: u32,
        /// `header_len`, where the directory starts.
        offset: u32,
        /// Image length.
        total_len: u64,
    },
    /// A directory entry has flag bits other than `SECTION_OPTIONAL`.
    #[error("directory entry {entry} ({kind}): unknown section flags {flags:#x}")]
    UnknownSectionFlags {
        /// Index of the entry.
        entry: u32,
        /// Its kind.
        kind: SectionKind,
        /// Its flags.
        flags: u32,
    },
    /// A section of unknown kind is not marked optional.
    #[error("directory entry {entry}: unknown section {kind} is not marked optional")]
    UnknownRequiredSection {
        /// Index of the entry.
        entry: u32,
        /// The unknown kind.
        kind: SectionKind,
    },
    /// A known kind appears twice.
    #[error("directory entry {entry}: section {kind} appears more than once")]
    DuplicateSection {
        /// Index of the second entry.
        entry: u32,
        /// The repeated kind.
        kind: SectionKind,
    },
    /// A section lies outside the image body (after the directory, before `total_len`).
    #[error(
        "section {kind} at {offset} (len {len}) is outside the image body {body_start}..{total_len}"
    )]
    SectionOutOfBounds {
        /// The section.
        kind: SectionKind,
        /// Its offset.
        offset: u64,
        /// Its length.
        len: u64,
        /// First byte after the directory.
        body_start: u64,
        /// Image length.
        total_len: u64,
    },
    /// A section does not start on an 8-byte boundary.
    #[error("section {kind} offset {offset} is not 8-aligned")]
    SectionMisaligned {
        /// The section.
        kind: SectionKind,
        /// Its offset.
        offset: u64,
    },
    /// Two sections share bytes.
    #[error("sections {first} and {second} overlap")]
    SectionOverlap {
        /// The section that starts first.
        first: SectionKind,
        /// The section that starts inside it.
        second: SectionKind,
    },
    /// A section's length is not a multiple of its record size.
    #[error("section {kind} length {len} is not a multiple of its record size {record_size}")]
    SectionLength {
        /// The section.
        kind: SectionKind,
        /// Its length.
        len: u64,
        /// Size of one record.
        record_size: usize,
    },
    /// A section holds more records than a `u32` index can name.
    #[error("section {kind} holds {count} records, more than a u32 index can name")]
    SectionTooLarge {
        /// The section.
        kind: SectionKind,
        /// Its record count.
        count: u64,
    },
    /// The string pool is not UTF-8.
    #[error("section STRINGS is not valid UTF-8 (first bad byte at {valid_up_to})")]
    StringsNotUtf8 {
        /// Length of the valid prefix.
        valid_up_to: usize,
    },
    /// A string reference leaves `STRINGS` or splits a UTF-8 character.
    #[error(
        "{at}: {field} string {off}+{len} is outside STRINGS (len {strings_len}) \
         or splits a UTF-8 character"
    )]
    BadStr {
        /// The record.
        at: At,
        /// Field name.
        field: &'static str,
        /// The reference's offset.
        off: u32,
        /// The reference's length.
        len: u32,
        /// Length of `STRINGS`.
        strings_len: usize,
    },
    /// A range leaves its target section.
    #[error("{at}: {field} range {first}..{end} outside {target} (len {target_len})")]
    BadRange {
        /// The record.
        at: At,
        /// Field name.
        field: &'static str,
        /// First index.
        first: u32,
        /// One past the last index.
        end: u64,
        /// Section the range points into.
        target: SectionKind,
        /// Records in the target.
        target_len: usize,
    },
    /// An index leaves its target section.
    #[error("{at}: {field} index {index} outside {target} (len {target_len})")]
    BadIndex {
        /// The record.
        at: At,
        /// Field name.
        field: &'static str,
        /// The index.
        index: u32,
        /// Section the index points into.
        target: SectionKind,
        /// Records in the target.
        target_len: usize,
    },
    /// A Maglev entry names a backend the owner does not have.
    #[error("{at}: maglev slot {slot} holds {value}, but the owner has {backends} backends")]
    BadMaglevEntry {
        /// The owning service or cluster.
        at: At,
        /// Slot in the owner's table.
        slot: u32,
        /// The entry.
        value: u32,
        /// Backends (or endpoints) of the owner.
        backends: u32,
    },
    /// An enum code (or 0/1 flag byte) is not one this ABI knows.
    #[error("{at}: unknown {field} code {code}")]
    BadCode {
        /// The record.
        at: At,
        /// Field name.
        field: &'static str,
        /// The code.
        code: u8,
    },
    /// A bitmask has bits this ABI does not define.
    #[error("{at}: {field} has unknown bits {bits:#x}")]
    BadFlags {
        /// The record.
        at: At,
        /// Field name.
        field: &'static str,
        /// The unknown bits.
        bits: u32,
    },
    /// A field breaks a rule of its own (stated in the message).
    #[error("{at}: {field}: {problem}")]
    BadField {
        /// The record.
        at: At,
        /// Field name.
        field: &'static str,
        /// What is wrong.
        problem: &'static str,
    },
}
