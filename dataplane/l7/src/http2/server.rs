//! One downstream HTTP/2 connection: the handshake, then every stream served in the
//! connection's own task, routed like an HTTP/1.1 request and answered locally or forwarded.
//!
//! Order: [`opening`] (plain HTTP listeners: peek for the h2c preface) → [`serve`] (handshake
//! within the header-read timeout; accept streams while driving those accepted; an idle
//! connection, one with no stream open for the idle timeout, is shut down gracefully, and
//! dropped if it is still there one idle timeout later).
//!
//! Invariants: the connection is polled whenever any of its streams is, as they share one
//! task, so streams progress while no new one arrives; a request head that the HTTP/1.1 parser
//! refuses (as rendered by `head::h1_request`) is answered with the parser's status; every
//! stream accepted is counted and logged once, when its task ends or is dropped (`record`).

use std::{
    future::{Future, poll_fn},
    net::SocketAddr,
    pin::Pin,
    task::Poll,
    time::{Duration, Instant},
};

use bytes::Bytes;
use compio::{BufResult, net::TcpStream};
use futures_util::{StreamExt, stream::FuturesUnordered};
use h2::{RecvStream, server::SendResponse};
use http::Method;
use strait_http1::{Parsed, RequestParser};
use tracing::debug;

use super::{head, pipe::Duplex, record::Record};
use crate::L7Options;
use crate::io::within;
use crate::route::{Decision, Request, decide};
use crate::stream::Stream;
use crate::worker::Shared;

/// The client connection preface of prior-knowledge HTTP/2 (RFC 9113 §3.4).
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Concurrent streams a client may open on one connection.
const MAX_STREAMS: u32 = 256;
/// What one stream may send before the proxy has passed it on (h2 flow control), both ways.
pub(super) const STREAM_WINDOW: u32 = 256 * 1024;
/// What all streams of a connection together may send before the proxy has passed it on.
pub(super) const CONNECTION_WINDOW: u32 = 1024 * 1024;

/// What a plain connection opens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opening {
    /// The HTTP/2 preface.
    H2,
    /// Anything else: HTTP/1.
    Http1,
    /// Nothing within the idle timeout, or the peer left.
    Gone,
}

/// Peeks (without consuming) at the first bytes of `tcp` until they show the h2c preface or
/// differ from it: within the idle timeout for the first byte, the header-read timeout from
/// there (as an HTTP/1.1 head).
pub(crate) async fn opening(tcp: &TcpStream, opts: &L7Options) -> Opening {
    let mut deadline = Instant::now() + opts.idle_timeout;
    let mut started = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let peeked = within(left, tcp.peek(Vec::with_capacity(PREFACE.len()))).await;
        let Ok(BufResult(Ok(n), buf)) = peeked else {
            return Opening::Gone;
        };
        if n == 0 {
            return Opening::Gone;
        }
        if buf.len() >= PREFACE.len() {
            return if buf[..PREFACE.len()] == PREFACE[..] {
                Opening::H2
            } else {
                Opening::Http1
            };
        }
        if !PREFACE.starts_with(&buf) {
            return Opening::Http1;
        }
        if !started {
            started = true;
            deadline = deadline.min(Instant::now() + opts.header_read_timeout);
        }
        // Part of the preface: the peek would return at once, so wait for the rest (bounded by
        // the header-read timeout, as a trickled HTTP/1.1 head is).
        compio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Where a stream came from.
#[derive(Debug, Clone, Copy)]
pub(super) struct Origin {
    pub(super) peer: SocketAddr,
    pub(super) listener: SocketAddr,
    pub(super) tls: bool,
}

/// Serves one HTTP/2 connection until it ends; see the module documentation.
pub(crate) async fn serve(shared: &Shared, stream: Stream, peer: SocketAddr, listener: SocketAddr) {
    let opts = &shared.opts;
    let origin = Origin {
        peer,
        listener,
        tls: stream.is_tls(),
    };
    let io = Duplex::new(stream, opts.idle_timeout);
    let handshake = h2::server::Builder::new()
        .max_concurrent_streams(MAX_STREAMS)
        .max_header_list_size(u32::try_from(opts.limits.max_header_bytes).unwrap_or(u32::MAX))
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .handshake::<_, Bytes>(io);
    let mut conn = match within(opts.header_read_timeout, handshake).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => return debug!(%peer, %listener, error = %e, "h2 handshake failed"),
        Err(e) => return debug!(%peer, %listener, error = %e, "no h2 handshake in time"),
    };
    let mut streams: FuturesUnordered<Pin<Box<dyn Future<Output = ()> + '_>>> =
        FuturesUnordered::new();
    let mut closing = false;
    loop {
        // Only an idle connection waits on a timer (the streams' own timeouts bound the wait
        // otherwise); a busy one stops waiting when its last stream ends, to start it.
        let busy = !streams.is_empty();
        let next = poll_fn(|cx| {
            while let Poll::Ready(Some(())) = streams.poll_next_unpin(cx) {}
            match conn.poll_accept(cx) {
                Poll::Pending if busy && streams.is_empty() => Poll::Ready(None),
                polled => polled.map(Some),
            }
        });
        let next = if busy {
            Ok(next.await)
        } else {
            within(opts.idle_timeout, next).await
        };
        match next {
            // The last stream ended: wait again, on the idle timer now.
            Ok(None) => {}
            Ok(Some(Some(Ok((req, respond))))) => {
                streams.push(Box::pin(stream_task(shared, origin, req, respond)));
            }
            Ok(Some(Some(Err(e)))) => return debug!(%peer, error = %e, "h2 connection failed"),
            Ok(Some(None)) => return,
            // Idle again after the GOAWAY: the client did not close; drop it.
            Err(_) if closing => return,
            Err(_) => {
                closing = true;
                conn.graceful_shutdown();
            }
        }
    }
}

