//! Cross-worker hand-off of frames: a full mesh of bounded lock-free SPSC rings.
//!
//! A worker that receives a frame of a flow another worker owns copies it into a buffer and
//! pushes it on its ring to that worker; the owner processes it and pushes the empty buffer
//! back on the return ring. Every buffer is allocated once, at start.
//!
//! # Invariants
//! * For each ordered pair `(i, j)`, `i != j`, there is one data ring `i → j` and one return
//!   ring `j → i`, each with one producer and one consumer thread: `rtrb` rings, no locks.
//! * Buffers circulate: `i`'s free stack for `j` → data ring → `j` → return ring → `i`. At most
//!   [`RING`] buffers exist per pair, so a slow owner makes the sender drop (counted), never
//!   allocate or block.

use rtrb::{Consumer, Producer, RingBuffer};
use strait_device::MIN_BUFFER;

/// Buffers (and ring slots) per ordered pair of workers.
pub const RING: usize = 256;

/// One frame in flight between workers.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) len: usize,
    pub(crate) bytes: Box<[u8]>,
}

/// One worker's ends of the mesh.
#[derive(Debug)]
pub(crate) struct Handoff {
    /// Indexed by peer worker; `None` for this worker itself.
    out: Vec<Option<Outgoing>>,
    inc: Vec<Option<Incoming>>,
}

#[derive(Debug)]
struct Outgoing {
    data: Producer<Slot>,
    returned: Consumer<Slot>,
    free: Vec<Slot>,
}

#[derive(Debug)]
struct Incoming {
    data: Consumer<Slot>,
    returned: Producer<Slot>,
}

/// Builds the mesh for `workers` workers: element `i` belongs to worker `i`.
pub(crate) fn mesh(workers: usize) -> Vec<Handoff> {
    let mut ends: Vec<Handoff> = (0..workers)
        .map(|_| Handoff {
            out: (0..workers).map(|_| None).collect(),
            inc: (0..workers).map(|_| None).collect(),
        })
        .collect();
    for i in 0..workers {
        for j in 0..workers {
            if i == j {
                continue;
            }
            let (data_tx, data_rx) = RingBuffer::new(RING);
            let (ret_tx, ret_rx) = RingBuffer::new(RING);
            let free = (0..RING)
                .map(|_| Slot {
                    len: 0,
                    bytes: vec![0; MIN_BUFFER].into_boxed_slice(),
                })
                .collect();
            ends[i].out[j] = Some(Outgoing {
                data: data_tx,
                returned: ret_rx,
                free,
            });
            ends[j].inc[i] = Some(Incoming {
                data: data_rx,
                returned: ret_tx,
            });
        }
    }
    ends
}

impl Handoff {
    /// Copies `frame` to worker `to`. False if no buffer is free (the owner is behind) or `to`
    /// is not a peer: the caller counts the drop.
    pub(crate) fn send(&mut self, to: usize, frame: &[u8]) -> bool {
        let Some(Some(out)) = self.out.get_mut(to) else {
            return false;
        };
        while let Ok(slot) = out.returned.pop() {
            out.free.push(slot);
        }
        let Some(mut slot) = out.free.pop() else {
            return false;
        };
        let n = frame.len().min(slot.bytes.len());
        slot.bytes[..n].copy_from_slice(&frame[..n]);
        slot.len = n;
        match out.data.push(slot) {
            Ok(()) => true,
            Err(rtrb::PushError::Full(slot)) => {
                out.free.push(slot);
                false
            }
        }
    }

    /// Hands up to `max` frames other workers sent here to `f`, returning each buffer; returns
    /// how many were handled.
    pub(crate) fn receive(&mut self, max: usize, mut f: impl FnMut(&mut [u8], usize)) -> usize {
        let mut done = 0;
        for inc in self.inc.iter_mut().flatten() {
            while done < max {
                let Ok(mut slot) = inc.data.pop() else { break };
                let len = slot.len;
                f(&mut slot.bytes, len);
                done += 1;
                // Cannot be full: at most RING buffers exist for this pair.
                let _ = inc.returned.push(slot);
            }
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_cross_once_and_buffers_come_back() {
        let mut m = mesh(2);
        let (mut a, mut b) = {
            let mut it = m.drain(..);
            (it.next().unwrap(), it.next().unwrap())
        };
        assert!(a.send(1, &[1, 2, 3]));
        assert!(!a.send(0, &[9]), "no ring to itself");
        let mut got = Vec::new();
        assert_eq!(b.receive(8, |buf, len| got.push(buf[..len].to_vec())), 1);
        assert_eq!(got, vec![vec![1, 2, 3]]);
        // Fill the pair: RING frames fit, then the sender drops until buffers return.
        for _ in 0..RING {
            assert!(a.send(1, &[7]));
        }
        assert!(!a.send(1, &[7]));
        assert_eq!(b.receive(usize::MAX, |_, _| {}), RING);
        assert!(a.send(1, &[7]));
    }
}
