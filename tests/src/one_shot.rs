//! An HTTP/1.1 upstream that serves one request per connection, then resets the connection as
//! soon as the next request arrives on it, never answering it, although its answer did not say
//! `Connection: close` (raw tokio TCP on a runtime of its own, on loopback, stopped when
//! dropped).
//!
//! To a proxy that pooled the connection this is the race of an upstream closing an idle
//! connection while a request is on its way, made deterministic: the connection is open and
//! quiet when the proxy takes it from its pool (its check before reuse passes), and every
//! request sent on it fails before any response byte.
//!
//! Requests are framed by `Content-Length` only (no body without one). Each answered request is
//! kept ([`OneShot::served`]) with its whole body; each one refused by a reset is counted
//! ([`OneShot::refused`]). Answers are `200`, body `served METHOD PATH`, with
//! `x-upstream: one-shot`.

use std::{
    io,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

use crate::background::Background;

/// A request the server answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    /// Its method.
    pub method: String,
    /// Its request target.
    pub path: String,
    /// Its whole body.
    pub body: Vec<u8>,
}

#[derive(Debug, Default)]
struct Seen {
    connections: AtomicU64,
    refused: AtomicU64,
    served: Mutex<Vec<Served>>,
}

/// A running server; see the module documentation.
#[derive(Debug)]
pub struct OneShot {
    /// Where it listens.
    pub addr: SocketAddr,
    seen: Arc<Seen>,
    _server: Background,
}

impl OneShot {
    /// Starts a server on a free loopback port.
    pub fn start() -> OneShot {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind one-shot");
        let addr = std_listener.local_addr().expect("local addr");
        let seen = Arc::new(Seen::default());
        let task_seen = seen.clone();
        let server = Background::spawn("upstream-one-shot".into(), std_listener, |listener| {
            serve(listener, task_seen)
        });
        OneShot {
            addr,
            seen,
            _server: server,
        }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.seen.connections.load(Ordering::SeqCst)
    }

    /// Requests refused (their connection reset unanswered) so far.
    pub fn refused(&self) -> u64 {
        self.seen.refused.load(Ordering::SeqCst)
    }

    /// The requests answered so far, in order.
    pub fn served(&self) -> Vec<Served> {
        self.seen.served.lock().expect("served list").clone()
    }
}

async fn serve(listener: TcpListener, seen: Arc<Seen>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        seen.connections.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(one_request(stream, seen.clone()));
    }
}

/// Answers the first request, then resets the connection when anything more arrives.
async fn one_request(mut stream: TcpStream, seen: Arc<Seen>) {
    let mut buf = Vec::new();
    let Ok(served) = read_request(&mut stream, &mut buf).await else {
        return;
    };
    let text = format!("served {} {}", served.method, served.path);
    let answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nx-upstream: one-shot\r\n\r\n{text}",
        text.len()
    );
    seen.served.lock().expect("served list").push(served);
    if stream.write_all(answer.as_bytes()).await.is_err() {
        return;
    }
    let mut next = [0u8; 4096];
    let more = !buf.is_empty() || matches!(stream.read(&mut next).await, Ok(n) if n > 0);
    if more {
        seen.refused.fetch_add(1, Ordering::SeqCst);
        let _ = rustix::net::sockopt::set_socket_linger(&stream, Some(Duration::ZERO));
    }
}

/// Reads one request, head and `Content-Length` body; what follows it stays in `buf`.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<Served> {
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        fill(stream, buf).await?;
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let (method, path) = (
        first.next().unwrap_or_default(),
        first.next().unwrap_or_default(),
    );
    let len: usize = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < end + len {
        fill(stream, buf).await?;
    }
    let served = Served {
        method: method.to_owned(),
        path: path.to_owned(),
        body: buf[end..end + len].to_vec(),
    };
    buf.drain(..end + len);
    Ok(served)
}

async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<()> {
    let mut chunk = [0u8; 4096];
    match stream.read(&mut chunk).await? {
        0 => Err(io::ErrorKind::UnexpectedEof.into()),
        n => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(())
        }
    }
}
