//! Per-worker pipeline counters, named.
//!
//! # Invariants
//! * A counter's index is its place in [`NAMES`]; the indices are the layout of the counter
//!   words in the worker's stats record (`strait_shm::stats::COUNTER_BASE + index`), so a
//!   reader outside the process labels them with [`NAMES`]. Add new counters at the end.
//! * Parse drops occupy `PARSE_DROP_BASE + DropReason::index()`, in `DropReason::ALL` order.
//! * Every frame the pipeline is handed ends in exactly one of: a `tx`/`steered_out`/
//!   `to_kernel` outcome or one drop counter (`drop_*`, parse drops).

use strait_packet::DropReason;

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident = $label:literal,)*) => {
        /// Indices of the pipeline counters.
        #[allow(missing_docs)]
        pub mod counter {
            counters!(@index 0usize, $($(#[$doc])* $name,)*);
        }
        /// The first parse-drop counter; `DropReason::COUNT` of them follow.
        pub const PARSE_DROP_BASE: usize = counter::PARSE_DROPS;
        /// Counter labels, by index.
        pub const NAMES: [&str; COUNT] = {
            let mut names = [""; COUNT];
            let labels = [$($label,)*];
            let mut i = 0;
            while i < labels.len() {
                names[i] = labels[i];
                i += 1;
            }
            let mut r = 0;
            while r < DropReason::COUNT {
                names[PARSE_DROP_BASE + r] = DropReason::ALL[r].name();
                r += 1;
            }
            names
        };
    };
    (@index $i:expr, $(#[$doc:meta])* $name:ident, $($rest:tt)*) => {
        $(#[$doc])* pub const $name: usize = $i;
        counters!(@index $i + 1, $($rest)*);
    };
    (@index $i:expr,) => {
        /// Where the parse-drop counters start.
        pub const PARSE_DROPS: usize = $i;
    };
}

counters! {
    /// Frames handed to the pipeline (received, or taken from another core).
    RX = "rx",
    /// Frames sent back out (forwarded, or ARP/ND answers).
    TX = "tx",
    /// Frames handed to the core that owns their flow.
    STEERED_OUT = "steered_out",
    /// Frames processed for another core that received them.
    STEERED_IN = "steered_in",
    /// Frames left to the kernel (not for a service; exception policy `kernel`).
    TO_KERNEL = "to_kernel",
    /// New flows balanced.
    NEW_FLOWS = "new_flows",
    /// Flows whose backend left the service, re-balanced.
    FLOWS_MOVED = "flows_moved",
    /// Connections released by expiry or eviction.
    FLOWS_RELEASED = "flows_released",
    /// ARP requests for our addresses answered.
    ARP_REPLIES = "arp_replies",
    /// Neighbor solicitations for our addresses answered.
    ND_REPLIES = "nd_replies",
    /// Neighbour entries learned or changed.
    NEIGHBOURS_LEARNED = "neighbours_learned",
    /// ARP requests / neighbor solicitations sent to resolve a next hop.
    NEIGHBOUR_REQUESTS = "neighbour_requests",
    /// Dropped: not for a service, and the exception policy is `drop`.
    DROP_NOT_FOR_US = "drop_not_for_us",
    /// Dropped: the service has no backend that takes new flows.
    DROP_NO_BACKEND = "drop_no_backend",
    /// Dropped: full NAT without a SNAT address of the packet's family.
    DROP_NO_SNAT_ADDRESS = "drop_no_snat_address",
    /// Dropped: this core's SNAT ports are all in use.
    DROP_SNAT_EXHAUSTED = "drop_snat_exhausted",
    /// Dropped: the connection table refused the flow.
    DROP_CONNTRACK_FULL = "drop_conntrack_full",
    /// Dropped: the next hop's MAC is not known yet (a request was sent).
    DROP_NEIGHBOUR_MISS = "drop_neighbour_miss",
    /// Dropped: the rewrite failed (family mismatch, bad offsets).
    DROP_REWRITE = "drop_rewrite",
    /// Dropped: a packet to our SNAT address with no connection, not answered (rate bound,
    /// or a reset).
    DROP_NO_CONNECTION = "drop_no_connection",
    /// Dropped: the service's mode is not supported by this build.
    DROP_UNSUPPORTED_MODE = "drop_unsupported_mode",
    /// Dropped: ICMP/ICMPv6 to our addresses that is neither neighbour discovery, an echo
    /// request (`icmp_echo_replies`) nor an error about one of our flows (those are sent on:
    /// `icmp_errors_forwarded`).
    DROP_ICMP = "drop_icmp",
    /// Dropped: encapsulation would exceed the MTU.
    DROP_TOO_BIG = "drop_too_big",
    /// Dropped: no tables installed yet.
    DROP_NO_TABLES = "drop_no_tables",
    /// Dropped: the hand-off ring to the owning core was full (counted by the worker).
    DROP_HANDOFF_FULL = "drop_handoff_full",
    /// Dropped: the port's transmit ring was full (counted by the worker).
    DROP_TX_FULL = "drop_tx_full",
    /// Dropped before the pipeline saw them: the port's receive ring overran (reported by the
    /// device; exported by the worker).
    DROP_RX_RING = "drop_rx_ring",
    /// ICMP errors about a flow sent on to its peer (client or backend).
    ICMP_ERRORS_FORWARDED = "icmp_errors_forwarded",
    /// New flows no backend could take, answered with a TCP reset or an ICMP port
    /// unreachable (policy `refuse`; the rest count as `drop_no_backend`).
    REFUSED_NO_BACKEND = "refused_no_backend",
    /// Echo requests (pings) to the node's addresses answered.
    ICMP_ECHO_REPLIES = "icmp_echo_replies",
    /// Packets too large for their tunnel answered with ICMP "fragmentation needed" / ICMPv6
    /// "packet too big" to their source (those not answered count as `drop_too_big`).
    TOO_BIG_SENT = "too_big_sent",
    /// Packets to a SNAT address of no connection answered with a reset or ICMP port
    /// unreachable (those not answered count as `drop_no_connection`).
    REFUSED_NO_CONNECTION = "refused_no_connection",
}

/// Number of counters.
pub const COUNT: usize = counter::PARSE_DROPS + DropReason::COUNT;

/// The counters of one worker's pipeline: plain integers, owned by the worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counters {
    values: [u64; COUNT],
}

impl Default for Counters {
    fn default() -> Self {
        Counters { values: [0; COUNT] }
    }
}

impl Counters {
    /// Adds `n` to counter `index` (from [`counter`]); out-of-range indices are ignored.
    #[inline]
    pub fn add(&mut self, index: usize, n: u64) {
        if let Some(v) = self.values.get_mut(index) {
            *v += n;
        }
    }

    /// Adds one to counter `index`.
    #[inline]
    pub fn inc(&mut self, index: usize) {
        self.add(index, 1);
    }

    /// Counts a parse drop.
    #[inline]
    pub fn parse_drop(&mut self, reason: DropReason) {
        self.inc(PARSE_DROP_BASE + reason.index());
    }

    /// The value of counter `index`.
    pub fn get(&self, index: usize) -> u64 {
        self.values.get(index).copied().unwrap_or(0)
    }

    /// The value of the counter labelled `name`.
    pub fn by_name(&self, name: &str) -> Option<u64> {
        NAMES
            .iter()
            .position(|&n| n == name)
            .map(|i| self.values[i])
    }

    /// All values, by index.
    pub fn values(&self) -> &[u64; COUNT] {
        &self.values
    }

    /// Frames dropped, all reasons together: the `drop_*` counters and the parse drops.
    pub fn dropped(&self) -> u64 {
        (counter::DROP_NOT_FOR_US..COUNT)
            .filter(|&i| i >= PARSE_DROP_BASE || NAMES[i].starts_with("drop_"))
            .map(|i| self.values[i])
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_complete() {
        let mut seen = std::collections::HashSet::new();
        for name in NAMES {
            assert!(!name.is_empty());
            assert!(seen.insert(name), "duplicate counter name {name}");
        }
        assert_eq!(NAMES[counter::RX], "rx");
        assert_eq!(
            NAMES[PARSE_DROP_BASE + DropReason::BadIpChecksum.index()],
            DropReason::BadIpChecksum.name()
        );
    }

    #[test]
    fn every_drop_counts_in_dropped() {
        let mut c = Counters::default();
        c.inc(counter::TX);
        c.inc(counter::DROP_NO_BACKEND);
        c.parse_drop(DropReason::TooShort);
        // Answered or sent on, not dropped.
        c.inc(counter::ICMP_ERRORS_FORWARDED);
        c.inc(counter::REFUSED_NO_BACKEND);
        c.inc(counter::ICMP_ECHO_REPLIES);
        c.inc(counter::TOO_BIG_SENT);
        c.inc(counter::REFUSED_NO_CONNECTION);
        assert_eq!(c.dropped(), 2);
        assert_eq!(c.by_name("drop_no_backend"), Some(1));
    }
}
