//! An HTTP/1.1 request forwarded to an HTTP/2 cluster (gRPC servers speak nothing else): the
//! head as an h2 request (`head::h2_request_from_h1`), the body decoded and sent as DATA frames
//! (chunked trailers as h2 trailers) on the worker's connection to the endpoint (`to_h2`), the
//! h2 response written back as HTTP/1.1: chunked unless it has a length (its trailers then in
//! the last chunk), close-delimited for an HTTP/1.0 client.
//!
//! Invariants (as `crate::forward`): the buffered start of the body is checked before anything
//! goes upstream; upload and download run at once; a DATA frame's window is released only once
//! its bytes were written to the client; the client connection is kept only when both bodies
//! were complete and the response did not end with the connection; once a response byte was
//! written, a failure drops the connection instead of answering. The request's entry gets
//! the endpoint, the response's status, and the bytes both ways (the body as decoded going
//! up, everything written coming down), as `crate::forward` gives it for HTTP/1.1.
//!
//! Tries and timeouts follow `crate::forward`: the cluster's connect timeout per try, the
//! route's per-try timeout (else `response_timeout`) per wait for a response head, its request
//! timeout for all tries together; a failed try (connect failure, a reset before a response
//! head, a 5xx status held back before anything reached the client, a per-try timeout) is
//! retried on another endpoint by the route's policy and the cluster's budget
//! ([`crate::retry::Tries`]). A request is sent twice only when it has no body or its whole
//! body was held in memory ([`Replay`] puts it back in the input buffer), and after a connect
//! failure. A held-back status's stream is reset upstream.

use std::{borrow::Cow, cell::Cell, pin::pin, time::Duration};

use bytes::Bytes;
use futures_util::future::{Either, select};
use h2::{RecvStream, SendStream, client::SendRequest};
use http::{HeaderValue, Request, header::CONTENT_LENGTH};
use strait_http1::{
    BodyDecoder, BodyFraming, Method, RequestHead, Version,
    chunk_encode::{write_chunk, write_last_chunk},
};
use strait_table::{Cluster, ModDirection, Route};
use tracing::debug;

use super::forward::Failed;
use super::head::{self, H1Framing};
use super::record::add;
use super::relay::{H1BodyError, h1_body_to_h2};
use super::to_h2;
use crate::body::buffered_len;
use crate::conn::{Client, Next};
use crate::generation::Generation;
use crate::headers::Mods;
use crate::io::{Inbound, within, write_all};
use crate::lb::InFlight;
use crate::proxy::Tally;
use crate::replay::Replay;
use crate::retry::{Failure, HoldBack, Limits, Policy, Tries, connect_failed, judged};
use crate::route::{Request as Routed, choose_again, choose_endpoint};
use crate::stream::Stream;
use crate::upstream::Security;
use crate::worker::Shared;

