//! Real HTTP/1.1 upstream servers for the L7 tests (hyper on a tokio runtime of its own), on
//! loopback, stopped when dropped; [`Upstream::start_h2`] starts one that speaks HTTP/2 with
//! prior knowledge (h2c) instead, for `HTTP2` clusters.
//!
//! Every server answers with its own name and counts what it saw: connections accepted,
//! requests served, raw bytes received (so a test can prove a request never reached it).
//! Paths:
//! * `/echo`: streams the request body back;
//! * `/count`: reads the body as a stream and answers `bytes=N sum=S` (S: wrapping byte sum);
//! * `/stream?bytes=N`: answers N bytes of a fixed pattern, chunked, produced as they are sent;
//! * anything else: the server's name, with every `x-…` request field echoed back as
//!   `x-echo-…`.
//!
//! Every answer carries `x-upstream: NAME`.
//!
//! A server can be told to misbehave ([`Upstream::set_fault`]) for the retry tests: answer every
//! request with a status, never answer, or reset each new connection (RST, by `SO_LINGER` 0)
//! once its first request head (h2c: its connection preface) has arrived. [`Upstream::faults`]
//! counts the requests (or reset connections) that got the fault.

use std::{
    convert::Infallible,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::{Request, Response, body::Frame, body::Incoming, service::service_fn};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
};

use crate::background::Background;

type Body = BoxBody<Bytes, hyper::Error>;

/// What a server saw.
#[derive(Debug, Default)]
pub struct Seen {
    connections: AtomicU64,
    requests: AtomicU64,
    bytes: AtomicU64,
    faults: AtomicU64,
    /// The current [`Fault`], encoded by [`Fault::code`].
    fault: AtomicU64,
}

/// How a server misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// It serves as described in the module documentation.
    None,
    /// Every request is answered with this status (body: `NAME failed`).
    Status(u16),
    /// No request is ever answered (the connection stays open).
    Hang,
    /// New connections are reset after their first request head.
    Reset,
}

impl Fault {
    fn code(self) -> u64 {
        match self {
            Fault::None => 0,
            Fault::Status(s) => 1 | u64::from(s) << 8,
            Fault::Hang => 2,
            Fault::Reset => 3,
        }
    }

    fn of(code: u64) -> Fault {
        match code & 0xff {
            1 => Fault::Status((code >> 8) as u16),
            2 => Fault::Hang,
            3 => Fault::Reset,
            _ => Fault::None,
        }
    }
}

impl Seen {
    fn fault(&self) -> Fault {
        Fault::of(self.fault.load(Ordering::SeqCst))
    }
}

/// A running upstream server; see the module documentation.
#[derive(Debug)]
pub struct Upstream {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its name (the body of its plain answers).
    pub name: String,
    seen: Arc<Seen>,
    _server: Background,
}

impl Upstream {
    /// Starts a server named `name` on a free loopback port.
    pub fn start(name: &str) -> Upstream {
        Upstream::start_on(name, SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind upstream")
    }

    /// Starts a server named `name` listening on `addr` (port 0: a free one).
    pub fn start_on(name: &str, addr: SocketAddr) -> io::Result<Upstream> {
        Upstream::start_as(name, addr, false)
    }

    /// Starts an h2c server (HTTP/2 with prior knowledge) named `name` on a free loopback port.
    pub fn start_h2(name: &str) -> Upstream {
        Upstream::start_as(name, SocketAddr::from(([127, 0, 0, 1], 0)), true)
            .expect("bind upstream")
    }

    fn start_as(name: &str, addr: SocketAddr, h2: bool) -> io::Result<Upstream> {
        let std_listener = std::net::TcpListener::bind(addr)?;
        let addr = std_listener.local_addr()?;
        let seen = Arc::new(Seen::default());
        let (task_seen, task_name) = (seen.clone(), name.to_owned());
        let server = Background::spawn(format!("upstream-{name}"), std_listener, move |listener| {
            serve(listener, task_name, task_seen, h2)
        });
        Ok(Upstream {
            addr,
            name: name.to_owned(),
            seen,
            _server: server,
        })
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.seen.connections.load(Ordering::SeqCst)
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.seen.requests.load(Ordering::SeqCst)
    }

    /// Raw bytes received so far, on every connection.
    pub fn bytes(&self) -> u64 {
        self.seen.bytes.load(Ordering::SeqCst)
    }

    /// Makes the server misbehave from now on (see the module documentation).
    pub fn set_fault(&self, fault: Fault) {
        self.seen.fault.store(fault.code(), Ordering::SeqCst);
    }

    /// Requests (or connections, for [`Fault::Reset`]) that got the fault.
    pub fn faults(&self) -> u64 {
        self.seen.faults.load(Ordering::SeqCst)
    }
}

async fn serve(listener: TcpListener, name: String, seen: Arc<Seen>, h2: bool) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        seen.connections.fetch_add(1, Ordering::SeqCst);
        if seen.fault() == Fault::Reset {
            tokio::spawn(reset_after_head(stream, seen.clone()));
            continue;
        }
        let io = TokioIo::new(Counting {
            inner: stream,
            seen: seen.clone(),
        });
        let (name, seen) = (name.clone(), seen.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req| answer(req, name.clone(), seen.clone()));
            let _ = if h2 {
                hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(io, service)
                    .await
            } else {
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await
            };
        });
    }
}

