//! The data plane's control thread: the last good image, the agent link, installing images.
//!
//! Installing an image: map and validate it (refusing a bad one with a reason, staying on the
//! current generation), publish it through the RCU, report `Installed`, wait until every worker
//! runs it, report `Live`, free what no worker can hold, then keep the image as the last good
//! file. The link is re-established forever; the workers never wait for it.

use std::{
    hash::{BuildHasher, RandomState},
    os::fd::{AsFd, OwnedFd},
    path::PathBuf,
    sync::atomic::{AtomicBool, Ordering},
    thread,
    time::{Duration, Instant},
};

use strait_device::AnyPort;
use strait_fastpath::{Neighbours, Pipeline};
use strait_rcu::{Rcu, Writer};
use strait_shm::{
    HealthOverlay, StatsRegion,
    link::{Link, LinkError, Message},
};
use tracing::{error, info, warn};

use crate::{
    DataplaneOptions, PacketOptions, Tables, handoff,
    keeper::Keeper,
    l7,
    packets::PacketPath,
    worker::{STATE_STOPPED, Worker},
};

/// File in the state directory holding the last good image.
pub const IMAGE_FILE: &str = "tables.img";
/// How often a blocked receive wakes up to look at the stop flag.
const RECV_TICK: Duration = Duration::from_millis(200);
/// Reconnect delays.
const RECONNECT_MIN: Duration = Duration::from_millis(50);
const RECONNECT_MAX: Duration = Duration::from_secs(1);
/// How long to wait for every worker to pick up a generation before giving up on `Live`.
const SWITCH_LIMIT: Duration = Duration::from_secs(10);

