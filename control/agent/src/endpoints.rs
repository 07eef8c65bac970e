//! Operator endpoint states (draining, down) and the overlay writes that carry them.
//!
//! The operator sets a state per endpoint address; the agent keeps it here and works out
//! which words of the data plane's health overlay to store so the workers see it. This module
//! does no I/O: each call returns the writes, and the link (`link::overlay`) performs them on
//! the overlay it holds. Calls in order of life: [`EndpointStates::new`] at start,
//! [`connected`](EndpointStates::connected) for every new data plane (a fresh, all-active
//! overlay), [`publish`](EndpointStates::publish) before each new image is sent,
//! [`live`](EndpointStates::live) when the data plane runs a generation, and
//! [`set`](EndpointStates::set) for each operator request.
//!
//! # Invariants
//! * `desired` holds only addresses that have a slot in `slots` (the published generation's
//!   map) and only states other than active; a publish drops the addresses its config removed.
//! * `written` is every overlay word this agent has stored as non-zero since the data plane
//!   connected, by slot. The overlay word of a slot outside `written` is zero.
//! * A slot freed by a publish keeps its word until the data plane runs that publish: the
//!   previous image, still serving until then, may point at it, and a drained endpoint must
//!   not take new flows in that window. The new config's endpoint that reuses the slot then
//!   takes no new flows for that window instead, which is safe.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    net::SocketAddr,
};

use strait_compile::HealthSlots;
use strait_shm::EndpointState;

/// One overlay store: the word of `slot` becomes `state`.
pub(crate) type Write = (u32, EndpointState);

/// An address that is no endpoint of the published config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotAnEndpoint;

/// What [`EndpointStates::set`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SetOutcome {
    /// The endpoint's slot.
    pub(crate) slot: u32,
    /// Its state before.
    pub(crate) previous: EndpointState,
    /// The overlay stores to perform.
    pub(crate) writes: Vec<Write>,
}

/// The operator's endpoint states and what the overlay holds of them (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct EndpointStates {
    desired: BTreeMap<SocketAddr, EndpointState>,
    slots: HealthSlots,
    /// Generation of `slots`.
    generation: u64,
    /// The newest generation the connected data plane runs.
    live: u64,
    written: HashMap<u32, EndpointState>,
    /// Slots freed by publishes the data plane does not run yet.
    freed: HashSet<u32>,
}

impl EndpointStates {
    /// The states of a restored config (`desired` may name addresses it no longer has; they
    /// are dropped). No data plane is connected yet.
    pub(crate) fn new(
        generation: u64,
        slots: HealthSlots,
        mut desired: BTreeMap<SocketAddr, EndpointState>,
    ) -> Self {
        desired.retain(|addr, state| slots.get(addr).is_some() && *state != EndpointState::HEALTHY);
        EndpointStates {
            desired,
            slots,
            generation,
            ..Default::default()
        }
    }

    /// The generation whose endpoints these are.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// The non-active states, by address: what is worth persisting.
    pub(crate) fn desired(&self) -> &BTreeMap<SocketAddr, EndpointState> {
        &self.desired
    }

    /// Every endpoint with its slot and state, ordered by address.
    pub(crate) fn list(&self) -> Vec<(SocketAddr, u32, EndpointState)> {
        let mut all: Vec<_> = self
            .slots
            .iter()
            .map(|(addr, slot)| (addr, slot, self.state_of(&addr)))
            .collect();
        all.sort_unstable_by_key(|&(addr, _, _)| addr);
        all
    }

    fn state_of(&self, addr: &SocketAddr) -> EndpointState {
        self.desired.get(addr).copied().unwrap_or_default()
    }

    /// A data plane connected with a fresh overlay, running `generation`: every non-active
    /// state is to be written.
    pub(crate) fn connected(&mut self, generation: u64) -> Vec<Write> {
        self.written.clear();
        self.freed.clear();
        self.live = generation;
        self.sync()
    }

    /// The data plane runs `generation`: slots freed by earlier publishes may be reset.
    pub(crate) fn live(&mut self, generation: u64) -> Vec<Write> {
        self.live = self.live.max(generation);
        self.sync()
    }

    /// A new generation with slot map `slots`, before its image is sent. Returns the overlay
    /// stores, and whether an address with a state left the config (the persisted states
    /// are then stale).
    pub(crate) fn publish(&mut self, generation: u64, slots: HealthSlots) -> (Vec<Write>, bool) {
        let before = self.desired.len();
        for (addr, _) in self.desired.iter() {
            if slots.get(addr).is_none() {
                self.freed.extend(self.slots.get(addr));
            }
        }
        self.desired.retain(|addr, _| slots.get(addr).is_some());
        let forgot = self.desired.len() != before;
        self.slots = slots;
        self.generation = generation;
        (self.sync(), forgot)
    }

    /// Sets the state of the endpoint at `addr`.
    pub(crate) fn set(
        &mut self,
        addr: SocketAddr,
        state: EndpointState,
    ) -> Result<SetOutcome, NotAnEndpoint> {
        let slot = self.slots.get(&addr).ok_or(NotAnEndpoint)?;
        let previous = self.state_of(&addr);
        if state == EndpointState::HEALTHY {
            self.desired.remove(&addr);
        } else {
            self.desired.insert(addr, state);
        }
        Ok(SetOutcome {
            slot,
            previous,
            writes: self.sync(),
        })
    }

