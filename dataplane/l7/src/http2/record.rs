//! One HTTP/2 stream's access log line and counters: what serving the stream learns, noted as
//! it happens, and recorded by `crate::account::record` when the stream's task ends, exactly as
//! an HTTP/1.1 request is.
//!
//! Order: [`Record::new`] as the stream's task starts (its clock starts with it: the head has
//! arrived) → notes while it is served: route and cluster ([`Record::routed`]), the endpoint
//! of each try ([`Record::tried`]), retries, a local answer ([`Record::answered_locally`]), the
//! forwarded response's status and the body bytes both ways (the `Cell`s, set by the relays
//! that run at once) → the drop, which records.
//!
//! Invariants:
//! * Recorded once, in `Drop`: whether the task ended with a response, a local answer, a reset
//!   or an error, or was dropped with its connection (the client left), it is counted.
//! * Status 0 means no response head went out (the client reset the stream or left first), as
//!   for HTTP/1.1; a gRPC error the proxy answers itself is its trailers-only 200.
//! * Bytes are the bodies' DATA bytes: the heads are compressed per connection (HPACK) and
//!   have no size of their own.

use std::{
    cell::{Cell, RefCell},
    net::SocketAddr,
    time::Instant,
};

use http::request::Parts;

use super::head;
use crate::access::Entry;
use crate::account::{Asked, record};
use crate::generation::Generation;
use crate::matching::host_name;
use crate::worker::Shared;

/// The version the access log shows for a stream.
const VERSION: &str = "HTTP/2.0";

/// One stream's accounting; see the module documentation.
#[derive(Debug)]
pub(super) struct Record<'a> {
    shared: &'a Shared,
    client: SocketAddr,
    parts: &'a Parts,
    generation: Option<&'a Generation>,
    started: Instant,
    /// The status of the response head sent (0: none yet).
    pub(super) status: Cell<u16>,
    /// Body bytes received from the client and passed on.
    pub(super) bytes_in: Cell<u64>,
    /// Body bytes sent to the client.
    pub(super) bytes_out: Cell<u64>,
    /// The rest of the line (status and bytes are filled in from the cells at the end).
    entry: RefCell<Entry>,
}

impl<'a> Record<'a> {
    /// Starts the record of the stream `parts` opened, from `client`, served on `generation`.
    pub(super) fn new(
        shared: &'a Shared,
        client: SocketAddr,
        parts: &'a Parts,
        generation: Option<&'a Generation>,
    ) -> Record<'a> {
        Record {
            shared,
            client,
            parts,
            generation,
            started: Instant::now(),
            status: Cell::new(0),
            bytes_in: Cell::new(0),
            bytes_out: Cell::new(0),
            entry: RefCell::default(),
        }
    }

    /// Routing sent the stream to cluster record `cluster` by route record `route`.
    pub(super) fn routed(&self, route: usize, cluster: u32) {
        let mut e = self.entry.borrow_mut();
        e.route = Some(route);
        e.cluster = Some(cluster);
    }

    /// A try goes to `upstream` (connected).
    pub(super) fn tried(&self, upstream: SocketAddr) {
        self.entry.borrow_mut().upstream = Some(upstream);
    }

    /// Another try follows a failed one.
    pub(super) fn retried(&self) {
        self.entry.borrow_mut().retries += 1;
    }

    /// The proxy answered `status` itself, with `sent` body bytes of `body` (or a redirect).
    pub(super) fn answered_locally(&self, status: u16, sent: u64, body: &[u8], redirect: bool) {
        self.status.set(status);
        self.bytes_out.set(sent);
        let mut e = self.entry.borrow_mut();
        e.answered_locally(status, sent, body, redirect);
    }
}

/// Adds `n` bytes to the count `to`.
pub(super) fn add(to: &Cell<u64>, n: usize) {
    to.set(to.get() + n as u64);
}

impl Drop for Record<'_> {
    fn drop(&mut self) {
        let e = self.entry.get_mut();
        e.status = self.status.get();
        e.bytes_in = self.bytes_in.get();
        e.bytes_out = self.bytes_out.get();
        let parts = self.parts;
        let asked = || Asked {
            method: parts.method.as_str().as_bytes(),
            authority: head::authority(parts).map(host_name).unwrap_or_default(),
            path: parts
                .uri
                .path_and_query()
                .map_or(&b""[..], |p| p.as_str().as_bytes()),
            version: VERSION,
        };
        record(
            self.shared,
            self.generation,
            self.client,
            e,
            self.started,
            asked,
        );
    }
}
