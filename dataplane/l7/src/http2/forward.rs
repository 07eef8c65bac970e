//! Forwarding one routed HTTP/2 stream: the route's header modifications, an endpoint by the
//! cluster's policy, a connection (connect failures retried on the route's policy), then the
//! exchange in the cluster's protocol.
//!
//! Invariants (as for HTTP/1.1, `crate::forward`): no endpoint is 503, a connect that fails
//! after the route's retries is 502, no response head in time is 504 (gRPC: UNAVAILABLE,
//! UNAVAILABLE, DEADLINE_EXCEEDED); a request counts as in flight on its endpoint for the
//! whole exchange; once a response has started, a failure resets the stream instead; connect
//! failures, retries and timeouts are counted, and the stream's record notes its route,
//! cluster, endpoint and retries.

use std::net::SocketAddr;

use h2::{Reason, RecvStream};
use http::request::Parts;
use strait_http1::BodyFraming;
use strait_shm::l7stats::counter;
use strait_table::{ModDirection, UpstreamProtocol, retry_on};
use tracing::debug;

use super::server::{Answer, Origin};
use super::{head, to_h1, to_h2};
use crate::generation::Generation;
use crate::headers::{self, Mods};
use crate::io::millis;
use crate::lb::InFlight;
use crate::route::{Request, choose_endpoint};
use crate::upstream::{self, Security};
use crate::worker::Shared;

/// Where routing sent a stream.
#[derive(Debug)]
pub(super) struct Target<'a> {
    pub(super) generation: &'a Generation,
    /// The request as routing saw it (its HTTP/1.1 head).
    pub(super) req: &'a Request<'a>,
    pub(super) route: usize,
    pub(super) cluster: u32,
}

/// How an exchange failed.
#[derive(Debug)]
pub(super) enum Failed {
    /// A reused connection failed before anything was heard and nothing of the request was
    /// consumed: send it again on a new connection.
    Stale,
    /// Nothing was answered yet: answer this.
    Answer(u16, &'static str),
    /// The response broke off (or the client left): reset the stream.
    Reset,
}

/// Forwards one stream; see the module documentation.
pub(super) async fn forward(
    shared: &Shared,
    origin: Origin,
    t: Target<'_>,
    parts: &Parts,
    mut body: RecvStream,
    answer: &mut Answer<'_>,
) {
    let image = &*t.generation.image;
    answer.record.routed(t.route, t.cluster);
    let (Some(route), Some(record)) = (
        image.routes().get(t.route),
        image.clusters().get(t.cluster as usize),
    ) else {
        return answer.fail(503, "route refers to no cluster");
    };
    let name = image.str(record.name);
    let request_mods = Mods::of(image, route, ModDirection::Request).forwarding(
        t.req.head,
        t.req.buf,
        origin.peer.ip(),
        origin.tls,
    );
    let response_mods = Mods::of(image, route, ModDirection::Response);
    let h2 = record.upstream_protocol() == Some(UpstreamProtocol::Http2);
    let usable = |slot: u32| shared.usable(slot);
    let choose = || choose_endpoint(t.generation, t.cluster, t.req, &usable, &shared.rng);
    let mut chosen = match choose() {
        Ok(chosen) => chosen,
        Err(why) => return answer.fail(503, &why.describe(name)),
    };
    let h2_req = if h2 {
        match head::h2_request(parts, &request_mods) {
            Ok(req) => Some(req),
            Err(_) => return answer.fail(500, "the request cannot be forwarded"),
        }
    } else {
        None
    };
    let mut h1_head = Vec::new();
    let framing = t.req.head.framing;
    if !h2
        && headers::upstream_request(
            &mut h1_head,
            t.req.head,
            t.req.buf,
            &request_mods,
            framing == BodyFraming::Chunked,
            None,
        )
        .is_err()
    {
        return answer.fail(500, "a header modification of the route is invalid");
    }
    let security = match Security::of(t.generation, record) {
        Ok(security) => security,
        Err(why) => {
            let message = format!("no TLS towards the endpoints of cluster {name}: {why}");
            return answer.fail(502, &message);
        }
    };
    let connect_timeout = millis(record.connect_timeout_ms).unwrap_or(shared.opts.connect_timeout);
    let response_timeout = millis(route.timeout_ms).unwrap_or(shared.opts.response_timeout);
    let attempts = 1 + if route.retries_on(retry_on::CONNECT_FAILURE) {
        u32::from(route.retry_attempts)
    } else {
        0
    };
    let state = t.generation.cluster_state(t.cluster);
    let metrics = &shared.metrics;
    let (mut failures, mut fresh) = (0, false);
    loop {
        let result = if let Some(req) = &h2_req {
            match to_h2::client(shared, chosen.addr, &security, connect_timeout, fresh).await {
                Ok(client) => {
                    let _in_flight = InFlight::begin(state, chosen.pos);
                    answer.record.tried(chosen.addr);
                    let x = to_h2::Exchange {
                        req: req.clone(),
                        response_mods: &response_mods,
                        response_timeout,
                    };
                    Some(x.run(client, &mut body, answer).await)
                }
                Err(e) => connect_failed(shared, chosen.addr, name, &e),
            }
        } else {
            match upstream::connect(shared, chosen.addr, &security, connect_timeout, fresh).await {
                Ok(up) => {
                    let _in_flight = InFlight::begin(state, chosen.pos);
                    answer.record.tried(chosen.addr);
                    let x = to_h1::Exchange {
                        shared,
                        head: &h1_head,
                        method: t.req.head.method,
                        chunked: framing == BodyFraming::Chunked,
                        response_mods: &response_mods,
                        response_timeout,
                        record: answer.record,
                    };
                    Some(x.run(up, &mut body, answer.respond).await)
                }
                Err(e) => connect_failed(shared, chosen.addr, name, &e),
            }
        };
        match result {
            Some(Ok(())) => return,
            Some(Err(Failed::Stale)) if !fresh => fresh = true,
            Some(Err(Failed::Stale)) => return answer.fail(502, "upstream connection failed"),
            Some(Err(Failed::Answer(status, reason))) => {
                if status == 504 {
                    metrics.inc(counter::TIMEOUTS);
                }
                return answer.fail(status, reason);
            }
            Some(Err(Failed::Reset)) => return answer.respond.send_reset(Reason::INTERNAL_ERROR),
            None => {
                failures += 1;
                if failures >= attempts {
                    let message = format!("cannot connect to an endpoint of cluster {name}");
                    return answer.fail(502, &message);
                }
                metrics.inc(counter::RETRIES);
                answer.record.retried();
                match choose() {
                    Ok(next) => chosen = next,
                    Err(why) => return answer.fail(503, &why.describe(name)),
                }
            }
        }
    }
}

fn connect_failed<T>(
    shared: &Shared,
    addr: SocketAddr,
    cluster: &str,
    e: &std::io::Error,
) -> Option<T> {
    shared.metrics.inc(counter::CONNECT_FAILURES);
    debug!(cluster, endpoint = %addr, error = %e, "connect failed");
    None
}
