//! The L7 workers' threads: one per `--l7-cores` entry, pinned, each running a
//! [`strait_l7::Worker`] event loop.
//!
//! An L7 worker is an RCU reader and has a stats record like an L4 worker, numbered after
//! them (worker `cores.len() + i` runs on `l7_cores[i]`): it reports the generation it serves,
//! its state and heartbeats there, so `straitctl status` lists it and `apply --wait` (the
//! control thread's `Live`) waits for it too. Each maps the health overlay on its own, so its
//! thread owns everything it reads. Its L7 counters and latency buckets go into the record's
//! counter words at the indexes of [`strait_shm::l7stats`], written with every heartbeat.

use std::{
    os::fd::OwnedFd,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::{self, Scope},
};

use strait_l7::{Report, TableImage, TableSource, Wakeup, Worker};
use strait_rcu::Reader;
use strait_shm::{HealthOverlay, StatsRegion, WorkerStats};
use tracing::{error, warn};

use crate::{
    DataplaneOptions, Tables,
    control::RunError,
    cores,
    worker::{STATE_RUNNING, STATE_STOPPED},
};

/// One health-overlay mapping per L7 worker.
pub(crate) fn overlays(fd: &OwnedFd, workers: usize) -> Result<Vec<HealthOverlay>, RunError> {
    (0..workers)
        .map(|_| HealthOverlay::open(fd).map_err(RunError::from))
        .collect()
}

/// Starts the L7 workers on `scope`, with the readers and overlays left for them; returns the
/// handles that wake each one to take a new generation.
pub(crate) fn spawn<'scope, 'env>(
    scope: &'scope Scope<'scope, 'env>,
    opts: &'env DataplaneOptions,
    readers: impl Iterator<Item = Reader<Tables>>,
    stats: &'env StatsRegion,
    stop: &'env AtomicBool,
    overlays: Vec<HealthOverlay>,
) -> Result<Vec<Wakeup>, RunError> {
    let mut wakeups = Vec::new();
    let l7 = opts.l7_cores.iter().zip(readers).zip(overlays);
    for (i, ((&core, reader), overlay)) in l7.enumerate() {
        let index = opts.cores.len() + i;
        let stats = stats.worker(index).expect("one stats record per worker");
        let worker = Worker::new(
            index,
            opts.l7.clone(),
            Box::new(RcuSource(reader)),
            Some(overlay),
        );
        wakeups.push(worker.wakeup());
        let run = move || {
            if let Err(e) = cores::pin(core) {
                warn!(worker = index, core, error = %e, "could not pin the L7 worker; running unpinned");
            }
            stats.set_core(core as u64);
            stats.set_state(STATE_RUNNING);
            let mut report = StatsReport(stats);
            if let Err(e) = worker.run(stop, &mut report) {
                error!(worker = index, core, error = %e, "L7 worker could not start");
            }
            report.0.set_state(STATE_STOPPED);
        };
        thread::Builder::new()
            .name(format!("l7-worker-{index}"))
            .spawn_scoped(scope, run)
            .map_err(|source| RunError::Spawn { index, source })?;
    }
    Ok(wakeups)
}

/// The RCU reader as an L7 worker's table source.
struct RcuSource(Reader<Tables>);

impl TableSource for RcuSource {
    fn enter(&mut self) -> Option<&Arc<TableImage>> {
        self.0.enter().map(Tables::image_arc)
    }

    fn offline(&mut self) {
        self.0.offline();
    }
}

/// An L7 worker's reports, into its stats record.
struct StatsReport<'a>(WorkerStats<'a>);

impl Report for StatsReport<'_> {
    fn generation(&mut self, generation: u64) {
        self.0.set_generation(generation);
    }

    fn heartbeat(&mut self, turns: u64) {
        self.0.set_loops(turns);
        self.0.set_heartbeat_ms(strait_shm::monotonic_ms());
    }

    /// The worker is its record's only writer: plain stores (see `strait_shm::stats`).
    fn counters(&mut self, first: usize, values: &[u64]) {
        for (i, &v) in values.iter().enumerate() {
            self.0.counter(first + i).store(v, Ordering::Relaxed);
        }
    }
}
