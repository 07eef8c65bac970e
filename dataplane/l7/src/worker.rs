//! The per-core L7 worker: one compio event loop (io_uring, or epoll as fallback and baseline)
//! on the calling thread, serving every listener of the current generation (HTTP, HTTPS, TLS, TCP).
//!
//! Order: [`Worker::new`] → [`Worker::run`] on the thread the caller pinned; it returns when
//! `stop` is set. Each loop tick (and each request) enters the table reader: one atomic load,
//! the RCU quiescent point. An idle worker waits for the next tick or a [`Wakeup`], which the
//! publisher of a new generation sends, so it takes the generation at once without polling. A new image is indexed once ([`crate::generation`]), listeners are
//! opened and closed to match it, and the generation is reported. Every `HEARTBEAT` the
//! worker reports that it is alive; every `SWEEP` it drops expired pooled connections and
//! retries listeners that could not be bound.
//!
//! Invariants: everything a request touches (tables, pool, balancing state, random source) is
//! owned by this thread and reached through `Rc`/`RefCell`/`Cell`: no lock, no atomic
//! read-modify-write on the request path. A request keeps the generation it started with.

use std::{
    cell::{Cell, RefCell},
    fmt,
    hash::{BuildHasher, RandomState},
    rc::Rc,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use compio::driver::{DriverType, ProactorBuilder};
use strait_shm::HealthOverlay;
use tracing::{debug, info};

use crate::{
    Driver, L7Options, access::AccessLog, generation::Generation, generation::TableImage, lb::Rng,
    listen::Listeners, metrics::Metrics, pool::Pool, wakeup::Wakeup,
};

/// How often the worker reports it is alive.
const HEARTBEAT: Duration = Duration::from_millis(100);
/// How often expired pooled connections are dropped and failed listeners retried.
const SWEEP: Duration = Duration::from_secs(1);

/// Where a worker reads its tables: the data plane's RCU reader.
pub trait TableSource {
    /// Passes the reader's quiescent point and returns the current image (`None` before the
    /// first). What an earlier call returned must not be used after this call, except through
    /// an `Arc` clone.
    fn enter(&mut self) -> Option<&Arc<TableImage>>;
    /// The worker stops reading tables for good.
    fn offline(&mut self);
}

/// Where a worker reports what it runs (the data plane's stats record).
pub trait Report {
    /// The generation the worker now serves (0: none).
    fn generation(&mut self, generation: u64);
    /// A sign of life, with the loop turns so far.
    fn heartbeat(&mut self, turns: u64);
    /// The worker's L7 counters from counter index `first` on (the layout of
    /// [`strait_shm::l7stats`]), sent with every heartbeat. Ignored unless implemented.
    fn counters(&mut self, first: usize, values: &[u64]) {
        let _ = (first, values);
    }
}

/// Why a worker could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    /// The event loop could not be created (no io_uring when it was required, no epoll).
    #[error("starting the {driver:?} event loop: {source}")]
    Runtime {
        /// The driver asked for.
        driver: Driver,
        /// The cause.
        source: std::io::Error,
    },
    /// The access log file could not be opened.
    #[error("opening the access log: {0}")]
    AccessLog(std::io::Error),
}

/// One L7 worker; see the module documentation.
pub struct Worker {
    index: usize,
    opts: L7Options,
    source: Box<dyn TableSource + Send>,
    health: Option<HealthOverlay>,
    wakeup: Wakeup,
}

