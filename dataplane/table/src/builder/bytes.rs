//! [`ImageBytes`]: an owned image in an 8-byte-aligned buffer.
//!
//! Invariant: `len <= words.len() * 8`; the bytes past `len` are zero. Because the buffer is a
//! `Vec<u64>`, the bytes always start on an 8-byte boundary, which is what
//! [`crate::Image::parse`] requires of any buffer.

use core::fmt;
use core::ops::Deref;

/// An owned image (or any bytes) in an 8-byte-aligned buffer.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ImageBytes {
    words: Vec<u64>,
    len: usize,
}

impl ImageBytes {
    /// `len` zero bytes.
    pub fn zeroed(len: usize) -> Self {
        Self {
            words: vec![0u64; len.div_ceil(8)],
            len,
        }
    }

    /// Copies `bytes` into a new aligned buffer (e.g. an image read from a file or a fuzzer).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let mut out = Self::zeroed(bytes.len());
        out.as_bytes_mut().copy_from_slice(bytes);
        out
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        let all: &[u8] = bytemuck::cast_slice(&self.words);
        all.get(..self.len).unwrap_or_default()
    }

    /// The bytes, mutably (the image is owned; changing it invalidates its checksum).
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        let all: &mut [u8] = bytemuck::cast_slice_mut(&mut self.words);
        all.get_mut(..self.len).unwrap_or_default()
    }

    /// Copies the bytes into a `Vec<u8>` (which is not guaranteed to be 8-aligned).
    pub fn into_vec(self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}

impl Deref for ImageBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for ImageBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsMut<[u8]> for ImageBytes {
    fn as_mut(&mut self) -> &mut [u8] {
        self.as_bytes_mut()
    }
}

impl fmt::Debug for ImageBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImageBytes")
            .field("len", &self.len)
            .finish()
    }
}
