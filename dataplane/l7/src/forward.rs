//! Forwarding one routed request: the upstream head with the route's modifications, an
//! endpoint by the cluster's policy, the body held and checked, a pooled or new connection
//! (connect failures retried on the route's policy), then the exchange.
//!
//! Invariants:
//! * Nothing reaches an upstream before the head and the buffered start of the body (all of
//!   it when smaller than `hold_body_bytes`) have been validated.
//! * No endpoint: 503 saying why (no endpoint at all, or none healthy). A connect that fails
//!   after the route's retries: 502. The cluster's connect timeout applies to each attempt.
//! * A request counts as in flight on its endpoint (least request) for the whole exchange.

use std::time::Duration;

use compio::net::TcpStream;
use strait_http1::{BodyDecoder, BodyFraming, Upgrade};
use strait_table::{ModDirection, retry_on};
use tracing::debug;

use crate::conn::{Client, Next};
use crate::generation::Generation;
use crate::headers::{self, Mods};
use crate::io::within;
use crate::lb::{ClusterState, NoEndpoint};
use crate::proxy::{self, Exchange, Facts, Outcome, Upstream};
use crate::route::{Request, choose_endpoint};
use crate::worker::Shared;

/// Forwards `req` by route record `route` to cluster record `cluster`.
pub(crate) async fn forward(
    client: &mut Client<'_>,
    generation: &Generation,
    req: &Request<'_>,
    route: usize,
    cluster: u32,
) -> Next {
    let shared = client.shared;
    let image = &*generation.image;
    let head = req.head;
    let (Some(route), Some(record)) = (
        image.routes().get(route),
        image.clusters().get(cluster as usize),
    ) else {
        return client
            .answer(head, 503, b"route refers to no cluster\n", false)
            .await;
    };
    if record.upstream_protocol() == Some(strait_table::UpstreamProtocol::Http2) {
        return crate::http2::forward_h1(client, generation, req, route, record, cluster).await;
    }
    let name = image.str(record.name);
    let upgrade = match head.upgrade {
        Some(Upgrade::Protocol(span)) => Some(span.get(req.buf)),
        _ => None,
    };
    let request_mods = Mods::of(image, route, ModDirection::Request).proto(client.stream.is_tls());
    let response_mods = Mods::of(image, route, ModDirection::Response);
    let mut up_head = Vec::with_capacity(req.buf.len() + 64);
    let chunked = head.framing == BodyFraming::Chunked;
    if headers::upstream_request(&mut up_head, head, req.buf, &request_mods, chunked, upgrade)
        .is_err()
    {
        return client
            .answer(
                head,
                500,
                b"a header modification of the route is invalid\n",
                false,
            )
            .await;
    }
    let usable = |slot: u32| shared.usable(slot);
    let mut chosen = match choose_endpoint(generation, cluster, req, &usable, &shared.rng) {
        Ok(chosen) => chosen,
        Err(why) => {
            return client
                .answer(head, 503, no_endpoint(why, name).as_bytes(), false)
                .await;
        }
    };
    let decoder = BodyDecoder::new(head.framing, &shared.opts.limits);
    if let Err(next) = client.hold_body(&decoder, head.expect_continue).await {
        return next;
    }
    let facts = Facts {
        method: head.method,
        version: head.version,
        keep_alive: head.keep_alive,
        framing: head.framing,
        upgrade: upgrade.is_some(),
    };
    let connect_timeout = millis(record.connect_timeout_ms).unwrap_or(shared.opts.connect_timeout);
    let response_timeout = millis(route.timeout_ms).unwrap_or(shared.opts.response_timeout);
    let attempts = 1 + if route.retries_on(retry_on::CONNECT_FAILURE) {
        u32::from(route.retry_attempts)
    } else {
        0
    };
    let state = generation.cluster_state(cluster);
    let (mut failures, mut fresh) = (0, false);
    loop {
        let up = match connect(shared, chosen.addr, connect_timeout, fresh).await {
            Ok(up) => up,
            Err(e) => {
                failures += 1;
                debug!(cluster = name, endpoint = %chosen.addr, error = %e, "connect failed");
                if failures >= attempts {
                    let body = format!("cannot connect to an endpoint of cluster {name}\n");
                    return client.answer(head, 502, body.as_bytes(), true).await;
                }
                match choose_endpoint(generation, cluster, req, &usable, &shared.rng) {
                    Ok(next) => chosen = next,
                    Err(why) => {
                        return client
                            .answer(head, 503, no_endpoint(why, name).as_bytes(), true)
                            .await;
                    }
                }
                continue;
            }
        };
        let _in_flight = InFlight::begin(state, chosen.pos);
        let exchange = Exchange {
            shared,
            client: client.stream,
            client_in: &mut client.inbound,
            head: &up_head,
            facts,
            response_mods: &response_mods,
            response_timeout,
        };
        match proxy::exchange(exchange, up).await {
            Outcome::Done { client_reusable } => {
                return if client_reusable {
                    Next::KeepAlive
                } else {
                    Next::Close
                };
            }
            Outcome::Stale if !fresh => fresh = true,
            Outcome::Stale => {
                return client
                    .answer(head, 502, b"upstream connection failed\n", true)
                    .await;
            }
            Outcome::Answer(status, reason) => {
                let body = format!("{reason}\n");
                return client.answer(head, status, body.as_bytes(), true).await;
            }
            Outcome::Close => return Next::Drop,
        }
    }
}

fn no_endpoint(why: NoEndpoint, cluster: &str) -> String {
    match why {
        NoEndpoint::Empty => format!("cluster {cluster} has no endpoint\n"),
        NoEndpoint::Unhealthy => format!("no healthy endpoint in cluster {cluster}\n"),
    }
}

fn millis(ms: u32) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(u64::from(ms)))
}

/// A pooled connection to `addr` unless `fresh`, else a new one within `timeout`.
async fn connect(
    shared: &Shared,
    addr: std::net::SocketAddr,
    timeout: Duration,
    fresh: bool,
) -> std::io::Result<Upstream> {
    if let Some(stream) = (!fresh).then(|| shared.pool.take(addr)).flatten() {
        return Ok(Upstream {
            stream,
            addr,
            reused: true,
        });
    }
    let stream = within(timeout, TcpStream::connect(addr)).await??;
    let _ = stream.set_nodelay(true);
    Ok(Upstream {
        stream: stream.into(),
        addr,
        reused: false,
    })
}

/// Counts a request in flight on an endpoint until dropped.
struct InFlight<'g> {
    state: Option<&'g ClusterState>,
    pos: usize,
}

impl<'g> InFlight<'g> {
    fn begin(state: Option<&'g ClusterState>, pos: usize) -> InFlight<'g> {
        if let Some(s) = state {
            s.begin(pos);
        }
        InFlight { state, pos }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.state {
            s.end(self.pos);
        }
    }
}
