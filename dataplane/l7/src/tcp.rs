//! TCP routes: TCP listeners, TLS pass-through listeners (routed by the ClientHello's server
//! name) and terminating TLS listeners (routed by the handshake's server name). The bytes go
//! both ways unchanged until both sides are done.
//!
//! Order: [`passthrough`] reads until the ClientHello is whole (bounded in bytes and by the
//! header-read timeout) → [`serve`]: route by server name (exact, wildcard, the route without
//! names), a weighted cluster, an endpoint by the cluster's policy, connect (the cluster's
//! connect timeout) → the bytes already read go first → copy both ways.
//!
//! Invariants:
//! * Nothing is consumed before forwarding: the upstream sees the client's bytes from the
//!   first, so a pass-through upstream terminates the very handshake the client began.
//! * No route, no weighted backend, no usable endpoint or a failed connect closes the client
//!   connection (logged at debug): there is no protocol to answer in.
//! * Half-close: when one side ends its stream, the other side's sending half is shut down
//!   and the other direction goes on. A reset, a failed write, or a direction silent for the
//!   idle timeout ends both.
//! * The connection counts as in flight on its endpoint (least request) until it ends.

use std::{
    net::{IpAddr, SocketAddr},
    pin::pin,
    time::{Duration, Instant},
};

use compio::net::TcpStream;
use futures_util::future::{Either, select};
use strait_table::{HashOn, LbPolicy};
use tracing::debug;
use xxhash_rust::xxh3::xxh3_64;

use crate::io::{Inbound, within, write_all};
use crate::lb::{self, InFlight};
use crate::stream::Stream;
use crate::tls::hello::{self, Hello};
use crate::worker::Shared;

/// Room for each read of a ClientHello.
const HELLO_CHUNK: usize = 4096;

/// Reads the ClientHello of a pass-through connection, then serves it by its server name.
pub(crate) async fn passthrough(
    shared: &Shared,
    tcp: TcpStream,
    peer: SocketAddr,
    listener: SocketAddr,
) {
    let client = Stream::from(tcp);
    let mut inbound = Inbound::default();
    let deadline = Instant::now() + shared.opts.header_read_timeout;
    let sni = loop {
        match hello::parse(&inbound.buf) {
            Ok(Hello::Complete(sni)) => break sni,
            Ok(Hello::Partial) => {}
            Err(e) => {
                debug!(%peer, %listener, error = %e, "not a usable ClientHello; closing");
                return;
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match inbound.fill_within(&client, HELLO_CHUNK, left).await {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) => {
                debug!(%peer, %listener, error = %e, "no whole ClientHello; closing");
                return;
            }
        }
    };
    serve(shared, client, peer, listener, sni.as_deref(), inbound.buf).await;
}

/// Serves `client` on the TCP route of `listener` for `sni`, sending `initial` first.
pub(crate) async fn serve(
    shared: &Shared,
    client: Stream,
    peer: SocketAddr,
    listener: SocketAddr,
    sni: Option<&str>,
    initial: Vec<u8>,
) {
    let Some(generation) = shared.refresh() else {
        return;
    };
    let image = &*generation.image;
    let route = generation
        .listener(listener)
        .and_then(|index| generation.tcp_route(index, sni));
    let Some(route) = route.and_then(|r| image.tcp_routes().get(r as usize)) else {
        debug!(%peer, %listener, sni, "no TCP route; closing");
        return;
    };
    let name = image.str(route.name);
    let Some(backend) = lb::pick_backend(image.tcp_route_backends_of(route), &shared.rng) else {
        debug!(%peer, route = name, "TCP route has no backend with a weight; closing");
        return;
    };
    let cluster = backend.cluster;
    let (Some(record), Some(state)) = (
        image.clusters().get(cluster as usize),
        generation.cluster_state(cluster),
    ) else {
        return;
    };
    let endpoints = image.endpoints_of(record);
    let hash = match record.hash_on() {
        Some(HashOn::SourceIp) => Some(match peer.ip() {
            IpAddr::V4(a) => xxh3_64(&a.octets()),
            IpAddr::V6(a) => xxh3_64(&a.octets()),
        }),
        _ => None,
    };
    let usable = |e: &strait_table::Endpoint| {
        e.weight > 0 && e.addr().is_some() && shared.usable(e.health_slot)
    };
    let chosen = lb::choose(
        record.lb_policy().unwrap_or(LbPolicy::RoundRobin),
        endpoints,
        state,
        image.cluster_maglev_of(record),
        hash,
        &usable,
        &shared.rng,
    );
    let Some((pos, ip)) = chosen
        .ok()
        .and_then(|pos| Some((pos, endpoints[pos].addr()?)))
    else {
        debug!(%peer, route = name, "no usable endpoint; closing");
        return;
    };
    let addr = SocketAddr::new(ip, endpoints[pos].port);
    let timeout = match record.connect_timeout_ms {
        0 => shared.opts.connect_timeout,
        ms => Duration::from_millis(u64::from(ms)),
    };
    let upstream = match within(timeout, TcpStream::connect(addr)).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) | Err(e) => {
            debug!(%peer, route = name, endpoint = %addr, error = %e, "connect failed; closing");
            return;
        }
    };
    let _ = upstream.set_nodelay(true);
    let upstream = Stream::from(upstream);
    let _in_flight = InFlight::begin(Some(state), pos);
    debug!(%peer, route = name, endpoint = %addr, "TCP stream open");
    copy_both_ways(shared, &client, initial, &upstream).await;
}

/// Copies both ways; see the module invariants.
async fn copy_both_ways(shared: &Shared, client: &Stream, initial: Vec<u8>, upstream: &Stream) {
    let (chunk, idle) = (shared.opts.read_chunk, shared.opts.idle_timeout);
    let up = pin!(one_way(client, initial, upstream, chunk, idle));
    let down = pin!(one_way(upstream, Vec::new(), client, chunk, idle));
    match select(up, down).await {
        Either::Left((Ok(()), rest)) => {
            let _ = rest.await;
        }
        Either::Right((Ok(()), rest)) => {
            let _ = rest.await;
        }
        // A reset, a failed write or a timeout: both sides close.
        Either::Left((Err(()), _)) | Either::Right((Err(()), _)) => {}
    }
}

/// Copies `from` to `to` (after `pending`) until `from` ends, then shuts down `to`'s sending
/// half. `Err` when anything failed.
async fn one_way(
    from: &Stream,
    pending: Vec<u8>,
    to: &Stream,
    chunk: usize,
    idle: Duration,
) -> Result<(), ()> {
    let mut inbound = Inbound { buf: pending };
    loop {
        if !inbound.buf.is_empty() {
            write_all(to, &mut inbound.buf).await.map_err(drop)?;
        }
        match inbound.fill_within(from, chunk, idle).await {
            Ok(0) => break,
            Ok(_) => {}
            Err(_) => return Err(()),
        }
    }
    to.shutdown().await.map_err(drop)
}
