//! The access log: one JSON object per line per request, formatted on the worker into its own
//! buffer and written out once per loop tick (or when the buffer passes [`FLUSH_BYTES`]).
//!
//! Order: a connection (an HTTP/1.1 request) or a stream (HTTP/2) fills an [`Entry`] while it
//! serves the request; when the request is done `crate::account::record` counts it and calls
//! [`AccessLog::write`] with a [`Line`] (the entry plus what routing knew); the worker loop
//! calls [`AccessLog::flush`] every tick.
//!
//! Invariants: nothing is formatted when the log is off; the request path never locks nor
//! makes a system call for the log (the flush does, from the worker loop, between requests);
//! a line is written whole by one `write` of the buffer, so lines of different workers
//! appending to one file do not interleave. A write error is logged once and the buffer dropped:
//! the log never stops traffic.
//!
//! Cost: a line is formatted by hand (no `format!` machinery, the date part cached per second):
//! about 0.3 µs per line, clock read included, on the development machine, against 1.6 µs with
//! `write!` throughout; when the log is off a request pays one branch.
//!
//! Fields, in order: `time` (UTC, RFC 3339 with microseconds, when the response ended),
//! `worker`, `client` (address:port), `method`, `authority` (host as received, without port),
//! `path` (target as received, query included; `:path` for HTTP/2), `version` (`HTTP/1.0`,
//! `HTTP/1.1`, `HTTP/2.0`), `status` (0: no response was sent, as when the client left or
//! reset its stream first; a gRPC error the proxy answers itself is a trailers-only 200),
//! `bytes_in` (request head and body), `bytes_out` (response head and body; an HTTP/2
//! stream counts its bodies' DATA bytes only, both ways: its heads are compressed per
//! connection), `upstream` (address of the last try, or null), `route` and `cluster` (names,
//! or null), `duration_us` (from the whole request head to the end of the response),
//! `retries`, and `local` (null for a response from an upstream, else why the proxy answered
//! itself).

use std::{
    cell::{Cell, RefCell},
    fs::OpenOptions,
    io::{self, Write},
    net::SocketAddr,
    time::{SystemTime, UNIX_EPOCH},
};

use tracing::warn;

use crate::options::AccessLog as Target;

/// Buffered bytes that make a request flush at once instead of waiting for the tick.
const FLUSH_BYTES: usize = 64 * 1024;
/// Most bytes of a local answer's body kept as its reason.
const MAX_REASON: usize = 128;

/// What a connection learns about one request while serving it.
#[derive(Debug, Default)]
pub(crate) struct Entry {
    pub(crate) status: u16,
    /// Bytes of the request head as received.
    pub(crate) head_bytes: u64,
    pub(crate) bytes_in: u64,
    pub(crate) bytes_out: u64,
    pub(crate) upstream: Option<SocketAddr>,
    /// Route and cluster record indexes.
    pub(crate) route: Option<usize>,
    pub(crate) cluster: Option<u32>,
    pub(crate) retries: u32,
    /// Answered by the proxy itself; `reason` says why.
    pub(crate) local: bool,
    pub(crate) reason: Vec<u8>,
}

impl Entry {
    /// Forgets the previous request (keeping the reason's allocation).
    pub(crate) fn reset(&mut self) {
        let mut reason = std::mem::take(&mut self.reason);
        reason.clear();
        *self = Entry {
            reason,
            ..Entry::default()
        };
    }

    /// Notes a local answer of `status`, `sent` bytes long, with `body` (or a redirect): its
    /// reason is the body's start, else what kind of answer it was.
    pub(crate) fn answered_locally(&mut self, status: u16, sent: u64, body: &[u8], redirect: bool) {
        self.status = status;
        self.bytes_out = sent;
        self.local = true;
        self.reason.clear();
        let why: &[u8] = match (body, redirect) {
            (_, true) => b"redirect",
            (b"", false) => b"direct response",
            (body, false) => &body[..body.len().min(MAX_REASON)],
        };
        self.reason.extend_from_slice(why);
    }
}

/// One line's fields; see the module documentation.
#[derive(Debug)]
pub(crate) struct Line<'a> {
    pub(crate) client: SocketAddr,
    pub(crate) method: &'a [u8],
    pub(crate) authority: &'a [u8],
    pub(crate) path: &'a [u8],
    pub(crate) version: &'a str,
    pub(crate) route: Option<&'a str>,
    pub(crate) cluster: Option<&'a str>,
    pub(crate) duration_us: u64,
    pub(crate) entry: &'a Entry,
}

/// A worker's access log; see the module documentation.
pub(crate) struct AccessLog {
    worker: usize,
    out: RefCell<Option<Box<dyn Write>>>,
    buf: RefCell<Vec<u8>>,
    stamp: RefCell<Stamp>,
    failed: Cell<bool>,
}

impl std::fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessLog")
            .field("worker", &self.worker)
            .field("on", &self.on())
            .finish_non_exhaustive()
    }
}

impl AccessLog {
    /// Opens `target` for worker `worker`.
    pub(crate) fn open(target: &Target, worker: usize) -> io::Result<AccessLog> {
        let out: Option<Box<dyn Write>> = match target {
            Target::Off => None,
            Target::Stdout => Some(Box::new(io::stdout())),
            Target::Stderr => Some(Box::new(io::stderr())),
            Target::File(path) => Some(Box::new(
                OpenOptions::new().create(true).append(true).open(path)?,
            )),
        };
        Ok(AccessLog {
            worker,
            out: RefCell::new(out),
            buf: RefCell::default(),
            stamp: RefCell::default(),
            failed: Cell::new(false),
        })
    }

