//! WebSocket (RFC 6455) for the L7 tests, written out here rather than taken from a crate: a
//! blocking echo server on loopback, and a client over any byte stream (plain TCP, or a
//! rustls session), each speaking just enough of the protocol to prove the proxy carries it.
//!
//! The server ([`WsEcho`]) answers a `GET /ws` that asks to upgrade with `101 Switching
//! Protocols` (its `Sec-WebSocket-Accept` computed as the RFC says), then echoes every data
//! frame as it came (opcode, FIN, payload), answers a ping with a pong, and a close with a close
//! carrying the same status before it closes the connection. Any other request gets a plain
//! `200` (`Content-Length`, keep-alive), so an upgrade to another path is refused the way a
//! server without WebSocket support refuses it. It counts upgrade requests and keeps every
//! request head it read; it stops when dropped (its connection threads end with their
//! connections).

use std::{
    io::{self, Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread,
    time::Duration,
};

/// The GUID of RFC 6455 §1.3, appended to the key before hashing.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Frame opcodes (RFC 6455 §5.2).
pub mod op {
    /// A continuation of a fragmented message.
    pub const CONTINUATION: u8 = 0x0;
    /// A text frame.
    pub const TEXT: u8 = 0x1;
    /// A binary frame.
    pub const BINARY: u8 = 0x2;
    /// Close.
    pub const CLOSE: u8 = 0x8;
    /// Ping.
    pub const PING: u8 = 0x9;
    /// Pong.
    pub const PONG: u8 = 0xA;
}

/// One frame, unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The last frame of its message.
    pub fin: bool,
    /// One of [`op`].
    pub opcode: u8,
    /// The payload.
    pub payload: Vec<u8>,
}

/// Writes a frame; a client masks with `mask` (RFC 6455 §5.3), a server sends `None`.
pub fn write_frame(w: &mut impl Write, f: &Frame, mask: Option<[u8; 4]>) -> io::Result<()> {
    let mut out = vec![u8::from(f.fin) << 7 | f.opcode];
    let masked = u8::from(mask.is_some()) << 7;
    match f.payload.len() {
        n @ 0..=125 => out.push(masked | n as u8),
        n @ 126..=0xffff => {
            out.push(masked | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(masked | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(f.payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(&f.payload),
    }
    w.write_all(&out)?;
    w.flush()
}

/// Reads one frame (unmasking it if it is masked).
pub fn read_frame(r: &mut impl Read) -> io::Result<Frame> {
    let mut two = [0u8; 2];
    r.read_exact(&mut two)?;
    let len = match two[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            r.read_exact(&mut b)?;
            u64::from(u16::from_be_bytes(b))
        }
        127 => {
            let mut b = [0u8; 8];
            r.read_exact(&mut b)?;
            u64::from_be_bytes(b)
        }
        n => u64::from(n),
    };
    let mut key = [0u8; 4];
    if two[1] & 0x80 != 0 {
        r.read_exact(&mut key)?;
    }
    let mut payload = vec![0u8; usize::try_from(len).map_err(io::Error::other)?];
    r.read_exact(&mut payload)?;
    payload
        .iter_mut()
        .enumerate()
        .for_each(|(i, b)| *b ^= key[i % 4]);
    Ok(Frame {
        fin: two[0] & 0x80 != 0,
        opcode: two[0] & 0x0f,
        payload,
    })
}

/// `Sec-WebSocket-Accept` for `key`: base64 of the SHA-1 of the key and the GUID.
pub fn accept_key(key: &str) -> String {
    base64(&sha1(format!("{key}{GUID}").as_bytes()))
}

/// Reads a head byte by byte up to and including its empty line (nothing after it is taken).
pub fn read_head(r: &mut impl Read) -> io::Result<String> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if r.read(&mut b)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.push(b[0]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// The value of field `name` (lowercase) in `head`.
pub fn field<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines().skip(1).find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The key a client sends (any 16 bytes in base64 will do; this one is the RFC's).
pub const CLIENT_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// Sends an upgrade request for `path` on `host` over `s` and reads the response head (the
/// body of a non-101 answer is left unread). A 101 must carry the right accept key.
pub fn handshake(s: &mut (impl Read + Write), host: &str, path: &str) -> io::Result<String> {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {CLIENT_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    s.write_all(request.as_bytes())?;
    s.flush()?;
    let head = read_head(s)?;
    if head.starts_with("HTTP/1.1 101")
        && field(&head, "sec-websocket-accept") != Some(&accept_key(CLIENT_KEY))
    {
        return Err(io::Error::other(format!("a wrong accept key: {head}")));
    }
    Ok(head)
}

/// What the echo server saw.
#[derive(Debug, Default)]
struct Seen {
    upgrades: AtomicU64,
    heads: Mutex<Vec<String>>,
}

/// A running echo server; see the module documentation.
#[derive(Debug)]
pub struct WsEcho {
    /// Where it listens.
    pub addr: SocketAddr,
    seen: Arc<Seen>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl WsEcho {
    /// Starts a server on a free loopback port.
    pub fn start() -> WsEcho {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the echo server");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("local addr");
        let (seen, stop) = (Arc::new(Seen::default()), Arc::new(AtomicBool::new(false)));
        let (s, st) = (seen.clone(), stop.clone());
        let thread = thread::spawn(move || {
            while !st.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((c, _)) => {
                        let s = s.clone();
                        thread::spawn(move || {
                            let _ = serve(c, &s);
                        });
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        WsEcho {
            addr,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    /// Upgrade requests answered with 101 so far.
    pub fn upgrades(&self) -> u64 {
        self.seen.upgrades.load(Ordering::SeqCst)
    }

    /// Every request head read so far, in order.
    pub fn heads(&self) -> Vec<String> {
        self.seen.heads.lock().expect("heads").clone()
    }
}

impl Drop for WsEcho {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut c: TcpStream, seen: &Seen) -> io::Result<()> {
    c.set_nonblocking(false)?;
    c.set_nodelay(true)?;
    loop {
        let head = read_head(&mut c)?;
        seen.heads.lock().expect("heads").push(head.clone());
        let key = field(&head, "sec-websocket-key");
        let wants = field(&head, "upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
        match key {
            Some(key) if wants && head.starts_with("GET /ws ") => {
                seen.upgrades.fetch_add(1, Ordering::SeqCst);
                let answer = format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                     Connection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
                    accept_key(key)
                );
                c.write_all(answer.as_bytes())?;
                return echo(c);
            }
            _ => c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain")?,
        }
    }
}

fn echo(mut c: TcpStream) -> io::Result<()> {
    loop {
        let mut f = read_frame(&mut c)?;
        match f.opcode {
            op::PING => f.opcode = op::PONG,
            op::PONG => continue,
            _ => {}
        }
        write_frame(&mut c, &f, None)?;
        if f.opcode == op::CLOSE {
            return c.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// SHA-1 (FIPS 180-4), for `Sec-WebSocket-Accept` only.
fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&(data.len() as u64 * 8).to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            (e, d, c, b, a) = (d, c, b.rotate_left(30), a, t);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (o, x) in out.chunks_mut(4).zip(h) {
        o.copy_from_slice(&x.to_be_bytes());
    }
    out
}

/// Standard base64 with padding.
fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = u32::from(c[0]) << 16
            | u32::from(*c.get(1).unwrap_or(&0)) << 8
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(char::from(A[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_example_key_is_accepted_as_the_rfc_says() {
        // RFC 6455 §1.3.
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert_eq!(base64(b"ab"), "YWI=");
    }
}
