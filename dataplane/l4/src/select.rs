//! Backend choice for a new flow: the Maglev key ([`flow_hash`]) and a health-aware lookup
//! ([`choose_backend`]).
//!
//! # The Maglev key
//! [`flow_hash`] is xxh3-64 with the fixed seed [`FLOW_HASH_SEED`] over
//! `src (16) ‖ dst (16) ‖ src_port (BE) ‖ dst_port (BE) ‖ proto`, addresses in the
//! [`FlowKey`] form (IPv4-mapped for IPv4). It is the same on every core, node and run, so
//! every balancer in a fleet sends a flow to the same backend without sharing state.
//! [`flow_hash_for`] applies a service's `NO_SRC_PORT_HASH` flag by hashing port 0.
//!
//! # Choice, and why it moves no healthy flow
//! [`choose_backend`] takes the service's Maglev entry `table[hash % M]`. If that backend does
//! not accept new flows (weight 0, unhealthy or draining), it probes up to [`MAX_PROBES`]
//! further entries `table[mix(hash, k) % M]`, `k = 1, 2, …`, and takes the first backend that
//! accepts; if none does, it scans the backend list from `hash % N` as a last resort. Every step
//! is a pure function of `(table, hash, health)`, so:
//! * a flow whose own entry accepts keeps its backend whatever happens to other backends;
//! * the flows of a failed backend spread over the others in proportion to their Maglev slots;
//! * `None` means no backend of the service accepts new flows (or the service index is bad).
//!
//! Existing flows are pinned by conntrack, not here: a draining backend keeps its flows.

use core::net::{IpAddr, SocketAddr};
use strait_packet::FlowKey;
use strait_table::{Image, L4Backend, L4Service, l4_flags};
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Seed of [`flow_hash`]. Changing it moves every flow of every service: treat it as ABI.
pub const FLOW_HASH_SEED: u64 = 0x5354_5241_4954_464c; // "STRAITFL"

/// Rehashed Maglev entries tried after the first before falling back to a scan.
pub const MAX_PROBES: u32 = 32;

/// The health of a backend as the health overlay reports it (mirrors the overlay's
/// `EndpointState` without depending on it). The default is healthy and active.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Health {
    /// Failed health checks: take no new flows.
    pub unhealthy: bool,
    /// Being drained: keep existing flows, take no new ones.
    pub draining: bool,
}

impl Health {
    /// Healthy and active.
    pub const HEALTHY: Health = Health {
        unhealthy: false,
        draining: false,
    };

    /// True when the backend may take new flows.
    pub const fn accepts_new(self) -> bool {
        !self.unhealthy && !self.draining
    }
}

/// The Maglev key of a flow (see the module documentation for the exact bytes hashed).
pub fn flow_hash(flow: &FlowKey) -> u64 {
    let mut b = [0u8; 37];
    b[..16].copy_from_slice(&flow.src);
    b[16..32].copy_from_slice(&flow.dst);
    b[32..34].copy_from_slice(&flow.src_port.to_be_bytes());
    b[34..36].copy_from_slice(&flow.dst_port.to_be_bytes());
    b[36] = flow.proto;
    xxh3_64_with_seed(&b, FLOW_HASH_SEED)
}

/// [`flow_hash`] as `service` wants it: with source port 0 under `NO_SRC_PORT_HASH`, so all
/// flows of a client go to one backend.
pub fn flow_hash_for(service: &L4Service, flow: &FlowKey) -> u64 {
    if service.has_flag(l4_flags::NO_SRC_PORT_HASH) {
        flow_hash(&FlowKey {
            src_port: 0,
            ..*flow
        })
    } else {
        flow_hash(flow)
    }
}

/// The `k`-th rehash of `hash` (splitmix64 finaliser over `hash + k·φ`).
fn rehash(hash: u64, k: u32) -> u64 {
    let mut z = hash.wrapping_add(u64::from(k).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The backend for a new flow of service `service` (an index into `image.l4_services()`):
/// an index into `image.l4_backends_of(service)`, or `None` if no backend accepts new flows.
/// `health` maps a backend's `health_slot` to its state. See the module documentation.
pub fn choose_backend<B, H>(image: &Image<B>, service: u32, hash: u64, health: H) -> Option<u32>
where
    B: AsRef<[u8]>,
    H: Fn(u32) -> Health,
{
    let svc = image.l4_services().get(usize::try_from(service).ok()?)?;
    let backends = image.l4_backends_of(svc);
    let table = image.maglev_of(svc);
    let accepts = |i: u32| {
        backends
            .get(i as usize)
            .is_some_and(|b| b.weight > 0 && health(b.health_slot).accepts_new())
    };
    let m = table.len() as u64;
    if m > 0 {
        let first = table[(hash % m) as usize];
        if accepts(first) {
            return Some(first);
        }
        for k in 1..=MAX_PROBES {
            let entry = table[(rehash(hash, k) % m) as usize];
            if accepts(entry) {
                return Some(entry);
            }
        }
    }
    // Last resort (most backends down, or no table): a deterministic scan.
    let n = u32::try_from(backends.len()).ok()?;
    if n == 0 {
        return None;
    }
    let start = (hash % u64::from(n)) as u32;
    (0..n).map(|i| (start + i) % n).find(|&i| accepts(i))
}

/// The backend record `index` of `service` (as [`choose_backend`] returns it).
pub fn backend<B: AsRef<[u8]>>(image: &Image<B>, service: u32, index: u32) -> Option<&L4Backend> {
    let svc = image.l4_services().get(usize::try_from(service).ok()?)?;
    image.l4_backends_of(svc).get(usize::try_from(index).ok()?)
}

/// Where full NAT sends a flow: the backend's address and port (0 = the service's port).
/// `None` if the backend's family code is bad.
pub fn backend_target(service: &L4Service, backend: &L4Backend) -> Option<SocketAddr> {
    let ip: IpAddr = backend.addr()?;
    Some(SocketAddr::new(ip, backend.port_for(service.port)))
}
