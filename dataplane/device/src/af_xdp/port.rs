//! [`AfXdpPort`]: one XSK socket and the frames of its UMEM. See the module documentation
//! of [`af_xdp`](super) for who owns a frame when; every `unsafe` block here moves a frame
//! from one owner to the next, or touches it while the port owns it.

use tracing::warn;
use xsk_rs::{CompQueue, FillQueue, FrameDesc, RxQueue, TxQueue, Umem};

use super::setup::Attempt;
use crate::{MIN_BUFFER, Port, PortStats, Verdict, XdpMode};

/// Descriptors taken off the rx or completion ring at a time.
const BATCH: usize = 64;

/// `flush` calls between two reads of the kernel's drop counters.
const STATS_EVERY: u32 = 1024;

/// `sendto` calls one copy-mode `flush` may make (the kernel sends a small batch per call).
const MAX_KICKS: usize = 64;

/// The UMEM and the four rings of one socket, as `xsk-rs` hands them out.
#[derive(Debug)]
pub(super) struct Rings {
    pub umem: Umem,
    pub fill: FillQueue,
    pub comp: CompQueue,
    pub tx: TxQueue,
    pub rx: RxQueue,
}

/// One `AF_XDP` socket bound to one receive queue, with its own UMEM and rings.
///
/// `rx_burst` lends each frame in place (3840-byte buffer); `Verdict::Tx(0)` counts as
/// `Drop`. `send` refuses (and counts in `tx_full`) an empty frame, one larger than a
/// buffer, or one that finds no free frame or no room on the tx ring. `rx_dropped` is
/// the kernel's `rx_dropped + rx_ring_full + rx_invalid_descs`, read every 1024 flushes.
///
/// `Send`: every part is (xsk-rs marks its ring handles `Send`, and all handles to this
/// socket's rings live in this value, so they move together). Not `Sync`, and needs none.
#[derive(Debug)]
pub struct AfXdpPort {
    rings: Rings,
    /// Frames the port owns and nobody uses.
    free: Vec<FrameDesc>,
    /// Slots for one batch off the rx or completion ring.
    scratch: Vec<FrameDesc>,
    tx_size: u32,
    /// Descriptors are on the tx ring that the kernel may not have been told about.
    queued: bool,
    attempt: Attempt,
    flushes: u32,
    kick_failed: bool,
    stats: PortStats,
}

const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<AfXdpPort>();
};

impl AfXdpPort {
    /// A port over freshly bound rings; `frames` are all of the UMEM's frames.
    pub(super) fn new(
        rings: Rings,
        frames: Vec<FrameDesc>,
        tx_size: u32,
        attempt: Attempt,
    ) -> AfXdpPort {
        let mut port = AfXdpPort {
            rings,
            free: frames,
            scratch: vec![FrameDesc::default(); BATCH],
            tx_size,
            queued: false,
            attempt,
            flushes: 0,
            kick_failed: false,
            stats: PortStats::default(),
        };
        port.refill();
        port
    }

    /// The XDP attach mode in use: `Native` or `Generic`, never `Auto`.
    pub fn mode(&self) -> XdpMode {
        self.attempt.mode
    }

    /// Whether the socket is bound in zero-copy mode (else the kernel copies each frame).
    pub fn zero_copy(&self) -> bool {
        self.attempt.zero_copy
    }

    /// Lends the received frame `desc` to `f`; returns the verdict, with `Tx(n)` clamped to
    /// the buffer and `desc`'s length set to `n`.
    fn lend<F>(&self, desc: &mut FrameDesc, f: &mut F) -> Verdict
    where
        F: FnMut(&mut [u8], usize) -> Verdict,
    {
        let len = desc.lengths().data();
        // SAFETY: `desc` just came off this socket's rx ring, so it names a frame of this
        // port's UMEM that the kernel has finished writing and given back; it is lent now,
        // and no other descriptor of that frame exists, so this view is the only access.
        let mut data = unsafe { self.rings.umem.data_mut(desc) };
        let mut cursor = data.cursor();
        let cap = cursor.buf_len();
        // Widen the view to the whole buffer: the closure may grow the frame.
        cursor.set_pos(cap);
        debug_assert!(cap >= MIN_BUFFER);
        let verdict = f(data.contents_mut(), len);
        match verdict {
            Verdict::Tx(n) if n > 0 => {
                data.cursor().set_pos(n);
                Verdict::Tx(n.min(cap))
            }
            _ => Verdict::Drop,
        }
    }

    /// Puts the port's frame `desc` on the tx ring, or back on the free stack if full.
    fn transmit(&mut self, desc: FrameDesc) -> bool {
        // SAFETY: the port owns `desc`'s frame (lent or free) and gives it to the kernel
        // here: on success it is nowhere else until the completion ring returns it; on
        // failure (0) the ring did not take it and it goes back on the free stack.
        if unsafe { self.rings.tx.produce_one(&desc) } == 1 {
            self.stats.tx += 1;
            self.queued = true;
            true
        } else {
            self.stats.tx_full += 1;
            self.free.push(desc);
            false
        }
    }

    /// Moves sent frames from the completion ring to the free stack.
    fn reclaim(&mut self) {
        loop {
            // SAFETY: the completion ring of this socket only returns frames this port put
            // on its tx ring, which belong to this UMEM; the kernel is done with them.
            let n = unsafe { self.rings.comp.consume(&mut self.scratch) };
            self.free.extend_from_slice(&self.scratch[..n]);
            if n < self.scratch.len() {
                break;
            }
        }
    }

