//! [`Pipeline`]: one worker's L4 packet path, from a received frame to a verdict.
//!
//! # Order of use, per burst
//! 1. [`Pipeline::begin_burst`] with the tables the worker entered for this burst (one RCU
//!    load) and the time: rebuilds the per-generation view if the generation moved and
//!    catches up with the neighbour table.
//! 2. Optionally [`Pipeline::ahead`] with each of the burst's received frames before any is
//!    processed (prefetches the connection table so the misses of different frames overlap;
//!    changes nothing).
//! 3. [`Pipeline::process`] for each frame (received, or handed over by another core with
//!    `steered = true`), acting on the returned [`Action`].
//! 4. [`Pipeline::end_burst`]: a bounded conntrack expiry sweep; then
//!    [`Pipeline::drain_outbox`] sends the ARP/ND requests the burst wanted.
//!
//! # Invariants
//! * Nothing here allocates per frame, blocks or reads a clock; the time is the burst's.
//! * Each frame bumps `rx` and ends in exactly one outcome counter (see [`crate::counters`]).
//! * A frame is steered only when `steered` is false, so it crosses cores at most once.
//! * Established flows keep their backend across generations as long as the backend is
//!   still in the service (drained or unhealthy included); only flows whose backend left the
//!   service are re-balanced (`flows_moved`). A flow whose service left is dropped.

use std::sync::Arc;

use strait_conntrack::{BadCapacity, Config, Conn, Conntrack, FlowKey};
use strait_l4::{Health, SnatError, icmp_error};
use strait_packet::ip::protocol;
use strait_packet::{Kind, Parsed, parse_frame};
use strait_table::Image;

use crate::ahead::Ahead;
use crate::counters::{Counters, counter};
use crate::discovery::{self, Outcome};
use crate::neighbour::{NeighbourCache, Neighbours};
use crate::outbox::Outbox;
use crate::refusal::Refusals;
use crate::snat_pool::SnatPool;
use crate::view::View;
use crate::{NodeConfig, steer};

/// Connections visited by the expiry sweep per burst.
pub const EXPIRE_BUDGET: usize = 8;

/// What the worker does with a frame after [`Pipeline::process`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send `buf[..n]` out of the port.
    Tx(usize),
    /// Hand the frame, unchanged, to this worker (it owns the flow).
    Steer(usize),
    /// Leave the frame to the kernel (exception path).
    Kernel,
    /// Drop it (already counted).
    Drop,
}

/// Why a pipeline could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The SNAT port range cannot be split over the workers.
    #[error("SNAT ports: {0}")]
    Snat(#[from] SnatError),
    /// The connection table size is out of range.
    #[error("connection table: capacity {0:?} out of range")]
    Conntrack(BadCapacity),
}

/// One worker's packet pipeline. See the module documentation.
#[derive(Debug)]
pub struct Pipeline {
    pub(crate) node: NodeConfig,
    pub(crate) worker: usize,
    pub(crate) workers: usize,
    pub(crate) snat: SnatPool,
    pub(crate) conntrack: Conntrack,
    pub(crate) neighbours: NeighbourCache,
    pub(crate) counters: Counters,
    pub(crate) view: View,
    pub(crate) now: u64,
    pub(crate) outbox: Outbox,
    /// Next hops to resolve ahead of traffic (worker 0, after a new generation).
    pub(crate) resolve: Vec<[u8; 16]>,
    /// What [`Pipeline::ahead`] saw of this burst.
    pub(crate) ahead: Ahead,
    /// What is left of the rate for refusing flows no backend takes.
    pub(crate) refusals: Refusals,
    /// Learned neighbours still to ask for in this refresh (worker 0).
    pub(crate) refreshing: Vec<[u8; 16]>,
    /// When the next refresh of learned neighbours starts (ns).
    pub(crate) refresh_at: u64,
}

impl Pipeline {
    /// The pipeline of worker `worker` of `workers`, sharing `neighbours` with the others.
    /// `seed` keys the connection table's hash (pick it at random).
    pub fn new(
        node: NodeConfig,
        worker: usize,
        workers: usize,
        neighbours: Arc<Neighbours>,
        seed: u64,
    ) -> Result<Pipeline, PipelineError> {
        let snat = SnatPool::new(&node, worker, workers)?;
        let conntrack = Conntrack::new(Config::new(node.conntrack_capacity, seed))
            .map_err(PipelineError::Conntrack)?;
        let view = View::empty(&node);
        let neighbours = NeighbourCache::new(neighbours, node.mac);
        Ok(Pipeline {
            node,
            worker,
            workers,
            snat,
            conntrack,
            neighbours,
            counters: Counters::default(),
            view,
            now: 0,
            outbox: Outbox::default(),
            resolve: Vec::new(),
            ahead: Ahead::default(),
            refusals: Refusals::default(),
            refreshing: Vec::new(),
            refresh_at: 0,
        })
    }

    /// Starts a burst at time `now` (ns) with `image` (see the module documentation).
    pub fn begin_burst<B: AsRef<[u8]>>(&mut self, image: Option<&Image<B>>, now: u64) {
        self.now = now;
        self.ahead.clear();
        if let Some(image) = image
            && image.generation() != self.view.generation
        {
            self.view = View::new(image, &self.node);
            self.learn_static(image);
        }
        self.neighbours.refresh();
        self.resolve_some();
        self.refresh_learned();
    }

    /// Ends a burst: a bounded sweep of expired connections.
    pub fn end_burst(&mut self) {
        let (snat, counters) = (&mut self.snat, &mut self.counters);
        self.conntrack.expire(self.now, EXPIRE_BUDGET, |r| {
            release(snat, counters, &r.keys, &r.conn)
        });
    }

