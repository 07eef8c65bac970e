//! Socket helpers over compio's owned-buffer I/O: an input buffer that grows only by reads,
//! whole writes that hand the buffer back, timeouts as I/O errors, and a lingering close.
//!
//! Invariants: [`Inbound::fill`] reads onto the end of the buffer and never moves what is
//! there, so a head parser may resume over it; only [`Inbound::consume`] drops bytes from the
//! front. A read or write that is cancelled (its future dropped, as a timeout does) takes its
//! buffer with it: the connection must then be closed, never reused.

use std::{
    future::{Future, poll_fn},
    io,
    pin::pin,
    task::Poll,
    time::Duration,
};

use compio::BufResult;

use crate::stream::Stream;

/// Bytes read from a peer and not yet used.
#[derive(Debug, Default)]
pub(crate) struct Inbound {
    pub(crate) buf: Vec<u8>,
}

impl Inbound {
    /// Reads what the peer has sent, at least `chunk` bytes of room; `Ok(0)` at end of stream.
    pub(crate) async fn fill(&mut self, stream: &Stream, chunk: usize) -> io::Result<usize> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.reserve(chunk.max(1));
        let BufResult(res, buf) = stream.append(buf).await;
        self.buf = buf;
        res
    }

    /// [`Inbound::fill`] within `limit`; a timeout is `ErrorKind::TimedOut`.
    pub(crate) async fn fill_within(
        &mut self,
        stream: &Stream,
        chunk: usize,
        limit: Duration,
    ) -> io::Result<usize> {
        within(limit, self.fill(stream, chunk)).await?
    }

    /// Gives the allocation back when nothing is buffered (between requests).
    pub(crate) fn relax(&mut self) {
        if self.buf.is_empty() {
            self.buf = Vec::new();
        }
    }

    /// Drops the first `n` bytes.
    pub(crate) fn consume(&mut self, n: usize) {
        self.buf.drain(..n.min(self.buf.len()));
    }
}

/// Writes all of `out`, then empties it (keeping its allocation).
pub(crate) async fn write_all(stream: &Stream, out: &mut Vec<u8>) -> io::Result<()> {
    let buf = std::mem::take(out);
    let BufResult(res, mut buf) = stream.write_all(buf).await;
    buf.clear();
    *out = buf;
    res
}

/// Runs `f` for at most `limit`; `f` wins if both are ready. `f` is pinned in place here
/// rather than handed to `compio::time::timeout`, whose future would hold it twice more (its
/// argument and its `select!`'s copy), and this wrapper sits around most I/O futures.
pub(crate) async fn within<T>(limit: Duration, f: impl Future<Output = T>) -> io::Result<T> {
    let mut f = pin!(f);
    let mut timer = pin!(compio::time::sleep(limit));
    poll_fn(|cx| {
        if let Poll::Ready(out) = f.as_mut().poll(cx) {
            return Poll::Ready(Ok(out));
        }
        timer
            .as_mut()
            .poll(cx)
            .map(|()| Err(io::Error::from(io::ErrorKind::TimedOut)))
    })
    .await
}

/// Most bytes read and dropped while closing after an error response.
const LINGER_BYTES: usize = 256 * 1024;
/// How long a closing connection is read for.
const LINGER_TIME: Duration = Duration::from_secs(1);

/// Ends the connection after a final response: shuts down the sending side, then reads and
/// drops what the peer still sends for a short while, so the kernel does not answer the
/// unread input with a reset that could destroy the response before the peer reads it.
pub(crate) async fn close_gracefully(stream: &Stream) {
    if stream.shutdown().await.is_err() {
        return;
    }
    let mut sink = Inbound::default();
    let mut seen = 0;
    let drained = within(LINGER_TIME, async {
        while seen < LINGER_BYTES {
            match sink.fill(stream, 16 * 1024).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    seen += n;
                    sink.buf.clear();
                }
            }
        }
    });
    let _ = drained.await;
}

/// A table's millisecond field as a duration; `None` for 0 (not set).
pub(crate) fn millis(ms: u32) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(u64::from(ms)))
}
