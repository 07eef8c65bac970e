//! Strait table image ABI: the one definition of the image that the control agent writes and
//! the data plane's workers read.
//!
//! An image is one flat, immutable, position-independent, little-endian byte buffer: a fixed
//! [`Header`], a directory of [`SectionEntry`]s, and sections of `#[repr(C)]` records
//! ([`records`]) that refer to each other only by index, [`Range`] and [`StrRef`]. The agent
//! builds one with [`ImageBuilder`] and seals it in a memfd; the data plane maps it read-only,
//! checks it once with [`Image::parse`], and its workers then read it without locks through
//! zero-copy accessors that cannot panic.
//!
//! * [`mod@format`]: header, directory, section kinds, constants, checksum.
//! * [`records`]: record layouts, codes and their enums.
//! * [`ImageBuilder`] / [`ImageBytes`]: the writer and its 8-byte-aligned output.
//! * [`Image`] / [`ImageError`]: the validating reader.
//! * [`maglev`]: weighted Maglev table generation and lookup.
//!
//! No I/O and no unsafe code: this crate is pure data, shared by both sides.
#![forbid(unsafe_code)]

mod builder;
mod error;
pub mod format;
pub mod maglev;
mod reader;
pub mod records;
#[doc(hidden)]
pub mod testing;

pub use builder::{ImageBuilder, ImageBytes, OutputLenError};
pub use error::{At, ImageError};
pub use format::{ABI_VERSION, Header, MAGIC, SectionEntry, SectionKind, checksum, reseal};
pub use reader::Image;
pub use records::*;
