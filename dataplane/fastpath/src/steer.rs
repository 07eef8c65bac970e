//! Which worker owns a flow, so both directions of it meet one connection table.
//!
//! * A packet to one of the node's SNAT addresses is a full-NAT reply: the worker that
//!   allocated its destination port owns it ([`PortSplit::core_of`]).
//! * Anything else goes by a symmetric hash of the 5-tuple, the same for both directions.
//!
//! The function is pure: every worker computes the same owner for the same packet, so a
//! frame is handed over at most once.

use strait_l4::PortSplit;
use strait_packet::FlowKey;
use xxhash_rust::xxh3::xxh3_64;

/// A hash of `flow` equal to that of its reverse.
pub fn symmetric_hash(flow: &FlowKey) -> u64 {
    let a = (flow.src, flow.src_port);
    let b = (flow.dst, flow.dst_port);
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut bytes = [0u8; 37];
    bytes[..16].copy_from_slice(&lo.0);
    bytes[16..32].copy_from_slice(&hi.0);
    bytes[32..34].copy_from_slice(&lo.1.to_be_bytes());
    bytes[34..36].copy_from_slice(&hi.1.to_be_bytes());
    bytes[36] = flow.proto;
    xxh3_64(&bytes)
}

/// The worker (of `workers`) that owns `flow`; `is_snat(dst)` says whether the destination is
/// one of the node's SNAT addresses.
pub fn owner(flow: &FlowKey, workers: usize, split: &PortSplit, is_snat: bool) -> usize {
    if workers <= 1 {
        return 0;
    }
    if is_snat && let Some(core) = split.core_of(flow.dst_port) {
        return core;
    }
    (symmetric_hash(flow) % workers as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_hash_alike() {
        let f = FlowKey::v4([198, 18, 0, 1], [198, 18, 0, 100], 6, 40000, 80);
        assert_eq!(symmetric_hash(&f), symmetric_hash(&f.reversed()));
        let g = FlowKey::v4([198, 18, 0, 1], [198, 18, 0, 100], 6, 40001, 80);
        assert_ne!(symmetric_hash(&f), symmetric_hash(&g));
    }

    #[test]
    fn snat_replies_go_to_the_port_owner() {
        let split = PortSplit::new(2, 1024..=65535).unwrap();
        let hi = split.slice(1).unwrap();
        let reply = FlowKey::v4([198, 18, 0, 11], [198, 18, 0, 2], 6, 8080, *hi.start());
        assert_eq!(owner(&reply, 2, &split, true), 1);
        let lo = split.slice(0).unwrap();
        let reply = FlowKey::v4([198, 18, 0, 11], [198, 18, 0, 2], 6, 8080, *lo.end());
        assert_eq!(owner(&reply, 2, &split, true), 0);
        assert_eq!(owner(&reply, 1, &split, true), 0);
    }
}
