//! The writer's string pool: appends UTF-8 strings to one byte buffer and hands out
//! [`StrRef`]s, storing each distinct string once.
//!
//! Deduplication keys a hash map by the xxh3 hash of the string (no allocation per string); a
//! hit is confirmed by comparing bytes, and on the (astronomically rare) collision the new
//! string is simply stored again, which is still a correct image.

use crate::records::StrRef;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hasher};
use xxhash_rust::xxh3::xxh3_64;

/// Passes an already well-mixed `u64` key through unchanged.
#[derive(Clone, Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Deduplicating UTF-8 string pool.
#[derive(Clone, Default)]
pub(crate) struct StringPool {
    bytes: Vec<u8>,
    index: HashMap<u64, StrRef, BuildHasherDefault<PassThrough>>,
}

impl StringPool {
    /// Reserves room for `bytes` more bytes of distinct strings.
    pub(crate) fn reserve(&mut self, bytes: usize) {
        self.bytes.reserve(bytes);
    }

    /// Stores `s` (once) and returns its reference. The empty string is [`StrRef::EMPTY`].
    ///
    /// # Panics
    /// If the pool would exceed `u32::MAX` bytes.
    pub(crate) fn intern(&mut self, s: &str) -> StrRef {
        if s.is_empty() {
            return StrRef::EMPTY;
        }
        let Self { bytes, index } = self;
        match index.entry(xxh3_64(s.as_bytes())) {
            Entry::Occupied(hit) => {
                let r = *hit.get();
                let start = r.off as usize;
                if bytes.get(start..start + r.len as usize) == Some(s.as_bytes()) {
                    r
                } else {
                    append(bytes, s)
                }
            }
            Entry::Vacant(slot) => *slot.insert(append(bytes, s)),
        }
    }

    /// Forgets every string, keeping the capacity.
    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.index.clear();
    }

    /// Number of bytes stored.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// The pool's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

fn append(bytes: &mut Vec<u8>, s: &str) -> StrRef {
    let off = u32::try_from(bytes.len()).ok();
    let len = u32::try_from(s.len()).ok();
    let (Some(off), Some(len)) = (off, len) else {
        panic!("string pool exceeds u32::MAX bytes");
    };
    assert!(
        off.checked_add(len).is_some(),
        "string pool exceeds u32::MAX bytes"
    );
    bytes.extend_from_slice(s.as_bytes());
    StrRef { off, len }
}
