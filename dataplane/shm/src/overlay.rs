//! Health overlay: endpoint health and drain flags, updated in place without a new image.
//!
//! ABI (version [`OVERLAY_VERSION`]): the [region header](crate::RegionHeader) with magic
//! [`OVERLAY_MAGIC`], `count` = capacity, `entry_bytes` = 4; then `capacity` little-endian `u32`
//! state words at `HEADER_BYTES + 4 * slot`. Bit 0 = unhealthy, bit 1 = draining, other bits
//! reserved (ignored when read, written as 0); all zero = healthy and active, which is also what
//! a fresh region holds. Endpoint slots are indices assigned by the compiled tables.
//!
//! The data plane creates the overlay and sends its fd; the agent opens it read-write and
//! [`set`](HealthOverlay::set)s states (`Release` stores); workers [`get`](HealthOverlay::get)
//! them per lookup (`Acquire` loads). Each write replaces a slot's whole word, so with several
//! writers the last store to a slot wins.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::ShmError;
use crate::map::SharedWords;
use crate::region::{self, HEADER_BYTES, RegionHeader};

/// Magic of a health overlay.
pub const OVERLAY_MAGIC: [u8; 8] = *b"STRAITHO";
/// Layout version of the health overlay.
pub const OVERLAY_VERSION: u64 = 1;
/// Default number of endpoint slots (4 MiB of state words).
pub const DEFAULT_CAPACITY: u32 = 1 << 20;
/// Largest capacity accepted.
pub const MAX_CAPACITY: u32 = 1 << 24;

const WHAT: &str = "health overlay";
const UNHEALTHY: u32 = 1 << 0;
const DRAINING: u32 = 1 << 1;

/// The state of one endpoint; the default is healthy and active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct EndpointState {
    /// Failed health checks: take no new traffic.
    pub unhealthy: bool,
    /// Being drained: keep existing flows, take no new ones.
    pub draining: bool,
}

impl EndpointState {
    /// Healthy and active (word 0).
    pub const HEALTHY: EndpointState = EndpointState {
        unhealthy: false,
        draining: false,
    };

    /// The state word (bit 0 unhealthy, bit 1 draining).
    pub fn to_bits(self) -> u32 {
        (if self.unhealthy { UNHEALTHY } else { 0 }) | (if self.draining { DRAINING } else { 0 })
    }

    /// Decodes a state word; reserved bits are ignored.
    pub fn from_bits(bits: u32) -> EndpointState {
        EndpointState {
            unhealthy: bits & UNHEALTHY != 0,
            draining: bits & DRAINING != 0,
        }
    }

    /// True when the endpoint may take new flows.
    pub fn accepts_new(self) -> bool {
        !self.unhealthy && !self.draining
    }
}

/// The shared health overlay, mapped read-write (see the [module docs](self)).
#[derive(Debug)]
pub struct HealthOverlay {
    words: SharedWords,
    capacity: u32,
}

impl HealthOverlay {
    /// Data-plane side: creates an all-healthy overlay with `capacity` slots
    /// (1..=[`MAX_CAPACITY`]) and returns it with the fd to send to the agent.
    pub fn create(capacity: u32) -> Result<(HealthOverlay, OwnedFd), ShmError> {
        if capacity == 0 || capacity > MAX_CAPACITY {
            return Err(ShmError::OutOfRange {
                what: "health overlay capacity",
                got: capacity.into(),
                max: MAX_CAPACITY.into(),
            });
        }
        let header = RegionHeader {
            magic: OVERLAY_MAGIC,
            version: OVERLAY_VERSION,
            count: capacity.into(),
            entry_bytes: 4,
            total_bytes: 0,
        };
        let (words, fd) = region::create("strait-health", header)?;
        Ok((HealthOverlay { words, capacity }, fd))
    }

    /// Agent side: maps an overlay received from the data plane, read-write, after checking its
    /// seals, header and size.
    pub fn open(fd: impl AsFd) -> Result<HealthOverlay, ShmError> {
        let words = region::open(fd, WHAT)?;
        let header = RegionHeader::read(&words);
        let mapped = words.u64s().len() * 8;
        header.check(WHAT, &OVERLAY_MAGIC, OVERLAY_VERSION, 4, mapped)?;
        let capacity = u32::try_from(header.count)
            .ok()
            .filter(|&c| c <= MAX_CAPACITY)
            .ok_or(ShmError::BadHeader {
                what: WHAT,
                field: "count",
                found: header.count,
                expected: MAX_CAPACITY.into(),
            })?;
        Ok(HealthOverlay { words, capacity })
    }

    /// Number of endpoint slots.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// The state of `slot`; a slot beyond the capacity reads as healthy.
    #[inline]
    pub fn get(&self, slot: u32) -> EndpointState {
        self.word(slot).map_or(EndpointState::HEALTHY, |w| {
            EndpointState::from_bits(w.load(Ordering::Acquire))
        })
    }

    /// Sets the state of `slot`; an error if `slot >= capacity()`.
    pub fn set(&self, slot: u32, state: EndpointState) -> Result<(), ShmError> {
        let word = self.word(slot).ok_or(ShmError::SlotOutOfRange {
            slot,
            capacity: self.capacity,
        })?;
        word.store(state.to_bits(), Ordering::Release);
        Ok(())
    }

    fn word(&self, slot: u32) -> Option<&AtomicU32> {
        if slot >= self.capacity {
            return None;
        }
        self.words.u32s_from(HEADER_BYTES).get(slot as usize)
    }
}
