//! The adapter between a [`Stream`] (compio, owned buffers) and the `h2` crate (tokio's
//! `AsyncRead`/`AsyncWrite`, polled): [`Duplex`], two bounded byte pipes driven by two compio
//! tasks on the worker's runtime.
//!
//! ```text
//!  socket ──reader task──▶ [inbound pipe, ≤ PIPE_BYTES] ──poll_read──▶ h2
//!  socket ◀──writer task── [outbound pipe, ≤ PIPE_BYTES] ◀──poll_write── h2
//! ```
//!
//! Invariants:
//! * Bounded both ways: the reader task reads at most one chunk ahead and then waits until the
//!   inbound pipe has room, so a peer that h2 does not read from is not read from either
//!   (TCP backpressure); `poll_write` takes no more than the room left and is `Pending` when
//!   the outbound pipe is full, until the writer task has written it out.
//! * Single-threaded: the pipes are `Rc<RefCell<_>>`, touched only by the worker's thread; a
//!   waker is stored by the side that waits and woken by the other.
//! * `poll_flush` is ready at once: the writer task writes whatever the pipe holds as soon as it
//!   holds it. `poll_shutdown` (and dropping the [`Duplex`]) lets the writer task write what is
//!   left, then shut the stream's sending side; dropping the [`Duplex`] cancels the reader task.
//! * A failed read ends the inbound pipe with that error; a failed or timed-out write fails
//!   every later `poll_write`.

use std::{
    cell::RefCell,
    future::poll_fn,
    io,
    pin::Pin,
    rc::Rc,
    task::{Context, Poll, Waker},
    time::Duration,
};

use bytes::{Buf, BytesMut};
use compio::{BufResult, runtime::JoinHandle};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::io::within;
use crate::stream::Stream;

/// Most bytes a pipe holds.
pub(crate) const PIPE_BYTES: usize = 64 * 1024;
/// Most bytes one socket read takes.
const READ_CHUNK: usize = 16 * 1024;

/// How a pipe's producer ended it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Eof,
    Failed(io::ErrorKind),
}

/// One bounded direction; see the module documentation.
#[derive(Debug)]
pub(crate) struct Pipe {
    data: BytesMut,
    cap: usize,
    /// Set by the producer: nothing more comes after `data`.
    end: Option<End>,
    /// Set by the consumer: it is gone, or failed, and takes nothing more.
    refused: Option<io::ErrorKind>,
    producer: Option<Waker>,
    consumer: Option<Waker>,
}

impl Pipe {
    pub(crate) fn new(cap: usize) -> Pipe {
        Pipe {
            data: BytesMut::new(),
            cap: cap.max(1),
            end: None,
            refused: None,
            producer: None,
            consumer: None,
        }
    }

