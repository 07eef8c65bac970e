//! How a worker reaches a cluster's endpoints: plain TCP, or TLS verified against the
//! cluster's roots and name ([`Security`]); and the pooled-or-new connection every forwarding
//! path ([`crate::forward`], [`crate::http2`]) takes ([`connect`]).
//!
//! Invariants:
//! * A cluster with TLS is reached only through a verified session; its plaintext never goes
//!   out in the clear, whichever protocol the cluster speaks. A handshake that fails is a
//!   connect failure.
//! * A pooled connection is taken only for the same address *and* security ([`PeerKey`]).
//! * The whole connect (TCP, then the TLS handshake) fits in the caller's timeout.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use compio::net::TcpStream;
use rustls::ClientConfig;
use strait_table::{Cluster, UpstreamProtocol};
use xxhash_rust::xxh3::xxh3_64;

use crate::generation::Generation;
use crate::io::within;
use crate::pool::PeerKey;
use crate::proxy::Upstream;
use crate::stream::Stream;
use crate::tls::{self, Alpn, TlsStream};
use crate::worker::Shared;

/// How a cluster's endpoints are reached: plain TCP, or TLS with this config and server name
/// (empty: each endpoint's address).
#[derive(Debug)]
pub(crate) enum Security<'g> {
    Plain,
    Tls {
        config: Arc<ClientConfig>,
        sni: &'g str,
        key: u64,
    },
}

impl<'g> Security<'g> {
    /// The cluster's security, or why it cannot be had (its roots cannot be loaded).
    pub(crate) fn of(
        generation: &'g Generation,
        cluster: &Cluster,
    ) -> Result<Security<'g>, String> {
        if !cluster.upstream_tls() {
            return Ok(Security::Plain);
        }
        let image = &*generation.image;
        let (sni, ca) = (image.str(cluster.tls_sni), image.str(cluster.tls_ca));
        let alpn = match cluster.upstream_protocol() {
            Some(UpstreamProtocol::Http2) => Alpn::H2,
            _ => Alpn::Http1,
        };
        let config = generation.upstream_tls.get(ca, alpn)?;
        let key =
            (xxh3_64(sni.as_bytes()) ^ xxh3_64(ca.as_bytes()).rotate_left(17) ^ alpn as u64) | 1;
        Ok(Security::Tls { config, sni, key })
    }
}

/// A pooled connection to `addr` unless `fresh`, else a new one (TCP, then TLS when the
/// cluster asks for it) within `timeout`.
pub(crate) async fn connect(
    shared: &Shared,
    addr: SocketAddr,
    security: &Security<'_>,
    timeout: Duration,
    fresh: bool,
) -> std::io::Result<Upstream> {
    let tls = security.key();
    let key = PeerKey { addr, tls };
    if let Some(stream) = (!fresh).then(|| shared.pool.take(key)).flatten() {
        return Ok(Upstream {
            stream,
            addr,
            tls,
            reused: true,
        });
    }
    // Boxed: opening (TCP, maybe TLS) is a large future and rare next to a pooled
    // connection; inline, it would grow every request's future by its size.
    let stream = Box::pin(open(addr, security, timeout)).await?;
    Ok(Upstream {
        stream,
        addr,
        tls,
        reused: false,
    })
}

impl Security<'_> {
    /// The [`PeerKey::tls`] of connections made with this security.
    pub(crate) fn key(&self) -> u64 {
        match self {
            Security::Plain => 0,
            Security::Tls { key, .. } => *key,
        }
    }
}

/// A new connection to `addr` (TCP, then TLS when `security` asks for it) within `timeout`.
pub(crate) async fn open(
    addr: SocketAddr,
    security: &Security<'_>,
    timeout: Duration,
) -> std::io::Result<Stream> {
    let started = Instant::now();
    let tcp = within(timeout, TcpStream::connect(addr)).await??;
    let _ = tcp.set_nodelay(true);
    Ok(match security {
        Security::Plain => Stream::from(tcp),
        Security::Tls { config, sni, .. } => {
            let name = tls::server_name(sni, addr.ip()).map_err(std::io::Error::other)?;
            let left = timeout.saturating_sub(started.elapsed());
            let session = within(left, TlsStream::connect(tcp, config.clone(), name)).await??;
            Stream::Tls(Box::new(session))
        }
    })
}
