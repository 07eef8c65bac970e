//! Moving an h2 body from one stream to another, respecting both sides' flow control.
//!
//! Invariants: a relay ends as soon as the receiving peer resets its stream, even while no
//! data comes (so a cancelled gRPC call is cancelled upstream too); a DATA frame's bytes are
//! released on the receiving stream (and counted as passed) only after the sending stream has
//! taken them, and the sending stream takes only what its window (the capacity h2 assigned
//! it) allows; so at most one window's worth is in flight per direction.
//! A body ends with the sender's trailers when it has them, else with an empty final frame.

use std::{
    cell::Cell,
    future::{Future, poll_fn},
    pin::{Pin, pin},
};

use bytes::Bytes;
use futures_util::future::{Either, select};
use h2::{Reason, RecvStream, SendStream, server::SendResponse};
use http::HeaderMap;
use strait_http1::{BodyDecoder, Event};

use super::head;
use super::record::add;
use crate::io::Inbound;
use crate::options::L7Options;
use crate::stream::Stream;

/// Which side of a relay failed.
#[derive(Debug)]
pub(crate) enum RelayError {
    /// Reading the incoming body failed (its peer reset the stream or left).
    From(h2::Error),
    /// The outgoing stream refused the bytes (its peer reset it or left).
    To(h2::Error),
}

/// Relays all of `from` (data, then trailers) to `to`, adding the data's bytes to `passed`
/// as `to` takes them; see the module documentation.
pub(crate) async fn relay(
    from: &mut RecvStream,
    mut to: SendStream<Bytes>,
    passed: &Cell<u64>,
) -> Result<(), RelayError> {
    loop {
        // Waiting for data, notice the receiver resetting its stream (a cancelled call).
        let next = {
            let data = pin!(from.data());
            let reset = pin!(poll_fn(|cx| to.poll_reset(cx)));
            match select(data, reset).await {
                Either::Left((next, _)) => next,
                Either::Right((reset, _)) => {
                    return Err(RelayError::To(reset.map_or_else(|e| e, h2::Error::from)));
                }
            }
        };
        let Some(data) = next else { break };
        let data = data.map_err(RelayError::From)?;
        let n = data.len();
        send_all(&mut to, data).await.map_err(RelayError::To)?;
        add(passed, n);
        // Only now may the peer send this much more.
        let _ = from.flow_control().release_capacity(n);
    }
    match from.trailers().await.map_err(RelayError::From)? {
        Some(trailers) => to.send_trailers(trailers).map_err(RelayError::To),
        None => to.send_data(Bytes::new(), true).map_err(RelayError::To),
    }
}

/// Runs `f`, unless the client resets its stream first (`None`); for waits before the
/// response starts, when nothing else would notice. `f` comes pinned by the caller: taken by
/// value, this future would hold it twice (argument and pinned copy).
pub(crate) async fn unless_reset<T>(
    respond: &mut SendResponse<Bytes>,
    f: Pin<&mut impl Future<Output = T>>,
) -> Option<T> {
    let reset = pin!(poll_fn(|cx| respond.poll_reset(cx)));
    match select(f, reset).await {
        Either::Left((done, _)) => Some(done),
        Either::Right(_) => None,
    }
}

/// Sends `data` on `to` (without ending the stream) as its window allows.
pub(crate) async fn send_all(to: &mut SendStream<Bytes>, mut data: Bytes) -> Result<(), h2::Error> {
    while !data.is_empty() {
        to.reserve_capacity(data.len());
        let capacity = loop {
            let capacity = to.capacity();
            if capacity > 0 {
                break capacity;
            }
            match poll_fn(|cx| to.poll_capacity(cx)).await {
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Err(Reason::CANCEL.into()),
            }
        };
        let chunk = data.split_to(capacity.min(data.len()));
        to.send_data(chunk, false)?;
    }
    Ok(())
}

/// Why relaying an HTTP/1.1 body to an h2 stream stopped.
#[derive(Debug)]
pub(super) enum H1BodyError {
    /// The body does not decode.
    Decode(strait_http1::Error),
    /// Reading it failed or timed out.
    Read,
    /// The h2 stream refused the bytes.
    Send,
}

/// Relays an HTTP/1.1 body (what `inbound` holds first, then reads from `from`) to `send` as
/// DATA frames, then its trailers (or an empty final frame), adding the decoded bytes to
/// `passed` as `send` takes them. A chunk is read only once the previous one went into
/// `send`'s window.
pub(super) async fn h1_body_to_h2(
    from: &Stream,
    inbound: &mut Inbound,
    decoder: &mut BodyDecoder,
    send: &mut SendStream<Bytes>,
    opts: &L7Options,
    passed: &Cell<u64>,
) -> Result<(), H1BodyError> {
    let mut trailers = HeaderMap::new();
    loop {
        let decoded = decoder.decode(&inbound.buf).map_err(H1BodyError::Decode)?;
        match decoded.event {
            Event::Data(range) => {
                let data = Bytes::copy_from_slice(&inbound.buf[range]);
                inbound.consume(decoded.consumed);
                let n = data.len();
                send_all(send, data).await.map_err(|_| H1BodyError::Send)?;
                add(passed, n);
            }
            Event::Trailer { name, value } => {
                let buf = &inbound.buf;
                if let Some((n, v)) = head::trailer(&buf[name], &buf[value]) {
                    trailers.append(n, v);
                }
                inbound.consume(decoded.consumed);
            }
            Event::Done => {
                inbound.consume(decoded.consumed);
                break;
            }
            Event::NeedMore => {
                inbound.consume(decoded.consumed);
                let read = inbound
                    .fill_within(from, opts.read_chunk, opts.body_timeout)
                    .await;
                match read {
                    Ok(0) => {
                        decoder.finish().map_err(H1BodyError::Decode)?;
                        break;
                    }
                    Ok(_) => {}
                    Err(_) => return Err(H1BodyError::Read),
                }
            }
        }
    }
    let ended = if trailers.is_empty() {
        send.send_data(head::EMPTY, true)
    } else {
        send.send_trailers(trailers)
    };
    ended.map_err(|_| H1BodyError::Send)
}
