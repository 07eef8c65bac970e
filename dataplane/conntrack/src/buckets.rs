//! The bucket array: open addressing over a power-of-two array with a fixed probe window.
//!
//! # Invariants
//! * A key hashes (xxh3, per-table seed) to a home bucket `h`; it may only live in the window
//!   `h, h+1, …, h+WINDOW-1` (mod the bucket count). Lookups always scan the whole window, so
//!   removal simply empties a bucket: no tombstones, no backward shifting, and a bucket index
//!   stored in a slot stays valid until that slot is released.
//! * Each occupied bucket holds a 32-bit tag (the hash's high half) and `slot << 1 | direction`;
//!   the full key is compared in the slot only when the tag matches.
//! * The bucket count is a power of two, at least `4 × capacity` (two keys per connection, so at
//!   most half the buckets are ever occupied) and at least `WINDOW`.

use strait_packet::FlowKey;
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Buckets scanned per key: 16 × 8 bytes = two cache lines.
pub(crate) const WINDOW: usize = 16;

/// Marks an empty bucket.
pub(crate) const EMPTY: u32 = u32::MAX;

/// One bucket: tag and `slot << 1 | direction`, or `EMPTY`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    pub(crate) tag: u32,
    pub(crate) entry: u32,
}

impl Bucket {
    pub(crate) const VACANT: Bucket = Bucket {
        tag: 0,
        entry: EMPTY,
    };

    pub(crate) const fn is_empty(self) -> bool {
        self.entry == EMPTY
    }
}

/// A key's hash, split into home bucket (before masking) and tag.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hashed {
    pub(crate) home: usize,
    pub(crate) tag: u32,
}

/// Hashes every field of `key` with `seed`.
pub(crate) fn hash_key(seed: u64, key: &FlowKey) -> Hashed {
    let mut b = [0u8; 38];
    b[..16].copy_from_slice(&key.src);
    b[16..32].copy_from_slice(&key.dst);
    b[32..34].copy_from_slice(&key.src_port.to_ne_bytes());
    b[34..36].copy_from_slice(&key.dst_port.to_ne_bytes());
    b[36] = key.proto;
    b[37] = key.family as u8;
    let h = xxh3_64_with_seed(&b, seed);
    Hashed {
        // Truncation intended: only the low bits select the bucket.
        home: h as usize,
        tag: (h >> 32) as u32,
    }
}

/// Number of buckets for `capacity` connections.
pub(crate) fn bucket_count(capacity: usize) -> usize {
    (capacity * 4).next_power_of_two().max(WINDOW)
}

/// Bucket indices of the window starting at `home`.
pub(crate) fn window(home: usize, mask: usize) -> impl Iterator<Item = usize> {
    (0..WINDOW).map(move |i| home.wrapping_add(i) & mask)
}
