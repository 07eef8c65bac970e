//! The Strait L4 fast path, sans-IO: which service a packet is for, which backend takes a new
//! flow, and the in-place rewrite that sends it there.
//!
//! Nothing here performs I/O, reads a clock, allocates on the packet path or touches shared
//! memory: the table image is borrowed, health comes in as a closure, and frames are `&mut [u8]`.
//!
//! # Order of use, per worker core
//! 1. At start: [`SnatPorts::new`] for this core's slice of the SNAT port range.
//! 2. On each table generation: [`ServiceMap::new`] from the new `Image` (off the packet path).
//! 3. Per client → VIP frame: `strait_packet::parse_frame` → [`ServiceMap::lookup`] on its
//!    flow key → (conntrack miss) [`flow_hash_for`] → [`choose_backend`] with the health
//!    overlay as `Fn(health_slot) -> Health` → by the service's mode:
//!    * full NAT: [`SnatPorts::alloc`] → [`nat::forward`] (node:port → backend) → [`set_macs`];
//!    * DSR: [`dsr`] (MACs only);
//!    * IPIP / GUE (Katran-style L3 DSR): [`Encap::for_mode`] → [`encapsulate`] towards the
//!      backend's address with the flow's [`flow_hash`] → [`set_macs`] for the next hop.
//! 4. Per backend → node reply (full NAT): steer by [`PortSplit::core_of`] of the destination
//!    port, then [`nat::reverse`] (VIP → client) from the conntrack entry; on flow expiry
//!    [`SnatPorts::free`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod dsr;
pub mod echo;
pub mod encap;
pub mod icmp_error;
pub mod nat;
pub mod refuse;
mod select;
mod services;
mod snat;

pub use dsr::{dsr, set_macs};
pub use encap::{Encap, EncapError, GUE_PORT, Tunnel, encapsulate};
pub use nat::NatError;
pub use refuse::{RefuseError, refuse, too_big};
pub use select::{
    FLOW_HASH_SEED, Health, MAX_PROBES, backend, backend_target, choose_backend, flow_hash,
    flow_hash_for,
};
pub use services::ServiceMap;
pub use snat::{PortSplit, SnatError, SnatPorts};
