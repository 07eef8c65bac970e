//! Per-core SNAT source ports for full NAT.
//!
//! The node's SNAT port range `lo..=hi` is cut into `cores` equal, disjoint slices of
//! `per_core = (hi - lo + 1) / cores` ports; core `i` owns `lo + i·per_core ..
//! lo + (i+1)·per_core` (the `(hi - lo + 1) % cores` ports at the top are unused). A reply from a
//! backend is addressed to the SNAT port, so whoever receives it can steer it to the core that
//! owns the flow: **core = `(port - lo) / per_core`** ([`PortSplit::core_of`]).
//!
//! # Invariants
//! * No range holds port 0: a connection's SNAT port 0 means it has none.
//! * Two cores built from the same `(cores, range)` never hand out the same port.
//! * [`SnatPorts::alloc`] and [`SnatPorts::free`] are O(1) and never allocate: a ring of free
//!   ports and a bitmap of ports in use are sized once in [`SnatPorts::new`].
//! * Freed ports go to the back of the ring (FIFO), so a port is reused as late as possible,
//!   which keeps clear of the backend's TIME_WAIT for the previous flow on it.
//! * `free` of a port that is not this core's or not in use is refused and changes nothing.

use core::ops::RangeInclusive;
use thiserror::Error;

/// Why a port split could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SnatError {
    /// `cores` is 0 or above 65535.
    #[error("snat: bad number of cores {cores}")]
    BadCores {
        /// The number given.
        cores: usize,
    },
    /// The core index is not below the number of cores.
    #[error("snat: core {core} out of range for {cores} cores")]
    CoreOutOfRange {
        /// The core index given.
        core: usize,
        /// The number of cores.
        cores: usize,
    },
    /// The range includes port 0, which is no source port (and marks a connection without
    /// SNAT).
    #[error("snat: the port range {lo}..={hi} includes port 0")]
    PortZero {
        /// The range's first port.
        lo: u16,
        /// The range's last port.
        hi: u16,
    },
    /// The range has fewer ports than there are cores.
    #[error("snat: {ports} ports cannot be split over {cores} cores")]
    TooFewPorts {
        /// Ports in the range.
        ports: u32,
        /// The number of cores.
        cores: usize,
    },
}

/// How a SNAT port range is split over cores (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortSplit {
    lo: u16,
    per_core: u16,
    cores: u16,
}

impl PortSplit {
    /// Splits `range` over `cores` cores.
    pub fn new(cores: usize, range: RangeInclusive<u16>) -> Result<Self, SnatError> {
        let n = u16::try_from(cores)
            .ok()
            .filter(|&n| n > 0)
            .ok_or(SnatError::BadCores { cores })?;
        let (lo, hi) = (*range.start(), *range.end());
        if lo == 0 && hi >= lo {
            return Err(SnatError::PortZero { lo, hi });
        }
        let ports = if hi >= lo { u32::from(hi - lo) + 1 } else { 0 };
        let per_core = ports / u32::from(n);
        if per_core == 0 {
            return Err(SnatError::TooFewPorts { ports, cores });
        }
        Ok(PortSplit {
            lo,
            per_core: u16::try_from(per_core).expect("at most 65535 ports (port 0 is refused)"),
            cores: n,
        })
    }

    /// Ports each core owns.
    pub fn per_core(&self) -> u16 {
        self.per_core
    }

    /// Number of cores.
    pub fn cores(&self) -> usize {
        usize::from(self.cores)
    }

    /// The ports core `core` owns, `None` if there is no such core.
    pub fn slice(&self, core: usize) -> Option<RangeInclusive<u16>> {
        let core = u16::try_from(core).ok().filter(|&c| c < self.cores)?;
        let first = u32::from(self.lo) + u32::from(core) * u32::from(self.per_core);
        let last = first + u32::from(self.per_core) - 1;
        Some(u16::try_from(first).ok()?..=u16::try_from(last).ok()?)
    }

    /// The core that owns `port`: `(port - lo) / per_core`; `None` outside every slice.
    pub fn core_of(&self, port: u16) -> Option<usize> {
        let core = port.checked_sub(self.lo)? / self.per_core;
        (core < self.cores).then_some(usize::from(core))
    }
}

/// One core's SNAT port allocator.
#[derive(Clone, Debug)]
pub struct SnatPorts {
    split: PortSplit,
    first: u16,
    /// Free ports, FIFO: `free_len` of them from `head`, wrapping.
    ring: Box<[u16]>,
    head: usize,
    free_len: usize,
    /// Bit `port - first` is set while the port is allocated.
    in_use: Box<[u64]>,
}

impl SnatPorts {
    /// The allocator of core `core_index` of `cores`, over its slice of `range`; every port of
    /// the slice starts free. The only allocation this type makes.
    pub fn new(
        core_index: usize,
        cores: usize,
        range: RangeInclusive<u16>,
    ) -> Result<Self, SnatError> {
        let split = PortSplit::new(cores, range)?;
        let slice = split.slice(core_index).ok_or(SnatError::CoreOutOfRange {
            core: core_index,
            cores,
        })?;
        let first = *slice.start();
        let ring: Box<[u16]> = slice.collect();
        let words = ring.len().div_ceil(64);
        Ok(SnatPorts {
            split,
            first,
            free_len: ring.len(),
            ring,
            head: 0,
            in_use: vec![0; words].into_boxed_slice(),
        })
    }

    /// Takes a free port, `None` when all of this core's ports are in use.
    pub fn alloc(&mut self) -> Option<u16> {
        if self.free_len == 0 {
            return None;
        }
        let port = *self.ring.get(self.head)?;
        self.head = (self.head + 1) % self.ring.len();
        self.free_len -= 1;
        let (word, bit) = self.bit(port)?;
        self.in_use[word] |= bit;
        Some(port)
    }

    /// Returns `port` to the pool. `false` (and no change) if the port is not this core's or
    /// is not allocated.
    pub fn free(&mut self, port: u16) -> bool {
        let Some((word, bit)) = self.bit(port) else {
            return false;
        };
        if self.in_use[word] & bit == 0 {
            return false;
        }
        self.in_use[word] &= !bit;
        let tail = (self.head + self.free_len) % self.ring.len();
        self.ring[tail] = port;
        self.free_len += 1;
        true
    }

    /// True if `port` is this core's and currently allocated.
    pub fn is_allocated(&self, port: u16) -> bool {
        self.bit(port)
            .is_some_and(|(word, bit)| self.in_use[word] & bit != 0)
    }

    /// Ports free now.
    pub fn available(&self) -> usize {
        self.free_len
    }

    /// Ports this core owns.
    pub fn capacity(&self) -> usize {
        self.ring.len()
    }

    /// The split shared by all cores, to steer replies with [`PortSplit::core_of`].
    pub fn split(&self) -> PortSplit {
        self.split
    }

    /// Word index and mask of `port`'s bit, `None` if the port is not in this core's slice.
    fn bit(&self, port: u16) -> Option<(usize, u64)> {
        let off = usize::from(port.checked_sub(self.first)?);
        (off < self.ring.len()).then(|| (off / 64, 1u64 << (off % 64)))
    }
}

#[cfg(test)]
mod tests;
