//! The way down: the upstream's response head (interim 1xx answers skipped), re-framed for the
//! client, then its body streamed; and the byte tunnel after a `101 Switching Protocols`.
//!
//! Invariants: the response head must arrive before the exchange's deadline (504 otherwise);
//! a malformed head is a 502, never forwarded. `started` is set just before the first byte
//! goes to the client, so the caller knows whether it may still answer an error. A body the
//! client cannot delimit (HTTP/1.0 client, body of unknown length) is sent until close and
//! the client connection is closed after it; an HTTP/1.1 client gets it re-chunked instead.
//! A response from an upstream that closes before it has the whole request body says
//! `Connection: close`. A response whose status the caller will retry (`hold_back`) is not
//! forwarded: the way down ends with [`DownError::Status`] before anything reached the client.

use std::{cell::Cell, io, time::Duration};

use crate::stream::Stream;
use futures_util::future::join;
use std::time::Instant;
use strait_http1::{BodyDecoder, BodyFraming, Error, Parsed, ResponseParser, Version};

use crate::body::{Frame, Pump};
use crate::headers::{self, ClientFraming, Mods};
use crate::io::{Inbound, write_all};
use crate::proxy::{Facts, Tally};
use crate::retry::HoldBack;
use crate::worker::Shared;

/// How the way down ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Down {
    /// The response went to the client whole.
    Complete {
        /// The upstream allows another request on the connection.
        upstream_reusable: bool,
        /// The client connection must close after this response.
        client_close: bool,
    },
    /// The upstream switched protocols; the head went to the client.
    Upgraded,
}

/// Why the way down failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DownError {
    /// The upstream closed before sending anything.
    #[error("the upstream closed the connection")]
    Closed,
    /// The upstream connection failed before a whole head.
    #[error("upstream connection: {0}")]
    Io(io::Error),
    /// No response head before the deadline.
    #[error("no response head in time")]
    Timeout,
    /// The response head is malformed (or cannot be re-encoded).
    #[error("malformed response: {0}")]
    Malformed(Error),
    /// A `101` to a request that did not ask to switch.
    #[error("101 to a request that did not ask to switch")]
    UnexpectedUpgrade,
    /// After the response started: the body broke off or the client left.
    #[error("response broke off")]
    Broken,
    /// The upstream answered a status the request is retried on; nothing went to the client.
    #[error("the upstream answered {0}, to be retried")]
    Status(u16),
}

impl DownError {
    /// The failure left no trace of a response (a stale pooled connection looks like this).
    pub(crate) fn before_response(&self) -> bool {
        matches!(self, DownError::Closed | DownError::Io(_))
    }

    /// What to answer the client if nothing has been sent yet.
    pub(crate) fn answer(&self) -> Option<(u16, &'static str)> {
        match self {
            DownError::Closed | DownError::Io(_) => Some((502, "upstream connection failed")),
            DownError::Timeout => Some((504, "upstream did not answer in time")),
            DownError::Malformed(_) | DownError::UnexpectedUpgrade => {
                Some((502, "upstream sent a malformed response"))
            }
            DownError::Status(_) => Some((502, "upstream failed")),
            DownError::Broken => None,
        }
    }
}

/// The way down of one exchange.
#[derive(Debug)]
pub(crate) struct Download<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) upstream: &'a Stream,
    pub(crate) inbound: &'a mut Inbound,
    pub(crate) client: &'a Stream,
    pub(crate) facts: Facts,
    pub(crate) mods: &'a Mods<'a>,
    pub(crate) out: &'a mut Vec<u8>,
    /// Set when the first byte goes to the client.
    pub(crate) started: &'a Cell<bool>,
    /// Set when the upstream sent anything.
    pub(crate) heard: &'a Cell<bool>,
    /// Set when the request body has been sent whole.
    pub(crate) sent: &'a Cell<bool>,
    /// Until the response head.
    pub(crate) timeout: Duration,
    /// Statuses not to forward, because the request will be retried.
    pub(crate) hold_back: HoldBack,
    /// Where the status forwarded and the bytes sent to the client are noted.
    pub(crate) tally: &'a Tally,
}

