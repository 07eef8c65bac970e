//! A safe layer over DPDK (22.11) for Strait's `dpdk` packet device.
//!
//! * [`Eal`]: started once per process from typed [`EalArgs`]; a failure is one
//!   [`DpdkError`] with DPDK's reason and a hint, never usage text or a panic.
//! * [`Port`]: a port configured with one RX/TX queue pair per worker (symmetric RSS where
//!   the device hashes), its link, counters and extended stats.
//! * [`RxQueue`] / [`TxQueue`]: the per-worker fast path, burst in, burst out.
//! * [`Mbuf`]: an owned packet buffer (`AsRef<[u8]>`/`AsMut<[u8]>`, freed on drop);
//!   [`Received`]: a received one, with what its burst already read from its header.
//!
//! Worker threads call [`register_thread`] once so mempool caches work for them.
//! Every `unsafe` block here carries a `// SAFETY:` note; nothing unsafe leaves the crate.

mod args;
mod eal;
mod error;
mod mbuf;
mod mempool;
mod port;
mod received;

pub use args::{EalArgs, Memory};
pub use eal::{Eal, register_thread};
pub use error::DpdkError;
pub use mbuf::Mbuf;
pub use mempool::{DATA_ROOM, Mempool};
pub use port::{
    EthStats, Flushed, Link, MAX_BURST, Port, PortConfig, PortInfo, RxQueue, TxQueue, find_port,
    port_info, ports,
};
pub use received::Received;
