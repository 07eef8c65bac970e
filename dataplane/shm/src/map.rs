//! Memory mappings: the only `unsafe` code of this crate.
//!
//! * [`map_sealed`] maps a memfd read-only (`MAP_SHARED`), for images. Callers must have checked
//!   `F_SEAL_WRITE|SHRINK|GROW` first ([`crate::seal`]); that is what makes the `&[u8]` view sound.
//! * [`SharedWords`] maps a fixed-size region read-write (`MAP_SHARED`) and exposes it only as
//!   slices of atomics, never as plain references, because another process writes it
//!   concurrently. Callers must have checked `F_SEAL_SHRINK|GROW` first (no SIGBUS).
//!
//! Both mappings start on a page boundary, so any offset that is a multiple of 8 is aligned for
//! `u64`.

// The one module allowed to use `unsafe` (the crate root denies it elsewhere).
#![allow(unsafe_code)]

use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicU32, AtomicU64};

use memmap2::{Mmap, MmapOptions, MmapRaw};

use crate::ShmError;

/// Maps `len` bytes of a sealed memfd read-only.
///
/// The caller must have verified that `fd` carries `F_SEAL_WRITE`, `F_SEAL_SHRINK` and
/// `F_SEAL_GROW` and that `len` is its size; this function relies on it (see the `SAFETY` note).
pub(crate) fn map_sealed(fd: BorrowedFd<'_>, len: usize) -> Result<Mmap, ShmError> {
    // SAFETY: memmap2 requires that the file is not modified or truncated while mapped. The
    // caller checked the write, shrink and grow seals, which the kernel never lets anyone remove;
    // so the contents are immutable and the size is fixed for the mapping's whole life.
    unsafe { MmapOptions::new().len(len).map(&fd) }.map_err(|e| ShmError::io("mmap", e))
}

/// A read-write shared mapping viewed as 64-bit (or 32-bit) atomic words.
#[derive(Debug)]
pub(crate) struct SharedWords {
    map: MmapRaw,
}

impl SharedWords {
    /// Maps `len` bytes (a multiple of 8) of a size-sealed memfd read-write.
    pub(crate) fn map(fd: BorrowedFd<'_>, len: usize) -> Result<Self, ShmError> {
        debug_assert_eq!(len % 8, 0);
        let map = MmapOptions::new()
            .len(len)
            .map_raw(&fd)
            .map_err(|e| ShmError::io("mmap", e))?;
        Ok(SharedWords { map })
    }

    /// The whole mapping as `u64` words.
    pub(crate) fn u64s(&self) -> &[AtomicU64] {
        let len = self.map.len() / size_of::<u64>();
        // SAFETY: the mapping is `len * 8` readable and writable bytes starting on a page
        // boundary (aligned for `AtomicU64`), it stays mapped for as long as `&self` lives, every
        // bit pattern is a valid `AtomicU64`, and all access, here and in the other process, goes
        // through atomics (the region ABI), so shared references to atomics are sound. The size
        // seals keep the pages from disappearing under us.
        unsafe { std::slice::from_raw_parts(self.map.as_mut_ptr().cast::<AtomicU64>(), len) }
    }

    /// The bytes from `offset` (a multiple of 4) to the end as `u32` words.
    pub(crate) fn u32s_from(&self, offset: usize) -> &[AtomicU32] {
        debug_assert_eq!(offset % 4, 0);
        let len = self.map.len().saturating_sub(offset) / size_of::<u32>();
        // SAFETY: as in `u64s`; `offset` is within the mapping (or `len` is 0) and a multiple of
        // 4 from a page boundary, so the pointer is in bounds and aligned for `AtomicU32`.
        unsafe {
            let start = self.map.as_mut_ptr().add(offset.min(self.map.len()));
            std::slice::from_raw_parts(start.cast::<AtomicU32>(), len)
        }
    }
}
