//! The end of one request, an HTTP/1.1 request and an HTTP/2 stream alike: counted in the
//! worker's metrics and, when the access log is on, written there.
//!
//! Order: whoever serves the request fills an [`Entry`] as it goes (`conn` for HTTP/1.1,
//! `http2::record` for a stream), then calls [`record`] once, when the request is over,
//! however it ended (answered, answered by the proxy, broken off, or left by the client).
//!
//! Invariants: a request recorded adds one to `l7_requests`, one to its status class (none
//! for status 0: no response went out), one to the local answers when the proxy answered it,
//! its bytes both ways, and its duration (from the whole request head to the end of the
//! response) to the latency histogram; what the log line shows of the request ([`Asked`]) is
//! looked up only when the log is on.

use std::{net::SocketAddr, time::Instant};

use strait_shm::l7stats::counter;
use strait_table::StrRef;

use crate::access::{Entry, Line};
use crate::generation::Generation;
use crate::worker::Shared;

/// What a request asked for, as its access log line shows it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Asked<'a> {
    pub(crate) method: &'a [u8],
    /// The host as received, without its port.
    pub(crate) authority: &'a [u8],
    /// The target as received, query included.
    pub(crate) path: &'a [u8],
    /// `HTTP/1.0`, `HTTP/1.1` or `HTTP/2.0`.
    pub(crate) version: &'a str,
}

/// Counts the request that just ended (served from `client`, routed on `generation`, its
/// clock started at `started`) and writes its access log line; see the module documentation.
pub(crate) fn record<'a>(
    shared: &Shared,
    generation: Option<&Generation>,
    client: SocketAddr,
    e: &mut Entry,
    started: Instant,
    asked: impl FnOnce() -> Asked<'a>,
) {
    let metrics = &shared.metrics;
    e.bytes_in = e.bytes_in.max(e.head_bytes);
    let duration_us = started.elapsed().as_micros() as u64;
    metrics.inc(counter::REQUESTS);
    metrics.response(e.status);
    if e.local {
        metrics.inc(counter::LOCAL);
    }
    metrics.add(counter::BYTES_IN, e.bytes_in);
    metrics.add(counter::BYTES_OUT, e.bytes_out);
    metrics.latency(duration_us);
    let log = &shared.log;
    if !log.on() {
        return;
    }
    let name = |r: Option<StrRef>| generation.zip(r).map(|(g, r)| g.image.str(r));
    let image = generation.map(|g| &*g.image);
    let route = e.route.and_then(|i| image?.routes().get(i)).map(|r| r.name);
    let cluster = e
        .cluster
        .and_then(|i| image?.clusters().get(i as usize))
        .map(|c| c.name);
    let asked = asked();
    log.write(&Line {
        client,
        method: asked.method,
        authority: asked.authority,
        path: asked.path,
        version: asked.version,
        route: name(route),
        cluster: name(cluster),
        duration_us,
        entry: e,
    });
}
