//! A few frames the pipeline wants sent (ARP/ND requests), in fixed storage.
//!
//! # Invariants
//! * Holds at most [`CAPACITY`] frames; a push beyond that is refused (the request is retried
//!   by a later packet), so the outbox never allocates.

use crate::discovery::REQUEST_FRAME;

/// Frames an outbox holds.
pub const CAPACITY: usize = 16;

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Outbox {
    frames: [[u8; REQUEST_FRAME]; CAPACITY],
    lens: [usize; CAPACITY],
    len: usize,
}

impl Default for Outbox {
    fn default() -> Self {
        Outbox {
            frames: [[0; REQUEST_FRAME]; CAPACITY],
            lens: [0; CAPACITY],
            len: 0,
        }
    }
}

impl Outbox {
    /// Writes a frame with `build` into the next free slot; false if the outbox is full.
    pub(crate) fn push(&mut self, build: impl FnOnce(&mut [u8; REQUEST_FRAME]) -> usize) -> bool {
        if self.len == CAPACITY {
            return false;
        }
        let n = build(&mut self.frames[self.len]);
        self.lens[self.len] = n.min(REQUEST_FRAME);
        self.len += 1;
        true
    }

    /// True if there is room for another frame.
    pub(crate) fn has_room(&self) -> bool {
        self.len < CAPACITY
    }

    pub(crate) fn drain(&mut self, mut send: impl FnMut(&[u8])) {
        for i in 0..self.len {
            send(&self.frames[i][..self.lens[i]]);
        }
        self.len = 0;
    }
}
