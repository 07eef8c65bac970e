//! One client connection: requests read one after another (keep-alive, pipelining), each
//! routed on the newest generation and answered locally or forwarded.
//!
//! Order per request: read the head (idle timeout until its first byte, header-read timeout
//! from there) → refresh the generation → route → answer or [`crate::forward`] → keep the
//! connection, close it gracefully, or drop it.
//!
//! Invariants:
//! * A head the parser refuses is answered with [`strait_http1::Error::status`] and its fixed
//!   reason, then the connection closes: nothing after a bad head is trusted.
//! * A local answer to a request whose body was not read closes the connection, so an unread
//!   body is never taken for the next request.
//! * Heads are copied out of the input buffer before anything else is read, so the body and
//!   the next request can be consumed while the head is still in use.
//! * Between requests an empty input buffer is given back, and a head is read in small reads:
//!   an idle keep-alive connection holds a few KiB, not the largest body it once carried.
//! * Every request that got a head parsed or refused ends in [`Client::finish`]: counted in the
//!   worker's metrics and, when the access log is on, written there, once.

use std::{
    io,
    net::{IpAddr, SocketAddr},
    time::Instant,
};

use crate::stream::Stream;
use strait_http1::{BodyDecoder, BodyFraming, Method, Parsed, RequestHead, RequestParser};

use crate::access::Entry;
use crate::account::{Asked, record};
use crate::body::check_buffered;
use crate::generation::Generation;
use crate::io::{Inbound, close_gracefully, write_all};
use crate::lb::NoEndpoint;
use crate::respond::{CONTINUE, Local};
use crate::route::{Decision, Request, decide};
use crate::worker::Shared;

/// Room for one read while waiting for a head: small, because an idle connection's read
/// buffer belongs to the kernel until something arrives.
const HEAD_CHUNK: usize = 4096;

/// What the connection does after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Read the next request.
    KeepAlive,
    /// The answer is complete: close gracefully.
    Close,
    /// The peer left or the answer broke off: drop the connection.
    Drop,
}

/// Serves one accepted connection until it ends.
pub(crate) async fn serve(shared: &Shared, stream: Stream, peer: SocketAddr, listener: SocketAddr) {
    let _open = shared.metrics.connection();
    let mut client = Client {
        shared,
        stream: &stream,
        peer: peer.ip(),
        remote: peer,
        listener,
        inbound: Inbound::default(),
        head_buf: Vec::new(),
        out: Vec::new(),
        entry: Entry::default(),
    };
    loop {
        match client.request().await {
            Next::KeepAlive => client.inbound.relax(),
            Next::Close => return close_gracefully(&stream).await,
            Next::Drop => return,
        }
    }
}

/// A client connection's state between requests.
#[derive(Debug)]
pub(crate) struct Client<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) stream: &'a Stream,
    pub(crate) peer: IpAddr,
    /// The client's address and port.
    pub(crate) remote: SocketAddr,
    /// The address of the listener that accepted it.
    pub(crate) listener: SocketAddr,
    pub(crate) inbound: Inbound,
    head_buf: Vec<u8>,
    out: Vec<u8>,
    /// What the current request's access log line and counters say.
    pub(crate) entry: Entry,
}

fn has_body(head: &RequestHead) -> bool {
    !matches!(head.framing, BodyFraming::None | BodyFraming::Length(0))
}

