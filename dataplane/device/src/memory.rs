//! Memory ports: frames in process memory, for tests and the pipeline benchmark.
//!
//! A [`MemoryPort`] receives either frames queued with [`MemoryPort::inject`] (each once) or,
//! after [`MemoryPort::replay`], a fixed set of frames cycled forever. Each received frame is
//! copied into the port's own buffer before the closure sees it, so a rewrite never changes
//! the source. The bytes of the buffer past the frame are unspecified (a replayed frame of at
//! most [`SHORT`] bytes is copied as [`SHORT`] bytes, with what follows it in the replay).
//! Transmitted frames are kept for [`MemoryPort::take_sent`] when capturing is on (tests), or
//! only counted (benchmarks).

use std::collections::VecDeque;

use crate::{MIN_BUFFER, Port, PortStats, Verdict};

/// A port whose wire is process memory. See the module documentation.
#[derive(Debug)]
pub struct MemoryPort {
    buf: Box<[u8]>,
    queue: VecDeque<Vec<u8>>,
    replay: Replay,
    capture: bool,
    sent: Vec<Vec<u8>>,
    sent_bytes: u64,
    stats: PortStats,
}

/// Replayed frames up to this length are copied as one fixed-size block: a few vector moves
/// instead of a call to `memcpy` per frame.
const SHORT: usize = 64;

/// Frames laid end to end, cycled by [`MemoryPort::rx_burst`].
#[derive(Debug, Default)]
struct Replay {
    /// The frames, then [`SHORT`] bytes of padding, so every frame starts a whole block.
    bytes: Vec<u8>,
    /// `(start, len)` of each frame in `bytes`.
    frames: Vec<(usize, usize)>,
    next: usize,
}

impl Default for MemoryPort {
    fn default() -> Self {
        MemoryPort::new()
    }
}

impl MemoryPort {
    /// An idle port that captures what it sends.
    pub fn new() -> MemoryPort {
        MemoryPort {
            buf: vec![0; MIN_BUFFER].into_boxed_slice(),
            queue: VecDeque::new(),
            replay: Replay::default(),
            capture: true,
            sent: Vec::new(),
            sent_bytes: 0,
            stats: PortStats::default(),
        }
    }

    /// Queues one frame to be received once (after any queued before it).
    ///
    /// # Panics
    /// If the frame is larger than [`MIN_BUFFER`].
    pub fn inject(&mut self, frame: &[u8]) {
        assert!(frame.len() <= MIN_BUFFER, "frame larger than a port buffer");
        self.queue.push_back(frame.to_vec());
    }

    /// Receives `frames` in order forever once the injected queue is empty. Frames larger
    /// than [`MIN_BUFFER`] are left out.
    pub fn replay<I, B>(&mut self, frames: I)
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        let mut replay = Replay::default();
        for frame in frames {
            let frame = frame.as_ref();
            if frame.len() <= MIN_BUFFER {
                replay.frames.push((replay.bytes.len(), frame.len()));
                replay.bytes.extend_from_slice(frame);
            }
        }
        replay.bytes.resize(replay.bytes.len() + SHORT, 0);
        self.replay = replay;
    }

    /// Keep sent frames for [`take_sent`](Self::take_sent) (default), or only count them.
    pub fn set_capture(&mut self, capture: bool) {
        self.capture = capture;
    }

    /// The frames sent since the last call, in order (empty when not capturing).
    pub fn take_sent(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.sent)
    }

    /// Total bytes sent (also when not capturing): a cheap sink a benchmark can print.
    pub fn sent_bytes(&self) -> u64 {
        self.sent_bytes
    }

    #[inline]
    fn record_tx(&mut self, len: usize) {
        self.stats.tx += 1;
        self.sent_bytes += len as u64;
        if self.capture {
            self.sent.push(self.buf[..len].to_vec());
        }
    }

    /// Loads the next frame into `buf`; its length, or `None` if there is nothing to receive.
    #[inline]
    fn load_next(&mut self) -> Option<usize> {
        if let Some(frame) = self.queue.pop_front() {
            self.buf[..frame.len()].copy_from_slice(&frame);
            return Some(frame.len());
        }
        let replay = &mut self.replay;
        let &(start, len) = replay.frames.get(replay.next)?;
        replay.next += 1;
        if replay.next == replay.frames.len() {
            replay.next = 0;
        }
        let src = &replay.bytes[start..];
        match (
            self.buf.first_chunk_mut::<SHORT>(),
            src.first_chunk::<SHORT>(),
        ) {
            (Some(to), Some(from)) if len <= SHORT => *to = *from,
            _ => self.buf[..len].copy_from_slice(&src[..len]),
        }
        Some(len)
    }
}

