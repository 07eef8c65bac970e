//! CPU instructions the language gives no safe form of, behind safe functions.
//!
//! The fast path's cost at a high flow count is cache misses on tables that are far larger than
//! the caches (the connection table's buckets and slots). A prefetch asks the CPU to start
//! loading a line early; unlike a load it retires at once, so a burst can ask for the lines
//! of all its frames and then find them in cache.
//!
//! # Invariants
//! * A prefetch is a hint: it never faults, never changes memory, and never changes what any
//!   later load returns; only timing. Taking a reference makes the address valid anyway.
//! * On targets without a prefetch instruction the functions do nothing.
//!
//! [`huge_vec`] (module [`huge`]) is the other half of the same cost: it puts such a table on
//! huge pages, so the TLB covers it.

pub mod huge;

pub use huge::huge_vec;

/// A cache line's size on the targets Strait runs on.
pub const CACHE_LINE: usize = 64;

/// Asks the CPU to bring the cache line holding the start of `value` into every cache level,
/// for reading. Returns at once; see the module documentation.
#[inline(always)]
pub fn prefetch<T: ?Sized>(value: &T) {
    prefetch_at(core::ptr::from_ref(value).cast::<u8>());
}

/// [`prefetch`] of every cache line `value` occupies (a record larger than a line, or one
/// that straddles two).
#[inline(always)]
pub fn prefetch_whole<T>(value: &T) {
    let p = core::ptr::from_ref(value).cast::<u8>();
    let size = core::mem::size_of::<T>();
    let mut at = 0;
    while at < size {
        prefetch_at(p.wrapping_add(at));
        at += CACHE_LINE;
    }
    // A record aligned to a line and a whole number of lines long ends on the last line the
    // loop fetched: no last-byte prefetch (decided at compile time).
    let whole_lines = core::mem::align_of::<T>().is_multiple_of(CACHE_LINE);
    if size > 0 && !whole_lines {
        prefetch_at(p.wrapping_add(size - 1));
    }
}

#[inline(always)]
fn prefetch_at(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: `_mm_prefetch` needs SSE, which every x86_64 CPU has (it is in the x86_64
        // baseline the target is built for). A prefetch is a hint that never faults and never
        // reads into a value the program sees; the callers' addresses lie inside a live
        // reference anyway.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefetching_changes_nothing() {
        let v: [u64; 64] = core::array::from_fn(|i| i as u64 * 3);
        prefetch(&v[17]);
        prefetch("a str");
        prefetch_whole(&v);
        prefetch_whole(&());
        assert!(v.iter().enumerate().all(|(i, &x)| x == i as u64 * 3));
    }
}
