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
#![no_std]

/// Asks the CPU to bring the cache line holding the start of `value` into every cache level,
/// for reading. Returns at once; see the module documentation.
#[inline(always)]
pub fn prefetch<T: ?Sized>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let p = core::ptr::from_ref(value).cast::<i8>();
        // SAFETY: `_mm_prefetch` needs SSE, which every x86_64 CPU has (it is in the x86_64
        // baseline the target is built for). A prefetch is a hint that never faults and never
        // reads into a value the program sees, and `p` comes from a live reference anyway.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// [`prefetch`] of the cache lines holding `values[0]` and the last element: a short run of
/// records (up to two cache lines long) that may straddle a line boundary.
#[inline(always)]
pub fn prefetch_run<T>(values: &[T]) {
    if let (Some(first), Some(last)) = (values.first(), values.last()) {
        prefetch(first);
        prefetch(last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefetching_changes_nothing() {
        let v: [u64; 64] = core::array::from_fn(|i| i as u64 * 3);
        prefetch(&v[17]);
        prefetch_run(&v[3..20]);
        prefetch_run::<u64>(&[]);
        prefetch("a str");
        assert!(v.iter().enumerate().all(|(i, &x)| x == i as u64 * 3));
    }
}
