//! Health-overlay slots: a stable small integer per endpoint.
//!
//! The health overlay is an array of per-endpoint state words that the agent writes and the
//! workers read. An endpoint keeps its slot for as long as it appears in consecutive configs,
//! so a new generation never points a worker at another endpoint's state. An endpoint that
//! disappears frees its slot; a freed slot is reused lowest-first by the next new endpoint.
//!
//! Slots are handed out as a list in the order of [`crate::endpoints`], which is also how they
//! are persisted: a restarted agent rebuilds the map from the config and that list. A push that
//! lists the same endpoints in the same order as the last one (the common case) costs one
//! comparison per endpoint; one that keeps the endpoint set, one lookup per endpoint.
//!
//! The map and the last list are shared by clones (copied on write), so the agent can keep a
//! copy to fall back on for the price of two reference counts.

use std::{net::SocketAddr, sync::Arc};

use rustc_hash::FxHashMap;

/// The slot map, keyed by endpoint address.
#[derive(Clone, Debug, Default)]
pub struct HealthSlots {
    slots: Arc<FxHashMap<SocketAddr, u32>>,
    /// The endpoints of the last [`HealthSlots::assign`] and the slots it returned.
    last: Arc<(Vec<SocketAddr>, Vec<u32>)>,
}

/// Equal when the maps are: the last list is a shortcut, not state.
impl PartialEq for HealthSlots {
    fn eq(&self, other: &Self) -> bool {
        self.slots == other.slots
    }
}

impl Eq for HealthSlots {}

impl HealthSlots {
    /// Rebuilds the map from endpoints and the slots [`HealthSlots::assign`] gave them.
    /// Returns `None` when the lists do not fit together (a state file from another config).
    pub fn restore(endpoints: impl IntoIterator<Item = SocketAddr>, slots: &[u32]) -> Option<Self> {
        let mut map = FxHashMap::default();
        map.reserve(slots.len());
        let mut it = slots.iter();
        for ep in endpoints {
            let slot = *it.next()?;
            if *map.entry(ep).or_insert(slot) != slot {
                return None;
            }
        }
        it.next().is_none().then(|| HealthSlots {
            slots: Arc::new(map),
            last: Arc::default(),
        })
    }

    /// Number of endpoints holding a slot.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when no endpoint holds a slot.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The slot of `endpoint`, if it holds one.
    pub fn get(&self, endpoint: &SocketAddr) -> Option<u32> {
        self.slots.get(endpoint).copied()
    }

    /// Every endpoint and its slot, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (SocketAddr, u32)> + '_ {
        self.slots.iter().map(|(&ep, &slot)| (ep, slot))
    }

    /// Re-assigns slots for the endpoints of a new config and returns each endpoint's slot, in
    /// order: kept endpoints keep theirs, gone ones free theirs, new ones take the lowest free
    /// slots. An address listed twice gets one slot.
    pub fn assign<I>(&mut self, endpoints: I) -> Vec<u32>
    where
        I: IntoIterator<Item = SocketAddr>,
        I::IntoIter: Clone,
    {
        let endpoints = endpoints.into_iter();
        // Compared as they come: the common case allocates nothing but the answer.
        if endpoints.clone().eq(self.last.0.iter().copied()) {
            return self.last.1.clone();
        }
        let endpoints: Vec<SocketAddr> = endpoints.collect();
        let out = self.reassign(&endpoints);
        self.last = Arc::new((endpoints, out.clone()));
        out
    }

    fn reassign(&mut self, endpoints: &[SocketAddr]) -> Vec<u32> {
        let mut out: Vec<u32> = endpoints
            .iter()
            .map(|ep| self.slots.get(ep).copied().unwrap_or(u32::MAX))
            .collect();
        let mut seen = vec![false; self.slots.len().max(1)];
        let mut kept = 0usize;
        let mut missing = false;
        for &slot in &out {
            match seen.get_mut(slot as usize) {
                Some(s) if !*s => {
                    *s = true;
                    kept += 1;
                }
                Some(_) => {}
                None if slot == u32::MAX => missing = true,
                // Slots are dense below the map's size, so this is only a slot past it.
                None => {
                    seen.resize(slot as usize + 1, false);
                    seen[slot as usize] = true;
                    kept += 1;
                }
            }
        }
        if !missing && kept == self.slots.len() {
            return out; // The same endpoint set: nothing to change.
        }
        // Rebuild: keep what is still listed, give new endpoints the lowest free slots.
        let mut next = FxHashMap::default();
        next.reserve(endpoints.len());
        for (ep, &slot) in endpoints.iter().zip(&out) {
            if slot != u32::MAX {
                next.insert(*ep, slot);
            }
        }
        let mut free = (0u32..).filter(|&s| !seen.get(s as usize).copied().unwrap_or(false));
        for (ep, slot) in endpoints.iter().zip(out.iter_mut()) {
            if *slot == u32::MAX {
                *slot = *next
                    .entry(*ep)
                    .or_insert_with(|| free.next().expect("slots are unbounded"));
            }
        }
        self.slots = Arc::new(next);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(n: u8) -> SocketAddr {
        SocketAddr::from(([198, 18, 0, n], 80))
    }

    #[test]
    fn kept_endpoints_keep_their_slots_and_freed_slots_are_reused() {
        let mut slots = HealthSlots::default();
        assert_eq!(slots.assign([ep(1), ep(2), ep(3), ep(2)]), [0, 1, 2, 1]);
        // The same list again (the shortcut), then a copy that changes alone.
        let before = slots.clone();
        assert_eq!(slots.assign([ep(1), ep(2), ep(3), ep(2)]), [0, 1, 2, 1]);
        let mut other = slots.clone();
        assert_eq!(other.assign([ep(9)]), [0]);
        assert_eq!((slots.len(), other.len()), (3, 1));
        assert_eq!(slots, before);
        // Unchanged set, other order: the same slots.
        assert_eq!(slots.assign([ep(3), ep(1), ep(2)]), [2, 0, 1]);
        // ep(2) goes, ep(4) and ep(5) come: ep(4) takes the freed slot 1, ep(5) the next one.
        let order = [ep(3), ep(4), ep(1), ep(5), ep(4)];
        let got = slots.assign(order);
        assert_eq!(got, [2, 1, 0, 3, 1]);
        assert_eq!(slots.len(), 4);
        let restored = HealthSlots::restore(order, &got).unwrap();
        assert_eq!(restored, slots);
        assert_eq!((slots.get(&ep(4)), slots.get(&ep(2))), (Some(1), None));
        let mut all: Vec<_> = slots.iter().collect();
        all.sort();
        assert_eq!(all, [(ep(1), 0), (ep(3), 2), (ep(4), 1), (ep(5), 3)]);
        assert!(
            HealthSlots::restore(order, &got[..3]).is_none(),
            "too few slots"
        );
        assert!(
            HealthSlots::restore([ep(1), ep(1)], &[0, 1]).is_none(),
            "one address, two slots"
        );
    }

    #[test]
    fn a_removed_endpoint_alone_is_noticed() {
        let mut slots = HealthSlots::default();
        slots.assign([ep(1), ep(2)]);
        assert_eq!(slots.assign([ep(1), ep(1)]), [0, 0]);
        assert_eq!(slots.len(), 1, "ep(2) freed its slot");
        assert_eq!(slots.assign([ep(3), ep(1)]), [1, 0]);
    }
}
