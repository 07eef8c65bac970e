//! Forwarding one routed request: the upstream head with the route's modifications, an
//! endpoint by the cluster's policy, the body held and checked, a pooled or new connection,
//! then the exchange; a failed try is retried on another endpoint by the route's policy and
//! the cluster's budget ([`crate::retry`]).
//!
//! Invariants:
//! * Nothing reaches an upstream before the head and the buffered start of the body (all of
//!   it when smaller than `hold_body_bytes`) have been validated.
//! * No endpoint: 503 saying why (no endpoint at all, or none healthy). The cluster's connect
//!   timeout applies to each try; the route's per-try timeout (else `response_timeout`) to each
//!   try's wait for a response head; the route's request timeout (`timeout_ms`) to all tries
//!   together, from the moment the body was held.
//! * A retry goes to an endpoint not tried yet when the policy can give one (a hashing policy
//!   gives the next one of its table), else to any usable one. A request whose body was not
//!   held whole in memory is never sent twice: only its connect failures are retried.
//! * A pooled connection that fails before any response byte (the upstream closed it as the
//!   request went out) makes the request go once more on a new connection, not counted as a
//!   retry, when [`Replay`] allows it: no body, or a whole small body of a request that may be
//!   sent twice, put back in the input buffer first.
//! * When no more try is made, the client gets: the last failed status an upstream answered
//!   (only statuses that were to be retried are held back), else 504 when the time ran out,
//!   else the last failure's answer (502 for a connect failure or a broken response).
//! * A request counts as in flight on its endpoint (least request) for the whole exchange, and
//!   on its cluster's retry budget until it is answered.
//! * A cluster with TLS reaches its endpoints only through a verified session
//!   ([`crate::tls::ClientConfigs`]); a handshake that fails is a connect failure, and roots
//!   that cannot be loaded answer 502 before anything is read from the client's body.

use std::borrow::Cow;

use strait_http1::{BodyDecoder, BodyFraming, Upgrade};
use strait_table::ModDirection;
use tracing::debug;

use crate::body::buffered_len;
use crate::conn::{Client, Next};
use crate::generation::Generation;
use crate::headers::{self, Mods};
use crate::lb::InFlight;
use crate::proxy::{self, Exchange, Facts, Outcome, Tally};
use crate::replay::Replay;
use crate::retry::{Limits, Policy, Tries, connect_failed, judged};
use crate::route::{Request, choose_again, choose_endpoint};
use crate::upstream::{Security, connect};

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
    client.entry.route = Some(route);
    client.entry.cluster = Some(cluster);
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
    let request_mods = Mods::of(image, route, ModDirection::Request).forwarding(
        head,
        req.buf,
        client.peer,
        client.stream.is_tls(),
    );
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
            return client.no_endpoint(head, why, name, false).await;
        }
    };
    let security = match Security::of(generation, record) {
        Ok(security) => security,
        Err(why) => {
            let body = format!("no TLS towards the endpoints of cluster {name}: {why}\n");
            return client.answer(head, 502, body.as_bytes(), false).await;
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
    // A request may be sent again only if its whole body is still in memory (see `retry`);
    // the copy `replay` keeps puts it back in the input buffer before another try.
    let body_len = buffered_len(&decoder, &client.inbound.buf).ok().flatten();
    let replayable = upgrade.is_none() && (facts.bodiless() || body_len.is_some());
    let policy = Policy::of(route, head.method, replayable);
    let mut replay = Replay::new(facts.bodiless(), &policy, body_len, &client.inbound.buf);
    let state = generation.cluster_state(cluster);
    let mut tries = Tries::new(
        policy,
        Limits::of(route, record, &shared.opts),
        state.map(|s| &s.budget),
    );
    let metrics = &shared.metrics;
    let mut fresh = false;
    loop {
        let limits = tries.try_limits();
        let (failure, status, reason): (_, u16, Cow<'static, str>) =
            match connect(shared, chosen.addr, &security, limits.connect, fresh).await {
                Err(e) => connect_failed(metrics, name, chosen.addr, &e),
                Ok(up) => {
                    let _in_flight = InFlight::begin(state, chosen.pos);
                    let tally = Tally::default();
                    let resendable = replay.before_try(up.reused, &client.inbound.buf);
                    let exchange = Exchange {
                        shared,
                        client: client.stream,
                        client_in: &mut client.inbound,
                        head: &up_head,
                        facts,
                        response_mods: &response_mods,
                        response_timeout: limits.response,
                        hold_back: tries.hold_back(),
                        resendable,
                        tally: &tally,
                    };
                    let outcome = proxy::exchange(exchange, up).await;
                    let e = &mut client.entry;
                    e.upstream = Some(chosen.addr);
                    e.status = tally.status.get();
                    e.bytes_out = tally.down.get();
                    e.bytes_in = e.head_bytes + tally.up.get().saturating_sub(up_head.len() as u64);
                    match outcome {
                        Outcome::Done { client_reusable } => {
                            return if client_reusable {
                                Next::KeepAlive
                            } else {
                                Next::Close
                            };
                        }
                        Outcome::Stale if !fresh => {
                            replay.restore(&mut client.inbound.buf);
                            fresh = true;
                            continue;
                        }
                        Outcome::Stale => (None, 502, "upstream connection failed".into()),
                        Outcome::Answer(status, reason) => {
                            let body = format!("{reason}\n");
                            return client.answer(head, status, body.as_bytes(), true).await;
                        }
                        Outcome::Close => return Next::Drop,
                        Outcome::Failed {
                            failure,
                            status,
                            reason,
                        } => {
                            debug!(cluster = name, endpoint = %chosen.addr, ?failure, "try failed");
                            let failure = judged(metrics, failure, limits.per_try_bound);
                            (failure, status, reason.into())
                        }
                    }
                }
            };
        if let Err((status, reason)) = tries.failed(metrics, chosen.slot, failure, status, reason) {
            let body = format!("{reason}\n");
            return client.answer(head, status, body.as_bytes(), true).await;
        }
        client.entry.retries += 1;
        fresh = false;
        replay.restore(&mut client.inbound.buf);
        chosen = match choose_again(generation, cluster, req, &usable, &tries, &shared.rng) {
            Ok(next) => next,
            Err(why) => {
                return client.no_endpoint(head, why, name, true).await;
            }
        };
    }
}
