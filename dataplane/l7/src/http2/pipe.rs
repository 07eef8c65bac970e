//! The adapter between a [`Stream`] (compio, owned buffers) and the `h2` crate (tokio's
//! `AsyncRead`/`AsyncWrite`, polled): [`Duplex`], which drives at most one socket read and
//! one socket write of the stream from inside the task that polls h2, so bytes reach h2 and
//! the socket without another task in between.
//!
//! ```text
//!  socket ──read in flight──▶ [input, ≤ READ_CHUNK] ──poll_read──▶ h2
//!  socket ◀──write in flight── [pending, ≤ PIPE_BYTES] ◀──poll_write── h2
//! ```
//!
//! Invariants:
//! * Bounded both ways: a socket read is started only once h2 has taken everything read
//!   before, so a peer that h2 does not read from is not read from either (TCP
//!   backpressure); `poll_write` takes no more than the room left in `pending` and is
//!   `Pending` while it is full and a write is in flight, so at most `PIPE_BYTES` wait
//!   behind the one write in flight.
//! * Single-task: the operations in flight are futures owned by the [`Duplex`] and polled by
//!   whoever polls h2 (the connection's task), which their completion wakes.
//! * `poll_flush` starts a write of everything `pending` holds as soon as the previous one is
//!   done, and is ready once all of it is written. Each write must finish within the write
//!   timeout; a failed or timed-out write fails every later `poll_write` and `poll_flush`.
//! * `poll_shutdown` writes what is left, then shuts the stream's sending side. Dropping the
//!   [`Duplex`] cancels the read in flight and hands the rest to its closer task (spawned
//!   with it, asleep until then), which finishes the write in flight, writes what is left
//!   and shuts the sending side (each within the timeout).
//! * A failed read ends the input with that error.

use std::{
    cell::RefCell,
    future::{Future, poll_fn},
    io,
    pin::Pin,
    rc::Rc,
    task::{Context, Poll, Waker, ready},
    time::Duration,
};

use compio::BufResult;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::io::within;
use crate::stream::Stream;

/// Most bytes waiting behind the write in flight.
pub(crate) const PIPE_BYTES: usize = 64 * 1024;
/// Room one socket read gets.
const READ_CHUNK: usize = 16 * 1024;

/// A socket operation in flight.
type Op<T> = Pin<Box<dyn Future<Output = T>>>;

fn boxed<T>(op: impl Future<Output = T> + 'static) -> Op<T> {
    Box::pin(op)
}

/// How the input ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Eof,
    Failed(io::ErrorKind),
}

/// A [`Stream`] as h2 wants it; see the module documentation.
pub(crate) struct Duplex {
    stream: Rc<Stream>,
    timeout: Duration,
    /// Read from the socket; `input[taken..]` not yet handed to h2.
    input: Vec<u8>,
    taken: usize,
    ended: Option<End>,
    reading: Option<Op<BufResult<usize, Vec<u8>>>>,
    /// Written by h2, not yet handed to the socket.
    pending: Vec<u8>,
    /// The buffer of the last write done, kept for the next one.
    spare: Vec<u8>,
    writing: Option<Op<(io::Result<()>, Vec<u8>)>>,
    closing: Option<Op<io::Result<()>>>,
    /// The sending side is shut (or failed to): nothing more is written.
    shut: bool,
    failed: Option<io::ErrorKind>,
    /// Shared with the closer task (see [`close`]).
    left: Rc<RefCell<Leftover>>,
}

impl std::fmt::Debug for Duplex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Duplex")
            .field("stream", &self.stream)
            .field("held", &(self.input.len() - self.taken))
            .field("pending", &self.pending.len())
            .field("writing", &self.writing.is_some())
            .finish_non_exhaustive()
    }
}

impl Duplex {
    /// Wraps `stream`; each socket write must finish within `write_timeout`.
    pub(crate) fn new(stream: Stream, write_timeout: Duration) -> Duplex {
        let stream = Rc::new(stream);
        let left = Rc::new(RefCell::new(Leftover::default()));
        compio::runtime::spawn(close(stream.clone(), left.clone(), write_timeout)).detach();
        Duplex {
            left,
            stream,
            timeout: write_timeout,
            input: Vec::new(),
            taken: 0,
            ended: None,
            reading: None,
            pending: Vec::new(),
            spare: Vec::new(),
            writing: None,
            closing: None,
            shut: false,
            failed: None,
        }
    }

    /// Bytes read from the socket and not yet taken by h2.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.input.len() - self.taken
    }

    /// Polls the write in flight, if any, to its end.
    fn poll_written(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(op) = &mut self.writing {
            let (res, mut buf) = ready!(op.as_mut().poll(cx));
            self.writing = None;
            buf.clear();
            self.spare = buf;
            if let Err(e) = res {
                self.failed = Some(e.kind());
            }
        }
        match self.failed {
            Some(kind) => Poll::Ready(Err(kind.into())),
            None => Poll::Ready(Ok(())),
        }
    }

    /// Starts writing everything `pending` holds.
    fn start_write(&mut self) {
        let out = std::mem::replace(&mut self.pending, std::mem::take(&mut self.spare));
        self.writing = Some(boxed(write(self.stream.clone(), out, self.timeout)));
    }
}

