//! Errors of the shared-memory side: sealed images and shared regions.

use std::io;
use std::path::PathBuf;

/// Why an image or a shared region could not be created, opened or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShmError {
    /// A system call failed; `op` says which step.
    #[error("{op} failed: {source}")]
    Io {
        /// The step that failed, e.g. `"memfd_create"`.
        op: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// An image file could not be read.
    #[error("cannot read image file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The fd does not support seals, so it is not a memfd and its contents could change.
    #[error("{what} fd is not a memfd (F_GET_SEALS failed: {source})")]
    NotMemfd {
        /// `"image"`, `"stats region"` or `"health overlay"`.
        what: &'static str,
        /// The error F_GET_SEALS returned.
        #[source]
        source: io::Error,
    },

    /// An image fd lacks a seal, so it could be written, truncated or grown under the workers.
    #[error(
        "image fd is not sealed against {missing} (seals: {seals:#x}); a writable or resizable image could change under the workers"
    )]
    ImageNotSealed {
        /// What the missing seals would prevent, e.g. `"writes"`.
        missing: &'static str,
        /// The seals present (`F_SEAL_*` bits).
        seals: u32,
    },

    /// A region fd is not sealed against resizing, so a mapping could fault (SIGBUS) later.
    #[error(
        "{what} fd is not sealed against resizing (seals: {seals:#x}); it could shrink under the mapping"
    )]
    RegionResizable {
        /// `"stats region"` or `"health overlay"`.
        what: &'static str,
        /// The seals present (`F_SEAL_*` bits).
        seals: u32,
    },

    /// A region fd is sealed against writes, so it cannot be mapped read-write.
    #[error("{what} fd is sealed against writes (seals: {seals:#x}); regions must stay writable")]
    RegionReadOnly {
        /// `"stats region"` or `"health overlay"`.
        what: &'static str,
        /// The seals present (`F_SEAL_*` bits).
        seals: u32,
    },

    /// An image has no bytes; there is nothing to serve.
    #[error("image is empty")]
    EmptyImage,

    /// An object is larger than this side accepts.
    #[error("{what} is {len} bytes, over the {max}-byte limit")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size.
        len: u64,
        /// The limit.
        max: u64,
    },

    /// A region header has the wrong magic: the fd is not this kind of region.
    #[error("{what} has bad magic {found:02x?} (expected {expected:?})")]
    BadMagic {
        /// `"stats region"` or `"health overlay"`.
        what: &'static str,
        /// The bytes found.
        found: [u8; 8],
        /// The bytes expected.
        expected: &'static [u8; 8],
    },

    /// A region was written by an incompatible version of the data plane.
    #[error("{what} has ABI version {found}, this build understands {expected}")]
    BadVersion {
        /// `"stats region"` or `"health overlay"`.
        what: &'static str,
        /// The version in the header.
        found: u64,
        /// The version this build writes.
        expected: u64,
    },

    /// A region header field does not agree with the ABI or with the fd's size.
    #[error("{what} header field `{field}` is {found}, expected {expected}")]
    BadHeader {
        /// `"stats region"` or `"health overlay"`.
        what: &'static str,
        /// The header field.
        field: &'static str,
        /// The value found.
        found: u64,
        /// The value expected (or the limit it broke).
        expected: u64,
    },

    /// A count given to `create` is out of the supported range.
    #[error("{what} must be between 1 and {max}, got {got}")]
    OutOfRange {
        /// What was counted, e.g. `"workers"`.
        what: &'static str,
        /// The value given.
        got: u64,
        /// The largest value accepted.
        max: u64,
    },

    /// A health overlay slot index is beyond the overlay's capacity.
    #[error("endpoint slot {slot} is out of range (capacity {capacity})")]
    SlotOutOfRange {
        /// The slot index.
        slot: u32,
        /// The overlay capacity.
        capacity: u32,
    },
}

impl ShmError {
    /// Wraps a rustix or std error from step `op`.
    pub(crate) fn io(op: &'static str, source: impl Into<io::Error>) -> Self {
        ShmError::Io {
            op,
            source: source.into(),
        }
    }
}
