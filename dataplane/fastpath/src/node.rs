//! What a worker's pipeline knows about the node it runs on.

use core::net::{Ipv4Addr, Ipv6Addr};
use core::ops::RangeInclusive;

use strait_packet::ethernet::Address;

use crate::route::Routes;

/// Default SNAT source-port range, split over the workers.
pub const DEFAULT_SNAT_PORTS: RangeInclusive<u16> = 1024..=65535;

/// What happens to a frame that is not for a service, a reply, or neighbour discovery.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Exception {
    /// Leave it to the kernel (with `af_packet` the kernel has its own copy already).
    #[default]
    Kernel,
    /// Drop and count it.
    Drop,
}

impl std::str::FromStr for Exception {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "kernel" => Ok(Exception::Kernel),
            "drop" => Ok(Exception::Drop),
            other => Err(format!(
                "unknown exception policy {other:?}: expected kernel or drop"
            )),
        }
    }
}

/// What happens to a new flow for a service with no backend that takes new flows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NoBackend {
    /// Answer as a host answers for a closed port: a TCP reset, an ICMP port unreachable for
    /// UDP (at most [`crate::refusal::PER_SECOND`] a second per worker; beyond that, drop).
    #[default]
    Refuse,
    /// Drop and count it: the client retries until its own timeout.
    Drop,
}

impl std::str::FromStr for NoBackend {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "refuse" => Ok(NoBackend::Refuse),
            "drop" => Ok(NoBackend::Drop),
            other => Err(format!(
                "unknown no-backend policy {other:?}: expected refuse or drop"
            )),
        }
    }
}

impl NodeConfig {
    /// The node's primary IPv4 address (the first of `snat_v4`).
    pub fn primary_v4(&self) -> Option<Ipv4Addr> {
        self.snat_v4.first().copied()
    }

    /// The node's primary IPv6 address (the first of `snat_v6`).
    pub fn primary_v6(&self) -> Option<Ipv6Addr> {
        self.snat_v6.first().copied()
    }
}

/// The node-level settings every worker's pipeline shares (not part of the table image:
/// they belong to the node, not to the service configuration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeConfig {
    /// The MAC of the interface the data plane drives: the source of every frame it sends.
    pub mac: Address,
    /// The node's IPv4 address on the segment: the source of full-NAT flows and of IPIP/GUE
    /// tunnels, and of ARP requests (the data plane answers ARP for it).
    /// More addresses after the first add full-NAT source ports (see `snat_pool`).
    pub snat_v4: Vec<Ipv4Addr>,
    /// The node's IPv6 address on the segment, as `snat_v4` for IPv6 (answered by ND).
    pub snat_v6: Vec<Ipv6Addr>,
    /// Source ports for full NAT, split evenly over the workers.
    pub snat_ports: RangeInclusive<u16>,
    /// Policy for traffic that is not ours.
    pub exception: Exception,
    /// Policy for new flows no backend takes.
    pub no_backend: NoBackend,
    /// Connections each worker tracks.
    pub conntrack_capacity: usize,
    /// Largest frame the device sends (Ethernet header included), for encapsulation.
    pub max_frame: usize,
    /// The segment's prefixes and gateways: which next hop a destination has.
    pub routes: Routes,
}

impl NodeConfig {
    /// A node with MAC `mac`, no SNAT addresses and defaults for the rest.
    pub fn new(mac: Address) -> NodeConfig {
        NodeConfig {
            mac,
            snat_v4: Vec::new(),
            snat_v6: Vec::new(),
            snat_ports: DEFAULT_SNAT_PORTS,
            exception: Exception::default(),
            no_backend: NoBackend::default(),
            conntrack_capacity: 1 << 20,
            max_frame: 1514,
            routes: Routes::default(),
        }
    }
}
