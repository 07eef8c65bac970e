//! Health-overlay slots: a stable small integer per endpoint.
//!
//! The health overlay is an array of per-endpoint state words that the agent writes and the
//! workers read. An endpoint keeps its slot for as long as it appears in consecutive configs,
//! so a new generation never points a worker at another endpoint's state. An endpoint that
//! disappears frees its slot; a freed slot is reused lowest-first by the next new endpoint.
//! The map is persisted with the config so a restarted agent compiles the same image.

use std::{
    collections::{BTreeMap, HashMap},
    net::SocketAddr,
};

/// The slot map, keyed by endpoint address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HealthSlots {
    slots: HashMap<SocketAddr, u32>,
}

impl HealthSlots {
    /// Restores a persisted map; entries whose key does not parse are dropped.
    pub fn from_map(map: BTreeMap<String, u32>) -> Self {
        let slots = map
            .into_iter()
            .filter_map(|(k, v)| Some((k.parse().ok()?, v)))
            .collect();
        HealthSlots { slots }
    }

    /// The map to persist.
    pub fn to_map(&self) -> BTreeMap<String, u32> {
        self.slots
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect()
    }

    /// Number of endpoints holding a slot.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when no endpoint holds a slot.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Re-assigns slots for the endpoints of a new config: kept endpoints keep theirs, gone
    /// ones free theirs, new ones take the lowest free slots. Returns the slot of every
    /// endpoint through [`Assigned::get`].
    pub fn assign(&mut self, endpoints: impl IntoIterator<Item = SocketAddr>) -> Assigned<'_> {
        let mut next: HashMap<SocketAddr, u32> = HashMap::new();
        let mut fresh = Vec::new();
        for ep in endpoints {
            if next.contains_key(&ep) {
                continue;
            }
            match self.slots.get(&ep) {
                Some(&slot) => {
                    next.insert(ep, slot);
                }
                None => {
                    next.insert(ep, u32::MAX);
                    fresh.push(ep);
                }
            }
        }
        let mut used: Vec<u32> = next.values().copied().filter(|&s| s != u32::MAX).collect();
        used.sort_unstable();
        let mut used = used.into_iter().peekable();
        let mut candidate = 0u32;
        for ep in fresh {
            while used.peek() == Some(&candidate) {
                used.next();
                candidate += 1;
            }
            next.insert(ep, candidate);
            candidate += 1;
        }
        self.slots = next;
        Assigned { slots: &self.slots }
    }
}

/// The slots of one config's endpoints.
#[derive(Debug)]
pub struct Assigned<'a> {
    slots: &'a HashMap<SocketAddr, u32>,
}

impl Assigned<'_> {
    /// The slot of an endpoint that was passed to [`HealthSlots::assign`].
    pub fn get(&self, ep: &SocketAddr) -> u32 {
        self.slots.get(ep).copied().unwrap_or(u32::MAX)
    }

    /// One more than the highest slot in use (the overlay capacity this config needs).
    pub fn span(&self) -> u32 {
        self.slots.values().max().map_or(0, |m| m + 1)
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
        let a = slots.assign([ep(1), ep(2), ep(3), ep(2)]);
        assert_eq!((a.get(&ep(1)), a.get(&ep(2)), a.get(&ep(3))), (0, 1, 2));
        assert_eq!(a.span(), 3);
        // ep(2) goes, ep(4) comes: ep(4) takes the freed slot 1, the others stay.
        let a = slots.assign([ep(3), ep(4), ep(1)]);
        assert_eq!((a.get(&ep(1)), a.get(&ep(3)), a.get(&ep(4))), (0, 2, 1));
        assert_eq!(a.get(&ep(2)), u32::MAX);
        let restored = HealthSlots::from_map(slots.to_map());
        assert_eq!(restored, slots);
    }
}
