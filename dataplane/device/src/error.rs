//! Why a device could not be opened.

use std::io;

/// Why a device or one of its ports could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// The interface does not exist (in this network namespace).
    #[error("interface {interface:?} not found: {source}")]
    NoInterface {
        /// The interface name.
        interface: String,
        /// The cause.
        source: io::Error,
    },
    /// A system call failed while setting up a port.
    #[error("{device} on {interface:?}, port {port}: {what}: {source}")]
    Setup {
        /// Device kind name.
        device: &'static str,
        /// Interface name.
        interface: String,
        /// Port (worker) index.
        port: usize,
        /// The step that failed.
        what: &'static str,
        /// The cause.
        source: io::Error,
    },
    /// DPDK refused (EAL start, port lookup or set-up).
    #[error("dpdk: {reason}")]
    Dpdk {
        /// The port asked for (empty: the first).
        interface: String,
        /// DPDK's reason and what to do.
        reason: String,
    },
    /// The device cannot give each worker a port.
    #[error("{device} on {interface:?}: {reason}")]
    Unsupported {
        /// Device kind name.
        device: &'static str,
        /// Interface name.
        interface: String,
        /// What is missing, and what to do about it.
        reason: String,
    },
}
