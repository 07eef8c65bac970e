//! memfd creation and seal checks shared by images and regions.
//!
//! Seals are the whole safety story of this crate: an image is mapped read-only and handed to
//! workers as `&[u8]` only when its memfd carries `F_SEAL_WRITE|SHRINK|GROW` (nobody can change
//! it or its size); a region is mapped read-write only when it carries `F_SEAL_SHRINK|GROW` (its
//! size is fixed, so a mapping can never fault with SIGBUS).

use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{MemfdFlags, SealFlags};

use crate::ShmError;

/// Seals every image carries.
pub(crate) const IMAGE_SEALS: SealFlags = SealFlags::WRITE
    .union(SealFlags::SHRINK)
    .union(SealFlags::GROW)
    .union(SealFlags::SEAL);

/// Seals every region carries.
pub(crate) const REGION_SEALS: SealFlags = SealFlags::SHRINK
    .union(SealFlags::GROW)
    .union(SealFlags::SEAL);

/// A fresh close-on-exec memfd that accepts seals. `name` is only a label (shown in
/// `/proc/<pid>/fd`); it need not be unique.
pub(crate) fn memfd(name: &str) -> Result<OwnedFd, ShmError> {
    // The kernel caps labels at 249 bytes; keep a prefix that ends on a char boundary.
    let mut end = name.len().min(200);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    rustix::fs::memfd_create(
        &name[..end],
        MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
    )
    .map_err(|e| ShmError::io("memfd_create", e))
}

/// Adds `seals` to a memfd.
pub(crate) fn add(fd: impl AsFd, seals: SealFlags) -> Result<(), ShmError> {
    rustix::fs::fcntl_add_seals(fd, seals).map_err(|e| ShmError::io("F_ADD_SEALS", e))
}

/// The seals of `fd`; an error if `fd` is not a memfd (only memfds support seals).
pub(crate) fn get(fd: impl AsFd, what: &'static str) -> Result<SealFlags, ShmError> {
    rustix::fs::fcntl_get_seals(fd).map_err(|e| ShmError::NotMemfd {
        what,
        source: e.into(),
    })
}

/// Size of `fd` in bytes, checked against `1..=max`.
pub(crate) fn size(fd: impl AsFd, what: &'static str, max: u64) -> Result<usize, ShmError> {
    let stat = rustix::fs::fstat(fd).map_err(|e| ShmError::io("fstat", e))?;
    let len = u64::try_from(stat.st_size).unwrap_or(0);
    if len == 0 {
        return Err(empty(what));
    }
    if len > max {
        return Err(ShmError::TooLarge { what, len, max });
    }
    usize::try_from(len).map_err(|_| ShmError::TooLarge { what, len, max })
}

/// The error for a zero-sized fd: an empty image, or a region without even a header.
fn empty(what: &'static str) -> ShmError {
    if what == "image" {
        ShmError::EmptyImage
    } else {
        ShmError::BadHeader {
            what,
            field: "size",
            found: 0,
            expected: crate::region::HEADER_BYTES as u64,
        }
    }
}
