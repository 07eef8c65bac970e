//! Streaming a body from one peer to the other: decode what arrived, re-frame it for the next
//! hop, write it, read more. Nothing is buffered beyond one read.
//!
//! Order: [`check_buffered`] on the bytes already read (to refuse a bad body before anything is
//! sent), then [`Pump::run`] until the body ends. A pump's `out` may hold bytes to send first (the
//! head), so a head and the start of its body leave in one write.
//!
//! Invariants: memory per pump is one read (`chunk` bytes) plus its re-framing; the decoder
//! consumes nothing after the body, so the next message stays in the input buffer; a chunked
//! body is re-chunked with its trailers, a body with a length is copied as is, and a body that
//! ends with the connection is ended by the sender's close (or a last chunk when re-chunked).

use std::{io, time::Duration};

use crate::stream::Stream;
use strait_http1::{BodyDecoder, Error, Event, chunk_encode, write_field};

use crate::io::{Inbound, write_all};

/// How a body is framed for the next hop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// Payload as is (a length, a close, a tunnel).
    Raw,
    /// Re-chunked.
    Chunked,
}

/// Why a body stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PumpError {
    /// The body is malformed: answer its status if nothing was answered yet.
    #[error("malformed body: {0}")]
    Body(Error),
    /// Reading from the sender failed or timed out.
    #[error("reading the body: {0}")]
    Read(io::Error),
    /// Writing to the receiver failed.
    #[error("writing the body: {0}")]
    Write(io::Error),
}

/// Decodes `buf` with a copy of `decoder`: `Ok(true)` when the whole body is in it, `Ok(false)`
/// when it is a valid beginning, the body's error otherwise.
pub(crate) fn check_buffered(decoder: &BodyDecoder, buf: &[u8]) -> Result<bool, Error> {
    buffered_len(decoder, buf).map(|whole| whole.is_some())
}

/// Decodes `buf` with a copy of `decoder`: `Ok(Some(n))` when the whole body, as framed, is the
/// first `n` bytes of `buf` (what a pump consumes of it), `Ok(None)` when `buf` is a valid
/// beginning, the body's error otherwise.
pub(crate) fn buffered_len(decoder: &BodyDecoder, buf: &[u8]) -> Result<Option<usize>, Error> {
    let mut d = decoder.clone();
    let mut used = 0;
    loop {
        let step = d.decode(&buf[used..])?;
        used += step.consumed;
        match step.event {
            Event::Done => return Ok(Some(used)),
            Event::NeedMore => return Ok(None),
            Event::Data(_) | Event::Trailer { .. } => {}
        }
    }
}

/// One body on its way; see the module documentation.
#[derive(Debug)]
pub(crate) struct Pump<'a> {
    pub(crate) decoder: &'a mut BodyDecoder,
    pub(crate) from: &'a Stream,
    pub(crate) inbound: &'a mut Inbound,
    pub(crate) to: &'a Stream,
    pub(crate) frame: Frame,
    /// Bytes to send before the body (may be empty); the write buffer after.
    pub(crate) out: &'a mut Vec<u8>,
    pub(crate) chunk: usize,
    pub(crate) timeout: Duration,
}