    /// The stores that bring the overlay to `desired`, recorded in `written` as done.
    fn sync(&mut self) -> Vec<Write> {
        let target: HashMap<u32, EndpointState> = self
            .desired
            .iter()
            .filter_map(|(addr, &state)| Some((self.slots.get(addr)?, state)))
            .collect();
        let settled = self.live >= self.generation;
        if settled {
            self.freed.clear();
        }
        let mut writes: Vec<Write> = target
            .iter()
            .filter(|&(slot, state)| self.written.get(slot) != Some(state))
            .map(|(&slot, &state)| (slot, state))
            .collect();
        self.written.retain(|slot, _| {
            if target.contains_key(slot) || self.freed.contains(slot) {
                return true;
            }
            writes.push((*slot, EndpointState::HEALTHY));
            false
        });
        self.written.extend(
            writes
                .iter()
                .filter(|(_, s)| *s != EndpointState::HEALTHY)
                .map(|&(slot, state)| (slot, state)),
        );
        writes.sort_unstable_by_key(|&(slot, _)| slot);
        writes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACTIVE: EndpointState = EndpointState::HEALTHY;
    const DRAINING: EndpointState = EndpointState {
        unhealthy: false,
        draining: true,
    };
    const DOWN: EndpointState = EndpointState {
        unhealthy: true,
        draining: false,
    };

    fn ep(n: u8) -> SocketAddr {
        SocketAddr::from(([198, 18, 0, n], 8080))
    }

    fn slots(eps: &[u8]) -> HealthSlots {
        let mut s = HealthSlots::default();
        s.assign(eps.iter().map(|&n| ep(n)));
        s
    }

    #[test]
    fn a_set_state_is_written_once_and_listed() {
        let mut st = EndpointStates::new(1, slots(&[1, 2, 3]), BTreeMap::new());
        assert!(st.connected(1).is_empty(), "a fresh overlay is all active");
        let out = st.set(ep(3), DRAINING).unwrap();
        assert_eq!((out.slot, out.previous), (2, ACTIVE));
        assert_eq!(out.writes, [(2, DRAINING)]);
        assert_eq!(st.set(ep(3), DRAINING).unwrap().writes, []);
        assert_eq!(st.set(ep(1), DOWN).unwrap().writes, [(0, DOWN)]);
        assert_eq!(
            st.list(),
            [(ep(1), 0, DOWN), (ep(2), 1, ACTIVE), (ep(3), 2, DRAINING)]
        );
        let out = st.set(ep(3), ACTIVE).unwrap();
        assert_eq!((out.previous, out.writes), (DRAINING, vec![(2, ACTIVE)]));
        assert_eq!(st.set(ep(9), DRAINING), Err(NotAnEndpoint));
        assert_eq!(st.desired().len(), 1);
    }

    #[test]
    fn a_new_data_plane_gets_every_state_again() {
        let desired = BTreeMap::from([(ep(2), DRAINING), (ep(7), DOWN)]);
        let mut st = EndpointStates::new(4, slots(&[1, 2]), desired);
        assert_eq!(st.desired().len(), 1, "ep(7) is no longer in the config");
        assert_eq!(st.connected(4), [(1, DRAINING)]);
        assert_eq!(st.connected(3), [(1, DRAINING)]);
        assert_eq!(st.live(4), []);
    }

    #[test]
    fn states_follow_their_address_across_publishes() {
        let mut st = EndpointStates::new(1, slots(&[1, 2, 3]), BTreeMap::new());
        st.connected(1);
        st.set(ep(2), DRAINING).unwrap();
        st.set(ep(3), DOWN).unwrap();
        // ep(2) stays (slot 1), ep(3) goes and ep(4) takes its slot 2.
        let mut next = st.slots.clone();
        next.assign([ep(1), ep(2), ep(4)]);
        let (writes, forgot) = st.publish(2, next);
        assert!(forgot);
        assert_eq!(
            writes,
            [],
            "slot 1 holds its state; slot 2 waits for generation 2"
        );
        assert_eq!(st.list()[2], (ep(4), 2, ACTIVE));
        assert_eq!(st.live(1), []);
        assert_eq!(
            st.live(2),
            [(2, ACTIVE)],
            "the old image is gone: slot 2 resets"
        );
        assert_eq!(st.desired().keys().collect::<Vec<_>>(), [&ep(2)]);
        // ep(3) comes back as a new endpoint: active.
        let mut next = st.slots.clone();
        next.assign([ep(1), ep(2), ep(4), ep(3)]);
        assert_eq!(st.publish(3, next), (vec![], false));
        assert_eq!(st.list()[2], (ep(3), 3, ACTIVE));
    }

    #[test]
    fn a_freed_slot_set_again_before_the_switch_is_not_reset() {
        let mut st = EndpointStates::new(1, slots(&[1, 2]), BTreeMap::new());
        st.connected(1);
        st.set(ep(2), DRAINING).unwrap();
        let mut next = st.slots.clone();
        next.assign([ep(1), ep(5)]);
        st.publish(2, next);
        // The operator drains ep(5), which took ep(2)'s slot, before generation 2 is live.
        assert_eq!(st.set(ep(5), DOWN).unwrap().writes, [(1, DOWN)]);
        assert_eq!(st.live(2), []);
        assert_eq!(st.set(ep(5), ACTIVE).unwrap().writes, [(1, ACTIVE)]);
    }
}
