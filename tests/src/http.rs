//! A plain, blocking HTTP/1.1 client for the L7 tests: it writes exactly the bytes it is given
//! (so malformed requests go out as written) and reads responses framed by `Content-Length`,
//! chunked coding, or the close.
//!
//! Interim (1xx) responses are skipped by [`Client::response`]. A body can be kept or only
//! counted and summed (for bodies too large to hold).

use std::{
    io::{self, Read, Write},
    net::{SocketAddr, TcpStream},
    time::Duration,
};

/// How long a read may wait.
const READ_TIMEOUT: Duration = Duration::from_secs(20);

/// One response.
#[derive(Debug, Clone, Default)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Fields, names lowercased, in order.
    pub headers: Vec<(String, String)>,
    /// The body (empty when only counted).
    pub body: Vec<u8>,
    /// Body bytes received.
    pub body_len: u64,
    /// Wrapping sum of the body bytes.
    pub body_sum: u64,
}

impl Response {
    /// The first value of field `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A client connection.
#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    /// Connects to `addr`.
    pub fn connect(addr: SocketAddr) -> io::Result<Client> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(Client {
            stream,
            buf: Vec::new(),
        })
    }

    /// Writes `bytes` as they are.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// A GET for `path` on `host`, with `extra` field lines (each ending in CRLF), and its
    /// response.
    pub fn get(&mut self, host: &str, path: &str, extra: &str) -> io::Result<Response> {
        let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n");
        self.send(req.as_bytes())?;
        self.response()
    }

    /// The next final response, body kept.
    pub fn response(&mut self) -> io::Result<Response> {
        self.read_response(true, false)
    }

    /// The next final response, body only counted and summed.
    pub fn response_counted(&mut self) -> io::Result<Response> {
        self.read_response(false, false)
    }

    /// The next final response to a HEAD request (no body whatever the fields say).
    pub fn head_response(&mut self) -> io::Result<Response> {
        self.read_response(true, true)
    }

    /// The next response head, interim ones included (the body, if any, is left unread).
    pub fn next_head(&mut self) -> io::Result<Response> {
        let end = self.read_until(b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        self.buf.drain(..end + 4);
        parse_head(&head)
    }

    /// Another handle on the socket, to write from another thread.
    pub fn writer(&self) -> io::Result<TcpStream> {
        self.stream.try_clone()
    }

    /// True when the server has closed the connection (after what was already read).
    pub fn closed(&mut self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        let mut b = [0u8; 1];
        matches!(self.stream.read(&mut b), Ok(0) | Err(_))
    }

    fn read_response(&mut self, keep: bool, head_only: bool) -> io::Result<Response> {
        loop {
            let mut r = self.next_head()?;
            let status = r.status;
            if (100..200).contains(&status) {
                continue;
            }
            if head_only || status == 204 || status == 304 {
                return Ok(r);
            }
            if r.header("transfer-encoding")
                .is_some_and(|v| v.contains("chunked"))
            {
                self.chunked(&mut r, keep)?;
            } else if let Some(len) = r.header("content-length") {
                let len: u64 = len.parse().map_err(|_| bad("content-length"))?;
                self.exact(&mut r, len, keep)?;
            } else {
                self.until_close(&mut r, keep)?;
            }
            return Ok(r);
        }
    }

    fn chunked(&mut self, r: &mut Response, keep: bool) -> io::Result<()> {
        loop {
            let end = self.read_until(b"\r\n")?;
            let line = String::from_utf8_lossy(&self.buf[..end]).into_owned();
            self.buf.drain(..end + 2);
            let size_text = line.split(';').next().unwrap_or_default().trim();
            let size = u64::from_str_radix(size_text, 16).map_err(|_| bad("chunk size"))?;
            if size == 0 {
                // Trailers, then the empty line.
                loop {
                    let end = self.read_until(b"\r\n")?;
                    self.buf.drain(..end + 2);
                    if end == 0 {
                        return Ok(());
                    }
                }
            }
            self.exact(r, size, keep)?;
            let end = self.read_until(b"\r\n")?;
            if end != 0 {
                return Err(bad("chunk not followed by CRLF"));
            }
            self.buf.drain(..2);
        }
    }

    fn exact(&mut self, r: &mut Response, mut left: u64, keep: bool) -> io::Result<()> {
        while left > 0 {
            if self.buf.is_empty() && self.fill()? == 0 {
                return Err(bad("connection closed inside a body"));
            }
            let n = (self.buf.len() as u64).min(left) as usize;
            take(r, &self.buf[..n], keep);
            self.buf.drain(..n);
            left -= n as u64;
        }
        Ok(())
    }

    fn until_close(&mut self, r: &mut Response, keep: bool) -> io::Result<()> {
        loop {
            take(r, &self.buf, keep);
            self.buf.clear();
            if self.fill()? == 0 {
                return Ok(());
            }
        }
    }

    /// Reads until `pat` is buffered; returns where it starts.
    fn read_until(&mut self, pat: &[u8]) -> io::Result<usize> {
        let mut from = 0;
        loop {
            if let Some(i) = self.buf[from..].windows(pat.len()).position(|w| w == pat) {
                return Ok(from + i);
            }
            from = self.buf.len().saturating_sub(pat.len() - 1);
            if self.fill()? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed",
                ));
            }
        }
    }

    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 64 * 1024];
        let n = self.stream.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }
}

fn parse_head(head: &str) -> io::Result<Response> {
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(&format!("status line {status_line:?}")))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(Response {
        status,
        headers,
        ..Response::default()
    })
}

fn take(r: &mut Response, data: &[u8], keep: bool) {
    r.body_len += data.len() as u64;
    r.body_sum = data
        .iter()
        .fold(r.body_sum, |s, &b| s.wrapping_add(u64::from(b)));
    if keep {
        r.body.extend_from_slice(data);
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("bad response: {what}"))
}
