//! The agent's side of the data-plane link.
//!
//! One data plane at a time connects to the link socket and says `Hello`, passing its stats
//! region and health overlay. The agent keeps the current sealed image and sends it whenever
//! the data plane runs another generation: at `Hello` (a restarted data plane or agent) and at
//! every publish. What the data plane reports back (`Installed`, `Rejected`, `Live`) feeds a
//! watch channel that `Status`, `Watch` and `Apply --wait` read; `Stats` reads the counters
//! straight from the stats region ([`LinkServer::with_stats`]). The operator's endpoint states
//! reach the workers through the health overlay ([`overlay`]): written when a data plane
//! connects, before each image is sent, when a generation goes live and at each change.
//!
//! Threads: one acceptor, and one reader per connection; both block on the socket and never
//! touch the gRPC runtime except through the watch channel. Lock order: `current`, then
//! `session`, then `endpoints`.

mod overlay;
#[cfg(test)]
mod tests;

use std::{
    os::fd::{AsFd, OwnedFd},
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    thread,
    time::Duration,
};

use strait_compile::HealthSlots;
use strait_shm::{
    HealthOverlay, StatsRegion,
    link::{Link, LinkListener, Message},
};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::endpoints::EndpointStates;
pub(crate) use overlay::EndpointView;

/// How long a new connection has to say `Hello`.
const HELLO_TIMEOUT: Duration = Duration::from_secs(5);

/// A compiled, sealed table image, ready to be handed to a data plane.
#[derive(Debug)]
pub struct PublishedImage {
    /// Generation stamped in the image header.
    pub generation: u64,
    /// The sealed memfd holding the image.
    pub fd: OwnedFd,
    /// Image length in bytes.
    pub len: u64,
}

/// What the agent knows of the data plane, as a watch value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DataplaneState {
    /// A data plane is connected.
    pub connected: bool,
    /// Its process id.
    pub pid: u32,
    /// Its number of workers.
    pub workers: u32,
    /// The generation it installed last.
    pub installed: u64,
    /// The newest generation every worker runs.
    pub live: u64,
    /// The last image it refused: generation and reason.
    pub rejected: Option<(u64, String)>,
    /// Counts connections, so a watcher sees a reconnect.
    pub session: u64,
}

/// One worker as read from the stats region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerView {
    /// Worker index.
    pub index: u32,
    /// Pinned core.
    pub core: u32,
    /// Generation it runs (0: none).
    pub generation: u64,
    /// 0 starting, 1 running, 2 stopped.
    pub state: u64,
    /// Its last heartbeat, CLOCK_MONOTONIC milliseconds.
    pub heartbeat_ms: u64,
}

struct Session {
    id: u64,
    link: Link,
    stats: StatsRegion,
    overlay: HealthOverlay,
}

struct Shared {
    current: Mutex<Option<Arc<PublishedImage>>>,
    session: Mutex<Option<Session>>,
    endpoints: Mutex<EndpointStates>,
    state: watch::Sender<DataplaneState>,
    sessions: AtomicU64,
    /// The highest generation any data plane reported running.
    max_seen: AtomicU64,
}

/// Serves the link socket; cheap to clone.
#[derive(Clone)]
pub struct LinkServer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for LinkServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkServer")
            .field("state", &*self.shared.state.borrow())
            .finish()
    }
}

impl LinkServer {
    /// Binds the link socket (mode 0600) and starts accepting data planes; `endpoints` are the
    /// endpoint states of `current`.
    pub(crate) fn start(
        path: &Path,
        current: Option<Arc<PublishedImage>>,
        endpoints: EndpointStates,
    ) -> Result<(Self, watch::Receiver<DataplaneState>), strait_shm::link::LinkError> {
        let listener = LinkListener::bind(path)?;
        let (state, rx) = watch::channel(DataplaneState::default());
        let shared = Arc::new(Shared {
            current: Mutex::new(current),
            session: Mutex::new(None),
            endpoints: Mutex::new(endpoints),
            state,
            sessions: AtomicU64::new(0),
            max_seen: AtomicU64::new(0),
        });
        let server = LinkServer { shared };
        let acceptor = server.clone();
        thread::Builder::new()
            .name("link-accept".into())
            .spawn(move || acceptor.accept_loop(listener))
            .expect("spawn link acceptor");
        Ok((server, rx))
    }

    /// Makes `image`, whose endpoints hold `slots`, current and sends it to the connected data
    /// plane, if any, after writing the endpoint states it keeps into the overlay. Returns true
    /// when endpoint states were forgotten because their address left the config.
    pub(crate) fn publish(&self, image: Arc<PublishedImage>, slots: HealthSlots) -> bool {
        let mut current = self.shared.current.lock().unwrap();
        *current = Some(image.clone());
        let mut session = self.shared.session.lock().unwrap();
        let (writes, forgot) = self
            .shared
            .endpoints
            .lock()
            .unwrap()
            .publish(image.generation, slots);
        overlay::write(session.as_ref(), &writes);
        let failed = session
            .as_ref()
            .and_then(|s| send_image(&s.link, &image).err());
        if let Some(e) = failed {
            warn!(error = %e, "sending image to the data plane failed; dropping the link");
            if let Some(s) = session.take() {
                s.link.shutdown();
            }
            self.shared.state.send_modify(|st| st.connected = false);
        }
        forgot
    }

