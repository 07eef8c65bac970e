//! One installed generation: a validated image in a sealed mapping.
//!
//! An image is validated once, here, before any worker can see it; after that workers only
//! read it through [`strait_table::Image`]'s accessors, which cannot fail.

use std::{os::fd::OwnedFd, path::Path, sync::Arc};

use strait_shm::MappedImage;
use strait_table::{Image, ImageError};

/// A validated generation, shared read-only by every worker.
#[derive(Debug)]
pub struct Tables {
    // Shared with the keeper thread, which writes it out as the last good image.
    image: Arc<Image<MappedImage>>,
}

/// Why an image was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TableError {
    /// The memfd or file could not be mapped.
    #[error("mapping the image: {0}")]
    Map(#[from] strait_shm::ShmError),
    /// The image failed validation.
    #[error("invalid image: {0}")]
    Invalid(#[from] ImageError),
    /// The image is not the one announced.
    #[error(
        "announced generation {announced} ({announced_len} bytes) but the image is generation {actual} ({actual_len} bytes)"
    )]
    Mismatch {
        /// Generation in the message.
        announced: u64,
        /// Length in the message.
        announced_len: u64,
        /// Generation in the image header.
        actual: u64,
        /// Length of the image.
        actual_len: u64,
    },
}

impl Tables {
    /// Maps and validates an image the agent sent.
    pub fn from_fd(fd: OwnedFd, generation: u64, len: u64) -> Result<Self, TableError> {
        let tables = Tables {
            image: Arc::new(Image::parse(MappedImage::from_fd(fd)?)?),
        };
        if tables.generation() != generation || tables.len() != len {
            return Err(TableError::Mismatch {
                announced: generation,
                announced_len: len,
                actual: tables.generation(),
                actual_len: tables.len(),
            });
        }
        Ok(tables)
    }

    /// Loads and validates the image kept in a file.
    pub fn from_file(path: &Path) -> Result<Self, TableError> {
        Ok(Tables {
            image: Arc::new(Image::parse(MappedImage::from_file(path)?)?),
        })
    }

    /// The generation stamped in the image.
    pub fn generation(&self) -> u64 {
        self.image.generation()
    }

    /// The image bytes.
    pub fn bytes(&self) -> &[u8] {
        self.image.bytes()
    }

    fn len(&self) -> u64 {
        self.bytes().len() as u64
    }

    /// The validated image.
    pub fn image(&self) -> &Image<MappedImage> {
        &self.image
    }

    /// The shared handle on the image, for L7 workers that keep it past their RCU turn.
    pub(crate) fn image_arc(&self) -> &Arc<Image<MappedImage>> {
        &self.image
    }

    /// Another handle on the image, for the keeper thread.
    pub(crate) fn shared(&self) -> Arc<Image<MappedImage>> {
        self.image.clone()
    }
}