impl Port for MemoryPort {
    fn rx_burst<F>(&mut self, max: usize, mut f: F) -> usize
    where
        F: FnMut(&mut [u8], usize) -> Verdict,
    {
        let mut received = 0;
        while received < max {
            let Some(len) = self.load_next() else { break };
            received += 1;
            self.stats.rx += 1;
            if let Verdict::Tx(n) = f(&mut self.buf, len) {
                let n = n.min(self.buf.len());
                self.record_tx(n);
            }
        }
        received
    }

    fn rx_burst_ahead<C, A, F>(&mut self, max: usize, cx: &mut C, mut ahead: A, mut f: F) -> usize
    where
        A: FnMut(&mut C, &[u8]),
        F: FnMut(&mut C, &mut [u8], usize) -> Verdict,
    {
        // The frames `rx_burst` will load next, in order: queued ones, then the replay.
        let queued = self.queue.iter().take(max);
        let shown = queued.len();
        queued.for_each(|frame| ahead(cx, frame));
        let replay = &self.replay;
        let wrapped = replay.frames[replay.next..]
            .iter()
            .chain(&replay.frames[..replay.next]);
        for &(start, len) in wrapped.take(max - shown) {
            ahead(cx, &replay.bytes[start..start + len]);
        }
        self.rx_burst(max, |buf, len| f(cx, buf, len))
    }

    fn send(&mut self, frame: &[u8]) -> bool {
        if frame.len() > self.buf.len() {
            self.stats.tx_full += 1;
            return false;
        }
        self.stats.tx += 1;
        self.sent_bytes += frame.len() as u64;
        if self.capture {
            self.sent.push(frame.to_vec());
        }
        true
    }

    fn flush(&mut self) {}

    fn stats(&self) -> PortStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injected_frames_arrive_once_in_order_and_tx_is_captured() {
        let mut port = MemoryPort::new();
        port.inject(&[1, 2, 3]);
        port.inject(&[4, 5]);
        let mut seen = Vec::new();
        let n = port.rx_burst(8, |buf, len| {
            seen.push(buf[..len].to_vec());
            buf[0] = 9;
            Verdict::Tx(len)
        });
        assert_eq!(n, 2);
        assert_eq!(seen, vec![vec![1, 2, 3], vec![4, 5]]);
        assert_eq!(port.take_sent(), vec![vec![9, 2, 3], vec![9, 5]]);
        assert_eq!(port.rx_burst(8, |_, _| Verdict::Drop), 0);
        assert_eq!(port.stats().rx, 2);
        assert_eq!(port.stats().tx, 2);
    }

    #[test]
    fn replay_cycles_without_changing_the_source() {
        let mut port = MemoryPort::new();
        port.replay([[1u8, 1], [2, 2]]);
        let mut seen = Vec::new();
        port.rx_burst(5, |buf, _len| {
            seen.push(buf[0]);
            buf[0] = 0;
            Verdict::Drop
        });
        assert_eq!(seen, vec![1, 2, 1, 2, 1]);
        assert!(port.take_sent().is_empty());
    }

    #[test]
    fn oversized_send_is_refused_and_counted() {
        let mut port = MemoryPort::new();
        assert!(!port.send(&vec![0; MIN_BUFFER + 1]));
        assert_eq!(port.stats().tx_full, 1);
        assert!(port.send(&[1]));
        port.set_capture(false);
        assert!(port.send(&[1, 2]));
        assert_eq!(port.take_sent(), vec![vec![1]]);
        assert_eq!(port.sent_bytes(), 3);
    }

    #[test]
    fn a_burst_is_shown_ahead_in_the_order_it_is_received() {
        let mut port = MemoryPort::new();
        port.set_capture(false);
        port.replay([[10u8], [11], [12]]);
        port.inject(&[1]);
        port.inject(&[2]);
        // (shown ahead, received), in order, for each burst.
        let mut seen: (Vec<u8>, Vec<u8>) = Default::default();
        let mut burst = |port: &mut MemoryPort, max| {
            seen = Default::default();
            port.rx_burst_ahead(
                max,
                &mut seen,
                |seen, f| seen.0.push(f[0]),
                |seen, buf, _| {
                    seen.1.push(buf[0]);
                    Verdict::Drop
                },
            );
            seen.clone()
        };
        assert_eq!(
            burst(&mut port, 4),
            (vec![1, 2, 10, 11], vec![1, 2, 10, 11])
        );
        // The replay wraps around; a burst longer than it shows each frame once.
        assert_eq!(burst(&mut port, 2), (vec![12, 10], vec![12, 10]));
        assert_eq!(burst(&mut port, 5).0, vec![11, 12, 10]);
    }
}
