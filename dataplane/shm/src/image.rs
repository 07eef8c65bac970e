//! Sealed table images: how a generation travels from the agent to the data plane.
//!
//! Agent: compile → [`seal_image`] (a memfd written in full, then sealed
//! `WRITE|SHRINK|GROW|SEAL`) → send the fd over the link. Data plane: [`MappedImage::from_fd`]
//! (refuses anything not sealed against writes and resizing) → validate the bytes → hand the
//! image to the workers. At start-up the data plane may load the last good image from disk with
//! [`MappedImage::from_file`], which copies it into a fresh sealed memfd first so that a later
//! rename or truncation of the file can never fault the workers.
//!
//! Invariant: a `MappedImage`'s bytes never change and never go away while it exists; the kernel
//! frees the memory when the last mapping and fd are gone.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use memmap2::Mmap;
use rustix::fs::SealFlags;

use crate::{ShmError, map, seal};

/// Largest image accepted, in bytes (1 GiB).
pub const MAX_IMAGE_BYTES: u64 = 1 << 30;

/// Writes `bytes` into a new memfd labelled `name` and seals it against writes, resizing and
/// further seal changes. The returned fd is ready to send.
pub fn seal_image(bytes: &[u8], name: &str) -> Result<OwnedFd, ShmError> {
    if bytes.is_empty() {
        return Err(ShmError::EmptyImage);
    }
    let len = bytes.len() as u64;
    if len > MAX_IMAGE_BYTES {
        return Err(ShmError::TooLarge {
            what: "image",
            len,
            max: MAX_IMAGE_BYTES,
        });
    }
    let mut file = File::from(seal::memfd(name)?);
    file.write_all(bytes)
        .map_err(|e| ShmError::io("write image memfd", e))?;
    seal::add(&file, seal::IMAGE_SEALS)?;
    Ok(OwnedFd::from(file))
}

/// A sealed image mapped read-only; dereferences to its bytes (page-aligned).
#[derive(Debug)]
pub struct MappedImage {
    map: Mmap,
    fd: OwnedFd,
}

impl MappedImage {
    /// Maps a received image fd after checking that it is a memfd sealed against writes,
    /// shrinking and growing, and that its size is in `1..=MAX_IMAGE_BYTES`.
    pub fn from_fd(fd: OwnedFd) -> Result<MappedImage, ShmError> {
        let seals = seal::get(&fd, "image")?;
        for (flag, missing) in [
            (SealFlags::WRITE, "writes"),
            (SealFlags::SHRINK, "shrinking"),
            (SealFlags::GROW, "growing"),
        ] {
            if !seals.contains(flag) {
                return Err(ShmError::ImageNotSealed {
                    missing,
                    seals: seals.bits(),
                });
            }
        }
        let len = seal::size(&fd, "image", MAX_IMAGE_BYTES)?;
        let map = map::map_sealed(fd.as_fd(), len)?;
        Ok(MappedImage { map, fd })
    }

    /// Reads the file at `path` into a fresh sealed memfd and maps that.
    pub fn from_file(path: &Path) -> Result<MappedImage, ShmError> {
        let file_err = |source| ShmError::File {
            path: path.to_owned(),
            source,
        };
        let file = File::open(path).map_err(file_err)?;
        let len = file.metadata().map_err(file_err)?.len();
        if len > MAX_IMAGE_BYTES {
            return Err(ShmError::TooLarge {
                what: "image",
                len,
                max: MAX_IMAGE_BYTES,
            });
        }
        // Read at most one byte past the limit, in case the file grows while we read.
        let mut bytes = Vec::with_capacity(len as usize);
        file.take(MAX_IMAGE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(file_err)?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("strait-image");
        MappedImage::from_fd(seal_image(&bytes, name)?)
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Always false: empty images are refused.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The sealed memfd behind the mapping (e.g. to hand the same image on).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRef<[u8]> for MappedImage {
    fn as_ref(&self) -> &[u8] {
        &self.map
    }
}

impl std::ops::Deref for MappedImage {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map
    }
}