impl Client<'_> {
    async fn request(&mut self) -> Next {
        self.entry.reset();
        let (head, len) = match self.read_head().await {
            Ok(parsed) => parsed,
            Err(next) => {
                if self.entry.status != 0 {
                    self.finish(None, None, Instant::now());
                }
                return next;
            }
        };
        let started = Instant::now();
        self.entry.head_bytes = len as u64;
        let mut head_buf = std::mem::take(&mut self.head_buf);
        head_buf.clear();
        head_buf.extend_from_slice(&self.inbound.buf[..len]);
        self.inbound.consume(len);
        let generation = self.shared.refresh();
        let next = self.route(&head, &head_buf, generation.as_deref()).await;
        self.finish(Some((&head, &head_buf)), generation.as_deref(), started);
        self.head_buf = head_buf;
        next
    }

    /// Counts the request that just ended and writes its access log line.
    fn finish(
        &mut self,
        head: Option<(&RequestHead, &[u8])>,
        generation: Option<&Generation>,
        started: Instant,
    ) {
        let peer = self.peer;
        let asked = || match head {
            Some((h, buf)) => Asked {
                method: h.method_name.get(buf),
                authority: Request::new(h, buf, peer).host.unwrap_or_default(),
                path: h.target.get(buf),
                version: std::str::from_utf8(h.version.as_bytes()).unwrap_or_default(),
            },
            None => Asked::default(),
        };
        let (shared, remote) = (self.shared, self.remote);
        record(shared, generation, remote, &mut self.entry, started, asked);
    }

    async fn route(
        &mut self,
        head: &RequestHead,
        buf: &[u8],
        generation: Option<&Generation>,
    ) -> Next {
        let Some(generation) = generation else {
            return self
                .answer(head, 503, b"no configuration yet\n", true)
                .await;
        };
        let Some(listener) = generation.listener(self.listener) else {
            return self.answer(head, 404, b"listener removed\n", true).await;
        };
        if head.method == Method::Connect {
            return self
                .answer(head, 405, b"CONNECT is not supported\n", true)
                .await;
        }
        let req = Request::new(head, buf, self.peer);
        match decide(generation, listener, &req, &self.shared.rng) {
            Decision::NotFound => self.answer(head, 404, b"no route\n", false).await,
            Decision::Redirect { status, location } => {
                let local = Local {
                    status,
                    body: b"",
                    close: !head.keep_alive || has_body(head),
                    head_only: head.method == Method::Head,
                    version: head.version,
                    location: Some(&location),
                };
                self.local(&local).await
            }
            Decision::Direct { status, body } => {
                self.answer(head, status, body.as_bytes(), false).await
            }
            Decision::NoBackend { route } => {
                let body = format!("route {route} has no backend with a weight\n");
                self.answer(head, 503, body.as_bytes(), false).await
            }
            Decision::Forward { route, cluster } => {
                crate::forward::forward(self, generation, &req, route, cluster).await
            }
        }
    }

    /// Reads until a whole head is buffered; on a refused head answers its status.
    async fn read_head(&mut self) -> Result<(RequestHead, usize), Next> {
        let shared = self.shared;
        let opts = &shared.opts;
        let mut parser = RequestParser::new(&opts.limits);
        let mut deadline = None;
        loop {
            if !self.inbound.buf.is_empty() {
                match parser.parse(&self.inbound.buf) {
                    Ok(Parsed::Complete(head, len)) => return Ok((head, len)),
                    Ok(Parsed::Partial) => {}
                    Err(e) => {
                        let body = format!("{}\n", e.reason());
                        return Err(self
                            .local(&Local::closing(e.status(), body.as_bytes()))
                            .await);
                    }
                }
                deadline.get_or_insert_with(|| Instant::now() + opts.header_read_timeout);
            }
            let limit = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                None => opts.idle_timeout,
            };
            match self
                .inbound
                .fill_within(self.stream, HEAD_CHUNK, limit)
                .await
            {
                Ok(0) => return Err(Next::Drop),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::TimedOut && deadline.is_some() => {
                    let local = Local::closing(408, b"request head not received in time\n");
                    return Err(self.local(&local).await);
                }
                Err(_) => return Err(Next::Drop),
            }
        }
    }

    /// Reads the body into the input buffer until it is whole or `hold_body_bytes` long, and
    /// checks that it decodes, before anything of the request goes upstream. Answers
    /// `100 Continue` first when the client waits for it.
    pub(crate) async fn hold_body(
        &mut self,
        decoder: &BodyDecoder,
        expect_continue: bool,
    ) -> Result<(), Next> {
        let shared = self.shared;
        let opts = &shared.opts;
        let mut continued = false;
        loop {
            match check_buffered(decoder, &self.inbound.buf) {
                Ok(true) => return Ok(()),
                Ok(false) if self.inbound.buf.len() >= opts.hold_body_bytes => return Ok(()),
                Ok(false) => {}
                Err(e) => {
                    let body = format!("{}\n", e.reason());
                    return Err(self
                        .local(&Local::closing(e.status(), body.as_bytes()))
                        .await);
                }
            }
            if expect_continue && !continued && self.inbound.buf.is_empty() {
                continued = true;
                self.out.clear();
                self.out.extend_from_slice(CONTINUE);
                write_all(self.stream, &mut self.out)
                    .await
                    .map_err(|_| Next::Drop)?;
            }
            match self
                .inbound
                .fill_within(self.stream, opts.read_chunk, opts.body_timeout)
                .await
            {
                Ok(0) => return Err(Next::Drop),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    let local = Local::closing(408, b"request body not received in time\n");
                    return Err(self.local(&local).await);
                }
                Err(_) => return Err(Next::Drop),
            }
        }
    }

    /// Answers locally with a plain-text body; closes when `close` or when the request's body
    /// was not read.
    pub(crate) async fn answer(
        &mut self,
        head: &RequestHead,
        status: u16,
        body: &[u8],
        close: bool,
    ) -> Next {
        let local = Local {
            status,
            body,
            close: close || !head.keep_alive || has_body(head),
            head_only: head.method == Method::Head,
            version: head.version,
            location: None,
        };
        self.local(&local).await
    }

    /// Answers 503 saying why `cluster` gave no endpoint; closes as [`Client::answer`] does.
    pub(crate) async fn no_endpoint(
        &mut self,
        head: &RequestHead,
        why: NoEndpoint,
        cluster: &str,
        close: bool,
    ) -> Next {
        let body = format!("{}\n", why.describe(cluster));
        self.answer(head, 503, body.as_bytes(), close).await
    }

    async fn local(&mut self, local: &Local<'_>) -> Next {
        self.out.clear();
        local.write(&mut self.out);
        let sent = self.out.len() as u64;
        let redirect = local.location.is_some();
        self.entry
            .answered_locally(local.status, sent, local.body, redirect);
        if write_all(self.stream, &mut self.out).await.is_err() {
            return Next::Drop;
        }
        if local.close {
            Next::Close
        } else {
            Next::KeepAlive
        }
    }
}
