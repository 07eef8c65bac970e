//! [`ServiceMap`]: which L4 service a client→VIP packet is addressed to.
//!
//! Built once per table generation, off the packet path, from a validated [`Image`]; then read
//! by one worker without locks or allocation. It is an open-addressing table (linear probing,
//! power-of-two capacity, load factor ≤ ½) keyed by the 20 bytes
//! `vip (16, IPv4-mapped for IPv4) ‖ port (BE) ‖ protocol ‖ family`, the same form a
//! [`FlowKey`]'s destination has, so a lookup needs no conversion.
//!
//! # Invariants
//! * The map holds an index into `image.l4_services()` of the image it was built from; use it
//!   only with that image (compare [`ServiceMap::generation`] with `Image::generation`).
//! * If two services share `(vip, family, port, protocol)` (the agent should refuse such a
//!   config), the first one in the image wins and [`ServiceMap::duplicates`] counts the rest.
//! * Services whose family or protocol code is unknown are skipped (a validated image has none).
//! * There is always an empty slot, so every lookup terminates within `capacity` probes.

use strait_packet::flow::v4_mapped;
use strait_packet::{Family as FlowFamily, FlowKey};
use strait_table::{Family, Image, L4Service, Protocol};
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Seed of the slot hash (not the Maglev key: see [`crate::flow_hash`]).
const SLOT_SEED: u64 = 0x5354_5241_4954_5356; // "STRAITSV"
/// Marks an empty slot.
const EMPTY: u32 = u32::MAX;
const EMPTY_SLOT: Slot = Slot {
    key: [0; 20],
    service: EMPTY,
};

type Key = [u8; 20];

#[derive(Clone, Copy, Debug)]
struct Slot {
    key: Key,
    service: u32,
}

/// Maps `(vip, family, port, protocol)` to the index of an L4 service in one image.
#[derive(Clone, Debug)]
pub struct ServiceMap {
    slots: Box<[Slot]>,
    mask: usize,
    len: usize,
    duplicates: usize,
    generation: u64,
}

fn key(addr: &[u8; 16], family: u8, port: u16, protocol: u8) -> Key {
    let mut k = [0u8; 20];
    k[..16].copy_from_slice(addr);
    k[16..18].copy_from_slice(&port.to_be_bytes());
    k[18] = protocol;
    k[19] = family;
    k
}

/// The lookup key of a service record, `None` for an unknown family or protocol code.
fn service_key(svc: &L4Service) -> Option<Key> {
    Protocol::from_code(svc.protocol)?;
    let addr = match Family::from_code(svc.family)? {
        Family::V4 => {
            let [a, b, c, d, ..] = svc.vip;
            v4_mapped([a, b, c, d])
        }
        Family::V6 => svc.vip,
    };
    Some(key(&addr, svc.family, svc.port, svc.protocol))
}

fn flow_key(flow: &FlowKey) -> Key {
    let family = match flow.family {
        FlowFamily::V4 => Family::V4.code(),
        FlowFamily::V6 => Family::V6.code(),
    };
    key(&flow.dst, family, flow.dst_port, flow.proto)
}

fn slot_hash(k: &Key) -> usize {
    // Truncation is fine: only the low bits select a slot.
    xxh3_64_with_seed(k, SLOT_SEED) as usize
}

impl ServiceMap {
    /// A map with no services (before any table is installed), for generation 0.
    pub fn empty() -> Self {
        ServiceMap::with_capacity(8, 0)
    }

    /// An empty map of `capacity` (a power of two) slots.
    fn with_capacity(capacity: usize, generation: u64) -> Self {
        ServiceMap {
            slots: vec![EMPTY_SLOT; capacity].into_boxed_slice(),
            mask: capacity - 1,
            len: 0,
            duplicates: 0,
            generation,
        }
    }

    /// Indexes every L4 service of `image`. Allocates once; never fails.
    pub fn new<B: AsRef<[u8]>>(image: &Image<B>) -> Self {
        let services = image.l4_services();
        let capacity = (services.len() * 2).next_power_of_two().max(8);
        let mut map = ServiceMap::with_capacity(capacity, image.generation());
        for (index, svc) in (0u32..).zip(services) {
            if let Some(k) = service_key(svc) {
                map.insert(k, index);
            }
        }
        map
    }

    fn insert(&mut self, k: Key, service: u32) {
        let mut i = slot_hash(&k) & self.mask;
        loop {
            let slot = &mut self.slots[i];
            if slot.service == EMPTY {
                *slot = Slot { key: k, service };
                self.len += 1;
                return;
            }
            if slot.key == k {
                self.duplicates += 1;
                return;
            }
            i = (i + 1) & self.mask;
        }
    }

    /// The service a client→VIP packet with this flow key is addressed to: an index into
    /// `image.l4_services()`. `None` if no service listens on the destination.
    pub fn lookup(&self, flow: &FlowKey) -> Option<u32> {
        let k = flow_key(flow);
        let mut i = slot_hash(&k) & self.mask;
        // Bounded by the capacity; in practice one or two probes at load ≤ ½.
        for _ in 0..self.slots.len() {
            let slot = self.slots.get(i)?;
            if slot.service == EMPTY {
                return None;
            }
            if slot.key == k {
                return Some(slot.service);
            }
            i = (i + 1) & self.mask;
        }
        None
    }

    /// Number of services indexed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if the image had no usable L4 service.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Services left out because an earlier one had the same key.
    pub fn duplicates(&self) -> usize {
        self.duplicates
    }

    /// The generation of the image this map was built from.
    pub fn generation(&self) -> u64 {
        self.generation
    }
}
