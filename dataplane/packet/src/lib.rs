//! Sans-IO packet views for the Strait L4 fast path.
//!
//! Every protocol module follows the smoltcp `wire` pattern: a view `Packet<T>` (or `Frame<T>`)
//! wraps any `T: AsRef<[u8]>` — a slice, a DPDK mbuf, an AF_XDP frame — without copying.
//!
//! # Invariants
//! * `new_checked(buf)` validates every length field against the buffer **once**; after it
//!   returns `Ok`, no accessor can panic or read outside the buffer.
//! * `new_unchecked(buf)` skips the check: accessors may then panic on a short buffer. Use it
//!   only on a buffer you have sized yourself (e.g. when building a packet), or call
//!   `check_len` before reading.
//! * Setters exist only on `T: AsMut<[u8]>` and never change a length field, so a checked view
//!   stays valid after rewriting (NAT rewrites addresses, ports, TTL and checksums only).
//! * Nothing allocates, performs I/O, or depends on another crate.
//!
//! # Order of use
//! The worker calls [`parse_frame`] once per received frame; on `Ok` it re-opens the layer it
//! needs at the returned offsets (e.g. `ipv4::Packet::new_checked(&mut buf[l3..])`) to rewrite
//! it, fixing checksums with the incremental functions of [`checksum`]. On `Err` it bumps the
//! counter for that [`DropReason`] reason and drops the frame.
#![forbid(unsafe_code)]

pub mod arp;
pub mod checksum;
pub mod ethernet;
mod field;
pub mod flow;
pub mod icmp;
mod icmp_common;
pub mod icmpv6;
pub mod ip;
pub mod ipv4;
pub mod ipv6;
pub mod parse;
mod reason;
pub mod tcp;
pub mod udp;
mod view;

pub use flow::{Family, FlowKey};
pub use parse::{Kind, L4, Parsed, parse_frame};
pub use reason::DropReason;