impl Pump<'_> {
    /// Runs until the body has been written whole; returns the bytes written (what `out` held
    /// first included).
    pub(crate) async fn run(mut self) -> Result<u64, PumpError> {
        let chunked = self.frame == Frame::Chunked;
        let mut trailers = false;
        let mut written = 0;
        loop {
            let (used, done) = self.decode_buffered(&mut trailers)?;
            self.inbound.consume(used);
            written += self.out.len() as u64;
            if !self.out.is_empty() {
                write_all(self.to, self.out)
                    .await
                    .map_err(PumpError::Write)?;
            }
            if done {
                return Ok(written);
            }
            let read = self
                .inbound
                .fill_within(self.from, self.chunk, self.timeout)
                .await;
            match read {
                Ok(0) => {
                    self.decoder.finish().map_err(PumpError::Body)?;
                    if chunked {
                        self.out.extend_from_slice(b"0\r\n\r\n");
                        written += self.out.len() as u64;
                        write_all(self.to, self.out)
                            .await
                            .map_err(PumpError::Write)?;
                    }
                    return Ok(written);
                }
                Ok(_) => {}
                Err(e) => return Err(PumpError::Read(e)),
            }
        }
    }

    /// Decodes everything buffered into `out`; returns the bytes used and whether the body
    /// ended.
    fn decode_buffered(&mut self, trailers: &mut bool) -> Result<(usize, bool), PumpError> {
        let chunked = self.frame == Frame::Chunked;
        let mut used = 0;
        loop {
            let input = &self.inbound.buf[used..];
            let step = self.decoder.decode(input).map_err(PumpError::Body)?;
            match step.event {
                Event::Data(range) if chunked => chunk_encode::write_chunk(self.out, &input[range]),
                Event::Data(range) => self.out.extend_from_slice(&input[range]),
                Event::Trailer { name, value } => {
                    if chunked {
                        if !*trailers {
                            self.out.extend_from_slice(b"0\r\n");
                            *trailers = true;
                        }
                        // Validated by the decoder, so writing it cannot fail.
                        let _ = write_field(self.out, &input[name], &input[value]);
                    }
                }
                Event::Done => {
                    if chunked {
                        let end: &[u8] = if *trailers { b"\r\n" } else { b"0\r\n\r\n" };
                        self.out.extend_from_slice(end);
                    }
                    return Ok((used + step.consumed, true));
                }
                Event::NeedMore => return Ok((used + step.consumed, false)),
            }
            used += step.consumed;
        }
    }
}

#[cfg(test)]
mod tests {
    use strait_http1::{BodyFraming, Limits};

    use super::*;

    #[test]
    fn buffered_bodies_are_checked_without_consuming() {
        let limits = Limits::default();
        let chunked = BodyDecoder::new(BodyFraming::Chunked, &limits);
        assert_eq!(
            check_buffered(&chunked, b"4\r\ndata\r\n0\r\n\r\nGET"),
            Ok(true)
        );
        assert_eq!(check_buffered(&chunked, b"4\r\nda"), Ok(false));
        assert_eq!(
            check_buffered(&chunked, b"0x4\r\n"),
            Err(Error::InvalidChunkSize)
        );
        assert_eq!(
            check_buffered(&chunked, b"4\r\ndataXX"),
            Err(Error::MissingChunkCrlf)
        );
        let none = BodyDecoder::new(BodyFraming::None, &limits);
        assert_eq!(check_buffered(&none, b""), Ok(true));
        let length = BodyDecoder::new(BodyFraming::Length(3), &limits);
        assert_eq!(check_buffered(&length, b"ab"), Ok(false));
    }

    #[test]
    fn buffered_len_is_the_framed_body_and_nothing_after_it() {
        let limits = Limits::default();
        let length = BodyDecoder::new(BodyFraming::Length(3), &limits);
        assert_eq!(buffered_len(&length, b"abcGET / HTTP/1.1"), Ok(Some(3)));
        assert_eq!(buffered_len(&length, b"ab"), Ok(None));
        let chunked = BodyDecoder::new(BodyFraming::Chunked, &limits);
        let body = b"4\r\ndata\r\n0\r\nx-t: 1\r\n\r\n";
        let mut buf = body.to_vec();
        buf.extend_from_slice(b"GET");
        assert_eq!(buffered_len(&chunked, &buf), Ok(Some(body.len())));
        assert_eq!(buffered_len(&chunked, &body[..body.len() - 1]), Ok(None));
        let none = BodyDecoder::new(BodyFraming::None, &limits);
        assert_eq!(buffered_len(&none, b"GET"), Ok(Some(0)));
    }
}
