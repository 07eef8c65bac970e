//! DPDK ports: one RX/TX queue pair of one DPDK ethdev per worker.
//!
//! Built only with the `dpdk` feature (it links the system libdpdk through `ffi/`); without
//! it, [`open`] says how to get it and [`DpdkPort`] has no values.
//!
//! # Opening
//! [`open`] starts the EAL from [`DpdkOptions`](crate::DpdkOptions) (hugepages or not,
//! vdevs, allowed PCI devices; the EAL's main lcore is the first worker core), finds the
//! port named by the interface (a PCI address or a vdev name; the first port if empty),
//! and configures one queue pair per worker, with symmetric RSS where the device hashes.
//! Any DPDK failure is one [`DeviceError::Dpdk`](crate::DeviceError::Dpdk) line: DPDK's
//! reason and what to do.
//!
//! # Frames
//! A received mbuf is lent to the rx closure in place: the buffer from the frame's start
//! to the end of the mbuf (`strait_dpdk::DATA_ROOM`, 2048 bytes, at least
//! [`MIN_BUFFER`](crate::MIN_BUFFER)). `Verdict::Tx` sends the same mbuf out (no copy);
//! `Drop` frees it. Multi-segment frames (larger than a buffer) are dropped and counted in
//! `rx_dropped`. Transmit frames wait in a burst until `flush`; what the device does not
//! take is freed and counted in `tx_full`.
//!
//! A burst asks for the cache lines of all its frames (each mbuf's header and the line its
//! frame starts on) before `ahead` sees the first, reads each header once, and writes it
//! again only for a frame whose length changed (`strait_dpdk::Received`): a forwarded frame
//! of unchanged length costs its mbuf no header write.
//!
//! Each worker thread registers itself with the EAL on its first burst, so mempool caches
//! work for it. The EAL stops when the last port drops.

#[cfg(feature = "dpdk")]
mod port;
#[cfg(feature = "dpdk")]
pub use port::{DpdkPort, open};

#[cfg(not(feature = "dpdk"))]
mod disabled;
#[cfg(not(feature = "dpdk"))]
pub use disabled::{DpdkPort, open};
