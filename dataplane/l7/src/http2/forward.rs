//! Forwarding one routed HTTP/2 stream: the route's header modifications, an endpoint by the
//! cluster's policy, a connection, then the exchange in the cluster's protocol; a failed try
//! is retried on another endpoint by the route's policy and the cluster's budget
//! ([`crate::retry`]), with the rules of HTTP/1.1 (`crate::forward`).
//!
//! Invariants:
//! * As for HTTP/1.1: no endpoint is 503, a connect failure is 502, no response head in time
//!   is 504 (gRPC: UNAVAILABLE, UNAVAILABLE, DEADLINE_EXCEEDED); the cluster's connect timeout
//!   applies to each try, the route's per-try timeout (else `response_timeout`) to each try's
//!   wait for a response head, and the route's request timeout to all tries together.
//! * A connect failure is retried for any stream: nothing of it left the proxy.
//! * A stream is *replayable* only when it has no body (its headers ended it: GET, HEAD,
//!   DELETE… without a body). Only a replayable stream of an idempotent method (or any method
//!   when the route allows others) is retried after a reset or close before a response head, a
//!   5xx status, or a per-try timeout. A stream with a body (every gRPC call) is never sent
//!   twice: its body is relayed frame by frame and is gone once it went upstream.
//! * A 5xx status is judged before anything of the response reaches the client: a status the
//!   policy would retry, on a try after which a retry is still possible (attempts left, room
//!   in the budget), is held back and its response dropped (an HTTP/1.1 connection is closed,
//!   not pooled; an HTTP/2 stream is reset, its connection kept for other streams).
//! * When no more try is made, the client gets: the last held-back status (as a proxy answer
//!   naming it), else 504 when the request timeout ran out, else the last failure's answer; a
//!   last try's 5xx is not held back and reaches the client as the upstream sent it.
//! * Each retry goes to an endpoint not tried yet when the policy gives one; it is counted
//!   (`l7_retries`, and in the stream's record) and holds a retry of the cluster's budget,
//!   which counts the stream as a request in flight for its whole life; timeouts are counted
//!   per try (`l7_timeouts`). A request counts as in flight on its endpoint for each exchange.
//! * Once a response has started, a failure resets the stream instead of answering.

use std::borrow::Cow;

use h2::{Reason, RecvStream};
use http::request::Parts;
use strait_http1::BodyFraming;
use strait_table::{ModDirection, UpstreamProtocol};
use tracing::debug;

use super::server::{Answer, Origin};
use super::{head, to_h1, to_h2};
use crate::generation::Generation;
use crate::headers::{self, Mods};
use crate::lb::InFlight;
use crate::retry::{Failure, Limits, Policy, Tries, connect_failed, judged};
use crate::route::{Request, choose_again, choose_endpoint};
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
    /// The try failed with this [`Failure`] before anything was answered: retry it if the
    /// policy allows, else answer this status and reason.
    Try(Failure, u16, &'static str),
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
    let mut chosen = match choose_endpoint(t.generation, t.cluster, t.req, &usable, &shared.rng) {
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
    // Replayable only without a body (see the module invariants).
    let policy = Policy::of(route, t.req.head.method, body.is_end_stream());
    let state = t.generation.cluster_state(t.cluster);
    let mut tries = Tries::new(
        policy,
        Limits::of(route, record, &shared.opts),
        state.map(|s| &s.budget),
    );
    let metrics = &shared.metrics;
    let mut fresh = false;
    loop {
        let limits = tries.try_limits();
        let hold_back = tries.hold_back();
        let result = if let Some(req) = &h2_req {
            match to_h2::client(shared, chosen.addr, &security, limits.connect, fresh).await {
                Ok(client) => {
                    let _in_flight = InFlight::begin(state, chosen.pos);
                    answer.record.tried(chosen.addr);
                    let x = to_h2::Exchange {
                        req: req.clone(),
                        response_mods: &response_mods,
                        response_timeout: limits.response,
                        hold_back,
                    };
                    Ok(x.run(client, &mut body, answer).await)
                }
                Err(e) => Err(e),
            }
        } else {
            match upstream::connect(shared, chosen.addr, &security, limits.connect, fresh).await {
                Ok(up) => {
                    let _in_flight = InFlight::begin(state, chosen.pos);
                    answer.record.tried(chosen.addr);
                    let x = to_h1::Exchange {
                        shared,
                        head: &h1_head,
                        method: t.req.head.method,
                        chunked: framing == BodyFraming::Chunked,
                        response_mods: &response_mods,
                        response_timeout: limits.response,
                        hold_back,
                        record: answer.record,
                    };
                    Ok(x.run(up, &mut body, answer.respond).await)
                }
                Err(e) => Err(e),
            }
        };
        let (failure, status, reason): (_, u16, Cow<'static, str>) = match result {
            Ok(Ok(())) => return,
            Ok(Err(Failed::Stale)) if !fresh => {
                fresh = true;
                continue;
            }
            Ok(Err(Failed::Stale)) => (None, 502, "upstream connection failed".into()),
            Ok(Err(Failed::Answer(status, reason))) => (None, status, reason.into()),
            Ok(Err(Failed::Try(failure, status, reason))) => {
                debug!(cluster = name, endpoint = %chosen.addr, ?failure, "try failed");
                let failure = judged(metrics, Some(failure), limits.per_try_bound);
                (failure, status, reason.into())
            }
            Ok(Err(Failed::Reset)) => return answer.respond.send_reset(Reason::INTERNAL_ERROR),
            Err(e) => connect_failed(metrics, name, chosen.addr, &e),
        };
        if let Err((status, reason)) = tries.failed(metrics, chosen.slot, failure, status, reason) {
            return answer.fail(status, &reason);
        }
        answer.record.retried();
        fresh = false;
        chosen = match choose_again(t.generation, t.cluster, t.req, &usable, &tries, &shared.rng) {
            Ok(next) => next,
            Err(why) => return answer.fail(503, &why.describe(name)),
        };
    }
}