/// Errors that keep the data plane from starting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// Shared memory could not be set up.
    #[error("shared memory: {0}")]
    Shm(#[from] strait_shm::ShmError),
    /// The state directory is unusable.
    #[error("state directory {path}: {source}")]
    StateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The packet device could not be opened.
    #[error("packet device: {0}")]
    Device(#[from] strait_device::DeviceError),
    /// The packet pipeline could not be built.
    #[error("packet pipeline: {0}")]
    Pipeline(#[from] strait_fastpath::PipelineError),
    /// A worker thread could not be started.
    #[error("starting worker {index}: {source}")]
    Spawn {
        /// Worker index.
        index: usize,
        /// The cause.
        source: std::io::Error,
    },
}

/// Runs the data plane until `stop` is set (by SIGTERM/SIGINT in the binary).
pub fn run(opts: DataplaneOptions, stop: &AtomicBool) -> Result<(), RunError> {
    // L4 workers first, then L7 workers: one stats record and one RCU reader each.
    let workers = opts.cores.len() + opts.l7_cores.len();
    let (stats, stats_fd) = StatsRegion::create(workers)?;
    let (overlay, overlay_fd) = HealthOverlay::create(opts.health_slots)?;
    let l7_overlays = l7::overlays(&overlay_fd, opts.l7_cores.len())?;
    let mut paths = match &opts.packets {
        Some(p) => packet_paths(p, opts.cores.len())?,
        None => Vec::new(),
    }
    .into_iter();
    std::fs::create_dir_all(&opts.state_dir).map_err(|source| RunError::StateDir {
        path: opts.state_dir.clone(),
        source,
    })?;
    let (writer, readers) = Rcu::<Tables>::new(workers);
    let mut readers = readers.into_iter();
    let image_path = opts.state_dir.join(IMAGE_FILE);
    let (keeper, keeper_thread) =
        Keeper::start(image_path.clone()).map_err(|source| RunError::StateDir {
            path: opts.state_dir.clone(),
            source,
        })?;
    let mut control = Control {
        stats: &stats,
        writer,
        seq: 0,
        keeper,
        image_path,
        link_socket: opts.link_socket.clone(),
        fds: [stats_fd, overlay_fd],
        workers: workers as u32,
        parked: Vec::new(),
        l7: Vec::new(),
    };
    control.load_last_good();
    thread::scope(|scope| {
        for (index, (&core, reader)) in opts.cores.iter().zip(readers.by_ref()).enumerate() {
            let stats = stats.worker(index).expect("one stats record per worker");
            let worker = Worker {
                index,
                core,
                reader,
                stats,
                stop,
                overlay: &overlay,
                packets: paths.next(),
            };
            let parks = worker.packets.is_none();
            let handle = thread::Builder::new()
                .name(format!("worker-{index}"))
                .spawn_scoped(scope, move || worker.run())
                .map_err(|source| RunError::Spawn { index, source })?;
            if parks {
                control.parked.push(handle.thread().clone());
            }
        }
        control.l7 = l7::spawn(scope, &opts, readers, &stats, stop, l7_overlays)?;
        control.run(stop);
        // Idle workers see `stop` now rather than at their next tick.
        control.wake_workers();
        Ok::<_, RunError>(())
    })?;
    // The last image handed over is written before the process exits.
    drop(control);
    let _ = keeper_thread.join();
    Ok(())
}

/// Opens one port per worker and builds each worker's pipeline and hand-off rings.
fn packet_paths(opts: &PacketOptions, workers: usize) -> Result<Vec<PacketPath>, RunError> {
    let mut node = opts.node.clone();
    let ports = strait_device::open(&opts.device, workers)?;
    if node.mac == [0; 6] {
        node.mac = match ports.first().and_then(AnyPort::mac) {
            Some(mac) => mac,
            None => strait_device::interface_mac(&opts.device.interface)?,
        };
    }
    let neighbours = Neighbours::new();
    for &(ip, mac) in &opts.neighbours {
        neighbours.set_static(strait_packet::flow::key_addr(ip), mac);
    }
    info!(
        device = opts.device.kind.name(),
        interface = %opts.device.interface,
        workers,
        mac = %format_mac(node.mac),
        "packet path ready"
    );
    let seeds = RandomState::new();
    let epoch = Instant::now();
    ports
        .into_iter()
        .zip(handoff::mesh(workers))
        .enumerate()
        .map(|(i, (port, handoff))| {
            let pipeline = Pipeline::new(
                node.clone(),
                i,
                workers,
                neighbours.clone(),
                seeds.hash_one(i),
            )?;
            Ok(PacketPath {
                port,
                pipeline,
                handoff,
                burst: opts.burst.max(1),
                epoch,
                port_seen: Default::default(),
            })
        })
        .collect()
}

fn format_mac(m: [u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

struct Control<'s> {
    writer: Writer<Tables>,
    /// RCU sequence of the current tables (0: none).
    seq: u64,
    /// Writes installed images out as the last good file.
    keeper: Keeper,
    image_path: PathBuf,
    link_socket: PathBuf,
    /// Stats region and health overlay, passed to every agent session.
    fds: [OwnedFd; 2],
    workers: u32,
    /// The workers' stats records, to see which generation each reports.
    stats: &'s StatsRegion,
    /// Workers without a device: they park when idle and are woken to take new tables.
    parked: Vec<thread::Thread>,
    /// The L7 workers' wake-ups: idle, they wait for their tick or this.
    l7: Vec<strait_l7::Wakeup>,
}

impl Control<'_> {
    /// Wakes the workers that wait when idle (those without a device, and the L7 workers), so
    /// they take the tables just published (or see `stop`) now.
    fn wake_workers(&self) {
        for worker in &self.parked {
            worker.unpark();
        }
        for worker in &self.l7 {
            worker.wake();
        }
    }

    fn generation(&self) -> u64 {
        self.writer.current().map_or(0, Tables::generation)
    }

    /// True if every worker's stats record shows `generation` (or a later one), stopped workers
    /// aside. A worker that has not started yet counts as behind: it is waited for (a config
    /// applied right after start would otherwise be `Live` before the L7 workers ran).
    fn every_worker_reports(&self, generation: u64) -> bool {
        (0..self.stats.worker_count())
            .filter_map(|i| self.stats.worker(i))
            .all(|w| w.state() == STATE_STOPPED || w.generation() >= generation)
    }

    /// Serves the last good image, if one was kept, before the agent is reachable.
    fn load_last_good(&mut self) {
        if !self.image_path.exists() {
            info!("no last good image; waiting for the agent");
            return;
        }
        match Tables::from_file(&self.image_path) {
            Ok(tables) => {
                info!(
                    generation = tables.generation(),
                    "serving the last good image"
                );
                self.seq = self.writer.publish(Box::new(tables));
                self.wake_workers();
            }
            Err(e) => {
                error!(path = %self.image_path.display(), error = %e, "ignoring the last good image")
            }
        }
    }

    fn run(&mut self, stop: &AtomicBool) {
        let mut delay = RECONNECT_MIN;
        // Said once per outage, not on every retry.
        let mut said_unreachable = false;
        while !stop.load(Ordering::Relaxed) {
            match Link::connect(&self.link_socket) {
                Ok(link) => {
                    said_unreachable = false;
                    let started = Instant::now();
                    match self.session(&link, stop) {
                        Ok(()) => {}
                        Err(e) => warn!(error = %e, "agent link lost; reconnecting"),
                    }
                    // An agent that drops every session at once (it refuses this data plane's
                    // table ABI, say) is retried with the same backoff as an absent one, not in
                    // a tight loop.
                    if started.elapsed() >= RECONNECT_MAX {
                        delay = RECONNECT_MIN;
                    } else if !stop.load(Ordering::Relaxed) {
                        thread::sleep(delay);
                        delay = (delay * 2).min(RECONNECT_MAX);
                    }
                }
                Err(e) => {
                    if !said_unreachable {
                        info!(
                            socket = %self.link_socket.display(),
                            error = %e,
                            generation = self.generation(),
                            "agent not reachable; serving the current tables and retrying"
                        );
                        said_unreachable = true;
                    }
                    thread::sleep(delay);
                    delay = (delay * 2).min(RECONNECT_MAX);
                }
            }
            self.writer.reclaim();
        }
    }

    fn session(&mut self, link: &Link, stop: &AtomicBool) -> Result<(), LinkError> {
        let hello = Message::Hello {
            pid: std::process::id(),
            workers: self.workers,
            generation: self.generation(),
            abi_version: strait_table::ABI_VERSION,
        };
        link.send(&hello, &[self.fds[0].as_fd(), self.fds[1].as_fd()])?;
        info!(socket = %self.link_socket.display(), generation = self.generation(), "connected to the agent");
        if self.seq > 0 && self.writer.readers_at_least(self.seq) {
            link.send(
                &Message::Live {
                    generation: self.generation(),
                    switch_us: 0,
                },
                &[],
            )?;
        }
        link.set_read_timeout(Some(RECV_TICK))?;
        while !stop.load(Ordering::Relaxed) {
            let (msg, mut fds) = match link.recv() {
                Ok(m) => m,
                Err(LinkError::TimedOut) => continue,
                Err(e) => return Err(e),
            };
            match msg {
                // recv has checked that a Publish carries exactly its one fd.
                Message::Publish { generation, len } => {
                    self.install(link, fds.pop().expect("one fd"), generation, len, stop)?
                }
                Message::Ping => link.send(&Message::Pong, &[])?,
                other => warn!(message = ?other, "unexpected message from the agent"),
            }
        }
        Ok(())
    }

    fn install(
        &mut self,
        link: &Link,
        fd: OwnedFd,
        generation: u64,
        len: u64,
        stop: &AtomicBool,
    ) -> Result<(), LinkError> {
        let tables = match Tables::from_fd(fd, generation, len) {
            Ok(t) => t,
            Err(e) => {
                warn!(generation, error = %e, "refusing image; staying on generation {}", self.generation());
                return link.send(&Message::rejected(generation, e.to_string()), &[]);
            }
        };
        let started = Instant::now();
        self.seq = self.writer.publish(Box::new(tables));
        self.wake_workers();
        link.send(&Message::Installed { generation }, &[])?;
        // Every worker has entered the new tables, and says so in its stats record: an L7
        // worker does that after it opened the generation's listeners, so `Live` (and
        // `apply --wait`) means they accept connections.
        while !(self.writer.readers_at_least(self.seq) && self.every_worker_reports(generation)) {
            if stop.load(Ordering::Relaxed) || started.elapsed() > SWITCH_LIMIT {
                warn!(
                    generation,
                    "not every worker picked up the generation in time"
                );
                return Ok(());
            }
            thread::sleep(Duration::from_micros(20));
        }
        let switch_us = started.elapsed().as_micros() as u64;
        link.send(
            &Message::Live {
                generation,
                switch_us,
            },
            &[],
        )?;
        info!(generation, switch_us, "every worker runs the generation");
        self.writer.reclaim();
        if let Some(current) = self.writer.current() {
            self.keeper.keep(current.shared());
        }
        Ok(())
    }
}
