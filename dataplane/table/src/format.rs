//! Fixed layout of an image: header, section directory and section kinds.
//!
//! ```text
//! 0        Header (48 bytes)           magic, version, generation, lengths, checksum
//! 48       SectionEntry × section_count (24 bytes each)
//! …        sections, each starting on a SECTION_ALIGN (64-byte) boundary
//! ```
//!
//! Invariants a valid image keeps (checked by [`crate::Image::parse`]):
//! * the whole image is little-endian and position-independent: every reference is an offset or
//!   an index, never a pointer;
//! * `header_len` is at least [`HEADER_LEN`] and a multiple of 8; the directory starts there;
//! * `total_len` equals the length of the buffer handed to the reader (exact, not "at most");
//! * `checksum` is xxh3-64 of the first `total_len` bytes with the checksum field read as zero;
//! * every section is 8-aligned, inside `total_len`, after the directory, and overlaps no other;
//! * each known kind appears at most once; a missing kind means an empty section;
//! * an unknown kind is refused unless its entry carries [`SECTION_OPTIONAL`].

use bytemuck::{Pod, Zeroable};
use core::fmt;
use xxhash_rust::xxh3::Xxh3;

// Records are read in place with native layout; only little-endian hosts read the image as it is
// written. A big-endian port would need byte-swapping accessors.
#[cfg(not(target_endian = "little"))]
compile_error!("strait-table images are little-endian; this host is not");

/// The eight bytes every image starts with.
pub const MAGIC: [u8; 8] = *b"STRAITTB";
/// The ABI version this crate writes and reads.
pub const ABI_VERSION: u32 = 2;
/// Length of the fixed [`Header`]; the directory follows it.
pub const HEADER_LEN: usize = size_of::<Header>();
/// Length of one [`SectionEntry`].
pub const SECTION_ENTRY_LEN: usize = size_of::<SectionEntry>();
/// Alignment the writer gives every section (readers require only 8).
pub const SECTION_ALIGN: usize = 64;
/// Largest `section_count` a reader accepts, which bounds the work of parsing the directory.
pub const MAX_SECTIONS: u32 = 256;
/// Section flag: a reader that does not know this kind may skip the section.
pub const SECTION_OPTIONAL: u32 = 1;
/// Byte offset of [`Header::checksum`] in the image.
pub const CHECKSUM_OFFSET: usize = core::mem::offset_of!(Header, checksum);

/// The fixed header at offset 0.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Header {
    /// Always [`MAGIC`].
    pub magic: [u8; 8],
    /// [`ABI_VERSION`] of the writer.
    pub abi_version: u32,
    /// Bytes before the directory (≥ [`HEADER_LEN`], multiple of 8).
    pub header_len: u32,
    /// Config generation this image was compiled from.
    pub generation: u64,
    /// Length of the whole image in bytes.
    pub total_len: u64,
    /// xxh3-64 of the image with this field taken as zero.
    pub checksum: u64,
    /// Number of [`SectionEntry`]s in the directory.
    pub section_count: u32,
    /// Reserved; must be zero.
    pub flags: u32,
}

/// One entry of the section directory.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct SectionEntry {
    /// A [`SectionKind`] code.
    pub kind: u32,
    /// [`SECTION_OPTIONAL`] or zero; other bits are refused.
    pub flags: u32,
    /// Offset of the section from the start of the image (multiple of 8).
    pub offset: u64,
    /// Length of the section in bytes (a multiple of its record size).
    pub len: u64,
}

const _: () = assert!(HEADER_LEN == 48 && SECTION_ENTRY_LEN == 24 && CHECKSUM_OFFSET == 32);

/// Kind code of a section. Unknown codes are representable so errors can name them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SectionKind(pub u32);

