//! A worker's listening sockets: one `SO_REUSEPORT` socket per listener of the current
//! generation (HTTP, HTTPS, TLS terminating or pass-through, TCP), so the kernel spreads
//! connections over the workers, each accepting on its own socket; and what each accepted
//! connection runs ([`serve`]).
//!
//! Invariants: after [`Listeners::sync`] the worker listens on exactly the generation's
//! listeners that could be bound (and, when they terminate TLS, whose certificates loaded);
//! a listener removed from the generation, or whose kind changed, stops accepting at once (its
//! accept task is cancelled and its socket closed) while connections it accepted finish on
//! their own. A bind that fails is logged once and retried at each sync. Certificates are read
//! again when a new generation arrives, and at each sync while they fail to load; new
//! handshakes take the newest config, handshakes already made keep theirs.

use std::{
    cell::RefCell,
    collections::{HashMap, HashSet},
    io,
    net::SocketAddr,
    rc::Rc,
    sync::Arc,
    time::Duration,
};

use compio::{
    net::{TcpListener, TcpStream},
    runtime::JoinHandle,
};
use rustix::net::{AddressFamily, SocketFlags, SocketType, sockopt};
use rustls::ServerConfig;
use tracing::{debug, info, warn};

use crate::generation::{Generation, Kind};
use crate::http2::{self, Opening};
use crate::io::within;
use crate::stream::Stream;
use crate::tls::{CertStore, HTTP_ALPN, Resumption, Source, TlsStream};
use crate::{conn, tcp, worker::Shared};

/// Pending connections the kernel queues per listening socket.
const BACKLOG: i32 = 1024;

/// The config new handshakes on a listener take (replaced on reload).
type TlsSlot = Rc<RefCell<Arc<ServerConfig>>>;

/// An open listener.
#[derive(Debug)]
struct Open {
    kind: Kind,
    /// Dropping it cancels the accept loop and closes the socket.
    _task: JoinHandle<()>,
    tls: Option<TlsSlot>,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Listeners {
    open: HashMap<SocketAddr, Open>,
    failed: HashSet<SocketAddr>,
    /// Certificates per TLS-terminating listener, for the kind they were built for (ALPN
    /// differs between HTTPS and TLS listeners).
    certs: HashMap<SocketAddr, (Kind, CertStore)>,
    resumption: Resumption,
    /// The generation (worker serial) whose certificate files were last read.
    checked: u64,
}

impl Listeners {
    /// No listener open yet; TLS listeners offer resumption when `tls_resumption`.
    pub(crate) fn new(tls_resumption: bool) -> Listeners {
        Listeners {
            open: HashMap::new(),
            failed: HashSet::new(),
            certs: HashMap::new(),
            resumption: Resumption::new(tls_resumption),
            checked: 0,
        }
    }

    /// Opens and closes listeners to match `generation` (none without one).
    pub(crate) fn sync(&mut self, shared: &Rc<Shared>, generation: Option<&Generation>) {
        let wanted: HashMap<SocketAddr, (u32, Kind)> = generation
            .map(|g| g.listeners().map(|(a, i, k)| (a, (i, k))).collect())
            .unwrap_or_default();
        let serial = generation.map_or(0, |g| g.serial);
        let fresh = std::mem::replace(&mut self.checked, serial) != serial;
        self.open.retain(|addr, open| {
            let keep = wanted.get(addr).is_some_and(|&(_, k)| k == open.kind);
            if !keep {
                info!(%addr, "closing L7 listener");
            }
            keep
        });
        self.failed.retain(|addr| wanted.contains_key(addr));
        self.certs
            .retain(|addr, (kind, _)| wanted.get(addr).is_some_and(|(_, k)| k == kind));
        for (addr, (index, kind)) in wanted {
            let mut tls = None;
            if let (true, Some(g)) = (kind.terminates_tls(), generation) {
                let (_, store) = self
                    .certs
                    .entry(addr)
                    .or_insert((kind, CertStore::default()));
                if fresh || store.failing() {
                    let read = Source::read(g.certificates(index));
                    let alpn = if kind == Kind::Https { HTTP_ALPN } else { &[] };
                    store.update(g.listener_name(index), read, alpn, &self.resumption);
                }
                match store.config() {
                    Some(config) => tls = Some(config),
                    // Not opened without certificates; the next sync tries again.
                    None => continue,
                }
            }
            if let Some(open) = self.open.get(&addr) {
                if let (Some(slot), Some(config)) = (&open.tls, tls) {
                    *slot.borrow_mut() = config;
                }
                continue;
            }
            match bind(addr) {
                Ok(listener) => {
                    info!(%addr, ?kind, "L7 listener open");
                    self.failed.remove(&addr);
                    let tls = tls.map(|c| Rc::new(RefCell::new(c)));
                    let task = accept_loop(shared.clone(), listener, addr, kind, tls.clone());
                    let open = Open {
                        kind,
                        _task: compio::runtime::spawn(task),
                        tls,
                    };
                    self.open.insert(addr, open);
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

async fn accept_loop(
    shared: Rc<Shared>,
    listener: TcpListener,
    addr: SocketAddr,
    kind: Kind,
    tls: Option<TlsSlot>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let config = tls.as_ref().map(|slot| slot.borrow().clone());
                let task = serve(shared.clone(), stream, peer, addr, kind, config);
                compio::runtime::spawn(task).detach();
            }
            Err(e) => {
                // Out of descriptors or memory: back off instead of spinning.
                warn!(%addr, error = %e, "accept failed");
                compio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Serves one accepted connection as its listener's kind says; a TLS handshake that fails or
/// does not finish within the header-read timeout closes the connection.
async fn serve(
    shared: Rc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    listener: SocketAddr,
    kind: Kind,
    tls: Option<Arc<ServerConfig>>,
) {
    let _ = stream.set_nodelay(true);
    let shared = &*shared;
    match (kind, tls) {
        (Kind::Http, _) => match http2::opening(&stream, &shared.opts).await {
            Opening::H2 => http2::serve(shared, stream.into(), peer, listener).await,
            Opening::Http1 => conn::serve(shared, stream.into(), peer, listener).await,
            Opening::Gone => {}
        },
        (Kind::Tcp, _) => tcp::serve(shared, stream.into(), peer, listener, None, Vec::new()).await,
        (Kind::TlsPassthrough, _) => tcp::passthrough(shared, stream, peer, listener).await,
        (Kind::Https | Kind::TlsTerminate, Some(config)) => {
            let limit = shared.opts.header_read_timeout;
            let tls = match within(limit, TlsStream::accept(stream, config)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) | Err(e) => {
                    debug!(%peer, %listener, error = %e, "TLS handshake failed");
                    return;
                }
            };
            let (sni, alpn) = (tls.server_name(), tls.alpn());
            let stream = Stream::Tls(Box::new(tls));
            match (kind, alpn.as_deref()) {
                (Kind::Https, Some(b"h2")) => http2::serve(shared, stream, peer, listener).await,
                // A client without ALPN speaks HTTP/1.1 (see `tls::HTTP_ALPN`).
                (Kind::Https, None | Some(b"http/1.1")) => {
                    conn::serve(shared, stream, peer, listener).await;
                }
                (Kind::Https, Some(other)) => {
                    let alpn = String::from_utf8_lossy(other);
                    debug!(%peer, %listener, %alpn, "no server for the negotiated protocol");
                }
                _ => tcp::serve(shared, stream, peer, listener, sni.as_deref(), Vec::new()).await,
            }
        }
        (Kind::Https | Kind::TlsTerminate, None) => {}
    }
}
