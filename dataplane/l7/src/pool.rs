//! A worker's idle upstream connections, per endpoint address and security ([`PeerKey`]).
//!
//! Invariants: only a connection whose last exchange ended cleanly (both bodies complete, the
//! upstream allowing reuse, no byte left unread) is put back; at most `max_per_endpoint` are
//! kept per address and none longer than `idle_timeout`. The newest is taken first (the
//! least likely to have been closed by the upstream), and only if a non-blocking peek finds
//! it neither closed by the upstream nor holding bytes nobody asked for. The pool belongs to one worker thread:
//! a `RefCell`, never a lock. Pools outlive generations, keyed by address, so a new
//! generation keeps the connections to endpoints it still has.

use std::{cell::RefCell, collections::HashMap, net::SocketAddr, time::Duration};

use crate::stream::Stream;
use rustix::net::RecvFlags;
use std::time::Instant;

/// What a pooled connection is to: an endpoint address, and how it was secured (0: plain
/// TCP; else a digest of the TLS server name and trusted roots, so a connection verified for
/// one cluster is never handed to a cluster that expects other names or roots).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PeerKey {
    pub(crate) addr: SocketAddr,
    pub(crate) tls: u64,
}

#[derive(Debug)]
struct Idle {
    stream: Stream,
    since: Instant,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Pool {
    idle: RefCell<HashMap<PeerKey, Vec<Idle>>>,
    max_per_endpoint: usize,
    idle_timeout: Duration,
}

impl Pool {
    pub(crate) fn new(max_per_endpoint: usize, idle_timeout: Duration) -> Pool {
        Pool {
            idle: RefCell::default(),
            max_per_endpoint,
            idle_timeout,
        }
    }

    /// The newest idle connection to `addr` that has not expired.
    pub(crate) fn take(&self, addr: PeerKey) -> Option<Stream> {
        let mut idle = self.idle.borrow_mut();
        let list = idle.get_mut(&addr)?;
        let now = Instant::now();
        while let Some(conn) = list.pop() {
            if now.duration_since(conn.since) < self.idle_timeout && quiet(&conn.stream) {
                return Some(conn.stream);
            }
        }
        None
    }

    /// Keeps `stream` for the next request to `addr` (or drops it when the pool is full).
    pub(crate) fn put(&self, addr: PeerKey, stream: Stream) {
        let mut idle = self.idle.borrow_mut();
        let list = idle.entry(addr).or_default();
        if list.len() < self.max_per_endpoint {
            list.push(Idle {
                stream,
                since: Instant::now(),
            });
        }
    }

    /// Drops expired connections, connections the upstream closed, and empty entries.
    pub(crate) fn sweep(&self) {
        let now = Instant::now();
        self.idle.borrow_mut().retain(|_, list| {
            list.retain(|c| now.duration_since(c.since) < self.idle_timeout && quiet(&c.stream));
            !list.is_empty()
        });
    }
}

/// Whether an idle connection has nothing to read: no end of stream from the upstream (it
/// closed while idle) and no unsolicited bytes. One non-blocking `recv` with `MSG_PEEK`.
fn quiet(stream: &Stream) -> bool {
    let mut probe = [0u8; 1];
    match rustix::net::recv(
        stream.tcp(),
        &mut probe,
        RecvFlags::PEEK | RecvFlags::DONTWAIT,
    ) {
        Err(e) => e == rustix::io::Errno::AGAIN,
        Ok(_) => false,
    }
}
