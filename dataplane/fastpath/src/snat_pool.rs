//! The node's full-NAT source addresses and this worker's ports on each.
//!
//! One address gives a worker `ports / workers` concurrent full-NAT flows per family; an
//! operator adds addresses (`--node-v4` repeated) when that is not enough. A reply key holds
//! the address and port, so a port is free again once its connection is released, whatever
//! backend it went to.
//!
//! # Invariants
//! * Every address has its own [`SnatPorts`] over the same range, split over the workers the
//!   same way, so [`PortSplit::core_of`] finds the owner of a reply on any address.
//! * Allocation fills the addresses of a family in order (the first is the node's primary).

use strait_l4::{PortSplit, SnatError, SnatPorts};
use strait_packet::Family;
use strait_packet::flow::v4_mapped;

use crate::NodeConfig;

#[derive(Debug)]
struct Entry {
    addr: [u8; 16],
    family: Family,
    ports: SnatPorts,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct SnatPool {
    entries: Vec<Entry>,
    split: PortSplit,
}

impl SnatPool {
    pub(crate) fn new(
        node: &NodeConfig,
        worker: usize,
        workers: usize,
    ) -> Result<SnatPool, SnatError> {
        let split = PortSplit::new(workers, node.snat_ports.clone())?;
        let v4 = node
            .snat_v4
            .iter()
            .map(|a| (v4_mapped(a.octets()), Family::V4));
        let v6 = node.snat_v6.iter().map(|a| (a.octets(), Family::V6));
        let entries = v4
            .chain(v6)
            .map(|(addr, family)| {
                Ok(Entry {
                    addr,
                    family,
                    ports: SnatPorts::new(worker, workers, node.snat_ports.clone())?,
                })
            })
            .collect::<Result<_, SnatError>>()?;
        Ok(SnatPool { entries, split })
    }

    /// The split of the port range over workers.
    pub(crate) fn split(&self) -> &PortSplit {
        &self.split
    }

    /// True if `addr` is one of the node's SNAT addresses.
    #[inline]
    pub(crate) fn contains(&self, addr: &[u8; 16]) -> bool {
        self.entries.iter().any(|e| e.addr == *addr)
    }

    /// True if the node has a SNAT address of `family`.
    pub(crate) fn has_family(&self, family: Family) -> bool {
        self.entries.iter().any(|e| e.family == family)
    }

    /// A free `(address, port)` of `family`; `None` when every address's ports are in use.
    #[inline]
    pub(crate) fn alloc(&mut self, family: Family) -> Option<([u8; 16], u16)> {
        self.entries
            .iter_mut()
            .filter(|e| e.family == family)
            .find_map(|e| e.ports.alloc().map(|p| (e.addr, p)))
    }

    /// Returns `port` on `addr` to the pool; false if it was not allocated here.
    pub(crate) fn free(&mut self, addr: &[u8; 16], port: u16) -> bool {
        self.entries
            .iter_mut()
            .find(|e| e.addr == *addr)
            .is_some_and(|e| e.ports.free(port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_address_doubles_the_flows_and_ports_come_back() {
        let mut node = NodeConfig::new([2, 0, 0, 0, 0, 1]);
        node.snat_v4 = vec![[198, 18, 0, 2].into(), [198, 18, 0, 3].into()];
        node.snat_ports = 1000..=1009;
        let mut pool = SnatPool::new(&node, 0, 1).unwrap();
        let got: Vec<_> = std::iter::from_fn(|| pool.alloc(Family::V4)).collect();
        assert_eq!(got.len(), 20);
        assert_eq!(
            got[0].0,
            v4_mapped([198, 18, 0, 2]),
            "the primary fills first"
        );
        assert_eq!(got[19].0, v4_mapped([198, 18, 0, 3]));
        assert_eq!(pool.alloc(Family::V6), None);
        assert!(pool.free(&got[19].0, got[19].1));
        assert!(!pool.free(&got[19].0, got[19].1), "a port is freed once");
        assert_eq!(pool.alloc(Family::V4), Some(got[19]));
        assert!(pool.contains(&v4_mapped([198, 18, 0, 3])));
    }
}