async fn stream_task(
    shared: &Shared,
    origin: Origin,
    req: http::Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
) {
    let (parts, body) = req.into_parts();
    let generation = shared.refresh();
    // Dropped last of what refers to the stream: however the task ends, it records once.
    let record = Record::new(shared, origin.peer, &parts, generation.as_deref());
    let mut answer = Answer {
        respond: &mut respond,
        grpc: head::is_grpc(&parts.headers),
        head_only: parts.method == Method::HEAD,
        record: &record,
    };
    let Some(generation) = generation.as_deref() else {
        return answer.fail(503, "no configuration yet");
    };
    let Some(listener) = generation.listener(origin.listener) else {
        return answer.fail(404, "listener removed");
    };
    if parts.method == Method::CONNECT {
        return answer.local(405, b"CONNECT is not supported\n", None);
    }
    let buf = head::h1_request(&parts, !body.is_end_stream());
    let h1 = match RequestParser::new(&shared.opts.limits).parse(&buf) {
        Ok(Parsed::Complete(h1, _)) => h1,
        Ok(Parsed::Partial) => return answer.fail(400, "bad request head"),
        Err(e) => return answer.fail(e.status(), e.reason()),
    };
    let req = Request::new(&h1, &buf, origin.peer.ip());
    match decide(generation, listener, &req, &shared.rng) {
        Decision::NotFound => answer.fail(404, "no route"),
        Decision::Redirect { status, location } => answer.local(status, b"", Some(&location)),
        Decision::Direct { status, body } => answer.local(status, body.as_bytes(), None),
        Decision::NoBackend { route } => {
            answer.fail(503, &format!("route {route} has no backend with a weight"));
        }
        Decision::Forward { route, cluster } => {
            let target = super::forward::Target {
                generation,
                req: &req,
                route,
                cluster,
            };
            super::forward::forward(shared, origin, target, &parts, body, &mut answer).await;
        }
    }
}

/// Answers a stream that has sent nothing yet.
#[derive(Debug)]
pub(super) struct Answer<'a> {
    pub(super) respond: &'a mut SendResponse<Bytes>,
    /// A gRPC request: proxy errors are answered as gRPC statuses.
    pub(super) grpc: bool,
    head_only: bool,
    /// The stream's access log line and counters.
    pub(super) record: &'a Record<'a>,
}

impl Answer<'_> {
    /// A proxy error: plain text, or a gRPC trailers-only response for a gRPC request.
    pub(super) fn fail(&mut self, status: u16, message: &str) {
        if self.grpc {
            let resp = head::grpc_error(head::grpc_code(status), message);
            let sent = resp.status().as_u16();
            self.record
                .answered_locally(sent, 0, message.as_bytes(), false);
            let _ = self.respond.send_response(resp, true);
        } else {
            self.local(status, format!("{message}\n").as_bytes(), None);
        }
    }

    /// A local answer with a small body (h2 buffers it until the window allows).
    pub(super) fn local(&mut self, status: u16, body: &[u8], location: Option<&[u8]>) {
        let resp = head::local(status, body, location);
        let end = body.is_empty() || self.head_only;
        let sent = if end { 0 } else { body.len() as u64 };
        let status = resp.status().as_u16();
        let redirect = location.is_some();
        self.record.answered_locally(status, sent, body, redirect);
        if let Ok(mut send) = self.respond.send_response(resp, end)
            && !end
        {
            let _ = send.send_data(Bytes::copy_from_slice(body), true);
        }
    }
}

#[cfg(test)]
mod tests;