impl Download<'_> {
    pub(crate) async fn run(self) -> Result<Down, DownError> {
        let opts = &self.shared.opts;
        let deadline = Instant::now() + self.timeout;
        let mut parser = ResponseParser::new(&opts.limits, self.facts.method);
        let (head, len) = loop {
            match parser.parse(&self.inbound.buf) {
                // Interim answers (100 Continue, 103 Early Hints) are not forwarded: the proxy
                // answers `Expect` itself. The parser is fresh for the next head.
                Ok(Parsed::Complete(head, len)) if head.status < 200 && head.status != 101 => {
                    self.inbound.consume(len);
                    continue;
                }
                Ok(Parsed::Complete(head, len)) => break (head, len),
                Ok(Parsed::Partial) => {}
                Err(e) => return Err(DownError::Malformed(e)),
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self
                .inbound
                .fill_within(self.upstream, opts.read_chunk, left)
                .await
            {
                Ok(0) if self.inbound.buf.is_empty() && !self.heard.get() => {
                    return Err(DownError::Closed);
                }
                Ok(0) => return Err(DownError::Malformed(Error::IncompleteBody)),
                Ok(_) => self.heard.set(true),
                Err(e) if e.kind() == io::ErrorKind::TimedOut => return Err(DownError::Timeout),
                Err(e) => return Err(DownError::Io(e)),
            }
        };
        if self.hold_back.holds(head.status) {
            return Err(DownError::Status(head.status));
        }
        self.tally.status.set(head.status);
        let upgraded = head.status == 101;
        if upgraded && !self.facts.upgrade {
            return Err(DownError::UnexpectedUpgrade);
        }
        let http10 = self.facts.version == Version::Http10;
        let unknown_length = matches!(head.framing, BodyFraming::Chunked | BodyFraming::UntilClose);
        let (frame, until_close) = match (unknown_length, http10) {
            (true, false) => (Frame::Chunked, false),
            (true, true) => (Frame::Raw, true),
            (false, _) => (Frame::Raw, false),
        };
        // An upstream that closes before it has the whole request body will never get the
        // rest: the client connection closes too (its unread body must not become the next
        // request).
        let cut_short = !self.sent.get() && !head.keep_alive;
        let client_close = !self.facts.keep_alive || until_close || cut_short;
        let buf = &self.inbound.buf;
        let framing = ClientFraming {
            chunked: frame == Frame::Chunked,
            drop_length: unknown_length,
            close: client_close && !upgraded,
            keep_alive_10: http10 && !client_close,
            upgrade: if upgraded {
                head.upgrade.map(|s| s.get(buf))
            } else {
                None
            },
        };
        headers::client_response(self.out, &head, buf, self.mods, &framing)
            .map_err(DownError::Malformed)?;
        self.inbound.consume(len);
        self.started.set(true);
        if upgraded {
            self.tally.down.set(self.out.len() as u64);
            write_all(self.client, self.out)
                .await
                .map_err(|_| DownError::Broken)?;
            return Ok(Down::Upgraded);
        }
        let mut decoder = BodyDecoder::new(head.framing, &opts.limits);
        let head_bytes = self.out.len() as u64;
        let written = Pump {
            decoder: &mut decoder,
            from: self.upstream,
            inbound: self.inbound,
            to: self.client,
            frame,
            out: self.out,
            chunk: opts.read_chunk,
            timeout: opts.body_timeout,
        }
        .run()
        .await
        .map_err(|_| {
            self.tally.down.set(head_bytes);
            DownError::Broken
        })?;
        self.tally.down.set(written);
        Ok(Down::Complete {
            upstream_reusable: head.keep_alive,
            client_close,
        })
    }
}

/// Copies bytes both ways after a protocol switch until both sides have closed (each close
/// is passed on as a half-close), or one side stays silent for the body timeout.
pub(crate) async fn tunnel(
    shared: &Shared,
    client: &Stream,
    client_in: &mut Inbound,
    upstream: &Stream,
    up_in: &mut Inbound,
) {
    let opts = &shared.opts;
    let (mut up_decoder, mut down_decoder) = (
        BodyDecoder::new(BodyFraming::Tunnel, &opts.limits),
        BodyDecoder::new(BodyFraming::Tunnel, &opts.limits),
    );
    let (mut up_out, mut down_out) = (Vec::new(), Vec::new());
    let pump = |decoder, from, inbound, to, out| Pump {
        decoder,
        from,
        inbound,
        to,
        frame: Frame::Raw,
        out,
        chunk: opts.read_chunk,
        timeout: opts.body_timeout,
    };
    join(
        one_way(pump(
            &mut up_decoder,
            client,
            client_in,
            upstream,
            &mut up_out,
        )),
        one_way(pump(
            &mut down_decoder,
            upstream,
            up_in,
            client,
            &mut down_out,
        )),
    )
    .await;
}

/// Copies one direction of a tunnel, then passes the end on as a half-close.
async fn one_way(pump: Pump<'_>) {
    let to = pump.to;
    let _ = pump.run().await;
    let _ = to.shutdown().await;
}
