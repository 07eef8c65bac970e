//! The common ABI of the writable shared regions (stats, health overlay) and their set-up.
//!
//! Layout: a [`HEADER_BYTES`]-byte header of 16 little-endian `u64` words, then the region's
//! payload. Header words (see [`RegionHeader`]): 0 magic (8 ASCII bytes), 1 ABI version,
//! 2 count (workers or slots), 3 bytes per entry, 4 total size in bytes, 5..16 reserved (0).
//!
//! The data plane creates a region (`create`: memfd, `ftruncate`, seals
//! `SHRINK|GROW|SEAL`, map, write the header, magic last with `Release`) and sends the fd; the
//! agent opens it (`open`: seals and size checked, map, header read with magic first and
//! `Acquire`, validated by the caller against the fd's size). Regions are never resized.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::Ordering;

use rustix::fs::SealFlags;

use crate::map::SharedWords;
use crate::{ShmError, seal};

/// Size of the header every region starts with, in bytes (also its payload's alignment).
pub const HEADER_BYTES: usize = 128;

/// Largest region this crate maps (256 MiB).
pub const MAX_REGION_BYTES: u64 = 256 << 20;

/// The decoded header of a shared region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionHeader {
    /// Region kind, e.g. `*b"STRAITST"`.
    pub magic: [u8; 8],
    /// ABI version of the layout.
    pub version: u64,
    /// Number of entries (workers for stats, endpoint slots for the overlay).
    pub count: u64,
    /// Bytes per entry.
    pub entry_bytes: u64,
    /// Total size of the region in bytes, header included.
    pub total_bytes: u64,
}

impl RegionHeader {
    /// Header word indices.
    const MAGIC: usize = 0;
    const VERSION: usize = 1;
    const COUNT: usize = 2;
    const ENTRY_BYTES: usize = 3;
    const TOTAL_BYTES: usize = 4;

    /// Reads the header of a mapped region (magic first, with `Acquire`).
    pub(crate) fn read(words: &SharedWords) -> RegionHeader {
        let w = words.u64s();
        RegionHeader {
            magic: w[Self::MAGIC].load(Ordering::Acquire).to_le_bytes(),
            version: w[Self::VERSION].load(Ordering::Relaxed),
            count: w[Self::COUNT].load(Ordering::Relaxed),
            entry_bytes: w[Self::ENTRY_BYTES].load(Ordering::Relaxed),
            total_bytes: w[Self::TOTAL_BYTES].load(Ordering::Relaxed),
        }
    }

    /// Writes the header into a fresh region (magic last, with `Release`).
    fn write(&self, words: &SharedWords) {
        let w = words.u64s();
        w[Self::VERSION].store(self.version, Ordering::Relaxed);
        w[Self::COUNT].store(self.count, Ordering::Relaxed);
        w[Self::ENTRY_BYTES].store(self.entry_bytes, Ordering::Relaxed);
        w[Self::TOTAL_BYTES].store(self.total_bytes, Ordering::Relaxed);
        w[Self::MAGIC].store(u64::from_le_bytes(self.magic), Ordering::Release);
    }

    /// Checks magic, version and entry size against this build's ABI, and the total size and
    /// count against the mapped length.
    pub(crate) fn check(
        &self,
        what: &'static str,
        magic: &'static [u8; 8],
        version: u64,
        entry_bytes: u64,
        mapped: usize,
    ) -> Result<(), ShmError> {
        if self.magic != *magic {
            return Err(ShmError::BadMagic {
                what,
                found: self.magic,
                expected: magic,
            });
        }
        if self.version != version {
            return Err(ShmError::BadVersion {
                what,
                found: self.version,
                expected: version,
            });
        }
        let bad = |field, found, expected| ShmError::BadHeader {
            what,
            field,
            found,
            expected,
        };
        if self.entry_bytes != entry_bytes {
            return Err(bad("entry_bytes", self.entry_bytes, entry_bytes));
        }
        let mapped = mapped as u64;
        if self.total_bytes != mapped {
            return Err(bad("total_bytes", self.total_bytes, mapped));
        }
        if self.count == 0 || region_bytes(self.count, entry_bytes) != Some(mapped) {
            let fits = (mapped - HEADER_BYTES as u64) / entry_bytes;
            return Err(bad("count", self.count, fits));
        }
        Ok(())
    }
}

/// Header plus `count` entries of `entry_bytes`, rounded up to a multiple of 8; `None` on overflow.
pub(crate) fn region_bytes(count: u64, entry_bytes: u64) -> Option<u64> {
    let payload = count
        .checked_mul(entry_bytes)?
        .checked_next_multiple_of(8)?;
    payload.checked_add(HEADER_BYTES as u64)
}

/// Creates a zeroed, size-sealed region described by `header` (`magic`, `version`, `count`,
/// `entry_bytes`; `total_bytes` is computed) and maps it read-write.
pub(crate) fn create(
    name: &str,
    mut header: RegionHeader,
) -> Result<(SharedWords, OwnedFd), ShmError> {
    let total = region_bytes(header.count, header.entry_bytes)
        .filter(|&t| t <= MAX_REGION_BYTES)
        .ok_or(ShmError::TooLarge {
            what: "region",
            len: header.count.saturating_mul(header.entry_bytes),
            max: MAX_REGION_BYTES,
        })?;
    header.total_bytes = total;
    let fd = seal::memfd(name)?;
    rustix::fs::ftruncate(&fd, total).map_err(|e| ShmError::io("ftruncate", e))?;
    seal::add(&fd, seal::REGION_SEALS)?;
    let words = SharedWords::map(fd.as_fd(), total as usize)?;
    header.write(&words);
    Ok((words, fd))
}

/// Maps a region fd received from the other side after checking its seals and size; the caller
/// validates the header with [`RegionHeader::check`].
pub(crate) fn open(fd: impl AsFd, what: &'static str) -> Result<SharedWords, ShmError> {
    let fd = fd.as_fd();
    let seals = seal::get(fd, what)?;
    if !seals.contains(SealFlags::SHRINK | SealFlags::GROW) {
        return Err(ShmError::RegionResizable {
            what,
            seals: seals.bits(),
        });
    }
    if seals.intersects(SealFlags::WRITE | SealFlags::FUTURE_WRITE) {
        return Err(ShmError::RegionReadOnly {
            what,
            seals: seals.bits(),
        });
    }
    let len = seal::size(fd, what, MAX_REGION_BYTES)?;
    if len < HEADER_BYTES || len % 8 != 0 {
        return Err(ShmError::BadHeader {
            what,
            field: "size",
            found: len as u64,
            expected: HEADER_BYTES as u64,
        });
    }
    SharedWords::map(fd, len)
}