impl fmt::Debug for Worker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker")
            .field("index", &self.index)
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker numbered `index` reading `source`; `health` is the endpoint health overlay
    /// (`None`: every endpoint is healthy).
    pub fn new(
        index: usize,
        opts: L7Options,
        source: Box<dyn TableSource + Send>,
        health: Option<HealthOverlay>,
    ) -> Worker {
        Worker {
            index,
            opts,
            source,
            health,
            wakeup: Wakeup::default(),
        }
    }

    /// A handle that makes the running worker take the current tables now: call it after
    /// publishing a generation (and after setting `stop`).
    pub fn wakeup(&self) -> Wakeup {
        self.wakeup.clone()
    }

    /// Serves until `stop` is set; see the module documentation.
    pub fn run(self, stop: &AtomicBool, report: &mut dyn Report) -> Result<(), WorkerError> {
        let driver = self.opts.driver;
        let mut proactor = ProactorBuilder::new();
        // io_uring completions are run when the worker next enters the kernel instead of by
        // an inter-processor interrupt as each arrives: a worker under load was spending a
        // seventh of its time in reschedule IPIs (`perf record -e cpu-clock`).
        proactor.coop_taskrun(true).taskrun_flag(true);
        match driver {
            Driver::Auto => {}
            Driver::IoUring => {
                proactor.driver_type(DriverType::IoUring);
            }
            Driver::Poll => {
                proactor.driver_type(DriverType::Poll);
            }
        }
        let runtime = compio::runtime::RuntimeBuilder::new()
            .with_proactor(proactor)
            .build()
            .map_err(|source| WorkerError::Runtime { driver, source })?;
        info!(worker = self.index, driver = ?runtime.driver_type(), "L7 worker running");
        let seed = RandomState::new().hash_one(self.index);
        let log =
            AccessLog::open(&self.opts.access_log, self.index).map_err(WorkerError::AccessLog)?;
        let shared = Rc::new(Shared {
            pool: Pool::new(
                self.opts.max_idle_per_endpoint,
                self.opts.upstream_idle_timeout,
            ),
            opts: self.opts,
            source: RefCell::new(self.source),
            current: RefCell::default(),
            serial: Cell::new(0),
            seed,
            rng: Rng::new(seed),
            health: self.health,
            metrics: Metrics::default(),
            log,
        });
        runtime.block_on(tick(shared.clone(), stop, report, &self.wakeup));
        // Every task (listeners, connections) goes with the runtime.
        drop(runtime);
        shared.source.borrow_mut().offline();
        info!(worker = self.index, "L7 worker stopped");
        Ok(())
    }
}

/// The loop that follows generations while connection tasks serve.
async fn tick(shared: Rc<Shared>, stop: &AtomicBool, report: &mut dyn Report, wakeup: &Wakeup) {
    let mut listeners = Listeners::new(shared.opts.tls_resumption);
    let mut seen = None;
    let mut turns = 0u64;
    let (mut beat, mut swept) = (Instant::now(), Instant::now());
    report.heartbeat(0);
    while !stop.load(Ordering::Relaxed) {
        let current = shared.refresh();
        let serial = current.as_ref().map_or(0, |g| g.serial);
        if seen != Some(serial) {
            seen = Some(serial);
            listeners.sync(&shared, current.as_deref());
            report.generation(current.as_ref().map_or(0, |g| g.number()));
        }
        turns += 1;
        let now = Instant::now();
        shared.log.flush();
        if now.duration_since(beat) >= HEARTBEAT {
            shared.metrics.export(report);
            report.heartbeat(turns);
            beat = now;
        }
        if now.duration_since(swept) >= SWEEP {
            shared.pool.sweep();
            listeners.sync(&shared, current.as_deref());
            swept = now;
        }
        drop(current);
        // Until the tick, or a new generation (or `stop`), whichever comes first.
        let _ = compio::time::timeout(shared.opts.tick, wakeup.woken()).await;
    }
    shared.log.flush();
    shared.metrics.export(report);
    report.heartbeat(turns);
}

/// What a worker's tasks share, on its one thread.
pub(crate) struct Shared {
    pub(crate) opts: L7Options,
    pub(crate) pool: Pool,
    pub(crate) rng: Rng,
    pub(crate) metrics: Metrics,
    pub(crate) log: AccessLog,
    source: RefCell<Box<dyn TableSource>>,
    current: RefCell<Option<Rc<Generation>>>,
    serial: Cell<u64>,
    seed: u64,
    health: Option<HealthOverlay>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("serial", &self.serial.get())
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Enters the table reader and returns the current generation, indexing a new image the
    /// first time it is seen.
    pub(crate) fn refresh(&self) -> Option<Rc<Generation>> {
        let mut source = self.source.borrow_mut();
        let image = source.enter();
        let mut current = self.current.borrow_mut();
        match (image, current.as_ref()) {
            (None, _) => *current = None,
            (Some(image), Some(g)) if Arc::ptr_eq(image, &g.image) => {}
            (Some(image), _) => {
                let serial = self.serial.get() + 1;
                self.serial.set(serial);
                let started = Instant::now();
                let g = Generation::build(image.clone(), serial, self.seed);
                debug!(
                    generation = g.number(),
                    index_us = started.elapsed().as_micros() as u64,
                    "indexed a new generation"
                );
                *current = Some(Rc::new(g));
            }
        }
        current.clone()
    }

    /// Whether the endpoint with health slot `slot` may take new requests.
    pub(crate) fn usable(&self, slot: u32) -> bool {
        self.health
            .as_ref()
            .is_none_or(|h| h.get(slot).accepts_new())
    }
}
