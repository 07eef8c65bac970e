//! An h2 stream forwarded to an HTTP/1.1 upstream over the worker's pool: the request head as
//! HTTP/1.1 (`head::h1_request`, then the route's modifications), the body streamed up (raw
//! with a `content-length`, else chunked, h2 trailers as the chunked trailer section), the
//! response head as h2 headers and its body as DATA frames (chunked trailers as h2 trailers).
//!
//! Invariants: upload and download run at once (the upstream may answer first); a DATA
//! frame's bytes are released to the client's window only once written upstream, and a
//! response chunk is read from the upstream only once the previous one went into the client
//! stream's window. The upstream connection goes back to the pool only after a clean exchange
//! (both bodies whole, keep-alive, nothing left unread). A response whose status is held back
//! (`HoldBack`, the stream will be retried) sends nothing to the client, and its connection is
//! closed. A failure before the response head is a [`Failed::Try`]: a reset or close
//! ([`Failure::Reset`]), no head in time ([`Failure::PerTryTimeout`]), a held-back status.

use std::{cell::Cell, io, pin::pin, time::Duration, time::Instant};

use bytes::Bytes;
use futures_util::future::{Either, select};
use h2::{RecvStream, SendStream, server::SendResponse};
use strait_http1::{
    BodyDecoder, BodyFraming, Method, Parsed, ResponseHead, ResponseParser,
    chunk_encode::{write_chunk, write_last_chunk},
};
use tracing::debug;

use super::forward::Failed;
use super::head;
use super::record::{Record, add};
use super::relay::{h1_body_to_h2, unless_reset};
use crate::headers::Mods;
use crate::io::{Inbound, within, write_all};
use crate::pool::PeerKey;
use crate::proxy::Upstream;
use crate::retry::{Failure, HoldBack};
use crate::stream::Stream;
use crate::worker::Shared;

/// Room a read gets while the response head is awaited (the body's reads get the
/// configured `read_chunk`): most heads, and small bodies with them, fit.
const HEAD_CHUNK: usize = 16 * 1024;

/// One exchange; see the module documentation.
#[derive(Debug)]
pub(super) struct Exchange<'a> {
    pub(super) shared: &'a Shared,
    /// The encoded upstream request head.
    pub(super) head: &'a [u8],
    pub(super) method: Method,
    /// The body goes up chunked (no `content-length`).
    pub(super) chunked: bool,
    pub(super) response_mods: &'a Mods<'a>,
    /// From now until the response head has arrived.
    pub(super) response_timeout: Duration,
    /// Statuses not to forward, because the stream will be retried.
    pub(super) hold_back: HoldBack,
    /// The stream's record: the response's status and the body bytes both ways.
    pub(super) record: &'a Record<'a>,
}

/// Why the download failed.
#[derive(Debug)]
enum Down {
    /// The upstream closed or failed before a whole response head.
    NoResponse,
    /// No response head in time.
    Timeout,
    /// A response the proxy cannot forward.
    Bad,
    /// A response head with a status held back (nothing went to the client).
    Held(u16),
    /// The body broke off after the response started, or the client left (or reset).
    Broken,
}