/// Forwards `req` (routed by `route` to cluster record `cluster`, whose protocol is HTTP/2).
pub(crate) async fn forward(
    client: &mut Client<'_>,
    generation: &Generation,
    req: &Routed<'_>,
    route: &Route,
    record: &Cluster,
    cluster: u32,
) -> Next {
    let shared = client.shared;
    let image = &*generation.image;
    let head = req.head;
    let name = image.str(record.name);
    let request_mods = Mods::of(image, route, ModDirection::Request).forwarding(
        head,
        req.buf,
        client.peer,
        client.stream.is_tls(),
    );
    let response_mods = Mods::of(image, route, ModDirection::Response);
    let authority = req
        .target
        .authority
        .or_else(|| head.fields.get(req.buf, b"host"))
        .unwrap_or(b"localhost");
    let mut path = req.target.path.to_vec();
    if !req.target.query.is_empty() {
        path.push(b'?');
        path.extend_from_slice(req.target.query);
    }
    let Ok(up_req) = head::h2_request_from_h1(head, req.buf, authority, &path, &request_mods)
    else {
        let body = b"the request cannot be forwarded over HTTP/2\n";
        return client.answer(head, 400, body, true).await;
    };
    let usable = |slot: u32| shared.usable(slot);
    let mut chosen = match choose_endpoint(generation, cluster, req, &usable, &shared.rng) {
        Ok(chosen) => chosen,
        Err(why) => {
            return client.no_endpoint(head, why, name, false).await;
        }
    };
    let decoder = BodyDecoder::new(head.framing, &shared.opts.limits);
    if let Err(next) = client.hold_body(&decoder, head.expect_continue).await {
        return next;
    }
    let security = match Security::of(generation, record) {
        Ok(security) => security,
        Err(why) => {
            let body = format!("no TLS towards the endpoints of cluster {name}: {why}\n");
            return client.answer(head, 502, body.as_bytes(), false).await;
        }
    };
    // As for HTTP/1.1: sent again only with its whole body in memory (`crate::replay`).
    let bodiless = matches!(head.framing, BodyFraming::None | BodyFraming::Length(0));
    let body_len = buffered_len(&decoder, &client.inbound.buf).ok().flatten();
    let policy = Policy::of(route, head.method, bodiless || body_len.is_some());
    let replay = Replay::new(bodiless, &policy, body_len, &client.inbound.buf);
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
            match to_h2::client(shared, chosen.addr, &security, limits.connect, fresh).await {
                Err(e) => connect_failed(metrics, name, chosen.addr, &e),
                Ok(h2c) => {
                    let _in_flight = InFlight::begin(state, chosen.pos);
                    let tally = Tally::default();
                    let x = Exchange {
                        shared,
                        stream: client.stream,
                        head,
                        response_mods: &response_mods,
                        response_timeout: limits.response,
                        hold_back: tries.hold_back(),
                        tally: &tally,
                    };
                    let done = x
                        .run(h2c, up_req.clone(), decoder.clone(), &mut client.inbound)
                        .await;
                    let e = &mut client.entry;
                    e.upstream = Some(chosen.addr);
                    e.status = tally.status.get();
                    e.bytes_out = tally.down.get();
                    e.bytes_in = e.head_bytes + tally.up.get();
                    match done {
                        Ok(true) => return Next::KeepAlive,
                        Ok(false) => return Next::Close,
                        // Refused before anything of the request was taken: nothing to restore.
                        Err(Failed::Stale) if !fresh => {
                            fresh = true;
                            continue;
                        }
                        Err(Failed::Stale) => (None, 502, "upstream connection failed".into()),
                        Err(Failed::Answer(status, reason)) => {
                            let body = format!("{reason}\n");
                            return client.answer(head, status, body.as_bytes(), true).await;
                        }
                        Err(Failed::Try(failure, status, reason)) => {
                            debug!(cluster = name, endpoint = %chosen.addr, ?failure, "try failed");
                            let failure = judged(metrics, Some(failure), limits.per_try_bound);
                            (failure, status, reason.into())
                        }
                        Err(Failed::Reset) => return Next::Drop,
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
            Err(why) => return client.no_endpoint(head, why, name, true).await,
        };
    }
}

/// One exchange; see the module documentation.
struct Exchange<'a> {
    shared: &'a Shared,
    stream: &'a Stream,
    head: &'a RequestHead,
    response_mods: &'a Mods<'a>,
    response_timeout: Duration,
    /// Statuses not to forward, because the request will be retried.
    hold_back: HoldBack,
    /// The response's status, the body bytes sent up, the bytes written to the client.
    tally: &'a Tally,
}

/// Why an upload stopped early.
enum Up {
    /// The client's body is malformed.
    Body(strait_http1::Error),
    /// Reading from the client failed or timed out.
    Read,
    /// The upstream stream refused more.
    Upstream,
}

