//! Tables far larger than the TLB reaches, on huge pages.
//!
//! The connection table of a worker spans tens of MiB. On 4 KiB pages a lookup at a high flow
//! count misses the TLB as well as the caches, and the page walk it waits for is a second
//! dependent miss. [`huge_vec`] asks the kernel for transparent huge pages (2 MiB on x86_64)
//! for a vector's memory before anything is written to it, so that the pages are huge from
//! their first fault on and a few dozen TLB entries cover the whole table.
//!
//! # Invariants
//! * Advice only: where the kernel has no transparent huge pages, refuses the advice, or has
//!   no huge page free, the vector is an ordinary one. Its contents never depend on it.
//! * The advice covers only whole pages inside the vector's own, not yet written, allocation.

use core::mem::MaybeUninit;

/// A transparent huge page on x86_64; a vector smaller than one is not advised (it could
/// not fill one).
pub const HUGE_PAGE: usize = 2 << 20;

/// A vector of `n` clones of `value` whose memory the kernel is asked to back with huge pages;
/// see the module documentation.
pub fn huge_vec<T: Clone>(value: T, n: usize) -> Vec<T> {
    let mut v = Vec::with_capacity(n);
    advise_huge(&mut v.spare_capacity_mut()[..n]);
    v.resize(n, value);
    v
}

#[cfg(target_os = "linux")]
fn advise_huge<T>(memory: &mut [MaybeUninit<T>]) {
    const PAGE: usize = 4096;
    let bytes = core::mem::size_of_val(memory);
    if bytes < HUGE_PAGE {
        return;
    }
    let start = memory.as_mut_ptr().cast::<u8>();
    let skip = start.align_offset(PAGE);
    let len = (bytes - skip) / PAGE * PAGE;
    // SAFETY: [start + skip, start + skip + len) lies inside `memory`, which this function
    // borrows exclusively and which holds no value yet. MADV_HUGEPAGE only changes how the
    // kernel backs those pages (it neither moves nor clears memory); an error (no THP, EINVAL)
    // leaves the range as it was, so it is ignored.
    let _ = unsafe {
        rustix::mm::madvise(
            start.wrapping_add(skip).cast(),
            len,
            rustix::mm::Advice::LinuxHugepage,
        )
    };
}

#[cfg(not(target_os = "linux"))]
fn advise_huge<T>(_memory: &mut [MaybeUninit<T>]) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_vector_holds_what_an_ordinary_one_does() {
        for n in [0, 1, 1000, 3 << 20] {
            let v = huge_vec(7u32, n);
            assert_eq!(v.len(), n);
            assert!(v.iter().all(|&x| x == 7));
        }
        let v = huge_vec(String::from("slot"), 3);
        assert_eq!(v, ["slot", "slot", "slot"]);
    }

    /// Where the kernel gives transparent huge pages on advice, a table of 16 MiB gets some.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_kernel_backs_a_large_table_with_huge_pages() {
        let mode = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
            .unwrap_or_default();
        let v = huge_vec(1u64, 2 << 20);
        let start = v.as_ptr() as usize;
        let huge_kib = anon_huge_kib(start..start + core::mem::size_of_val(&v[..]));
        if mode.contains("[never]") || mode.is_empty() {
            eprintln!("transparent huge pages are off here ({mode:?}): only the contents count");
            assert_eq!(v.iter().sum::<u64>(), 2 << 20);
            return;
        }
        assert!(
            huge_kib >= 2048,
            "THP mode {mode:?}, yet the table has {huge_kib} KiB on huge pages"
        );
    }

    /// AnonHugePages of the mappings overlapping `range`, from /proc/self/smaps (the advice
    /// splits the allocation's mapping at its first and last whole page).
    #[cfg(target_os = "linux")]
    fn anon_huge_kib(range: core::ops::Range<usize>) -> u64 {
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
        let (mut inside, mut kib) = (false, 0);
        for line in smaps.lines() {
            let first = line.split_whitespace().next().unwrap_or("");
            if let Some((lo, hi)) = first.split_once('-')
                && let (Ok(lo), Ok(hi)) =
                    (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
            {
                inside = lo < range.end && range.start < hi;
            } else if inside && let Some(size) = line.strip_prefix("AnonHugePages:") {
                kib += size
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .expect("a size");
            }
        }
        kib
    }
}
