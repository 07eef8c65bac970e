//! One exchange with an upstream: the request head and body go up while the response comes
//! down, both streamed, concurrently (an upstream may answer before it has read the body).
//!
//! Order: [`exchange`] sends the head (with the start of the body in the same write), then
//! races the upload against the download; the outcome says what the client connection does
//! next. An upstream connection goes back to the pool only after a clean exchange.
//!
//! Invariants:
//! * Nothing is answered to the client twice: once a response byte has been written, a failure
//!   closes the client connection instead of answering.
//! * A request is sent again ([`Outcome::Stale`]) only when the upstream connection came from
//!   the pool, the upstream sent nothing back (it closed or reset the connection before any
//!   response byte), and the request is [`Exchange::resendable`]: it has no body, or the caller
//!   kept its whole body to put back in the client input buffer and its method may be sent
//!   twice (`replay`, by the rule of `retry`).
//! * The client connection is kept only when both bodies were complete and both sides allow it.
//! * A failure of the upstream before anything was sent to the client comes back as
//!   [`Outcome::Failed`] with its retry class, so the caller may try again (`retry`) or answer.

use std::{cell::Cell, net::SocketAddr, pin::pin, time::Duration};

use crate::pool::PeerKey;
use crate::stream::Stream;
use futures_util::future::{Either, select};
use strait_http1::{BodyDecoder, BodyFraming, Method, Version};
use tracing::debug;

use crate::body::{Frame, Pump, PumpError};
use crate::download::{Down, DownError, Download};
use crate::headers::Mods;
use crate::io::Inbound;
use crate::retry::{Failure, HoldBack};
use crate::worker::Shared;

/// The facts of the client's request the exchange acts on.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Facts {
    pub(crate) method: Method,
    pub(crate) version: Version,
    pub(crate) keep_alive: bool,
    pub(crate) framing: BodyFraming,
    /// The client asked to switch protocols.
    pub(crate) upgrade: bool,
}

impl Facts {
    pub(crate) fn bodiless(&self) -> bool {
        matches!(self.framing, BodyFraming::None | BodyFraming::Length(0))
    }
}

/// A connection to an endpoint.
#[derive(Debug)]
pub(crate) struct Upstream {
    pub(crate) stream: Stream,
    pub(crate) addr: SocketAddr,
    /// How it is secured ([`PeerKey::tls`]).
    pub(crate) tls: u64,
    /// It came from the pool.
    pub(crate) reused: bool,
}

/// What an exchange measured, for the access log and the counters.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// The status of the response forwarded (0: none).
    pub(crate) status: Cell<u16>,
    /// Bytes written upstream (head and body).
    pub(crate) up: Cell<u64>,
    /// Bytes written to the client (head and body).
    pub(crate) down: Cell<u64>,
}

/// What the client connection does after an exchange.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The response went out whole; whether the connection may carry another request.
    Done { client_reusable: bool },
    /// A pooled connection failed before answering; send the request again on a new one.
    Stale,
    /// Nothing was answered yet: answer this status with this reason, then close.
    Answer(u16, &'static str),
    /// The upstream failed and nothing was answered yet: retry if `failure` may be retried,
    /// else answer `status` with `reason` and close.
    Failed {
        failure: Option<Failure>,
        status: u16,
        reason: &'static str,
    },
    /// The connection cannot continue (the client left, or the response broke off): drop it.
    Close,
}

/// Everything an exchange needs besides the upstream connection.
#[derive(Debug)]
pub(crate) struct Exchange<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) client: &'a Stream,
    pub(crate) client_in: &'a mut Inbound,
    /// The encoded upstream request head.
    pub(crate) head: &'a [u8],
    pub(crate) facts: Facts,
    pub(crate) response_mods: &'a Mods<'a>,
    /// From now until the response head has arrived.
    pub(crate) response_timeout: Duration,
    /// Statuses not to forward, because the request will be retried.
    pub(crate) hold_back: HoldBack,
    /// The request may be sent again on a new connection if this pooled one turns out stale
    /// (no body, or one the caller kept; see the module invariants).
    pub(crate) resendable: bool,
    /// What the exchange measured.
    pub(crate) tally: &'a Tally,
}

