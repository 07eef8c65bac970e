//! A worker's listening sockets: one `SO_REUSEPORT` socket per plain-HTTP listener of the
//! current generation, so the kernel spreads connections over the workers, each accepting on
//! its own socket.
//!
//! Invariants: after [`Listeners::sync`] the worker listens on exactly the generation's
//! listeners that could be bound; a listener removed from the generation stops accepting at
//! once (its accept task is cancelled and its socket closed) while connections it accepted
//! finish on their own. A bind that fails is logged once and retried at each sync.

use std::{
    collections::{HashMap, HashSet},
    io,
    net::SocketAddr,
    rc::Rc,
    time::Duration,
};

use compio::{
    net::{TcpListener, TcpStream},
    runtime::JoinHandle,
};
use rustix::net::{AddressFamily, SocketFlags, SocketType, sockopt};
use tracing::{info, warn};

use crate::{conn, generation::Generation, worker::Shared};

/// Pending connections the kernel queues per listening socket.
const BACKLOG: i32 = 1024;

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Listeners {
    open: HashMap<SocketAddr, JoinHandle<()>>,
    failed: HashSet<SocketAddr>,
}

impl Listeners {
    /// Opens and closes listeners to match `generation` (none without one).
    pub(crate) fn sync(&mut self, shared: &Rc<Shared>, generation: Option<&Generation>) {
        let wanted: HashSet<SocketAddr> = generation
            .map(|g| g.http_listeners().collect())
            .unwrap_or_default();
        self.open.retain(|addr, _| {
            let keep = wanted.contains(addr);
            if !keep {
                info!(%addr, "closing L7 listener");
            }
            keep
        });
        self.failed.retain(|addr| wanted.contains(addr));
        for addr in wanted {
            if self.open.contains_key(&addr) {
                continue;
            }
            match bind(addr) {
                Ok(listener) => {
                    info!(%addr, "L7 listener open");
                    self.failed.remove(&addr);
                    let task = accept_loop(shared.clone(), listener, addr);
                    self.open.insert(addr, compio::runtime::spawn(task));
                }
                Err(e) => {
                    if self.failed.insert(addr) {
                        warn!(%addr, error = %e, "cannot listen; retrying every second");
                    }
                }
            }
        }
    }
}

/// A listening socket with `SO_REUSEPORT` (and `SO_REUSEADDR`, and IPv6-only for IPv6).
fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    let fd = rustix::net::socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC, None)?;
    sockopt::set_socket_reuseaddr(&fd, true)?;
    sockopt::set_socket_reuseport(&fd, true)?;
    if addr.is_ipv6() {
        sockopt::set_ipv6_v6only(&fd, true)?;
    }
    rustix::net::bind(&fd, &addr)?;
    rustix::net::listen(&fd, BACKLOG)?;
    TcpListener::from_std(std::net::TcpListener::from(fd))
}

async fn accept_loop(shared: Rc<Shared>, listener: TcpListener, addr: SocketAddr) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                compio::runtime::spawn(serve(shared.clone(), stream, peer, addr)).detach();
            }
            Err(e) => {
                // Out of descriptors or memory: back off instead of spinning.
                warn!(%addr, error = %e, "accept failed");
                compio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn serve(shared: Rc<Shared>, stream: TcpStream, peer: SocketAddr, listener: SocketAddr) {
    conn::serve(&shared, stream, peer, listener).await;
}