    /// Whether lines are written at all.
    pub(crate) fn on(&self) -> bool {
        self.out.borrow().is_some()
    }

    /// Formats `line` into the buffer.
    pub(crate) fn write(&self, line: &Line<'_>) {
        if !self.on() {
            return;
        }
        let full = {
            let mut buf = self.buf.borrow_mut();
            let mut stamp = self.stamp.borrow_mut();
            format_line(&mut buf, &mut stamp, self.worker, SystemTime::now(), line);
            buf.len() >= FLUSH_BYTES
        };
        if full {
            self.flush();
        }
    }

    /// Writes out what is buffered.
    pub(crate) fn flush(&self) {
        let mut buf = self.buf.borrow_mut();
        if buf.is_empty() {
            return;
        }
        if let Some(out) = self.out.borrow_mut().as_mut() {
            let written = out.write_all(&buf).and_then(|()| out.flush());
            if let Err(e) = written
                && !self.failed.replace(true)
            {
                warn!(worker = self.worker, error = %e, "cannot write the access log");
            }
        }
        buf.clear();
    }
}

/// Appends one JSON line.
pub(crate) fn format_line(
    out: &mut Vec<u8>,
    stamp: &mut Stamp,
    worker: usize,
    now: SystemTime,
    l: &Line<'_>,
) {
    let e = l.entry;
    out.extend_from_slice(b"{\"time\":\"");
    rfc3339(out, now, stamp);
    out.extend_from_slice(b"\",\"worker\":");
    number(out, worker as u64);
    out.extend_from_slice(b",\"client\":\"");
    address(out, l.client);
    out.push(b'"');
    field(out, "method", Some(l.method));
    field(out, "authority", Some(l.authority));
    field(out, "path", Some(l.path));
    field(out, "version", Some(l.version.as_bytes()));
    for (name, value) in [
        ("status", u64::from(e.status)),
        ("bytes_in", e.bytes_in),
        ("bytes_out", e.bytes_out),
    ] {
        numeric(out, name, value);
    }
    match e.upstream {
        Some(a) => {
            out.extend_from_slice(b",\"upstream\":\"");
            address(out, a);
            out.push(b'"');
        }
        None => out.extend_from_slice(b",\"upstream\":null"),
    }
    field(out, "route", l.route.map(str::as_bytes));
    field(out, "cluster", l.cluster.map(str::as_bytes));
    numeric(out, "duration_us", l.duration_us);
    numeric(out, "retries", u64::from(e.retries));
    let reason = e.reason.trim_ascii();
    field(out, "local", e.local.then_some(reason));
    out.extend_from_slice(b"}\n");
}

/// `,"name":value`.
fn numeric(out: &mut Vec<u8>, name: &str, value: u64) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
    number(out, value);
}

/// The decimal digits of `n`, without the formatting machinery (it is most of a line's cost).
fn number(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// `n` as exactly `width` digits (leading zeros).
fn padded(out: &mut Vec<u8>, n: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut rest = n;
    for d in digits[..width].iter_mut().rev() {
        *d = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    out.extend_from_slice(&digits[..width]);
}

/// `a.b.c.d:port` or `[v6]:port`.
fn address(out: &mut Vec<u8>, a: SocketAddr) {
    match a {
        SocketAddr::V4(v4) => {
            for (i, octet) in v4.ip().octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                number(out, u64::from(octet));
            }
            out.push(b':');
            number(out, u64::from(v4.port()));
        }
        SocketAddr::V6(_) => {
            let _ = write!(out, "{a}");
        }
    }
}

/// `,"name":"value"` with the value escaped for JSON (bytes that are not UTF-8 become U+FFFD),
/// or `,"name":null`.
fn field(out: &mut Vec<u8>, name: &str, value: Option<&[u8]>) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
    let Some(value) = value else {
        out.extend_from_slice(b"null");
        return;
    };
    out.push(b'"');
    if value
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        out.extend_from_slice(value);
        out.push(b'"');
        return;
    }
    for c in String::from_utf8_lossy(value).chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let mut b = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// The text of the last second formatted (`YYYY-MM-DDTHH:MM:SS.`): most lines of a busy
/// worker fall in the same second as the one before.
#[derive(Debug)]
pub(crate) struct Stamp {
    secs: u64,
    text: Vec<u8>,
}

impl Default for Stamp {
    fn default() -> Self {
        Stamp {
            secs: u64::MAX,
            text: Vec::with_capacity(20),
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS.uuuuuuZ`.
fn rfc3339(out: &mut Vec<u8>, t: SystemTime, stamp: &mut Stamp) {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    if stamp.secs != secs {
        let (days, rem) = (secs / 86_400, secs % 86_400);
        let (y, m, day) = civil(days as i64);
        let parts = [
            (y.max(0) as u64, 4, b'-'),
            (u64::from(m), 2, b'-'),
            (u64::from(day), 2, b'T'),
            (rem / 3600, 2, b':'),
            (rem % 3600 / 60, 2, b':'),
            (rem % 60, 2, b'.'),
        ];
        stamp.text.clear();
        for (value, width, sep) in parts {
            padded(&mut stamp.text, value, width);
            stamp.text.push(sep);
        }
        stamp.secs = secs;
    }
    out.extend_from_slice(&stamp.text);
    padded(out, u64::from(d.subsec_micros()), 6);
    out.push(b'Z');
}

/// The date of a day counted from 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests;
