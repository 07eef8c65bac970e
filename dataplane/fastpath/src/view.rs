//! What a worker derives from one table generation before using it: the VIP index and the
//! set of addresses the node answers for.
//!
//! # Invariants
//! * A [`View`] belongs to the image whose generation it records; the pipeline rebuilds it
//!   when the generation it is handed differs, before processing any frame with the new one.
//! * `owned` holds every VIP of the image and the node's SNAT addresses, in flow-key form.
//! * `modes[i]` is `l4_services()[i].mode()` of the image, for every service index `i`.

use rustc_hash::FxHashSet;
use strait_l4::ServiceMap;
use strait_packet::flow::v4_mapped;
use strait_table::{Image, L4Backend, L4Mode, L4Service};

use crate::NodeConfig;

/// The per-generation index of a worker.
#[derive(Debug)]
pub(crate) struct View {
    pub(crate) generation: u64,
    pub(crate) services: ServiceMap,
    pub(crate) owned: FxHashSet<[u8; 16]>,
    /// The mode of each service, by index: a packet of a known connection reads its
    /// service's mode here instead of in the image.
    pub(crate) modes: Vec<Option<L4Mode>>,
}

/// The flow-key form of an address stored in a table record (`family` 4 or 6).
pub(crate) fn record_addr(addr: &[u8; 16], family: u8) -> [u8; 16] {
    if family == strait_table::Family::V4.code() {
        let [a, b, c, d, ..] = *addr;
        v4_mapped([a, b, c, d])
    } else {
        *addr
    }
}

/// The flow-key form of a backend's address.
pub(crate) fn backend_addr(b: &L4Backend) -> [u8; 16] {
    record_addr(&b.addr, b.family)
}

impl View {
    pub(crate) fn new<B: AsRef<[u8]>>(image: &Image<B>, node: &NodeConfig) -> View {
        let mut owned: FxHashSet<[u8; 16]> = image
            .l4_services()
            .iter()
            .map(|s| record_addr(&s.vip, s.family))
            .collect();
        owned.extend(node.snat_v4.iter().map(|a| v4_mapped(a.octets())));
        owned.extend(node.snat_v6.iter().map(|a| a.octets()));
        View {
            generation: image.generation(),
            services: ServiceMap::new(image),
            owned,
            modes: image.l4_services().iter().map(|s| s.mode()).collect(),
        }
    }

    /// A view of no tables: the node still answers for its SNAT addresses.
    pub(crate) fn empty(node: &NodeConfig) -> View {
        let mut owned = FxHashSet::default();
        owned.extend(node.snat_v4.iter().map(|a| v4_mapped(a.octets())));
        owned.extend(node.snat_v6.iter().map(|a| a.octets()));
        View {
            generation: 0,
            services: ServiceMap::empty(),
            owned,
            modes: Vec::new(),
        }
    }

    /// The mode of service `index` of `image` (`None` if there is no such service; `Some(None)`
    /// for a mode this build does not know), from `modes` when `image` is this view's.
    #[inline]
    pub(crate) fn mode<B: AsRef<[u8]>>(
        &self,
        image: &Image<B>,
        index: u32,
    ) -> Option<Option<L4Mode>> {
        if image.generation() == self.generation {
            self.modes.get(index as usize).copied()
        } else {
            image.l4_services().get(index as usize).map(L4Service::mode)
        }
    }
}
