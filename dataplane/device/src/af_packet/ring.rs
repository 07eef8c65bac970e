//! The two TPACKET_V2 rings of one socket: the shared mapping, and the status-word protocol
//! that says who owns each frame.
//!
//! # Layout
//! One `mmap` of the socket holds the RX ring, then the TX ring; inside a ring, frames lie back
//! to back (see `layout.rs`).
//!
//! # Ownership
//! The first word of each frame, `tp_status`, is the only memory both sides touch concurrently,
//! and always atomically. It says whose the rest of the frame is:
//! * RX, `TP_STATUS_USER` set: ours. We load it with Acquire (so the kernel's writes to the
//!   header and data are visible), read and rewrite the frame in place, then store
//!   `TP_STATUS_KERNEL` with Release (so our accesses finish before the kernel refills it).
//!   While we hold a frame the kernel still reads its status word, nothing else.
//! * TX, `TP_STATUS_AVAILABLE`: ours. We write data and `tp_len`, then store
//!   `TP_STATUS_SEND_REQUEST` with Release. The frame is the kernel's until it stores
//!   `TP_STATUS_AVAILABLE` again (`TP_STATUS_SENDING` in between), after a `send` kick.
//! * Both rings are walked strictly in order from a head index, as the kernel walks them: a
//!   head frame that is not ours means the RX ring is empty or the TX ring is full. Skipping a
//!   TX frame would stall the kernel's walk, so [`Tx::push`] never does.
//!
//! [`Rings`] owns the mapping; the frame handles it lends ([`RxFrame`], [`Tx`]) borrow it
//! mutably, so at most one RX frame is held at a time and the mapping outlives every slice.

use std::{
    io,
    os::fd::BorrowedFd,
    ptr::{self, NonNull},
    slice,
    sync::atomic::{AtomicU32, Ordering},
};

use libc::{
    TP_STATUS_AVAILABLE, TP_STATUS_KERNEL, TP_STATUS_SEND_REQUEST, TP_STATUS_USER, tpacket2_hdr,
};
use rustix::mm::{self, MapFlags, ProtFlags};

use super::layout::{FRAME_SIZE, Geometry, RX_DATA, TX_CAPACITY, TX_DATA};

/// A head index walking one ring of the mapping.
#[derive(Debug)]
struct Cursor {
    base: NonNull<u8>,
    mask: usize,
    head: usize,
}

impl Cursor {
    /// The frame at the head; then moves the head on.
    fn take(&mut self) -> NonNull<u8> {
        // SAFETY: `head <= mask`, and the ring has `mask + 1` frames from `base`, all inside
        // the mapping (see `Rings::map`), so the offset stays in bounds.
        let frame = unsafe { self.base.add(self.head * FRAME_SIZE) };
        self.head = (self.head + 1) & self.mask;
        frame
    }

    /// The frame at the head, without moving.
    fn peek(&self) -> NonNull<u8> {
        // SAFETY: as in `take`.
        unsafe { self.base.add(self.head * FRAME_SIZE) }
    }
}

/// The status word at the start of `frame`.
///
/// # Safety
/// `frame` must be the start of a ring frame in a mapping that outlives `'a`.
unsafe fn status_word<'a>(frame: NonNull<u8>) -> &'a AtomicU32 {
    // SAFETY: the frame start is page aligned, so aligned for `AtomicU32`, and valid for `'a`
    // (the caller's promise); the kernel accesses this word only with single aligned 32-bit
    // loads and stores (READ_ONCE/WRITE_ONCE and barriers), never as part of a wider access.
    unsafe { AtomicU32::from_ptr(frame.as_ptr().cast()) }
}

/// The RX and TX rings of one socket, mapped. Unmapped on drop.
#[derive(Debug)]
pub(super) struct Rings {
    rx: Cursor,
    tx: Cursor,
    map: NonNull<u8>,
    len: usize,
}

// SAFETY: `Rings` owns its mapping outright (nothing else in the process points into it) and
// holds no thread-bound state; the kernel does not care which thread walks the rings. It is
// not `Sync`: every access goes through `&mut self`.
unsafe impl Send for Rings {}

