//! What the table stores per connection, and the handles it gives out.
//!
//! # Invariants
//! * A [`ConnId`] names one slot *and* one occupancy of it (a generation counter): after the
//!   connection is removed, expired or evicted, the old id no longer resolves, even when the slot
//!   is reused.
//! * [`Direction::Original`] is the forward key (client → VIP), [`Direction::Reply`] the reply
//!   key (backend → SNAT address); per-direction counters are indexed by [`Direction::index`].

use crate::state::{NS_PER_SEC, State};
use strait_packet::FlowKey;

/// Which of a connection's two keys a packet matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client → VIP (the forward key).
    Original = 0,
    /// Backend → client side after NAT (the reply key).
    Reply = 1,
}

impl Direction {
    /// 0 for `Original`, 1 for `Reply`.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The other direction.
    pub const fn opposite(self) -> Direction {
        match self {
            Direction::Original => Direction::Reply,
            Direction::Reply => Direction::Original,
        }
    }

    pub(crate) const fn from_bit(bit: u32) -> Direction {
        if bit & 1 == 0 {
            Direction::Original
        } else {
            Direction::Reply
        }
    }
}

/// Handle of one live connection; valid until it is removed, expired or evicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnId {
    pub(crate) index: u32,
    pub(crate) epoch: u32,
}

impl ConnId {
    /// Slot number in `0..capacity`, for side arrays the worker keeps per connection.
    pub const fn slot(self) -> u32 {
        self.index
    }
}

/// Per-connection state the worker needs on the fast path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conn {
    /// Index of the service (VIP:port) in the table generation below.
    pub service: u32,
    /// Index of the chosen backend; kept for the connection's life (see the crate docs).
    pub backend: u32,
    /// Generation of the service tables the connection was created under.
    pub generation: u64,
    /// Source port chosen for SNAT, to be freed on release; 0 if the connection is not
    /// source-NATed (a SNAT port range never holds port 0).
    pub snat_port: u16,
    /// Service idle timeout in seconds overriding `established`/`udp` (0 = table default).
    pub idle_timeout_s: u32,
    /// Tracking state.
    pub state: State,
    /// Time (ns) of the last observed packet; set to `now` by `insert`.
    pub last_seen: u64,
}

impl Conn {
    /// A fresh connection for IP protocol `proto`, in [`State::initial`], without SNAT.
    pub const fn new(proto: u8, service: u32, backend: u32, generation: u64) -> Conn {
        Conn {
            service,
            backend,
            generation,
            snat_port: 0,
            idle_timeout_s: 0,
            state: State::initial(proto),
            last_seen: 0,
        }
    }

    /// True if the connection is source-NATed: `snat_port` is its own.
    #[inline]
    pub const fn snat(&self) -> bool {
        self.snat_port != 0
    }

    /// The service's idle timeout in ns, 0 for the table default
    /// ([`Timeouts::for_state`](crate::Timeouts::for_state)).
    #[inline]
    pub const fn idle_override(&self) -> u64 {
        self.idle_timeout_s as u64 * NS_PER_SEC
    }

    /// Records one packet in direction `dir` (TCP `flags`, 0 for other protocols) at `now`:
    /// advances the state machine and `last_seen` (never backwards). Returns the new state.
    ///
    /// There are no per-connection packet or byte counts (as with nf_conntrack's default
    /// `nf_conntrack_acct=0`): they would cost a write of two more fields per packet and a
    /// third cache line per slot. The worker counts packets per core.
    #[inline(always)]
    pub fn observe(&mut self, dir: Direction, flags: u8, now: u64) -> State {
        self.state = self.state.next(dir, flags);
        self.last_seen = self.last_seen.max(now);
        self.state
    }
}

/// Why the table let go of a connection the caller did not remove itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Idle for longer than its state's timeout.
    Expired,
    /// Still live, but its slot was needed for a new connection.
    Evicted,
}

/// A connection handed back by `insert` or `expire`, so the caller can free its SNAT port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Released {
    /// The id it had (no longer valid).
    pub id: ConnId,
    /// Forward and reply keys, indexed by [`Direction::index`].
    pub keys: [FlowKey; 2],
    /// Its last contents.
    pub conn: Conn,
    /// Why it was released.
    pub reason: Reason,
}