    /// Hands free frames to the kernel until the fill ring is full.
    fn refill(&mut self) {
        let room = self.rings.fill.nb_free(self.free.len() as u32) as usize;
        let n = room.min(self.free.len());
        if n == 0 {
            return;
        }
        let start = self.free.len() - n;
        // SAFETY: frames on the free stack belong to this UMEM and to nobody else; the ones
        // produced are cut off the stack right below, so the port does not touch them again
        // until the rx ring returns them. `produce` takes all `n` or none (it reserves `n`
        // slots at once), so the truncation matches what the ring took.
        let given = unsafe { self.rings.fill.produce(&self.free[start..]) };
        self.free.truncate(self.free.len() - given);
    }

    /// Tells the kernel about queued tx descriptors.
    fn kick(&mut self) {
        if self.attempt.zero_copy {
            if self.rings.tx.needs_wakeup() {
                self.wakeup_tx();
            }
        } else {
            // Copy mode sends only inside `sendto`, a small batch per call: repeat while
            // that makes progress, reclaiming so the completion ring never stalls it.
            for _ in 0..MAX_KICKS {
                let before = self.rings.tx.nb_free_exact();
                if before == self.tx_size || !self.wakeup_tx() {
                    break;
                }
                self.reclaim();
                if self.rings.tx.nb_free_exact() == before {
                    break;
                }
            }
        }
        self.queued = self.rings.tx.nb_free_exact() < self.tx_size;
    }

    /// One `sendto(MSG_DONTWAIT)`; false (logged once) if it failed for a lasting reason.
    fn wakeup_tx(&mut self) -> bool {
        match self.rings.tx.wakeup() {
            Ok(()) => true,
            Err(e) => {
                if !self.kick_failed {
                    warn!(error = %e, "AF_XDP tx wakeup failed");
                    self.kick_failed = true;
                }
                false
            }
        }
    }

    /// Reads the kernel's counts of frames it dropped before the rx ring.
    fn refresh_rx_dropped(&mut self) {
        if let Ok(s) = self.rings.rx.fd().xdp_statistics() {
            self.stats.rx_dropped = s.rx_dropped() + s.rx_ring_full() + s.rx_invalid_descs();
        }
    }
}

impl Port for AfXdpPort {
    fn rx_burst<F>(&mut self, max: usize, mut f: F) -> usize
    where
        F: FnMut(&mut [u8], usize) -> Verdict,
    {
        self.rx_burst_ahead(max, &mut (), |_, _| {}, |_, buf, len| f(buf, len))
    }

    fn rx_burst_ahead<C, A, F>(&mut self, max: usize, cx: &mut C, mut ahead: A, mut f: F) -> usize
    where
        A: FnMut(&mut C, &[u8]),
        F: FnMut(&mut C, &mut [u8], usize) -> Verdict,
    {
        let mut received = 0;
        while received < max {
            let want = (max - received).min(BATCH);
            // SAFETY: the rx ring of this socket only returns frames of this UMEM that this
            // port put on its fill ring; from here on they are the port's.
            let n = unsafe { self.rings.rx.consume(&mut self.scratch[..want]) };
            for desc in &self.scratch[..n] {
                // SAFETY: as in `lend`: a frame the kernel has finished writing and given back,
                // owned by the port; this read-only view ends before the frame is lent.
                let data = unsafe { self.rings.umem.data(desc) };
                ahead(cx, data.contents());
            }
            for i in 0..n {
                let mut desc = self.scratch[i];
                // Rx options (multi-buffer flags, never set here) mean nothing on the tx ring.
                desc.set_options(0);
                match self.lend(&mut desc, &mut |buf: &mut [u8], len| f(cx, buf, len)) {
                    Verdict::Tx(_) => {
                        self.transmit(desc);
                    }
                    Verdict::Drop => self.free.push(desc),
                }
            }
            received += n;
            if n < want {
                break;
            }
        }
        self.stats.rx += received as u64;
        self.refill();
        received
    }

    fn send(&mut self, frame: &[u8]) -> bool {
        if self.free.is_empty() {
            self.reclaim();
        }
        let Some(mut desc) = self.free.pop() else {
            self.stats.tx_full += 1;
            return false;
        };
        {
            // SAFETY: `desc` was on the free stack: its frame belongs to this UMEM and
            // nobody else uses it, so this view is the only access.
            let mut data = unsafe { self.rings.umem.data_mut(&mut desc) };
            let mut cursor = data.cursor();
            if frame.is_empty() || frame.len() > cursor.buf_len() {
                self.free.push(desc);
                self.stats.tx_full += 1;
                return false;
            }
            cursor.set_pos(frame.len());
            data.contents_mut().copy_from_slice(frame);
        }
        self.transmit(desc)
    }

    fn flush(&mut self) {
        self.reclaim();
        if self.queued {
            self.kick();
        }
        self.refill();
        if self.rings.fill.needs_wakeup() {
            // A zero-copy driver that found the fill ring empty sleeps until polled.
            let Rings { fill, rx, .. } = &mut self.rings;
            let _ = fill.wakeup(rx.fd_mut(), 0);
        }
        self.flushes = self.flushes.wrapping_add(1);
        if self.flushes.is_multiple_of(STATS_EVERY) {
            self.refresh_rx_dropped();
        }
    }

    fn stats(&self) -> PortStats {
        self.stats
    }
}