impl SectionKind {
    /// UTF-8 string pool that every `StrRef` points into.
    pub const STRINGS: Self = Self(1);
    /// Lists of `StrRef` (certificate server names, TCP route SNI names).
    pub const NAMES: Self = Self(2);
    /// L4 virtual services (`L4Service`).
    pub const L4_SERVICES: Self = Self(3);
    /// L4 backends (`L4Backend`).
    pub const L4_BACKENDS: Self = Self(4);
    /// `u32` Maglev lookup tables, relative to the owner's first backend or endpoint.
    pub const MAGLEV: Self = Self(5);
    /// L7 listeners (`Listener`).
    pub const LISTENERS: Self = Self(6);
    /// TLS certificates (`Certificate`).
    pub const CERTIFICATES: Self = Self(7);
    /// HTTP virtual hosts (`VirtualHost`).
    pub const VIRTUAL_HOSTS: Self = Self(8);
    /// HTTP routes (`Route`).
    pub const ROUTES: Self = Self(9);
    /// Header and query matches of routes (`Match`).
    pub const MATCHES: Self = Self(10);
    /// Weighted cluster references of routes and TCP routes (`RouteBackend`).
    pub const ROUTE_BACKENDS: Self = Self(11);
    /// Header modifications of routes (`HeaderMod`).
    pub const HEADER_MODS: Self = Self(12);
    /// TCP / TLS-passthrough routes (`TcpRoute`).
    pub const TCP_ROUTES: Self = Self(13);
    /// Upstream clusters (`Cluster`).
    pub const CLUSTERS: Self = Self(14);
    /// Cluster endpoints (`Endpoint`).
    pub const ENDPOINTS: Self = Self(15);
    /// Reserved for policies: opaque bytes, always written with [`SECTION_OPTIONAL`].
    pub const POLICIES: Self = Self(16);

    /// Every kind this ABI version knows, in code order.
    pub const KNOWN: [Self; KNOWN_KINDS] = [
        Self::STRINGS,
        Self::NAMES,
        Self::L4_SERVICES,
        Self::L4_BACKENDS,
        Self::MAGLEV,
        Self::LISTENERS,
        Self::CERTIFICATES,
        Self::VIRTUAL_HOSTS,
        Self::ROUTES,
        Self::MATCHES,
        Self::ROUTE_BACKENDS,
        Self::HEADER_MODS,
        Self::TCP_ROUTES,
        Self::CLUSTERS,
        Self::ENDPOINTS,
        Self::POLICIES,
    ];

    /// The upper-case name of a known kind, `None` for an unknown one.
    pub const fn name(self) -> Option<&'static str> {
        const NAMES: [&str; KNOWN_KINDS] = [
            "STRINGS",
            "NAMES",
            "L4_SERVICES",
            "L4_BACKENDS",
            "MAGLEV",
            "LISTENERS",
            "CERTIFICATES",
            "VIRTUAL_HOSTS",
            "ROUTES",
            "MATCHES",
            "ROUTE_BACKENDS",
            "HEADER_MODS",
            "TCP_ROUTES",
            "CLUSTERS",
            "ENDPOINTS",
            "POLICIES",
        ];
        match self.slot() {
            Some(i) => Some(NAMES[i]),
            None => None,
        }
    }

    /// Index of a known kind in [`Self::KNOWN`].
    pub(crate) const fn slot(self) -> Option<usize> {
        if self.0 >= 1 && self.0 as usize <= KNOWN_KINDS {
            Some(self.0 as usize - 1)
        } else {
            None
        }
    }
}

/// Number of section kinds this ABI knows.
pub const KNOWN_KINDS: usize = 16;

impl fmt::Display for SectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "kind {}", self.0),
        }
    }
}

impl fmt::Debug for SectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Rounds `n` up to a multiple of `align` (a power of two).
pub(crate) const fn align_up(n: usize, align: usize) -> usize {
    (n + align - 1) & !(align - 1)
}

/// The image checksum: xxh3-64 (seed 0) of `image` with bytes
/// `CHECKSUM_OFFSET..CHECKSUM_OFFSET + 8` taken as zero, streamed in three pieces so the image is
/// not copied. Total for any input.
pub fn checksum(image: &[u8]) -> u64 {
    let mut hasher = Xxh3::new();
    let split = CHECKSUM_OFFSET.min(image.len());
    let (head, rest) = image.split_at(split);
    hasher.update(head);
    let covered = rest.len().min(8);
    hasher.update(&[0u8; 8][..covered]);
    hasher.update(rest.get(covered..).unwrap_or_default());
    hasher.digest()
}

/// Recomputes and stores the checksum of `image`, so that a deliberately modified image passes
/// the checksum and reaches the deeper checks. For tests and fuzzing; does nothing on a buffer
/// too short to hold the field.
#[doc(hidden)]
pub fn reseal(image: &mut [u8]) {
    let sum = checksum(image);
    if let Some(field) = image.get_mut(CHECKSUM_OFFSET..CHECKSUM_OFFSET + 8) {
        field.copy_from_slice(&sum.to_le_bytes());
    }
}
