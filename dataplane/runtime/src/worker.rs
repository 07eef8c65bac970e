//! The per-core worker loop.
//!
//! Each turn: take the current tables (one atomic load: the RCU quiescent point), note a new
//! generation in the stats region, run one burst of the packet path (if the data plane drives
//! a device), back off when a turn found no work. Counters reach the stats region with each
//! heartbeat (every few thousand busy turns, or every idle sleep). A worker without a device
//! parks when idle; whoever publishes tables must unpark it (see `Control::wake_workers`).
//! A worker owns everything it touches on the hot path; the only shared writes are to its own
//! stats record.

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use strait_rcu::Reader;
use strait_shm::{HealthOverlay, WorkerStats};
use tracing::{info, warn};

use crate::{Tables, cores, packets::PacketPath};

/// Empty turns spent spinning before yielding, and before sleeping.
const SPIN_TURNS: u32 = 256;
const YIELD_TURNS: u32 = 512;
/// Sleep of an idle worker; bounds how late an idle worker sees a new generation.
const IDLE_SLEEP: Duration = Duration::from_micros(200);
/// Longest park of a worker without a device (a data plane that only serves L7). It has no
/// packets to wait for, only generations to take, and the control thread unparks it as soon as
/// it publishes one (and at stop); so it wakes on its own only to renew its heartbeat. Waking
/// every millisecond instead cost 0.04–0.05 of a core, taken from the L7 worker it shares a
/// core with.
const NO_DEVICE_PARK: Duration = Duration::from_millis(100);
/// Turns between heartbeats while busy (a clock read is not free).
const HEARTBEAT_TURNS: u64 = 4096;

/// Worker states in the stats region.
pub(crate) const STATE_RUNNING: u64 = 1;
pub(crate) const STATE_STOPPED: u64 = 2;

/// One pinned worker.
pub(crate) struct Worker<'a> {
    pub(crate) index: usize,
    pub(crate) core: usize,
    pub(crate) reader: Reader<Tables>,
    pub(crate) stats: WorkerStats<'a>,
    pub(crate) stop: &'a AtomicBool,
    pub(crate) overlay: &'a HealthOverlay,
    /// The L4 packet path, if the data plane drives a device.
    pub(crate) packets: Option<PacketPath>,
}

impl Worker<'_> {
    /// Runs until `stop` is set.
    pub(crate) fn run(mut self) {
        if let Err(e) = cores::pin(self.core) {
            warn!(worker = self.index, core = self.core, error = %e, "could not pin the worker; running unpinned");
        }
        self.stats.set_core(self.core as u64);
        self.stats.set_state(STATE_RUNNING);
        self.heartbeat(0);
        info!(worker = self.index, core = self.core, "worker running");
        let mut generation = u64::MAX;
        let mut empty_turns = 0u32;
        let mut turns = 0u64;
        while !self.stop.load(Ordering::Relaxed) {
            let tables = self.reader.enter();
            let current = tables.map_or(0, Tables::generation);
            if current != generation {
                generation = current;
                self.stats.set_generation(current);
            }
            let work = match &mut self.packets {
                Some(path) => path.poll(tables, self.overlay),
                None => 0,
            };
            turns += 1;
            if work > 0 {
                empty_turns = 0;
                if turns.is_multiple_of(HEARTBEAT_TURNS) {
                    self.heartbeat(turns);
                }
                continue;
            }
            empty_turns = empty_turns.saturating_add(1);
            if empty_turns < SPIN_TURNS {
                std::hint::spin_loop();
            } else if empty_turns < YIELD_TURNS {
                std::thread::yield_now();
            } else {
                self.heartbeat(turns);
                if self.packets.is_some() {
                    std::thread::sleep(IDLE_SLEEP);
                } else {
                    std::thread::park_timeout(NO_DEVICE_PARK);
                }
            }
        }
        if let Some(path) = &mut self.packets {
            path.export(&self.stats);
        }
        self.reader.offline();
        self.stats.set_state(STATE_STOPPED);
        info!(worker = self.index, "worker stopped");
    }

    fn heartbeat(&mut self, turns: u64) {
        if let Some(path) = &mut self.packets {
            path.export(&self.stats);
        }
        self.stats.set_loops(turns);
        self.stats.set_heartbeat_ms(strait_shm::monotonic_ms());
    }
}