    /// Hands every queued request frame to `send`, emptying the outbox.
    pub fn drain_outbox(&mut self, send: impl FnMut(&[u8])) {
        self.outbox.drain(send);
    }

    /// The counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The counters, for outcomes the worker decides (hand-off or transmit ring full).
    pub fn counters_mut(&mut self) -> &mut Counters {
        &mut self.counters
    }

    /// The connection table.
    pub fn conntrack(&self) -> &Conntrack {
        &self.conntrack
    }

    /// Processes one frame `buf[..len]` in place; `buf` may be longer (room to grow).
    /// `health` maps a backend's health slot to its state.
    pub fn process<B, H>(
        &mut self,
        image: Option<&Image<B>>,
        buf: &mut [u8],
        len: usize,
        steered: bool,
        health: &H,
    ) -> Action
    where
        B: AsRef<[u8]>,
        H: Fn(u32) -> Health,
    {
        self.counters.inc(counter::RX);
        let hint = if steered {
            self.counters.inc(counter::STEERED_IN);
            None
        } else {
            self.step_ahead()
        };
        let len = len.min(buf.len());
        // Matched by reference: `Parsed` is ~100 bytes, and moving it (and the `L4` inside)
        // out of the `Result` cost more instructions per frame than the rest of this function.
        let result = parse_frame(&buf[..len]);
        let parsed = match &result {
            Ok(p) => p,
            Err(reason) => {
                self.counters.parse_drop(*reason);
                return Action::Drop;
            }
        };
        let l4 = match &parsed.kind {
            Kind::Arp => {
                let owned = &self.view.owned;
                let out = discovery::arp(buf, parsed, self.node.mac, |a| owned.contains(a));
                return self.discovered(out, counter::ARP_REPLIES);
            }
            Kind::Ip(l4) => l4,
        };
        match l4.flow.proto {
            protocol::TCP | protocol::UDP => {}
            protocol::ICMPV6 => {
                let owned = &self.view.owned;
                let out = discovery::nd(buf, parsed, l4, self.node.mac, |a| owned.contains(a));
                if out.answer.is_some() || out.learned.is_some() {
                    return self.discovered(out, counter::ND_REPLIES);
                }
                return self.icmp(image, buf, len, parsed, &l4.flow.dst, steered);
            }
            _ => return self.icmp(image, buf, len, parsed, &l4.flow.dst, steered),
        }
        if let Some(handoff) = self.handoff(&l4.flow, steered) {
            return handoff;
        }
        let Some(image) = image else {
            self.counters.inc(counter::DROP_NO_TABLES);
            return Action::Drop;
        };
        self.flow(image, buf, len, parsed, l4, hint, health)
    }

    fn discovered(&mut self, out: Outcome, answered: usize) -> Action {
        if let Some((ip, mac)) = out.learned
            && self.neighbours.learn(ip, mac)
        {
            self.counters.inc(counter::NEIGHBOURS_LEARNED);
        }
        match out.answer {
            Some(n) => {
                self.counters.inc(answered);
                self.counters.inc(counter::TX);
                Action::Tx(n)
            }
            None => self.exception(),
        }
    }

    /// ICMP (or another protocol) that is not neighbour discovery, to `dst`: an error about
    /// one of our flows goes on to its peer (see [`crate::icmp`]); the rest to our addresses is
    /// dropped, and what is not ours takes the exception path.
    fn icmp<B: AsRef<[u8]>>(
        &mut self,
        image: Option<&Image<B>>,
        buf: &mut [u8],
        len: usize,
        parsed: &Parsed,
        dst: &[u8; 16],
        steered: bool,
    ) -> Action {
        if !self.view.owned.contains(dst) {
            return self.exception();
        }
        if let Some(quote) = icmp_error::quote(&buf[..len], parsed) {
            return self.icmp_error(image, buf, len, parsed, &quote, steered);
        }
        if let Some(n) = strait_l4::echo::reply(buf, len, parsed) {
            self.counters.inc(counter::ICMP_ECHO_REPLIES);
            self.counters.inc(counter::TX);
            return Action::Tx(n);
        }
        self.counters.inc(counter::DROP_ICMP);
        Action::Drop
    }

    /// The exception path for a frame that is not ours.
    pub(crate) fn exception(&mut self) -> Action {
        match self.node.exception {
            crate::Exception::Kernel => {
                self.counters.inc(counter::TO_KERNEL);
                Action::Kernel
            }
            crate::Exception::Drop => {
                self.counters.inc(counter::DROP_NOT_FOR_US);
                Action::Drop
            }
        }
    }

    /// The hand-off of a frame of flow `key` to the worker that owns it, if that is another
    /// and the frame was not `steered` here already (see [`steer`]).
    #[inline]
    pub(crate) fn handoff(&mut self, key: &FlowKey, steered: bool) -> Option<Action> {
        if steered || self.workers <= 1 {
            return None;
        }
        let owner = steer::owner(key, self.workers, self.snat.split(), self.is_snat(&key.dst));
        (owner != self.worker).then(|| {
            self.counters.inc(counter::STEERED_OUT);
            Action::Steer(owner)
        })
    }

    #[inline]
    pub(crate) fn is_snat(&self, addr: &[u8; 16]) -> bool {
        self.snat.contains(addr)
    }
}

/// Frees what a connection with `keys` held, once it is out of the table.
pub(crate) fn release(
    snat: &mut SnatPool,
    counters: &mut Counters,
    keys: &[FlowKey; 2],
    conn: &Conn,
) {
    counters.inc(counter::FLOWS_RELEASED);
    if conn.snat() {
        snat.free(&keys[1].dst, conn.snat_port);
    }
}
