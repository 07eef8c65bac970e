//! [`Mempool`]: a pool of packet buffers.

use std::{ffi::CString, ptr::NonNull};

use dpdk_sys::rte_mempool;

use crate::{DpdkError, Eal, Mbuf, error};

/// Bytes of packet room per mbuf after the headroom: a 1518-byte VLAN frame plus
/// encapsulation headroom fits in one segment.
pub const DATA_ROOM: u16 = 2048;

/// Bytes of private area between an mbuf's header and its buffer (none).
const PRIV_SIZE: u16 = 0;

/// Bytes from the start of an mbuf of any pool made here to where a frame received into it
/// starts (`data_off` at its default): the header, the private area, DPDK's headroom. Drivers
/// fill received buffers there and Strait sends frames in place, so a prefetch of it is right
/// whenever `data_off` is the headroom. Always inside the mbuf's element: its buffer
/// (headroom and [`DATA_ROOM`]) follows the header.
pub(crate) const DATA_HINT: usize = std::mem::size_of::<dpdk_sys::rte_mbuf>()
    + PRIV_SIZE as usize
    + dpdk_sys::RTE_PKTMBUF_HEADROOM as usize;

/// A pktmbuf mempool; freed when dropped (after every mbuf taken from it is gone: mbufs
/// borrow their pool).
#[derive(Debug)]
pub struct Mempool {
    raw: NonNull<rte_mempool>,
    name: String,
    _eal: Eal,
}

// SAFETY: DPDK mempools are safe to use from any thread (multi-producer/consumer ring, and
// a per-lcore cache only touched by its own lcore).
unsafe impl Send for Mempool {}
// SAFETY: as above; `&Mempool` only allocates and reads counters.
unsafe impl Sync for Mempool {}

impl Mempool {
    /// Creates a pool of `mbufs` buffers with a per-lcore cache of `cache`, on NUMA
    /// `socket` (`-1`: any).
    pub fn new(
        eal: &Eal,
        name: &str,
        mbufs: u32,
        cache: u32,
        socket: i32,
    ) -> Result<Self, DpdkError> {
        let fail = |reason: String| DpdkError::Mempool {
            name: name.to_owned(),
            mbufs,
            reason,
        };
        let cname = CString::new(name).map_err(|_| fail("the name holds a NUL byte".into()))?;
        let room =
            DATA_ROOM + u16::try_from(dpdk_sys::RTE_PKTMBUF_HEADROOM).expect("small headroom");
        // SAFETY: the EAL runs (`eal`); the name is NUL-terminated and copied by DPDK.
        let raw = unsafe {
            dpdk_sys::rte_pktmbuf_pool_create(cname.as_ptr(), mbufs, cache, PRIV_SIZE, room, socket)
        };
        let raw = NonNull::new(raw).ok_or_else(|| fail(error::strerror(error::rte_errno())))?;
        Ok(Mempool {
            raw,
            name: name.to_owned(),
            _eal: eal.clone(),
        })
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Takes a buffer (empty, `DATA_ROOM` bytes of capacity), or `None` if the pool is dry.
    pub fn alloc(&self) -> Option<Mbuf<'_>> {
        // SAFETY: the pool is valid for `&self`.
        let raw = unsafe { dpdk_sys::strait_rte_pktmbuf_alloc(self.raw.as_ptr()) };
        // SAFETY: a fresh mbuf, owned by the caller; it borrows `self`, its pool.
        NonNull::new(raw).map(|raw| unsafe { Mbuf::from_raw(raw) })
    }

    /// Buffers free in the pool (including per-lcore caches).
    pub fn available(&self) -> u32 {
        // SAFETY: reads counters of a valid pool.
        unsafe { dpdk_sys::rte_mempool_avail_count(self.raw.as_ptr()) }
    }

    /// Buffers taken from the pool.
    pub fn in_use(&self) -> u32 {
        // SAFETY: reads counters of a valid pool.
        unsafe { dpdk_sys::rte_mempool_in_use_count(self.raw.as_ptr()) }
    }

    pub(crate) fn as_ptr(&self) -> *mut rte_mempool {
        self.raw.as_ptr()
    }
}

impl Drop for Mempool {
    fn drop(&mut self) {
        // SAFETY: no mbuf of this pool is alive (mbufs borrow the pool, and ports that use
        // it hold it until they are closed).
        unsafe { dpdk_sys::rte_mempool_free(self.raw.as_ptr()) }
    }
}
