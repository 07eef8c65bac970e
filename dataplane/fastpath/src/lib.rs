//! The Strait L4 packet pipeline, sans-IO.
//!
//! One [`Pipeline`] per worker turns each received frame into an [`Action`]: parse
//! (`strait-packet`), answer ARP/ND for the node's addresses and learn neighbours
//! ([`discovery`], [`neighbour`]), steer the flow to the worker that owns it ([`steer`]), look
//! it up in the worker's connection table (`strait-conntrack`), balance a new flow with
//! Maglev honouring health (`strait-l4`), rewrite it for its service's mode (full NAT with
//! per-worker SNAT ports, or direct server return), and set the next hop's MAC.
//!
//! Nothing here performs I/O or reads a clock: the worker owns the ports, the hand-off rings
//! and the time, so the whole pipeline runs in tests and benchmarks on plain buffers.
//!
//! # Invariants
//! * Every frame handed to [`Pipeline::process`] is counted once in `rx` and once in exactly
//!   one outcome ([`counters`]); malformed frames are dropped by reason, never panic.
//! * No allocation per frame; per generation, a worker rebuilds its VIP index once.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod ahead;
pub mod counters;
pub mod discovery;
mod flows;
mod icmp;
pub mod neighbour;
mod node;
mod outbox;
mod pipeline;
mod refusal;
mod route;
mod snat_pool;
pub mod steer;
mod view;

pub use ahead::{AHEAD_MAX, SLOT_DISTANCE};
pub use counters::{Counters, counter};
pub use neighbour::{NeighbourCache, Neighbours};
pub use node::{DEFAULT_SNAT_PORTS, Exception, NoBackend, NodeConfig};
pub use pipeline::{Action, EXPIRE_BUDGET, Pipeline, PipelineError};
pub use refusal::{BURST as REFUSAL_BURST, PER_SECOND as REFUSALS_PER_SECOND};
pub use route::{RouteError, Routes};
