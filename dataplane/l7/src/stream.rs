//! A byte stream to a peer: a plain TCP connection or a TLS session over one. The proxy code
//! (`conn`, `io`, `body`, `download`, `proxy`, `forward`) reads and writes through
//! [`Stream`] and never learns which it is.
//!
//! Invariants: every operation takes `&self`, so one task may read while another writes (the
//! upload and the download of an exchange race on the client connection); that is safe for
//! both kinds (see [`crate::tls::TlsStream`] for how the TLS one keeps its one state machine
//! consistent). Buffers are owned and handed back, as compio's I/O does; a cancelled
//! operation means the connection must be closed, never reused.

use std::io;

use compio::{
    BufResult,
    io::{AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpStream,
};

use crate::tls::TlsStream;

/// See the module documentation.
#[derive(Debug)]
pub(crate) enum Stream {
    /// Bytes as they are on the wire.
    Plain(TcpStream),
    /// A TLS session whose handshake is complete.
    Tls(Box<TlsStream>),
}

impl From<TcpStream> for Stream {
    fn from(tcp: TcpStream) -> Stream {
        Stream::Plain(tcp)
    }
}

impl Stream {
    /// The TCP connection underneath.
    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(tcp) => tcp,
            Stream::Tls(tls) => tls.tcp(),
        }
    }

    /// Whether the bytes are protected by TLS (the client reached an HTTPS listener).
    pub(crate) fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }

    /// Reads what the peer has sent onto the end of `buf` (into its spare capacity, at least
    /// one byte of which the caller reserved); `Ok(0)` at end of stream.
    pub(crate) async fn append(&self, buf: Vec<u8>) -> BufResult<usize, Vec<u8>> {
        match self {
            Stream::Plain(tcp) => {
                let mut s = tcp;
                s.append(buf).await
            }
            Stream::Tls(tls) => tls.append(buf).await,
        }
    }

    /// Writes all of `buf`.
    pub(crate) async fn write_all(&self, buf: Vec<u8>) -> BufResult<(), Vec<u8>> {
        match self {
            Stream::Plain(tcp) => {
                let mut s = tcp;
                s.write_all(buf).await
            }
            Stream::Tls(tls) => tls.write_all(buf).await,
        }
    }

    /// Ends the sending side (a TLS session sends `close_notify` first); reading goes on.
    pub(crate) async fn shutdown(&self) -> io::Result<()> {
        match self {
            Stream::Plain(tcp) => {
                let mut s = tcp;
                s.shutdown().await
            }
            Stream::Tls(tls) => tls.shutdown().await,
        }
    }
}
