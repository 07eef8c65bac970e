//! Connection states, the TCP state machine that drives them, and their idle timeouts.
//!
//! # Invariants
//! * [`State::next`] is a pure function of `(state, direction, flags)`: it never looks at
//!   sequence numbers or the clock, so the table can apply it per packet in O(1).
//! * Non-TCP states ([`State::Udp`], [`State::Icmp`]) never change; only their `last_seen` moves.
//! * RST from either side always leads to [`State::Closed`], whatever the current state.
//! * Every state maps to exactly one timeout in [`Timeouts::for_state`]; an entry whose idle time
//!   (`now - last_seen`) reaches that timeout is expired.

use crate::conn::Direction;
use strait_packet::ip::protocol;
use strait_packet::tcp::Flags;

/// Nanoseconds in one second, for building [`Timeouts`].
pub const NS_PER_SEC: u64 = 1_000_000_000;

const FIN: u8 = Flags::FIN.0;
const SYN: u8 = Flags::SYN.0;
const RST: u8 = Flags::RST.0;
const ACK: u8 = Flags::ACK.0;

/// Tracking state of one connection.
///
/// `repr(u8)` gives it a tag byte of its own (the direction of `FinWait` follows it), so a
/// test of the state compares the tag instead of decoding a niche.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum State {
    /// TCP entry created, no flags observed yet.
    TcpNew,
    /// SYN seen from the original direction.
    SynSent,
    /// SYN+ACK seen from the reply direction; waiting for the client's ACK.
    SynRecv,
    /// Handshake completed (or a mid-stream ACK was picked up).
    Established,
    /// FIN seen from the given direction only.
    FinWait(Direction),
    /// FIN seen from both directions.
    Closing,
    /// RST seen: short linger before the entry expires.
    Closed,
    /// UDP or any other non-TCP, non-ICMP protocol: idle-timed only.
    Udp,
    /// ICMP / ICMPv6 (echo identifiers in the ports): idle-timed only.
    Icmp,
}

impl State {
    /// The state a new entry for IP protocol `proto` starts in.
    pub const fn initial(proto: u8) -> State {
        match proto {
            protocol::TCP => State::TcpNew,
            protocol::ICMP | protocol::ICMPV6 => State::Icmp,
            _ => State::Udp,
        }
    }

    /// True for the TCP states.
    pub const fn is_tcp(self) -> bool {
        !matches!(self, State::Udp | State::Icmp)
    }

    /// True for [`State::Established`]: eviction spares these while others are available.
    pub const fn is_established(self) -> bool {
        matches!(self, State::Established)
    }

    /// The state after a packet with TCP `flags` (byte 13 of the header) travelling in `dir`.
    ///
    /// Transitions (anything not listed keeps the state):
    /// * any TCP state + RST → `Closed`;
    /// * `TcpNew` + SYN (no ACK) from Original → `SynSent`; + ACK (no SYN) → `Established`
    ///   (mid-stream pickup, e.g. after another LB instance failed over to this one);
    /// * `SynSent` + SYN+ACK from Reply → `SynRecv`; + ACK (no SYN) from Original →
    ///   `Established` (direct server return: replies never pass through us);
    /// * `SynRecv` + ACK (no SYN) from Original → `Established`;
    /// * `TcpNew`/`SynSent`/`SynRecv`/`Established` + FIN from `d` → `FinWait(d)`;
    /// * `FinWait(d)` + FIN from the other side → `Closing`;
    /// * `Closing`/`Closed` + SYN (no ACK) from Original → `SynSent` (5-tuple reuse).
    #[inline]
    pub const fn next(self, dir: Direction, flags: u8) -> State {
        // The common case first: only RST or FIN move an established connection.
        if matches!(self, State::Established) && flags & (RST | FIN) == 0 {
            return self;
        }
        if !self.is_tcp() {
            return self;
        }
        if flags & RST != 0 {
            return State::Closed;
        }
        let syn = flags & SYN != 0;
        let ack = flags & ACK != 0;
        let fin = flags & FIN != 0;
        let original = matches!(dir, Direction::Original);
        let pure_syn = syn && !ack;
        let pure_ack = ack && !syn;
        match self {
            State::TcpNew if pure_syn && original => State::SynSent,
            State::SynSent if syn && ack && !original => State::SynRecv,
            State::TcpNew | State::SynSent | State::SynRecv | State::Established if fin => {
                State::FinWait(dir)
            }
            State::TcpNew | State::SynSent | State::SynRecv if pure_ack && original => {
                State::Established
            }
            State::TcpNew if pure_ack => State::Established,
            State::FinWait(first) if fin && first.index() != dir.index() => State::Closing,
            State::Closing | State::Closed if pure_syn && original => State::SynSent,
            other => other,
        }
    }
}

const fn or_default(idle_override: u64, default: u64) -> u64 {
    if idle_override != 0 {
        idle_override
    } else {
        default
    }
}

/// Idle timeouts per state, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// `TcpNew`, `SynSent`, `SynRecv` (default 10 s).
    pub syn: u64,
    /// `Established`, unless the connection carries its own `idle_timeout` (default 300 s).
    pub established: u64,
    /// `FinWait` and `Closing` (default 30 s).
    pub fin_wait: u64,
    /// `Closed` after RST (default 5 s).
    pub closed: u64,
    /// `Udp`, unless the connection carries its own `idle_timeout` (default 30 s).
    pub udp: u64,
    /// `Icmp` (default 10 s).
    pub icmp: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            syn: 10 * NS_PER_SEC,
            established: 300 * NS_PER_SEC,
            fin_wait: 30 * NS_PER_SEC,
            closed: 5 * NS_PER_SEC,
            udp: 30 * NS_PER_SEC,
            icmp: 10 * NS_PER_SEC,
        }
    }
}

impl Timeouts {
    /// The shortest of the per-state timeouts: an entry idle for less is live in any state
    /// (unless its service's own idle timeout is shorter still).
    pub const fn shortest(&self) -> u64 {
        let others = [
            self.established,
            self.fin_wait,
            self.closed,
            self.udp,
            self.icmp,
        ];
        let mut min = self.syn;
        let mut i = 0;
        while i < others.len() {
            if others[i] < min {
                min = others[i];
            }
            i += 1;
        }
        min
    }

    /// The timeout of `state`; `idle_override` (non-zero: the service's idle timeout) replaces
    /// the `established` and `udp` defaults.
    pub const fn for_state(&self, state: State, idle_override: u64) -> u64 {
        match state {
            State::TcpNew | State::SynSent | State::SynRecv => self.syn,
            State::Established => or_default(idle_override, self.established),
            State::FinWait(_) | State::Closing => self.fin_wait,
            State::Closed => self.closed,
            State::Udp => or_default(idle_override, self.udp),
            State::Icmp => self.icmp,
        }
    }
}