impl Rings {
    /// Maps the rings that `fd` has set up with `rx` and `tx`.
    pub(super) fn map(fd: BorrowedFd<'_>, rx: Geometry, tx: Geometry) -> io::Result<Rings> {
        let len = rx.bytes() + tx.bytes();
        let prot = ProtFlags::READ | ProtFlags::WRITE;
        // SAFETY: with a null hint the kernel picks fresh addresses that alias no Rust object;
        // `len` is exactly the size of the two rings, as the kernel requires for this mapping.
        let ptr = unsafe { mm::mmap(ptr::null_mut(), len, prot, MapFlags::SHARED, fd, 0)? };
        let map = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("null map"))?;
        // SAFETY: the RX ring takes the first `rx.bytes()` of the `len` mapped bytes.
        let tx_base = unsafe { map.add(rx.bytes()) };
        let cursor = |base, ring: Geometry| Cursor {
            base,
            mask: ring.frames() as usize - 1,
            head: 0,
        };
        Ok(Rings {
            rx: cursor(map, rx),
            tx: cursor(tx_base, tx),
            map,
            len,
        })
    }

    /// The next received frame, if the kernel has handed one over, with the TX ring to answer
    /// from. The frame goes back to the kernel when the [`RxFrame`] drops.
    pub(super) fn next_rx(&mut self) -> Option<(RxFrame<'_>, Tx<'_>)> {
        // SAFETY: a frame start in our mapping, which outlives the `&mut self` borrow.
        let word = unsafe { status_word(self.rx.peek()) };
        let status = word.load(Ordering::Acquire);
        if status & TP_STATUS_USER == 0 {
            return None;
        }
        let frame = self.rx.take();
        let hdr = frame.as_ptr().cast::<tpacket2_hdr>();
        // SAFETY: the header lies inside the frame and is aligned (page-aligned start); the
        // Acquire load above saw TP_STATUS_USER, so the kernel finished writing it and will
        // not write it again until we store TP_STATUS_KERNEL. Each field is read by value.
        let (snaplen, mac, vlan_tci, vlan_tpid) = unsafe {
            (
                (*hdr).tp_snaplen,
                (*hdr).tp_mac,
                (*hdr).tp_vlan_tci,
                (*hdr).tp_vlan_tpid,
            )
        };
        // SAFETY: bytes `RX_DATA..FRAME_SIZE` of a frame we own are touched by nobody else
        // until the frame is released (the kernel only reads its status word, which lies
        // before `RX_DATA`). The slice borrows `self` mutably, so no second one can exist.
        let data =
            unsafe { slice::from_raw_parts_mut(frame.as_ptr().add(RX_DATA), FRAME_SIZE - RX_DATA) };
        let rx = RxFrame {
            status,
            snaplen: snaplen as usize,
            mac: usize::from(mac).saturating_sub(RX_DATA),
            vlan_tci,
            vlan_tpid,
            data,
            word,
        };
        Some((rx, Tx(&mut self.tx)))
    }

    /// The TX ring, to queue frames on.
    pub(super) fn tx(&mut self) -> Tx<'_> {
        Tx(&mut self.tx)
    }
}

impl Drop for Rings {
    fn drop(&mut self) {
        // SAFETY: `map`/`len` are exactly the mapping made in `map`, and every slice into it
        // borrowed `self`, so none outlives this call.
        let _ = unsafe { mm::munmap(self.map.as_ptr().cast(), self.len) };
    }
}

/// A received frame we own, handed back to the kernel on drop.
#[derive(Debug)]
pub(super) struct RxFrame<'a> {
    /// The frame's `tp_status` (flags such as `TP_STATUS_VLAN_VALID`, `TP_STATUS_COPY`).
    pub(super) status: u32,
    /// Bytes of the frame captured (`tp_snaplen`).
    pub(super) snaplen: usize,
    /// Where the MAC header starts in `data`.
    pub(super) mac: usize,
    /// `tp_vlan_tci`, meaningful with `TP_STATUS_VLAN_VALID`.
    pub(super) vlan_tci: u16,
    /// `tp_vlan_tpid`, meaningful with `TP_STATUS_VLAN_TPID_VALID`.
    pub(super) vlan_tpid: u16,
    /// The frame from [`RX_DATA`] to its end: headroom, then the captured bytes at `mac`.
    pub(super) data: &'a mut [u8],
    word: &'a AtomicU32,
}

impl Drop for RxFrame<'_> {
    fn drop(&mut self) {
        self.word.store(TP_STATUS_KERNEL, Ordering::Release);
    }
}

/// The TX ring, lent to queue frames on.
#[derive(Debug)]
pub(super) struct Tx<'a>(&'a mut Cursor);

impl Tx<'_> {
    /// Copies `bytes` into the next TX frame and marks it for sending. False if that frame is
    /// still the kernel's (the ring is full) or `bytes` is longer than [`TX_CAPACITY`].
    pub(super) fn push(&mut self, bytes: &[u8]) -> bool {
        if bytes.len() > TX_CAPACITY {
            return false;
        }
        // SAFETY: a frame start in the mapping, which outlives the borrow this `Tx` holds.
        let word = unsafe { status_word(self.0.peek()) };
        if word.load(Ordering::Acquire) != TP_STATUS_AVAILABLE {
            return false;
        }
        let frame = self.0.take();
        // SAFETY: TP_STATUS_AVAILABLE (Acquire) means the kernel is done with this frame and
        // reads nothing of it before it sees TP_STATUS_SEND_REQUEST; `tp_len` lies in the
        // header, and `TX_DATA + bytes.len() <= FRAME_SIZE` keeps the copy in the frame.
        // `bytes` cannot overlap it: TX frames are never lent out.
        unsafe {
            (*frame.as_ptr().cast::<tpacket2_hdr>()).tp_len = bytes.len() as u32;
            let data = frame.as_ptr().add(TX_DATA);
            ptr::copy_nonoverlapping(bytes.as_ptr(), data, bytes.len());
        }
        word.store(TP_STATUS_SEND_REQUEST, Ordering::Release);
        true
    }
}
