//! The bucket array: open addressing over a power-of-two array with a fixed probe window.
//!
//! # Invariants
//! * A key hashes ([`KeyHasher`], keyed per table) to a home bucket `h` below the home count (a
//!   power of two); it may only live in the window `h, h+1, …, h+WINDOW-1`. The array has
//!   `WINDOW - 1` buckets past the last home, so a window never wraps: it is one run of the
//!   array, read as one fixed-size slice. Lookups always scan the whole window, so
//!   removal simply empties a bucket: no tombstones, no backward shifting, and a bucket index
//!   stored in a slot stays valid until that slot is released.
//! * Each occupied bucket holds a 32-bit tag (the hash's high half) and `slot << 1 | direction`;
//!   the full key is compared in the slot only when the tag matches.
//! * The home count is a power of two, at least `4 × capacity` (two keys per connection, so at
//!   most half the buckets are ever occupied); a table whose `4 × capacity` buckets fit in one
//!   window has a single home, so every key shares that window.

use strait_packet::FlowKey;

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

    /// True if the bucket is occupied with `tag` (a vacant bucket has tag 0, so the tag alone
    /// does not tell).
    pub(crate) const fn carries(self, tag: u32) -> bool {
        self.tag == tag && !self.is_empty()
    }
}

/// A key's hash, split into home bucket (before masking) and tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hashed {
    pub(crate) home: usize,
    pub(crate) tag: u32,
}

/// The table's keyed hash of a [`FlowKey`]: a folded multiply (as in foldhash) over the key's
/// five 64-bit words, each mixed with its own per-table key derived from the seed. Every field
/// takes part; without the seed a client cannot tell which window its keys land in. About
/// twenty instructions, a third of xxh3 over the same 38 bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyHasher {
    k: [u64; 6],
}

/// splitmix64: spreads a seed into independent 64-bit keys.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The 128-bit product of `a` and `b`, folded to 64 bits.
#[inline(always)]
fn fold(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    // Truncation intended: the low and high halves are combined.
    (p as u64) ^ ((p >> 64) as u64)
}

#[inline(always)]
fn word(b: &[u8; 16], half: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[half * 8..half * 8 + 8]);
    u64::from_le_bytes(w)
}

impl KeyHasher {
    pub(crate) fn new(seed: u64) -> KeyHasher {
        let mut state = seed;
        KeyHasher {
            k: core::array::from_fn(|_| splitmix(&mut state)),
        }
    }

    /// Hashes every field of `key`.
    #[inline]
    pub(crate) fn hash(&self, key: &FlowKey) -> Hashed {
        let k = &self.k;
        let rest = u64::from(key.src_port)
            | u64::from(key.dst_port) << 16
            | u64::from(key.proto) << 32
            | u64::from(key.family as u8) << 40;
        let a = fold(word(&key.src, 0) ^ k[0], word(&key.src, 1) ^ k[1]);
        let b = fold(word(&key.dst, 0) ^ k[2], word(&key.dst, 1) ^ k[3]);
        let h = fold(a ^ rest ^ k[4], b ^ k[5]);
        Hashed {
            // Truncation intended: only the low bits select the bucket.
            home: h as usize,
            tag: (h >> 32) as u32,
        }
    }
}

/// Number of home buckets for `capacity` connections (the array holds `WINDOW - 1` more).
pub(crate) fn home_count(capacity: usize) -> usize {
    match capacity * 4 {
        n if n <= WINDOW => 1,
        n => n.next_power_of_two(),
    }
}

/// Bucket indices of the window starting at home `start` (already masked).
pub(crate) fn window(start: usize) -> core::ops::Range<usize> {
    start..start + WINDOW
}