impl Exchange<'_> {
    /// `Ok(reusable)`: the response went out whole; whether the client connection stays.
    async fn run(
        self,
        mut h2c: SendRequest<Bytes>,
        req: Request<()>,
        mut decoder: BodyDecoder,
        inbound: &mut Inbound,
    ) -> Result<bool, Failed> {
        let bodiless = matches!(
            self.head.framing,
            BodyFraming::None | BodyFraming::Length(0)
        );
        let (response, mut up_send) = h2c.send_request(req, bodiless).map_err(|e| {
            debug!(error = %e, "h2 upstream refused the request");
            Failed::Stale
        })?;
        let started = Cell::new(false);
        let (sent, down) = {
            let upload = pin!(async {
                if bodiless {
                    return Ok(());
                }
                self.upload(inbound, &mut decoder, &mut up_send).await
            });
            let download = pin!(self.download(response, &started));
            match select(upload, download).await {
                Either::Left((Ok(()), download)) => (true, download.await),
                Either::Left((Err(Up::Upstream), download)) => (false, download.await),
                Either::Left((Err(Up::Body(e)), _)) if !started.get() => {
                    return Err(Failed::Answer(e.status(), e.reason()));
                }
                Either::Left((Err(_), _)) => return Err(Failed::Reset),
                Either::Right((down, _)) => (false, down),
            }
        };
        down.map(|reusable| reusable && sent)
    }

    /// The client's body as DATA frames, then its trailers (or an empty last frame).
    async fn upload(
        &self,
        inbound: &mut Inbound,
        decoder: &mut BodyDecoder,
        send: &mut SendStream<Bytes>,
    ) -> Result<(), Up> {
        let opts = &self.shared.opts;
        h1_body_to_h2(self.stream, inbound, decoder, send, opts, &self.tally.up)
            .await
            .map_err(|e| match e {
                H1BodyError::Decode(e) => Up::Body(e),
                H1BodyError::Read => Up::Read,
                H1BodyError::Send => Up::Upstream,
            })
    }

    /// The response head, then its body, to the client.
    async fn download(
        &self,
        response: h2::client::ResponseFuture,
        started: &Cell<bool>,
    ) -> Result<bool, Failed> {
        let resp = match within(self.response_timeout, response).await {
            Err(_) => {
                let reason = "upstream did not answer in time";
                return Err(Failed::Try(Failure::PerTryTimeout, 504, reason));
            }
            Ok(Err(e)) => {
                debug!(error = %e, "h2 upstream failed before a response");
                let reason = "upstream connection failed";
                return Err(Failed::Try(Failure::Reset, 502, reason));
            }
            Ok(Ok(resp)) => resp,
        };
        let status = resp.status().as_u16();
        if self.hold_back.holds(status) {
            // Dropping the response resets its stream upstream.
            return Err(Failed::Try(Failure::Status(status), 502, "upstream failed"));
        }
        let (mut parts, mut body) = resp.into_parts();
        head::clean(&mut parts.headers, self.response_mods);
        let no_body = self.head.method == Method::Head || matches!(status, 100..=199 | 204 | 304);
        let end = body.is_end_stream();
        let length = parts.headers.contains_key(CONTENT_LENGTH);
        let v11 = self.head.version == Version::Http11;
        if end && !length && !no_body {
            parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(0));
        }
        let sized = no_body || end || length;
        let until_close = !sized && !v11;
        let close = !self.head.keep_alive || until_close;
        let framing = H1Framing {
            chunked: !sized && v11,
            close,
            keep_alive_10: !close && !v11,
        };
        let mut out = Vec::with_capacity(512);
        if head::h1_response(&mut out, self.head.version, &parts, framing).is_err() {
            return Err(Failed::Answer(502, "bad response from upstream"));
        }
        started.set(true);
        self.tally.status.set(status);
        self.write(&mut out).await?;
        if no_body || end {
            return Ok(!close);
        }
        self.body(&mut body, framing.chunked, &mut out).await?;
        Ok(!close)
    }

    /// Relays the response body (chunked, or as it is) with its trailers when chunked.
    async fn body(
        &self,
        body: &mut RecvStream,
        chunked: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), Failed> {
        while let Some(data) = body.data().await {
            let data = data.map_err(|_| Failed::Reset)?;
            if chunked {
                write_chunk(out, &data);
            } else {
                out.extend_from_slice(&data);
            }
            self.write(out).await?;
            // Only now may the upstream send this much more.
            let _ = body.flow_control().release_capacity(data.len());
        }
        let trailers = body.trailers().await.map_err(|_| Failed::Reset)?;
        if chunked {
            let fields: Vec<(&[u8], &[u8])> = trailers
                .iter()
                .flatten()
                .map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes()))
                .collect();
            if write_last_chunk(out, &fields).is_err() {
                let _ = write_last_chunk(out, &[]);
            }
            self.write(out).await?;
        }
        Ok(())
    }

    /// Writes (and empties) `out` to the client, counting its bytes.
    async fn write(&self, out: &mut Vec<u8>) -> Result<(), Failed> {
        let n = out.len();
        write_all(self.stream, out)
            .await
            .map_err(|_| Failed::Reset)?;
        add(&self.tally.down, n);
        Ok(())
    }
}
