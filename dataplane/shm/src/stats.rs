//! Per-worker statistics region: each worker alone writes its record; the agent reads them.
//!
//! ABI (version [`STATS_VERSION`]): the [region header](crate::RegionHeader) with magic
//! [`STATS_MAGIC`], `count` = workers, `entry_bytes` = [`RECORD_BYTES`]; then one record per
//! worker at `HEADER_BYTES + i * RECORD_BYTES` (64-byte aligned) of [`RECORD_WORDS`] `u64` words:
//!
//! | word | meaning |
//! | --- | --- |
//! | [`WORD_GENERATION`] | table generation the worker runs (0 = none) |
//! | [`WORD_STATE`] | [`STATE_NOT_STARTED`] 0, [`STATE_RUNNING`] 1, [`STATE_STOPPED`] 2 |
//! | [`WORD_LOOPS`] | heartbeat counter, +1 per [`WorkerStats::heartbeat`] |
//! | [`WORD_HEARTBEAT_MS`] | `CLOCK_MONOTONIC` milliseconds of the last heartbeat |
//! | [`WORD_CORE`] | CPU the worker is pinned to |
//! | 5..16 | reserved (0) |
//! | [`COUNTER_BASE`].. | [`COUNTER_WORDS`] counters, meaning assigned by the data plane |
//!
//! An L4 worker's counters are its packet pipeline's, from counter 0; an L7 worker's sit at the
//! indexes of [`crate::l7stats`] (counters, then a latency histogram).
//!
//! **Single writer per record:** only worker `i` writes record `i` (the data plane's main thread
//! may write it before the worker starts). Its updates are therefore plain `Relaxed` load+store
//! pairs, not read-modify-write instructions; the agent only loads. `generation` and `state` are
//! stored with `Release` and loaded with `Acquire`, so a reader that sees a generation also sees
//! the counters written before it.

use std::fmt;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::ShmError;
use crate::map::SharedWords;
use crate::region::{self, HEADER_BYTES, RegionHeader};

/// Magic of a stats region.
pub const STATS_MAGIC: [u8; 8] = *b"STRAITST";
/// Layout version of the stats region.
pub const STATS_VERSION: u64 = 1;
/// `u64` words per worker record.
pub const RECORD_WORDS: usize = 1024;
/// Bytes per worker record (8 KiB).
pub const RECORD_BYTES: usize = RECORD_WORDS * 8;
/// Word: generation the worker runs (0 = none).
pub const WORD_GENERATION: usize = 0;
/// Word: lifecycle state (`STATE_*`).
pub const WORD_STATE: usize = 1;
/// Word: heartbeat loop counter.
pub const WORD_LOOPS: usize = 2;
/// Word: `CLOCK_MONOTONIC` milliseconds of the last heartbeat.
pub const WORD_HEARTBEAT_MS: usize = 3;
/// Word: CPU core the worker is pinned to.
pub const WORD_CORE: usize = 4;
/// First counter word.
pub const COUNTER_BASE: usize = 16;
/// Number of counter words per record.
pub const COUNTER_WORDS: usize = RECORD_WORDS - COUNTER_BASE;
/// Most workers a stats region may describe.
pub const MAX_WORKERS: usize = 1024;

const WHAT: &str = "stats region";

/// [`WORD_STATE`] value: the worker has not started yet.
pub const STATE_NOT_STARTED: u64 = 0;
/// [`WORD_STATE`] value: the worker is running its loop.
pub const STATE_RUNNING: u64 = 1;
/// [`WORD_STATE`] value: the worker has stopped.
pub const STATE_STOPPED: u64 = 2;

/// The per-worker statistics region, mapped read-write (see the [module docs](self)).
#[derive(Debug)]
pub struct StatsRegion {
    words: SharedWords,
    workers: usize,
}

impl StatsRegion {
    /// Data-plane side: creates a zeroed region for `workers` workers (1..=[`MAX_WORKERS`]) and
    /// returns it with the fd to send to the agent.
    pub fn create(workers: usize) -> Result<(StatsRegion, OwnedFd), ShmError> {
        if workers == 0 || workers > MAX_WORKERS {
            return Err(ShmError::OutOfRange {
                what: "workers",
                got: workers as u64,
                max: MAX_WORKERS as u64,
            });
        }
        let header = RegionHeader {
            magic: STATS_MAGIC,
            version: STATS_VERSION,
            count: workers as u64,
            entry_bytes: RECORD_BYTES as u64,
            total_bytes: 0,
        };
        let (words, fd) = region::create("strait-stats", header)?;
        Ok((StatsRegion { words, workers }, fd))
    }

    /// Agent side: maps a region received from the data plane after checking its seals, header
    /// and size.
    pub fn open(fd: impl AsFd) -> Result<StatsRegion, ShmError> {
        let words = region::open(fd, WHAT)?;
        let header = RegionHeader::read(&words);
        let mapped = words.u64s().len() * 8;
        header.check(
            WHAT,
            &STATS_MAGIC,
            STATS_VERSION,
            RECORD_BYTES as u64,
            mapped,
        )?;
        if header.count > MAX_WORKERS as u64 {
            return Err(ShmError::BadHeader {
                what: WHAT,
                field: "count",
                found: header.count,
                expected: MAX_WORKERS as u64,
            });
        }
        Ok(StatsRegion {
            words,
            workers: header.count as usize,
        })
    }

