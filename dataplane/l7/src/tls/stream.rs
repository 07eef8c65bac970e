//! A TLS session driven over a compio `TcpStream`: rustls' sans-IO connection (the server side
//! of a client's session, or the client side of one to an upstream) fed with ciphertext we
//! read, drained of ciphertext we write.
//!
//! Order: [`TlsStream::accept`] or [`TlsStream::connect`] runs the handshake (the caller bounds
//! it with a timeout), then
//! [`TlsStream::append`], [`TlsStream::write_all`] and [`TlsStream::shutdown`] as on a socket.
//!
//! Invariants (one reader and one writer may run at once, on one thread):
//! * The `RefCell`s are borrowed only between awaits, never across one, so the reading task
//!   and the writing task never find the connection borrowed.
//! * Every ciphertext write happens under the `out` lock, and the holder drains rustls until
//!   it has nothing more to send before it lets go: records leave in the order rustls made
//!   them, whoever asked for them.
//! * Records that reading produces (alerts, TLS 1.3 session tickets, key-update answers) are
//!   flushed by the reader only when nobody holds the lock; otherwise the holder sends them on
//!   its next turn. The reader never waits for the writer, so a client that only reads once
//!   it has sent its request cannot deadlock the two directions against each other.
//! * Plaintext is handed out only after rustls authenticated it; ciphertext is fed to rustls
//!   only when its plaintext buffer is empty, so rustls' receive limits are never hit.
//! * A peer's TCP close without `close_notify` ends the stream like a clean close (`Ok(0)`):
//!   HTTP/1.1 frames its messages itself, and the TCP routes have no framing to protect.

use std::{
    cell::RefCell,
    fmt,
    io::{self, BufRead, Write},
    sync::Arc,
};

use compio::{
    BufResult,
    io::{AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpStream,
};
use futures_util::lock::Mutex;
use rustls::{ClientConfig, ClientConnection, Connection, ServerConfig, ServerConnection};
use rustls_pki_types::ServerName;

/// Ciphertext read from the socket at a time (a little over one TLS record).
const CIPHER_CHUNK: usize = 18 * 1024;

/// Ciphertext read from the peer, not yet given to rustls.
#[derive(Debug, Default)]
struct CipherIn {
    buf: Vec<u8>,
    /// How much of `buf` rustls has taken.
    used: usize,
    /// The peer closed its side of the TCP connection.
    eof: bool,
}

/// See the module documentation.
pub(crate) struct TlsStream {
    tcp: TcpStream,
    conn: RefCell<Connection>,
    input: RefCell<CipherIn>,
    /// Held while ciphertext is written; the buffer it is written from.
    out: Mutex<Vec<u8>>,
}

impl fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsStream")
            .field("tcp", &self.tcp)
            .finish_non_exhaustive()
    }
}

fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl TlsStream {
    /// Runs the server handshake on `tcp` with `config`.
    pub(crate) async fn accept(tcp: TcpStream, config: Arc<ServerConfig>) -> io::Result<Self> {
        let conn = ServerConnection::new(config).map_err(tls_error)?;
        TlsStream::handshake(tcp, conn.into()).await
    }

    /// Runs the client handshake on `tcp` with `config`, for the server `name` (a DNS name is
    /// sent as SNI and verified; an IP address is only verified).
    pub(crate) async fn connect(
        tcp: TcpStream,
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
    ) -> io::Result<Self> {
        let conn = ClientConnection::new(config, name).map_err(tls_error)?;
        TlsStream::handshake(tcp, conn.into()).await
    }

    async fn handshake(tcp: TcpStream, conn: Connection) -> io::Result<Self> {
        let tls = TlsStream {
            tcp,
            conn: RefCell::new(conn),
            input: RefCell::default(),
            out: Mutex::new(Vec::new()),
        };
        loop {
            tls.flush(true).await?;
            if !tls.conn.borrow().is_handshaking() {
                return Ok(tls);
            }
            if tls.read_cipher().await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let fed = tls.feed();
            if let Err(e) = fed {
                // The alert rustls queued goes out before the connection closes.
                let _ = tls.flush(true).await;
                return Err(e);
            }
        }
    }

    /// The TCP connection underneath.
    pub(crate) fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    /// The protocol agreed by ALPN, if any.
    pub(crate) fn alpn(&self) -> Option<Vec<u8>> {
        self.conn.borrow().alpn_protocol().map(<[u8]>::to_vec)
    }

    /// The server name the client asked for, if any.
    pub(crate) fn server_name(&self) -> Option<String> {
        match &*self.conn.borrow() {
            Connection::Server(s) => s.server_name().map(str::to_owned),
            Connection::Client(_) => None,
        }
    }

    /// Reads plaintext onto the end of `buf` (into its spare capacity, at least one byte);
    /// `Ok(0)` at end of stream.
    pub(crate) async fn append(&self, mut buf: Vec<u8>) -> BufResult<usize, Vec<u8>> {
        loop {
            let step = self.plaintext(&mut buf);
            if self.conn.borrow().wants_write() {
                // Alerts, tickets, key updates: sent now if nobody is writing, else by the
                // writer (see the module invariants).
                if let Err(e) = self.flush(false).await {
                    return BufResult(Err(e), buf);
                }
            }
            match step {
                Ok(Some(n)) => return BufResult(Ok(n), buf),
                Ok(None) => {}
                Err(e) => return BufResult(Err(e), buf),
            }
            if let Err(e) = self.read_cipher().await {
                return BufResult(Err(e), buf);
            }
        }
    }

    /// Hands out decrypted bytes, feeding buffered ciphertext to rustls as needed; `None` when
    /// more ciphertext must be read first.
    fn plaintext(&self, buf: &mut Vec<u8>) -> io::Result<Option<usize>> {
        let room = (buf.capacity() - buf.len()).max(1);
        loop {
            let mut conn = self.conn.borrow_mut();
            let mut reader = conn.reader();
            match reader.fill_buf() {
                Ok([]) => return Ok(Some(0)),
                Ok(chunk) => {
                    let n = chunk.len().min(room);
                    buf.extend_from_slice(&chunk[..n]);
                    reader.consume(n);
                    return Ok(Some(n));
                }
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(Some(0)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            drop(conn);
            let input = self.input.borrow();
            let more = input.used < input.buf.len() || input.eof;
            drop(input);
            if !more {
                return Ok(None);
            }
            self.feed()?;
        }
    }

    /// Gives rustls the buffered ciphertext (or the end of stream) and lets it process it.
    fn feed(&self) -> io::Result<()> {
        let mut conn = self.conn.borrow_mut();
        let mut input = self.input.borrow_mut();
        loop {
            let CipherIn { buf, used, eof } = &mut *input;
            if *used == buf.len() {
                buf.clear();
                *used = 0;
                if *eof {
                    // Tells rustls the peer has gone; `eof` stays set, so reads end.
                    conn.read_tls(&mut &[][..])?;
                    conn.process_new_packets().map_err(tls_error)?;
                }
                return Ok(());
            }
            *used += conn.read_tls(&mut &buf[*used..])?;
            conn.process_new_packets().map_err(tls_error)?;
            if !conn.is_handshaking() && !conn.reader().fill_buf().is_err_and(would_block) {
                // Plaintext (or the end) is ready: hand it out before feeding more.
                return Ok(());
            }
        }
    }

    /// Reads ciphertext from the socket into the input buffer; `Ok(0)` at end of stream.
    async fn read_cipher(&self) -> io::Result<usize> {
        let mut buf = std::mem::take(&mut self.input.borrow_mut().buf);
        buf.reserve(CIPHER_CHUNK);
        let mut tcp = &self.tcp;
        let BufResult(res, buf) = tcp.append(buf).await;
        let mut input = self.input.borrow_mut();
        input.buf = buf;
        match res {
            Ok(0) => {
                input.eof = true;
                Ok(0)
            }
            other => other,
        }
    }

    /// Writes all of `buf` as application data.
    pub(crate) async fn write_all(&self, buf: Vec<u8>) -> BufResult<(), Vec<u8>> {
        let mut written = 0;
        while written < buf.len() {
            let accepted = self.conn.borrow_mut().writer().write(&buf[written..]);
            match accepted {
                Ok(n) => written += n,
                Err(e) => return BufResult(Err(e), buf),
            }
            if let Err(e) = self.flush(true).await {
                return BufResult(Err(e), buf);
            }
        }
        BufResult(Ok(()), buf)
    }

    /// Sends `close_notify`, then ends the TCP sending side.
    pub(crate) async fn shutdown(&self) -> io::Result<()> {
        self.conn.borrow_mut().send_close_notify();
        self.flush(true).await?;
        let mut tcp = &self.tcp;
        tcp.shutdown().await
    }

    /// Writes what rustls has to send, until it has nothing more. With `wait` false, returns
    /// at once if another task is writing (it will send it).
    async fn flush(&self, wait: bool) -> io::Result<()> {
        let mut guard = if wait {
            self.out.lock().await
        } else {
            match self.out.try_lock() {
                Some(guard) => guard,
                None => return Ok(()),
            }
        };
        let mut out = std::mem::take(&mut *guard);
        loop {
            out.clear();
            {
                let mut conn = self.conn.borrow_mut();
                while conn.wants_write() {
                    conn.write_tls(&mut out)?;
                }
            }
            if out.is_empty() {
                break;
            }
            let mut tcp = &self.tcp;
            let BufResult(res, back) = tcp.write_all(out).await;
            out = back;
            res?;
        }
        *guard = out;
        Ok(())
    }
}

fn would_block(e: io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}
