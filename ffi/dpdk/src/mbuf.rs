//! [`Mbuf`]: one owned, single-segment packet buffer.
//!
//! # Invariants
//! * An `Mbuf` owns its `rte_mbuf` exclusively: it is freed exactly once, on drop, unless
//!   handed back to DPDK with [`Mbuf::into_raw`].
//! * The lifetime `'p` is a borrow of whatever keeps the mbuf's mempool alive (a queue or a
//!   mempool), so no mbuf outlives its pool.
//! * The data views stay inside `buf_addr[data_off .. buf_len]`.

use std::{marker::PhantomData, ptr::NonNull};

use crate::mempool::DATA_HINT;
use dpdk_sys::rte_mbuf;

/// An owned packet buffer. See the module documentation.
#[derive(Debug)]
#[repr(transparent)]
pub struct Mbuf<'p> {
    raw: NonNull<rte_mbuf>,
    _pool: PhantomData<&'p ()>,
}

// SAFETY: an mbuf is plain memory owned by this value; freeing it to its mempool is
// thread-safe in DPDK (the mempool's ring is multi-producer).
unsafe impl Send for Mbuf<'_> {}

impl Mbuf<'_> {
    /// Takes ownership of a raw mbuf.
    ///
    /// # Safety
    /// `raw` is a valid, single-owner mbuf whose mempool outlives `'p`.
    pub(crate) unsafe fn from_raw(raw: NonNull<rte_mbuf>) -> Self {
        Mbuf {
            raw,
            _pool: PhantomData,
        }
    }

    /// Gives ownership back to DPDK (a transmit call frees it).
    pub(crate) fn into_raw(self) -> *mut rte_mbuf {
        let raw = self.raw.as_ptr();
        std::mem::forget(self);
        raw
    }

    fn header(&self) -> &rte_mbuf {
        // SAFETY: `raw` is valid and owned (invariants).
        unsafe { self.raw.as_ref() }
    }

    /// Bytes of packet data in this segment.
    pub fn len(&self) -> usize {
        usize::from(self.header().data_len)
    }

    /// True when the segment holds no data.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True for a packet in one segment (the only kind the data plane forwards).
    pub fn is_contiguous(&self) -> bool {
        self.header().nb_segs == 1
    }

    /// Bytes from the start of the data to the end of the buffer: the most
    /// [`Mbuf::set_len`] accepts.
    pub fn capacity(&self) -> usize {
        let h = self.header();
        usize::from(h.buf_len).saturating_sub(usize::from(h.data_off))
    }

    /// The buffer from the start of the data to its end (`capacity` bytes): a rewrite may
    /// grow the packet into it, then [`Mbuf::set_len`].
    pub fn room_mut(&mut self) -> &mut [u8] {
        let cap = self.capacity();
        let h = self.header();
        // SAFETY: buf_addr[data_off .. buf_len] is this mbuf's buffer (invariants), owned
        // through `&mut self`.
        unsafe {
            let start = h.buf_addr.cast::<u8>().add(usize::from(h.data_off));
            std::slice::from_raw_parts_mut(start, cap)
        }
    }

    /// Sets the packet length (one segment); returns false, changing nothing, beyond
    /// [`Mbuf::capacity`].
    pub fn set_len(&mut self, len: usize) -> bool {
        let Ok(len16) = u16::try_from(len) else {
            return false;
        };
        if len > self.capacity() {
            return false;
        }
        // SAFETY: owned through `&mut self`.
        let h = unsafe { self.raw.as_mut() };
        h.data_len = len16;
        h.pkt_len = u32::from(len16);
        true
    }
}

impl AsRef<[u8]> for Mbuf<'_> {
    fn as_ref(&self) -> &[u8] {
        let h = self.header();
        // SAFETY: data_len bytes from data_off lie inside the buffer (DPDK sets both).
        unsafe {
            let start = h.buf_addr.cast::<u8>().add(usize::from(h.data_off));
            std::slice::from_raw_parts(start, usize::from(h.data_len))
        }
    }
}

/// Asks for the cache lines of `raw` that receiving a frame reads first: the header's
/// first line (`buf_addr`, `data_off`, `data_len`, `nb_segs`, `buf_len`; nothing on the
/// fast path reads the second) and the line [`DATA_HINT`] bytes from the mbuf, where its
/// frame starts. Only timing changes.
///
/// # Safety
/// `raw` is a valid mbuf of a pool made by [`Mempool::new`](crate::Mempool::new), so that
/// `raw + DATA_HINT` lies inside its mempool element.
#[inline(always)]
pub(crate) unsafe fn prefetch(raw: NonNull<rte_mbuf>) {
    // SAFETY: valid (the caller's promise).
    strait_cpu::prefetch(unsafe { raw.as_ref() });
    // SAFETY: inside the mbuf's element (the caller's promise); DPDK memory is mapped and
    // initialised, and the reference is only used for its address.
    strait_cpu::prefetch(unsafe { &*raw.as_ptr().cast::<u8>().add(DATA_HINT) });
}

impl AsMut<[u8]> for Mbuf<'_> {
    fn as_mut(&mut self) -> &mut [u8] {
        let len = self.len();
        &mut self.room_mut()[..len]
    }
}

impl Drop for Mbuf<'_> {
    fn drop(&mut self) {
        // SAFETY: owned (invariants), freed once here.
        unsafe { dpdk_sys::strait_rte_pktmbuf_free(self.raw.as_ptr()) }
    }
}
