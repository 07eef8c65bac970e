//! An h2 stream forwarded to an HTTP/2 upstream: one multiplexed connection per endpoint (and
//! security) per worker (prior-knowledge h2c, or h2 by ALPN over TLS when the cluster has
//! `tls`), made on first use and made again when it has gone away; the
//! request and response relayed frame by frame, trailers included (gRPC's `grpc-status`).
//!
//! Invariants:
//! * The connections live in a thread-local map, so each worker (one thread, one compio
//!   runtime) has its own, driven by a task of its own runtime; a connection whose task has
//!   ended (GOAWAY, error, runtime gone) fails `ready` and is replaced.
//! * A request is sent again on a new connection only when the old one refused it before
//!   taking it (the `send_request` call itself failed), never once a stream was opened.
//! * Upload and download run at once (bidirectional streaming); the response timeout bounds
//!   the wait for the response head only.
//! * A failure before the response head is a [`Failed::Try`]: the stream or its connection
//!   failed ([`Failure::Reset`]), no head in time ([`Failure::PerTryTimeout`]), or a status held
//!   back because the stream will be retried (`HoldBack`): that response is dropped, which
//!   resets its upstream stream, and nothing of it reaches the client; the connection stays.

use std::{cell::RefCell, collections::HashMap, io, net::SocketAddr, pin::pin, time::Duration};

use bytes::Bytes;
use futures_util::future::{Either, select};
use h2::{RecvStream, client::SendRequest};
use http::{Request, Response};
use tracing::debug;

use super::forward::Failed;
use super::server::{Answer, CONNECTION_WINDOW, STREAM_WINDOW};
use super::{
    head,
    pipe::Duplex,
    relay::{RelayError, relay, unless_reset},
};
use crate::headers::Mods;
use crate::io::within;
use crate::pool::PeerKey;
use crate::retry::{Failure, HoldBack};
use crate::upstream::{self, Security};
use crate::worker::Shared;

thread_local! {
    /// This worker's connection to each HTTP/2 endpoint.
    static CLIENTS: RefCell<HashMap<PeerKey, SendRequest<Bytes>>> = RefCell::default();
}

/// A ready connection to `addr`: this worker's, or (when it has gone, or `fresh`) a new one
/// within `timeout`.
pub(super) async fn client(
    shared: &Shared,
    addr: SocketAddr,
    security: &Security<'_>,
    timeout: Duration,
    fresh: bool,
) -> io::Result<SendRequest<Bytes>> {
    let key = PeerKey {
        addr,
        tls: security.key(),
    };
    let known = CLIENTS.with(|c| c.borrow().get(&key).cloned());
    if let Some(client) = known.filter(|_| !fresh) {
        match client.ready().await {
            Ok(client) => return Ok(client),
            Err(e) => debug!(endpoint = %addr, error = %e, "h2 upstream connection gone"),
        }
    }
    CLIENTS.with(|c| c.borrow_mut().remove(&key));
    // Boxed: the handshake's future is large, and inline it would grow every request's
    // future (which awaits this function) by as much, new connection or not.
    let made = Box::pin(within(timeout, async {
        let stream = upstream::open(addr, security, timeout).await?;
        let io = Duplex::new(stream, shared.opts.idle_timeout);
        h2::client::Builder::new()
            .initial_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .handshake::<_, Bytes>(io)
            .await
            .map_err(io::Error::other)
    }));
    let (client, conn) = made.await??;
    compio::runtime::spawn(async move {
        if let Err(e) = conn.await {
            debug!(endpoint = %addr, error = %e, "h2 upstream connection ended");
        }
    })
    .detach();
    CLIENTS.with(|c| c.borrow_mut().insert(key, client.clone()));
    client.ready().await.map_err(io::Error::other)
}

/// One exchange; see the module documentation.
#[derive(Debug)]
pub(super) struct Exchange<'a> {
    /// The request head to send (absolute URI, cleaned, modified).
    pub(super) req: Request<()>,
    pub(super) response_mods: &'a Mods<'a>,
    pub(super) response_timeout: Duration,
    /// Statuses not to forward, because the stream will be retried.
    pub(super) hold_back: HoldBack,
}

impl Exchange<'_> {
    pub(super) async fn run(
        self,
        mut client: SendRequest<Bytes>,
        body: &mut RecvStream,
        answer: &mut Answer<'_>,
    ) -> Result<(), Failed> {
        let end = body.is_end_stream();
        let (response, up_send) = match client.send_request(self.req, end) {
            Ok(sent) => sent,
            Err(e) => {
                debug!(error = %e, "h2 upstream refused the request");
                return Err(Failed::Stale);
            }
        };
        let record = answer.record;
        let upload = pin!(async {
            if end {
                return Ok(());
            }
            relay(body, up_send, &record.bytes_in).await
        });
        let respond = &mut *answer.respond;
        let timeout = self.response_timeout;
        let mods = self.response_mods;
        let hold_back = self.hold_back;
        let download = pin!(async move {
            let resp = match unless_reset(respond, pin!(within(timeout, response))).await {
                // The client cancelled: dropping the request resets it upstream.
                None => return Err(Failed::Reset),
                Some(Err(_)) => {
                    let reason = "upstream did not answer in time";
                    return Err(Failed::Try(Failure::PerTryTimeout, 504, reason));
                }
                Some(Ok(Err(e))) => {
                    debug!(error = %e, "h2 upstream failed before a response");
                    let reason = "upstream connection failed";
                    return Err(Failed::Try(Failure::Reset, 502, reason));
                }
                Some(Ok(Ok(resp))) => resp,
            };
            let status = resp.status().as_u16();
            if hold_back.holds(status) {
                // Dropping the response resets its stream upstream.
                return Err(Failed::Try(Failure::Status(status), 502, "upstream failed"));
            }
            let (mut parts, mut up_body) = resp.into_parts();
            head::clean(&mut parts.headers, mods);
            let end = up_body.is_end_stream();
            let send = respond
                .send_response(Response::from_parts(parts, ()), end)
                .map_err(|_| Failed::Reset)?;
            record.status.set(status);
            if end {
                return Ok(());
            }
            relay(&mut up_body, send, &record.bytes_out)
                .await
                .map_err(|e| {
                    debug!(error = ?e, "h2 response body broke off");
                    Failed::Reset
                })
        });
        match select(upload, download).await {
            Either::Left((Err(RelayError::From(e)), _)) => {
                debug!(error = %e, "h2 client stream failed during upload");
                Err(Failed::Reset)
            }
            Either::Left((Err(RelayError::To(e)), download)) => {
                // The upstream stopped taking the body; it may still answer.
                debug!(error = %e, "h2 upstream stream refused the upload");
                download.await
            }
            Either::Left((Ok(()), download)) => download.await,
            Either::Right((down, _)) => down,
        }
    }
}