    /// Number of worker records.
    pub fn worker_count(&self) -> usize {
        self.workers
    }

    /// The header as mapped.
    pub fn header(&self) -> RegionHeader {
        RegionHeader::read(&self.words)
    }

    /// Worker `i`'s record, or `None` if `i >= worker_count()`.
    pub fn worker(&self, i: usize) -> Option<WorkerStats<'_>> {
        if i >= self.workers {
            return None;
        }
        let start = (HEADER_BYTES / 8) + i * RECORD_WORDS;
        let words = self.words.u64s().get(start..start + RECORD_WORDS)?;
        Some(WorkerStats { words })
    }
}

/// One worker's record. Setters are for that worker only (single writer); getters for anyone.
#[derive(Clone, Copy)]
pub struct WorkerStats<'a> {
    words: &'a [AtomicU64],
}

impl<'a> WorkerStats<'a> {
    /// Publishes the generation this worker now runs.
    pub fn set_generation(&self, generation: u64) {
        self.words[WORD_GENERATION].store(generation, Ordering::Release);
    }

    /// The generation the worker runs (0 = none yet).
    pub fn generation(&self) -> u64 {
        self.words[WORD_GENERATION].load(Ordering::Acquire)
    }

    /// Publishes the worker's lifecycle state ([`STATE_RUNNING`], …).
    pub fn set_state(&self, state: u64) {
        self.words[WORD_STATE].store(state, Ordering::Release);
    }

    /// The worker's lifecycle state (`STATE_*`; other values come from a newer data plane).
    pub fn state(&self) -> u64 {
        self.words[WORD_STATE].load(Ordering::Acquire)
    }

    /// Records a loop turn: `loops += 1`, `heartbeat_ms = now_ms` (`CLOCK_MONOTONIC`, see
    /// [`monotonic_ms`]).
    pub fn heartbeat(&self, now_ms: u64) {
        self.add_word(WORD_LOOPS, 1);
        self.words[WORD_HEARTBEAT_MS].store(now_ms, Ordering::Relaxed);
    }

    /// Publishes the heartbeat counter (for a worker that counts loop turns locally).
    pub fn set_loops(&self, loops: u64) {
        self.words[WORD_LOOPS].store(loops, Ordering::Relaxed);
    }

    /// Heartbeat counter.
    pub fn loops(&self) -> u64 {
        self.words[WORD_LOOPS].load(Ordering::Relaxed)
    }

    /// Publishes the `CLOCK_MONOTONIC` milliseconds of the last heartbeat.
    pub fn set_heartbeat_ms(&self, now_ms: u64) {
        self.words[WORD_HEARTBEAT_MS].store(now_ms, Ordering::Relaxed);
    }

    /// `CLOCK_MONOTONIC` milliseconds of the last heartbeat (0 = never).
    pub fn heartbeat_ms(&self) -> u64 {
        self.words[WORD_HEARTBEAT_MS].load(Ordering::Relaxed)
    }

    /// Publishes the CPU core the worker is pinned to.
    pub fn set_core(&self, core: u64) {
        self.words[WORD_CORE].store(core, Ordering::Relaxed);
    }

    /// The CPU core the worker is pinned to.
    pub fn core(&self) -> u64 {
        self.words[WORD_CORE].load(Ordering::Relaxed)
    }

    /// Counter `idx` (0..[`COUNTER_WORDS`]). The worker updates it with `Relaxed` operations
    /// (see [`add`](Self::add)); readers load it with `Relaxed` or `Acquire`.
    ///
    /// # Panics
    /// If `idx >= COUNTER_WORDS` (counter indices are constants of the data plane).
    pub fn counter(&self, idx: usize) -> &'a AtomicU64 {
        &self.counters()[idx]
    }

    /// All counter words.
    pub fn counters(&self) -> &'a [AtomicU64] {
        &self.words[COUNTER_BASE..]
    }

    /// Adds `n` to counter `idx` (wrapping) as the record's single writer: a `Relaxed` load and
    /// store, cheaper than an atomic read-modify-write.
    ///
    /// # Panics
    /// If `idx >= COUNTER_WORDS`.
    pub fn add(&self, idx: usize, n: u64) {
        self.add_word(COUNTER_BASE + idx, n);
    }

    fn add_word(&self, word: usize, n: u64) {
        let w = &self.words[word];
        w.store(w.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
    }
}

impl fmt::Debug for WorkerStats<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerStats")
            .field("generation", &self.generation())
            .field("state", &self.state())
            .field("loops", &self.loops())
            .field("heartbeat_ms", &self.heartbeat_ms())
            .field("core", &self.core())
            .finish_non_exhaustive()
    }
}

/// `CLOCK_MONOTONIC` now, in milliseconds: the clock of [`WorkerStats::heartbeat`].
pub fn monotonic_ms() -> u64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    (ts.tv_sec as u64)
        .saturating_mul(1000)
        .saturating_add(ts.tv_nsec as u64 / 1_000_000)
}