    /// The highest generation a data plane reported running since the agent started.
    pub fn max_dataplane_generation(&self) -> u64 {
        self.shared.max_seen.load(Ordering::Relaxed)
    }

    /// The workers of the connected data plane, read from its stats region.
    pub fn workers(&self) -> Vec<WorkerView> {
        let session = self.shared.session.lock().unwrap();
        let Some(s) = session.as_ref() else {
            return Vec::new();
        };
        (0..s.stats.worker_count())
            .filter_map(|i| s.stats.worker(i).map(|w| (i, w)))
            .map(|(i, w)| WorkerView {
                index: i as u32,
                core: w.core() as u32,
                generation: w.generation(),
                state: w.state(),
                heartbeat_ms: w.heartbeat_ms(),
            })
            .collect()
    }

    /// Runs `f` on the connected data plane's stats region; `None` when none is connected.
    ///
    /// `f` runs under the session lock, so it should only read the region: a handshake or a
    /// publish waits for it.
    pub fn with_stats<T>(&self, f: impl FnOnce(&StatsRegion) -> T) -> Option<T> {
        let session = self.shared.session.lock().unwrap();
        session.as_ref().map(|s| f(&s.stats))
    }

    fn accept_loop(self, listener: LinkListener) {
        loop {
            match listener.accept() {
                Ok(link) => {
                    if let Err(e) = self.handshake(link) {
                        warn!(error = %e, "data-plane handshake failed");
                    }
                }
                Err(e) => {
                    warn!(error = %e, "accepting a data-plane connection failed");
                    thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    fn handshake(&self, link: Link) -> Result<(), String> {
        link.set_read_timeout(Some(HELLO_TIMEOUT))
            .map_err(|e| e.to_string())?;
        let (msg, mut fds) = link.recv().map_err(|e| e.to_string())?;
        let Message::Hello {
            pid,
            workers,
            generation,
            abi_version,
        } = msg
        else {
            return Err(format!("expected Hello, got {msg:?}"));
        };
        if abi_version != strait_table::ABI_VERSION {
            return Err(format!(
                "data plane speaks table ABI {abi_version}, agent {}",
                strait_table::ABI_VERSION
            ));
        }
        // recv has checked that a Hello carries exactly its two fds.
        let overlay_fd = fds.pop().expect("two fds");
        let stats_fd = fds.pop().expect("two fds");
        let stats = StatsRegion::open(stats_fd).map_err(|e| e.to_string())?;
        let overlay = HealthOverlay::open(overlay_fd).map_err(|e| e.to_string())?;
        link.set_read_timeout(None).map_err(|e| e.to_string())?;
        let reader = link.try_clone().map_err(|e| e.to_string())?;
        let id = self.shared.sessions.fetch_add(1, Ordering::Relaxed) + 1;
        info!(
            pid,
            workers,
            generation,
            session = id,
            "data plane connected"
        );
        self.shared
            .max_seen
            .fetch_max(generation, Ordering::Relaxed);

        let current = self.shared.current.lock().unwrap();
        let mut session = self.shared.session.lock().unwrap();
        if let Some(old) = session.take() {
            old.link.shutdown();
        }
        self.shared.state.send_modify(|st| {
            *st = DataplaneState {
                connected: true,
                pid,
                workers,
                installed: generation,
                live: 0,
                rejected: None,
                session: id,
            }
        });
        if let Some(image) = current.as_ref().filter(|i| i.generation != generation) {
            info!(
                from = generation,
                to = image.generation,
                "sending the current image"
            );
            send_image(&link, image).map_err(|e| e.to_string())?;
        }
        *session = Some(Session {
            id,
            link,
            stats,
            overlay,
        });
        let writes = self.shared.endpoints.lock().unwrap().connected(generation);
        overlay::write(session.as_ref(), &writes);
        drop(session);
        drop(current);

        let server = self.clone();
        thread::Builder::new()
            .name(format!("link-read-{id}"))
            .spawn(move || server.read_loop(id, reader))
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    fn read_loop(self, id: u64, link: Link) {
        loop {
            let msg = match link.recv() {
                Ok((msg, _fds)) => msg,
                Err(e) => {
                    info!(session = id, reason = %e, "data plane disconnected");
                    break;
                }
            };
            match msg {
                Message::Installed { generation } => self
                    .shared
                    .state
                    .send_modify(|st| st.installed = generation),
                Message::Live {
                    generation,
                    switch_us,
                } => {
                    info!(generation, switch_us, "every worker runs the generation");
                    self.shared.state.send_modify(|st| st.live = generation);
                    self.endpoints_live(generation);
                }
                Message::Rejected { generation, reason } => {
                    warn!(generation, %reason, "data plane refused the image");
                    self.shared
                        .state
                        .send_modify(|st| st.rejected = Some((generation, reason)))
                }
                Message::Ping => {
                    let _ = link.send(&Message::Pong, &[]);
                }
                other => warn!(message = ?other, "unexpected message from the data plane"),
            }
        }
        let mut session = self.shared.session.lock().unwrap();
        if session.as_ref().is_some_and(|s| s.id == id) {
            *session = None;
            self.shared.state.send_modify(|st| st.connected = false);
        }
    }
}

fn send_image(link: &Link, image: &PublishedImage) -> Result<(), strait_shm::link::LinkError> {
    link.send(
        &Message::Publish {
            generation: image.generation,
            len: image.len,
        },
        &[image.fd.as_fd()],
    )
}
