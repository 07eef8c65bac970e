//! [`Received`]: a frame a receive burst hands out, with what the burst already read from
//! its mbuf's header.
//!
//! A burst reads every mbuf's header once, in its first pass (to show the frames to
//! `ahead`); by the time a frame reaches `f`, the pipeline has worked on the frames before
//! it, and the header's line (and its page's TLB entry) may have gone. So `Received` keeps
//! the four fields the fast path needs, and touches the header again only to write a
//! length that changed.
//!
//! # Invariants
//! * `data .. data + room` is the mbuf's buffer from the start of its data to its end, and
//!   `len <= room`, as read from the header (`buf_addr + data_off`, `buf_len - data_off`,
//!   `data_len`), which nothing changes while this value owns the mbuf.

use std::ptr::NonNull;

use dpdk_sys::rte_mbuf;

use crate::Mbuf;

/// A received frame and its mbuf. See the module documentation.
#[derive(Debug)]
pub struct Received<'p> {
    mbuf: Mbuf<'p>,
    data: NonNull<u8>,
    len: u16,
    room: u16,
    contiguous: bool,
}

/// The header fields of a received mbuf, read once by the burst's first pass.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Header {
    pub(crate) raw: NonNull<rte_mbuf>,
    data: NonNull<u8>,
    len: u16,
    room: u16,
    contiguous: bool,
}

impl Header {
    /// Reads the fields of `raw`'s header.
    ///
    /// # Safety
    /// `raw` is a valid mbuf.
    #[inline(always)]
    pub(crate) unsafe fn read(raw: NonNull<rte_mbuf>) -> Header {
        // SAFETY: valid (the caller's promise).
        let h = unsafe { raw.as_ref() };
        let off = usize::from(h.data_off);
        // SAFETY: buf_addr is the mbuf's buffer and data_off lies inside it (DPDK keeps
        // data_off <= buf_len), so the sum is inside the same allocation and not null.
        let data = unsafe { NonNull::new_unchecked(h.buf_addr.cast::<u8>().add(off)) };
        Header {
            raw,
            data,
            len: h.data_len,
            room: h.buf_len.saturating_sub(h.data_off),
            contiguous: h.nb_segs == 1,
        }
    }

    /// The frame's bytes.
    ///
    /// # Safety
    /// The mbuf is valid and nothing writes to it during `'a`.
    #[inline(always)]
    pub(crate) unsafe fn frame<'a>(&self) -> &'a [u8] {
        let len = usize::from(self.len.min(self.room));
        // SAFETY: `len` bytes from `data` lie inside the buffer (checked against `room`);
        // nothing writes them during 'a (the caller's promise).
        unsafe { std::slice::from_raw_parts(self.data.as_ptr(), len) }
    }

    /// Takes ownership of the mbuf.
    ///
    /// # Safety
    /// As [`Mbuf::from_raw`]: a valid, single-owner mbuf whose pool outlives `'p`, taken once.
    #[inline(always)]
    pub(crate) unsafe fn take<'p>(self) -> Received<'p> {
        Received {
            // SAFETY: the caller's promise.
            mbuf: unsafe { Mbuf::from_raw(self.raw) },
            data: self.data,
            len: self.len.min(self.room),
            room: self.room,
            contiguous: self.contiguous,
        }
    }
}

impl<'p> Received<'p> {
    /// Bytes of the frame (in this segment).
    #[inline(always)]
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True when the frame holds no data.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True for a frame in one segment (the only kind the data plane forwards).
    #[inline(always)]
    pub fn is_contiguous(&self) -> bool {
        self.contiguous
    }

    /// Bytes from the start of the frame to the end of the buffer: the most
    /// [`Received::set_len`] accepts.
    #[inline(always)]
    pub fn capacity(&self) -> usize {
        usize::from(self.room)
    }

    /// The buffer from the start of the frame to its end ([`Received::capacity`] bytes): a
    /// rewrite may grow the frame into it, then [`Received::set_len`].
    #[inline(always)]
    pub fn room_mut(&mut self) -> &mut [u8] {
        // SAFETY: the mbuf's buffer from its data on (invariants), owned through `&mut self`.
        unsafe { std::slice::from_raw_parts_mut(self.data.as_ptr(), usize::from(self.room)) }
    }

    /// Sets the frame's length; returns false, changing nothing, beyond
    /// [`Received::capacity`]. The header is written only if the length changes.
    #[inline(always)]
    pub fn set_len(&mut self, len: usize) -> bool {
        if len == usize::from(self.len) {
            return true;
        }
        if !self.mbuf.set_len(len) {
            return false;
        }
        self.len = u16::try_from(len).expect("set_len checked it against a u16 capacity");
        true
    }

    /// The mbuf, to send (its header holds the frame's length).
    #[inline(always)]
    pub fn into_mbuf(self) -> Mbuf<'p> {
        self.mbuf
    }
}

impl AsRef<[u8]> for Received<'_> {
    #[inline(always)]
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `len <= room` bytes of the owned buffer (invariants); the view borrows
        // `self`.
        unsafe { std::slice::from_raw_parts(self.data.as_ptr(), usize::from(self.len)) }
    }
}