enum Raced {
    Both(Result<(), PumpError>, Result<Down, DownError>),
    DownloadFirst(Result<Down, DownError>),
    UploadFailed(PumpError),
}

/// Runs one exchange; see the module documentation.
pub(crate) async fn exchange(x: Exchange<'_>, up: Upstream) -> Outcome {
    let opts = &x.shared.opts;
    let started = Cell::new(false);
    let heard = Cell::new(false);
    let sent = Cell::new(false);
    let mut up_in = Inbound::default();
    let mut up_out = Vec::with_capacity(x.head.len() + 1024);
    up_out.extend_from_slice(x.head);
    let mut decoder = BodyDecoder::new(x.facts.framing, &opts.limits);
    let mut down_out = Vec::new();
    let raced = {
        let pump = Pump {
            decoder: &mut decoder,
            from: x.client,
            inbound: &mut *x.client_in,
            to: &up.stream,
            frame: match x.facts.framing {
                BodyFraming::Chunked => Frame::Chunked,
                _ => Frame::Raw,
            },
            out: &mut up_out,
            chunk: opts.read_chunk,
            timeout: opts.body_timeout,
        };
        let upload = pin!(async {
            let done = pump.run().await;
            sent.set(done.is_ok());
            done.map(|n| x.tally.up.set(n))
        });
        let download = pin!(
            Download {
                shared: x.shared,
                upstream: &up.stream,
                inbound: &mut up_in,
                client: x.client,
                facts: x.facts,
                mods: x.response_mods,
                out: &mut down_out,
                started: &started,
                heard: &heard,
                sent: &sent,
                timeout: x.response_timeout,
                hold_back: x.hold_back,
                tally: x.tally,
            }
            .run()
        );
        match select(upload, download).await {
            Either::Left((Ok(()), download)) => Raced::Both(Ok(()), download.await),
            Either::Left((Err(e @ PumpError::Write(_)), download)) => {
                Raced::Both(Err(e), download.await)
            }
            Either::Left((Err(e), _)) => Raced::UploadFailed(e),
            Either::Right((down, _)) => Raced::DownloadFirst(down),
        }
    };
    let stale_able = up.reused && x.resendable && !heard.get();
    match raced {
        Raced::Both(
            sent,
            Ok(Down::Complete {
                upstream_reusable,
                client_close,
            }),
        ) => {
            if sent.is_ok() && upstream_reusable && up_in.buf.is_empty() {
                x.shared.pool.put(
                    PeerKey {
                        addr: up.addr,
                        tls: up.tls,
                    },
                    up.stream,
                );
            }
            Outcome::Done {
                client_reusable: sent.is_ok() && !client_close,
            }
        }
        Raced::Both(Ok(()), Ok(Down::Upgraded)) => {
            crate::download::tunnel(x.shared, x.client, x.client_in, &up.stream, &mut up_in).await;
            Outcome::Close
        }
        Raced::Both(_, Ok(Down::Upgraded)) | Raced::DownloadFirst(Ok(Down::Upgraded)) => {
            Outcome::Close
        }
        Raced::DownloadFirst(Ok(Down::Complete { .. })) => Outcome::Done {
            client_reusable: false,
        },
        Raced::Both(_, Err(e)) | Raced::DownloadFirst(Err(e)) => {
            debug!(upstream = %up.addr, error = %e, reused = up.reused, "exchange failed");
            if stale_able && e.before_response() {
                return Outcome::Stale;
            }
            let failure = match e {
                DownError::Closed | DownError::Io(_) => Some(Failure::Reset),
                DownError::Timeout => Some(Failure::PerTryTimeout),
                DownError::Status(s) => Some(Failure::Status(s)),
                _ => None,
            };
            match e.answer() {
                Some((status, reason)) if !started.get() => Outcome::Failed {
                    failure,
                    status,
                    reason,
                },
                _ => Outcome::Close,
            }
        }
        Raced::UploadFailed(PumpError::Body(e)) if !started.get() => {
            Outcome::Answer(e.status(), e.reason())
        }
        Raced::UploadFailed(_) => Outcome::Close,
    }
}
