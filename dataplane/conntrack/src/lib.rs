//! Per-core connection tracking for the Strait L4 fast path.
//!
//! One [`Conntrack`] per worker core, owned by that worker: no locks, no atomics, no allocation
//! after [`Conntrack::new`], O(1) expected (and bounded) work per lookup. Sans-IO: time is a
//! `u64` of nanoseconds the caller passes in; nothing reads a clock.
//!
//! # Order of use
//! 1. At start: [`Conntrack::new`]`(`[`Config`]`)` with a fixed capacity and a random seed.
//! 2. Per packet: [`Conntrack::lookup_mut`] with the packet's [`FlowKey`] → a [`Hit`] for a
//!    known connection (id, direction, its keys and `&mut` [`Conn`], from one resolution);
//!    then [`Conn::observe`] with the TCP flags. ([`Conntrack::lookup`] returns only
//!    `(id, direction)`, for [`Conntrack::get`] / [`Conntrack::observe`] by id.) A worker that
//!    hashes a burst ahead ([`Conntrack::hash`], [`Conntrack::prefetch_window`]) looks up with
//!    [`Conntrack::lookup_hinted`], which takes that hash as a hint (it may belong to another
//!    key).
//! 3. On a miss for a new flow: choose a backend (Maglev), allocate the SNAT port, then
//!    [`Conntrack::insert`]`(fwd, reply, conn, now, on_release)` and `observe` the packet.
//! 4. Once per burst: [`Conntrack::expire`]`(now, budget, on_release)`.
//! 5. Every connection the table drops by itself (expired or evicted) passes through an
//!    `on_release` callback as a [`Released`]; the caller frees its SNAT port there. Connections
//!    the caller [`remove`](Conntrack::remove)s are returned directly.
//!
//! # Invariants
//! * Each connection is reachable by two keys — forward (client → VIP) and reply (backend →
//!   SNAT address:port) — that point at one slot; [`Direction`] says which matched.
//! * An entry past the timeout of its [`State`] ([`Timeouts`]) is absent for `lookup`; its slot
//!   is reclaimed lazily, by `insert` when it needs the room or the key, or by `expire`.
//! * A [`ConnId`] stays valid until its connection is removed, expired or evicted; after that
//!   `get`/`get_mut`/`observe`/`remove` return `None` for it.
//! * Memory: a slot is two cache lines (its keys, bucket positions and [`Conn`], 64-byte
//!   aligned) and a bucket 8 bytes, four buckets per slot; both arrays are asked for huge pages
//!   ([`strait_cpu::huge_vec`]), so that at a high flow count a lookup waits for two misses in
//!   the slot and one in the bucket window, not also for page walks.
//!
//! # Backend-set changes
//! The table knows nothing of service generations beyond storing [`Conn::generation`]. When the
//! agent publishes a new generation (backends added, drained or removed, Maglev rebuilt), an
//! established flow keeps using [`Conn::backend`] from its entry: the worker must consult Maglev
//! only on a lookup miss, so existing connections never move to another backend because the
//! set changed. Whether to keep a flow whose backend has been *removed* (rather than drained)
//! is the worker's decision: it compares `Conn::generation`/`backend` with the current tables
//! and calls [`Conntrack::remove`] if the backend is gone.

#![forbid(unsafe_code)]

mod buckets;
mod conn;
mod counters;
mod expire;
mod insert;
mod state;
mod table;

#[cfg(test)]
mod tests;

pub use conn::{Conn, ConnId, Direction, Reason, Released};
pub use counters::Counters;
pub use insert::{InsertError, MAX_VICTIMS};
pub use state::{NS_PER_SEC, State, Timeouts};
pub use strait_packet::FlowKey;
pub use table::{BadCapacity, Config, Conntrack, Eviction, Hit, KeyHash, MAX_CAPACITY};