impl Exchange<'_> {
    pub(super) async fn run(
        self,
        up: Upstream,
        body: &mut RecvStream,
        respond: &mut SendResponse<Bytes>,
    ) -> Result<(), Failed> {
        let bodiless = body.is_end_stream();
        let started = Cell::new(false);
        let heard = Cell::new(false);
        let mut up_in = Inbound::default();
        let (sent, down) = {
            let upload = pin!(self.upload(&up.stream, body));
            let download = pin!(self.download(&up.stream, &mut up_in, respond, &started, &heard));
            match select(upload, download).await {
                Either::Left((Ok(()), download)) => (true, download.await),
                Either::Left((Err(Side::Upstream), download)) => (false, download.await),
                Either::Left((Err(Side::Client), _)) => return Err(Failed::Reset),
                Either::Right((down, _)) => (false, down),
            }
        };
        match down {
            Ok(reusable) => {
                if sent && reusable && up_in.buf.is_empty() {
                    let key = PeerKey {
                        addr: up.addr,
                        tls: up.tls,
                    };
                    self.shared.pool.put(key, up.stream);
                }
                Ok(())
            }
            Err(e) => {
                debug!(upstream = %up.addr, error = ?e, reused = up.reused, "h2 → HTTP/1.1 exchange failed");
                match e {
                    _ if started.get() => Err(Failed::Reset),
                    Down::NoResponse if up.reused && bodiless && !heard.get() => Err(Failed::Stale),
                    Down::NoResponse => Err(Failed::Try(
                        Failure::Reset,
                        502,
                        "upstream connection failed",
                    )),
                    Down::Timeout => Err(Failed::Try(
                        Failure::PerTryTimeout,
                        504,
                        "upstream did not answer in time",
                    )),
                    Down::Held(status) => {
                        Err(Failed::Try(Failure::Status(status), 502, "upstream failed"))
                    }
                    Down::Bad => Err(Failed::Answer(502, "bad response from upstream")),
                    Down::Broken => Err(Failed::Reset),
                }
            }
        }
    }

    /// Head, then body, then (chunked) the last chunk with the client's trailers.
    async fn upload(&self, up: &Stream, body: &mut RecvStream) -> Result<(), Side> {
        if body.is_end_stream() {
            return send(up, &mut self.head.to_vec()).await;
        }
        let mut out = Vec::with_capacity(self.head.len() + 1024);
        out.extend_from_slice(self.head);
        let timeout = self.shared.opts.body_timeout;
        send(up, &mut out).await?;
        while let Some(data) = within(timeout, body.data())
            .await
            .map_err(|_| Side::Client)?
        {
            let data = data.map_err(|_| Side::Client)?;
            if self.chunked {
                write_chunk(&mut out, &data);
            } else {
                out.extend_from_slice(&data);
            }
            send(up, &mut out).await?;
            let _ = body.flow_control().release_capacity(data.len());
            add(&self.record.bytes_in, data.len());
        }
        if self.chunked {
            let trailers = body.trailers().await.map_err(|_| Side::Client)?;
            let fields: Vec<(&[u8], &[u8])> = trailers
                .iter()
                .flatten()
                .map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes()))
                .collect();
            if write_last_chunk(&mut out, &fields).is_err() {
                let _ = write_last_chunk(&mut out, &[]);
            }
            send(up, &mut out).await?;
        }
        Ok(())
    }

    /// Reads the response head (skipping interim ones), answers it, then relays the body.
    /// `Ok(reusable)`: the upstream connection may carry another request.
    async fn download(
        &self,
        up: &Stream,
        inbound: &mut Inbound,
        respond: &mut SendResponse<Bytes>,
        started: &Cell<bool>,
        heard: &Cell<bool>,
    ) -> Result<bool, Down> {
        let (head, len) = {
            let read = pin!(self.read_head(up, inbound, heard));
            unless_reset(respond, read).await.ok_or(Down::Broken)??
        };
        let (framing, keep_alive, status) = (head.framing, head.keep_alive, head.status);
        if framing == BodyFraming::Tunnel {
            return Err(Down::Bad);
        }
        if self.hold_back.holds(status) {
            return Err(Down::Held(status));
        }
        let resp =
            head::h2_response(&head, &inbound.buf[..len], self.response_mods).ok_or(Down::Bad)?;
        drop(head);
        inbound.consume(len);
        let end = matches!(framing, BodyFraming::None | BodyFraming::Length(0));
        let mut send = respond.send_response(resp, end).map_err(|_| Down::Broken)?;
        started.set(true);
        self.record.status.set(status);
        if end {
            return Ok(keep_alive);
        }
        self.body(up, inbound, &mut send, framing).await?;
        Ok(keep_alive)
    }

    /// Reads the final response head (interim ones skipped): it and its length.
    async fn read_head(
        &self,
        up: &Stream,
        inbound: &mut Inbound,
        heard: &Cell<bool>,
    ) -> Result<(ResponseHead, usize), Down> {
        let opts = &self.shared.opts;
        let deadline = Instant::now() + self.response_timeout;
        let mut parser = ResponseParser::new(&opts.limits, self.method);
        loop {
            if !inbound.buf.is_empty() {
                match parser.parse(&inbound.buf) {
                    Ok(Parsed::Complete(h, len)) if (100..200).contains(&h.status) => {
                        if h.status == 101 {
                            return Err(Down::Bad);
                        }
                        inbound.consume(len);
                        parser = ResponseParser::new(&opts.limits, self.method);
                        continue;
                    }
                    Ok(Parsed::Complete(h, len)) => return Ok((h, len)),
                    Ok(Parsed::Partial) => {}
                    Err(_) => return Err(Down::Bad),
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let chunk = opts.read_chunk.min(HEAD_CHUNK);
            match inbound.fill_within(up, chunk, left).await {
                Ok(0) => return Err(Down::NoResponse),
                Ok(_) => heard.set(true),
                Err(e) if e.kind() == io::ErrorKind::TimedOut => return Err(Down::Timeout),
                Err(_) => return Err(Down::NoResponse),
            }
        }
    }

    /// Relays a response body of `framing` to `send`, ending it (with trailers if any).
    async fn body(
        &self,
        up: &Stream,
        inbound: &mut Inbound,
        send: &mut SendStream<Bytes>,
        framing: BodyFraming,
    ) -> Result<(), Down> {
        let opts = &self.shared.opts;
        let mut decoder = BodyDecoder::new(framing, &opts.limits);
        let passed = &self.record.bytes_out;
        h1_body_to_h2(up, inbound, &mut decoder, send, opts, passed)
            .await
            .map_err(|_| Down::Broken)
    }
}

/// Writes and empties `out`, with no timer of its own: the upload runs only while the
/// download does (it is dropped when the download ends first), so a write stuck here ends the
/// exchange as a timed-out one would: with the download's outcome, the connection not pooled.
async fn send(up: &Stream, out: &mut Vec<u8>) -> Result<(), Side> {
    write_all(up, out).await.map_err(|_| Side::Upstream)
}

/// Which side an upload failed on.
#[derive(Debug)]
enum Side {
    Client,
    Upstream,
}