/// Reads a request head, then resets the connection.
async fn reset_after_head(mut stream: TcpStream, seen: Arc<Seen>) {
    use tokio::io::AsyncReadExt;
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    seen.bytes.fetch_add(head.len() as u64, Ordering::SeqCst);
    seen.faults.fetch_add(1, Ordering::SeqCst);
    let _ = rustix::net::sockopt::set_socket_linger(&stream, Some(Duration::ZERO));
    drop(stream);
}

async fn answer(
    req: Request<Incoming>,
    name: String,
    seen: Arc<Seen>,
) -> Result<Response<Body>, Infallible> {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    match seen.fault() {
        Fault::Status(status) => {
            seen.faults.fetch_add(1, Ordering::SeqCst);
            let mut r = Response::new(full(format!("{name} failed")));
            *r.status_mut() = hyper::StatusCode::from_u16(status).expect("a status");
            r.headers_mut()
                .insert("x-upstream", name.parse().expect("name is a header value"));
            return Ok(r);
        }
        Fault::Hang => {
            seen.faults.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Fault::None | Fault::Reset => {}
    }
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or_default().to_owned();
    let mut response = match path.as_str() {
        "/echo" => Response::new(req.into_body().boxed()),
        "/count" => {
            let (mut n, mut sum) = (0u64, 0u64);
            let mut body = req.into_body();
            while let Some(Ok(frame)) = body.frame().await {
                if let Some(data) = frame.data_ref() {
                    n += data.len() as u64;
                    sum = data.iter().fold(sum, |s, &b| s.wrapping_add(u64::from(b)));
                }
            }
            Response::new(full(format!("bytes={n} sum={sum}")))
        }
        "/stream" => {
            let total: u64 = query
                .strip_prefix("bytes=")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            Response::new(pattern(total))
        }
        _ => {
            let echoed: Vec<_> = req
                .headers()
                .iter()
                .filter(|(k, _)| k.as_str().starts_with("x-"))
                .map(|(k, v)| (format!("x-echo-{}", k.as_str()), v.clone()))
                .collect();
            // Read the body to its end before answering, as nginx discards one: hyper closes a
            // connection whose request body was left unread right after the response, and a
            // proxy may already have pooled it (a race this upstream is not here to test).
            let mut body = req.into_body();
            while let Some(Ok(_)) = body.frame().await {}
            let mut r = Response::new(full(name.clone()));
            for (k, v) in echoed {
                r.headers_mut().insert(
                    hyper::header::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                    v,
                );
            }
            r
        }
    };
    response
        .headers_mut()
        .insert("x-upstream", name.parse().expect("name is a header value"));
    Ok(response)
}

fn full(text: String) -> Body {
    Full::new(Bytes::from(text))
        .map_err(|never| match never {})
        .boxed()
}

/// The byte at offset `i` of a `/stream` answer.
pub fn pattern_byte(i: u64) -> u8 {
    (i % 251) as u8
}

/// `total` bytes of the pattern in 64 KiB frames, made as they are sent.
fn pattern(total: u64) -> Body {
    const FRAME: u64 = 64 * 1024;
    let frames = (0..total.div_ceil(FRAME)).map(move |i| {
        let start = i * FRAME;
        let data: Vec<u8> = (start..(start + FRAME).min(total))
            .map(pattern_byte)
            .collect();
        Ok::<_, hyper::Error>(Frame::data(Bytes::from(data)))
    });
    StreamBody::new(tokio_stream::iter(frames)).boxed()
}

/// A socket that counts the bytes read from it.
struct Counting {
    inner: TcpStream,
    seen: Arc<Seen>,
}

impl AsyncRead for Counting {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        self.seen.bytes.fetch_add(read as u64, Ordering::SeqCst);
        polled
    }
}

impl AsyncWrite for Counting {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