/// Writes all of `out` within `timeout`; hands the buffer back (empty on a timeout).
async fn write(stream: Rc<Stream>, out: Vec<u8>, timeout: Duration) -> (io::Result<()>, Vec<u8>) {
    match within(timeout, stream.write_all(out)).await {
        Ok(BufResult(res, buf)) => (res, buf),
        Err(e) => (Err(e), Vec::new()),
    }
}

/// Reads onto the end of `input`.
async fn read(stream: Rc<Stream>, input: Vec<u8>) -> BufResult<usize, Vec<u8>> {
    stream.append(input).await
}

/// Shuts the sending side within `timeout`.
async fn shut(stream: Rc<Stream>, timeout: Duration) -> io::Result<()> {
    within(timeout, stream.shutdown()).await?
}

impl AsyncRead for Duplex {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.taken < this.input.len() {
                let held = &this.input[this.taken..];
                let n = held.len().min(buf.remaining());
                buf.put_slice(&held[..n]);
                this.taken += n;
                return Poll::Ready(Ok(()));
            }
            match this.ended {
                Some(End::Eof) => return Poll::Ready(Ok(())),
                Some(End::Failed(kind)) => return Poll::Ready(Err(kind.into())),
                None => {}
            }
            let op = this.reading.get_or_insert_with(|| {
                let mut input = std::mem::take(&mut this.input);
                input.clear();
                input.reserve(READ_CHUNK);
                boxed(read(this.stream.clone(), input))
            });
            let BufResult(res, input) = ready!(op.as_mut().poll(cx));
            this.reading = None;
            this.input = input;
            this.taken = 0;
            match res {
                Ok(0) => this.ended = Some(End::Eof),
                Ok(_) => {}
                Err(e) => this.ended = Some(End::Failed(e.kind())),
            }
        }
    }
}

impl AsyncWrite for Duplex {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Some(kind) = this.failed {
            return Poll::Ready(Err(kind.into()));
        }
        if this.shut {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if this.pending.len() >= PIPE_BYTES {
            // Full: once the write in flight is done, what is held goes out in the next one.
            ready!(this.poll_written(cx))?;
            this.start_write();
            // Polls the write just started, so that its completion wakes this task.
            let _ = this.poll_written(cx)?;
        }
        let n = (PIPE_BYTES - this.pending.len()).min(buf.len());
        this.pending.extend_from_slice(&buf[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            ready!(this.poll_written(cx))?;
            if this.pending.is_empty() {
                return Poll::Ready(Ok(()));
            }
            this.start_write();
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.shut {
            ready!(self.as_mut().poll_flush(cx))?;
            let this = self.as_mut().get_mut();
            let op = this
                .closing
                .get_or_insert_with(|| boxed(shut(this.stream.clone(), this.timeout)));
            let res = ready!(op.as_mut().poll(cx));
            this.closing = None;
            this.shut = true;
            res?;
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for Duplex {
    fn drop(&mut self) {
        let mut left = self.left.borrow_mut();
        left.dropped = true;
        left.shut = self.shut;
        if !self.shut {
            left.writing = self.writing.take();
            left.closing = self.closing.take();
            left.pending = std::mem::take(&mut self.pending);
            left.failed = self.failed.is_some();
        }
        if let Some(waker) = left.waker.take() {
            waker.wake();
        }
    }
}

/// What a dropped [`Duplex`] leaves to its closer task.
#[derive(Default)]
struct Leftover {
    dropped: bool,
    writing: Option<Op<(io::Result<()>, Vec<u8>)>>,
    closing: Option<Op<io::Result<()>>>,
    pending: Vec<u8>,
    failed: bool,
    /// The [`Duplex`] had shut the sending side itself.
    shut: bool,
    waker: Option<Waker>,
}

/// The closer task: once the [`Duplex`] is dropped, the write in flight (or the shutdown
/// begun) finishes, what is left is written, then the sending side is shut; nothing when the
/// [`Duplex`] was shut already. Spawned with the [`Duplex`], so that dropping one never
/// spawns (it may be dropped while its runtime is being torn down).
async fn close(stream: Rc<Stream>, left: Rc<RefCell<Leftover>>, timeout: Duration) {
    poll_fn(|cx| {
        let mut left = left.borrow_mut();
        if left.dropped {
            return Poll::Ready(());
        }
        left.waker = Some(cx.waker().clone());
        Poll::Pending
    })
    .await;
    let Leftover {
        writing,
        closing,
        pending,
        failed,
        shut: was_shut,
        ..
    } = std::mem::take(&mut *left.borrow_mut());
    if let Some(op) = closing {
        let _ = op.await;
        return;
    }
    if was_shut {
        return;
    }
    if let Some(op) = writing
        && op.await.0.is_err()
    {
        return;
    }
    if failed {
        return;
    }
    if !pending.is_empty() && write(stream.clone(), pending, timeout).await.0.is_err() {
        return;
    }
    let _ = shut(stream, timeout).await;
}

#[cfg(test)]
mod tests;
