//! Errors of the DPDK layer: each says what failed, DPDK's own reason, and what to do.

use std::fmt;

/// A DPDK call that failed.
#[derive(Debug, thiserror::Error)]
pub enum DpdkError {
    /// `rte_eal_init` refused the arguments or the machine.
    #[error("DPDK EAL init failed: {reason}{hint}", hint = Hint(hint))]
    EalInit {
        /// DPDK's own words (its log lines that name the failure, or `rte_strerror`).
        reason: String,
        /// What the operator can do about it, if we know.
        hint: Option<&'static str>,
    },
    /// The EAL can be started once per process.
    #[error("DPDK EAL is already initialised in this process")]
    AlreadyInitialised,
    /// An argument cannot be passed to the EAL (for example it holds a NUL byte).
    #[error("bad DPDK argument {arg:?}: {reason}")]
    BadArgument {
        /// The argument.
        arg: String,
        /// Why.
        reason: &'static str,
    },
    /// No port by that name or id.
    #[error("no DPDK port {wanted}; ports: {available}{probe}", probe = Probe(probe))]
    NoPort {
        /// What was asked for: a quoted name, or `to drive` when none was named.
        wanted: String,
        /// The ports there are, `id=name` comma-separated, or `none`.
        available: String,
        /// Device probe failures the EAL logged at start, if any.
        probe: Option<String>,
    },
    /// A call on a port failed.
    #[error("DPDK port {port} ({name}): {what}: {reason}")]
    Port {
        /// Port id.
        port: u16,
        /// Port name.
        name: String,
        /// The step that failed.
        what: String,
        /// `rte_strerror` of the error.
        reason: String,
    },
    /// A mempool could not be created.
    #[error("DPDK mempool {name} ({mbufs} mbufs): {reason}")]
    Mempool {
        /// Pool name.
        name: String,
        /// Mbufs asked for.
        mbufs: u32,
        /// `rte_strerror` of the error.
        reason: String,
    },
    /// A virtual device could not be created.
    #[error("DPDK vdev {spec:?}: {reason}")]
    Vdev {
        /// The vdev string.
        spec: String,
        /// Why.
        reason: String,
    },
}

struct Hint<'a>(&'a Option<&'static str>);

impl fmt::Display for Hint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(hint) => write!(f, " (hint: {hint})"),
            None => Ok(()),
        }
    }
}

struct Probe<'a>(&'a Option<String>);

impl fmt::Display for Probe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(log) => write!(f, "; at start DPDK said: {log}"),
            None => Ok(()),
        }
    }
}

/// `rte_strerror(errno)` as a string (`errno` positive).
pub(crate) fn strerror(errno: i32) -> String {
    // SAFETY: rte_strerror returns a pointer to a static or thread-local NUL-terminated
    // string valid until the next call on this thread; it is copied at once.
    unsafe {
        let s = dpdk_sys::rte_strerror(errno);
        if s.is_null() {
            format!("error {errno}")
        } else {
            std::ffi::CStr::from_ptr(s).to_string_lossy().into_owned()
        }
    }
}

/// `rte_errno` of this thread.
pub(crate) fn rte_errno() -> i32 {
    // SAFETY: reads a per-lcore (thread-local) integer.
    unsafe { dpdk_sys::strait_rte_errno() }
}
