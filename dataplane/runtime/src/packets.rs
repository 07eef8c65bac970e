//! A worker's packet path: its port, its pipeline, its ends of the hand-off mesh.
//!
//! One [`PacketPath::poll`] is one burst: frames other workers handed over, then up to
//! `burst` frames from the port, each through the pipeline with the tables the worker
//! entered for this turn; then the conntrack sweep, ARP/ND requests, and one flush.
//!
//! # Invariants
//! * The pipeline sees one generation and one timestamp per burst.
//! * A frame the pipeline steers is copied to its owner's ring before the port reuses the
//!   buffer; a full ring or transmit ring drops the frame and counts it (`drop_handoff_full`,
//!   `drop_tx_full`), never blocks.
//! * With `af_packet` the kernel holds its own copy of every frame, so `Action::Kernel` just
//!   releases ours; with `af_xdp` the frame is gone and `to_kernel` counts what the kernel
//!   did not get.

use std::time::Instant;

use strait_device::{AnyPort, Port, PortStats, Verdict};
use strait_fastpath::{Action, Pipeline, counter, counters};
use strait_l4::Health;
use strait_shm::{HealthOverlay, WorkerStats};

use crate::{Tables, handoff::Handoff};

const _: () = assert!(counters::COUNT <= strait_shm::stats::COUNTER_WORDS);

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct PacketPath {
    pub(crate) port: AnyPort,
    pub(crate) pipeline: Pipeline,
    pub(crate) handoff: Handoff,
    pub(crate) burst: usize,
    pub(crate) epoch: Instant,
    pub(crate) port_seen: PortStats,
}

impl PacketPath {
    /// One burst; returns the frames handled.
    pub(crate) fn poll(&mut self, tables: Option<&Tables>, overlay: &HealthOverlay) -> usize {
        let image = tables.map(Tables::image);
        // Nanoseconds since start fit in u64 for 584 years.
        let now = self.epoch.elapsed().as_nanos() as u64;
        let health = |slot: u32| {
            let s = overlay.get(slot);
            Health {
                unhealthy: s.unhealthy,
                draining: s.draining,
            }
        };
        let (pipeline, port, handoff) = (&mut self.pipeline, &mut self.port, &mut self.handoff);
        pipeline.begin_burst(image, now);
        let mut work = handoff.receive(self.burst, |buf, len| {
            // A full transmit ring is counted by the port (exported as `drop_tx_full`).
            if let Action::Tx(n) = pipeline.process(image, buf, len, true, &health) {
                port.send(&buf[..n]);
            }
        });
        // Every received frame is shown to the pipeline first, so the connection-table misses
        // of the burst overlap (see `Pipeline::ahead`).
        work += port.rx_burst_ahead(
            self.burst,
            pipeline,
            |pipeline, frame| pipeline.ahead(frame),
            |pipeline, buf, len| match pipeline.process(image, buf, len, false, &health) {
                Action::Tx(n) => Verdict::Tx(n),
                Action::Steer(owner) => {
                    if !handoff.send(owner, &buf[..len]) {
                        pipeline.counters_mut().inc(counter::DROP_HANDOFF_FULL);
                    }
                    Verdict::Drop
                }
                Action::Kernel | Action::Drop => Verdict::Drop,
            },
        );
        pipeline.end_burst();
        pipeline.drain_outbox(|frame| {
            port.send(frame);
        });
        port.flush();
        work
    }

    /// Copies the counters into the worker's stats record (the worker is its only writer).
    pub(crate) fn export(&mut self, stats: &WorkerStats<'_>) {
        let now = self.port.stats();
        let tx_full = now.tx_full.saturating_sub(self.port_seen.tx_full);
        let rx_dropped = now.rx_dropped.saturating_sub(self.port_seen.rx_dropped);
        self.port_seen = now;
        let counters = self.pipeline.counters_mut();
        counters.add(counter::DROP_TX_FULL, tx_full);
        counters.add(counter::DROP_RX_RING, rx_dropped);
        for (i, &v) in counters.values().iter().enumerate() {
            stats
                .counter(i)
                .store(v, std::sync::atomic::Ordering::Relaxed);
        }
    }
}
