//! What `l4-testbed` counts on the network-namespace testbed ([`strait_e2e::Testbed`]).
//!
//! The counters come from the switch namespace, where every host's veth peer is a bridge port:
//! one `ip -s link` dump reads them all at once. A veth's receive counters are its peer's
//! transmit counters, so `p-client`'s rx is what the client sent onto the segment and `p-bK`'s
//! tx is what was handed to backend K.

use strait_e2e::Testbed;

/// The backends' names.
pub const BACKENDS: [&str; 3] = ["b1", "b2", "b3"];

/// Frames counted on the segment (see the module doc).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Frames the client put on the segment.
    pub sent: u64,
    /// Frames handed to the three backends together.
    pub delivered: u64,
    /// Frames handed to the node.
    pub node_in: u64,
    /// Frames dropped on the way into the node (its receive backlog was full).
    pub node_in_drops: u64,
    /// Frames the node sent.
    pub node_out: u64,
}

/// The segment's counters, read in one dump.
pub fn counters(testbed: &Testbed) -> Counters {
    let links = testbed.links("sw");
    let count = |port: &str, dir: &str, what: &str| {
        let link = links
            .iter()
            .find(|l| l["ifname"] == port)
            .unwrap_or_else(|| panic!("bridge port {port} missing"));
        link["stats64"][dir][what].as_u64().expect("a counter")
    };
    Counters {
        sent: count("p-client", "rx", "packets"),
        delivered: BACKENDS
            .iter()
            .map(|b| count(&format!("p-{b}"), "tx", "packets"))
            .sum(),
        node_in: count("p-node", "tx", "packets"),
        node_in_drops: count("p-node", "tx", "dropped"),
        node_out: count("p-node", "rx", "packets"),
    }
}

impl std::ops::Sub for Counters {
    type Output = Counters;

    /// What was counted between two readings (`later - earlier`).
    fn sub(self, earlier: Counters) -> Counters {
        Counters {
            sent: self.sent - earlier.sent,
            delivered: self.delivered - earlier.delivered,
            node_in: self.node_in - earlier.node_in,
            node_in_drops: self.node_in_drops - earlier.node_in_drops,
            node_out: self.node_out - earlier.node_out,
        }
    }
}