    /// Bytes held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.data.len()
    }

    /// Takes as much of `src` as there is room for; `Pending` when full.
    pub(crate) fn poll_push(
        &mut self,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(kind) = self.refused {
            return Poll::Ready(Err(kind.into()));
        }
        let room = self.cap.saturating_sub(self.data.len());
        if src.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if room == 0 {
            self.producer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = room.min(src.len());
        self.data.extend_from_slice(&src[..n]);
        wake(&mut self.consumer);
        Poll::Ready(Ok(n))
    }

    /// Hands what is held to `take` (which says how much it used); `Ready(Ok(false))` at the
    /// end, `Pending` while empty.
    pub(crate) fn poll_pull(
        &mut self,
        cx: &mut Context<'_>,
        take: impl FnOnce(&[u8]) -> usize,
    ) -> Poll<io::Result<bool>> {
        if !self.data.is_empty() {
            let n = take(&self.data).min(self.data.len());
            self.data.advance(n);
            wake(&mut self.producer);
            return Poll::Ready(Ok(true));
        }
        match self.end {
            Some(End::Eof) => Poll::Ready(Ok(false)),
            Some(End::Failed(kind)) => Poll::Ready(Err(kind.into())),
            None => {
                self.consumer = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    /// The producer is done (`None`: cleanly).
    pub(crate) fn finish(&mut self, error: Option<io::ErrorKind>) {
        self.end.get_or_insert(error.map_or(End::Eof, End::Failed));
        wake(&mut self.consumer);
    }

    /// The consumer takes nothing more.
    pub(crate) fn refuse(&mut self, kind: io::ErrorKind) {
        self.refused.get_or_insert(kind);
        wake(&mut self.producer);
    }
}

fn wake(waker: &mut Option<Waker>) {
    if let Some(w) = waker.take() {
        w.wake();
    }
}

type Shared = Rc<RefCell<Pipe>>;

/// A [`Stream`] as h2 wants it; see the module documentation.
#[derive(Debug)]
pub(crate) struct Duplex {
    inbound: Shared,
    outbound: Shared,
    /// Dropping it cancels the read in flight.
    _reader: JoinHandle<()>,
}

impl Duplex {
    /// Starts the two tasks over `stream` on the current compio runtime; each socket write
    /// must finish within `write_timeout`.
    pub(crate) fn new(stream: Stream, write_timeout: Duration) -> Duplex {
        let stream = Rc::new(stream);
        let inbound = Rc::new(RefCell::new(Pipe::new(PIPE_BYTES)));
        let outbound = Rc::new(RefCell::new(Pipe::new(PIPE_BYTES)));
        let reader = compio::runtime::spawn(read_into(stream.clone(), inbound.clone()));
        compio::runtime::spawn(write_from(stream, outbound.clone(), write_timeout)).detach();
        Duplex {
            inbound,
            outbound,
            _reader: reader,
        }
    }
}

impl Drop for Duplex {
    fn drop(&mut self) {
        // The writer task writes what is left, then shuts the stream down.
        self.outbound.borrow_mut().finish(None);
    }
}

/// The reader task: socket → inbound pipe.
async fn read_into(stream: Rc<Stream>, pipe: Shared) {
    loop {
        let buf = Vec::with_capacity(READ_CHUNK);
        let BufResult(res, buf) = stream.append(buf).await;
        match res {
            Ok(0) => return pipe.borrow_mut().finish(None),
            Err(e) => return pipe.borrow_mut().finish(Some(e.kind())),
            Ok(_) => {}
        }
        let mut at = 0;
        while at < buf.len() {
            match poll_fn(|cx| pipe.borrow_mut().poll_push(cx, &buf[at..])).await {
                Ok(n) => at += n,
                // h2 is gone.
                Err(_) => return,
            }
        }
    }
}

/// The writer task: outbound pipe → socket.
async fn write_from(stream: Rc<Stream>, pipe: Shared, timeout: Duration) {
    let mut out = Vec::new();
    loop {
        let more = poll_fn(|cx| {
            pipe.borrow_mut().poll_pull(cx, |held| {
                out.extend_from_slice(held);
                held.len()
            })
        })
        .await;
        match more {
            Ok(true) => {}
            Ok(false) | Err(_) => {
                let _ = within(timeout, stream.shutdown()).await;
                return;
            }
        }
        let buf = std::mem::take(&mut out);
        match within(timeout, stream.write_all(buf)).await {
            Ok(BufResult(Ok(()), mut buf)) => {
                buf.clear();
                out = buf;
            }
            Ok(BufResult(Err(e), _)) | Err(e) => {
                pipe.borrow_mut().refuse(e.kind());
                return;
            }
        }
    }
}

impl AsyncRead for Duplex {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut pipe = self.inbound.borrow_mut();
        pipe.poll_pull(cx, |held| {
            let n = held.len().min(buf.remaining());
            buf.put_slice(&held[..n]);
            n
        })
        .map_ok(|_| ())
    }
}

impl AsyncWrite for Duplex {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.outbound.borrow_mut().poll_push(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.outbound.borrow().refused {
            Some(kind) => Poll::Ready(Err(kind.into())),
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.outbound.borrow_mut().finish(None);
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests;
