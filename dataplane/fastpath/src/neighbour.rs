//! Neighbours: which MAC an on-link IP address has.
//!
//! [`Neighbours`] is the node's table, shared by every worker: entries come from static
//! configuration (`--neighbour`, backend MACs in the image) and from ARP / neighbour
//! discovery any worker sees. Workers never read it on the packet path: each keeps a
//! [`NeighbourCache`], a private copy it refreshes at the start of a burst when the table's
//! version has moved (one relaxed atomic load per burst when nothing changed).
//!
//! # Invariants
//! * Addresses are keyed in the 16-byte flow-key form (IPv4-mapped for IPv4).
//! * The version only grows, and grows on every change of an entry; a cache whose version
//!   equals the table's holds exactly the table's entries.
//! * A static entry is never replaced by a learned one. A learned one is asked for again every
//!   [`REFRESH_NS`] (by worker 0), and the answer replaces it if the MAC changed.
//! * Writers hold the lock for one map operation; learning happens at ARP/ND rates, not
//!   packet rates, and only when an entry changes.
//! * A cache's `hot` array (the per-packet [`NeighbourCache::next_hop_macs`]) only ever holds
//!   entries equal to the cache's map: every change of the map clears the slot of that
//!   address (or all of them, on refresh), and a miss fills its slot from the map. Each holds
//!   the address's MAC followed by the cache's fixed source MAC, as a frame's first 12 bytes.

use std::sync::{
    Arc, Mutex, PoisonError,
    atomic::{AtomicU64, Ordering},
};

use rustc_hash::FxHashMap;
use strait_packet::ethernet::Address;

/// How often (ns) a worker may ask again for the same unresolved address.
pub const REQUEST_INTERVAL_NS: u64 = 500_000_000;

/// How often (ns) worker 0 asks again for every learned address, so that a neighbour whose
/// MAC changed (a replaced host keeping its IP, a failover that sent no gratuitous ARP) is
/// learned anew within this time rather than never (as Linux's base reachable time).
pub const REFRESH_NS: u64 = 30_000_000_000;

/// One neighbour entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The MAC address.
    pub mac: Address,
    /// True for configured entries, which learning does not override.
    pub fixed: bool,
}

/// The node's neighbour table (see the module documentation).
#[derive(Debug, Default)]
pub struct Neighbours {
    map: Mutex<FxHashMap<[u8; 16], Entry>>,
    version: AtomicU64,
}

impl Neighbours {
    /// An empty table.
    pub fn new() -> Arc<Neighbours> {
        Arc::new(Neighbours::default())
    }

    fn update(&self, ip: [u8; 16], entry: Entry) -> bool {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        match map.get(&ip) {
            Some(old) if *old == entry => false,
            Some(old) if old.fixed && !entry.fixed => false,
            _ => {
                map.insert(ip, entry);
                self.version.fetch_add(1, Ordering::Release);
                true
            }
        }
    }

    /// Records a configured entry. Returns true if the table changed.
    pub fn set_static(&self, ip: [u8; 16], mac: Address) -> bool {
        self.update(ip, Entry { mac, fixed: true })
    }

    /// Records what ARP/ND said. Returns true if the table changed.
    pub fn learn(&self, ip: [u8; 16], mac: Address) -> bool {
        self.update(ip, Entry { mac, fixed: false })
    }

    /// The current version.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// A copy of every entry, with the version it corresponds to.
    pub fn snapshot(&self) -> (u64, FxHashMap<[u8; 16], Entry>) {
        let map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        (self.version(), map.clone())
    }

    /// The MAC of `ip`, if known (control path; workers use their cache).
    pub fn get(&self, ip: &[u8; 16]) -> Option<Address> {
        let map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(ip).map(|e| e.mac)
    }
}

/// Slots of a cache's direct-mapped array of recent next hops (a power of two).
const HOT: usize = 64;

/// The `hot` slot of `ip`: a multiplicative hash of its two halves (the low half holds all of
/// an IPv4-mapped address).
#[inline]
fn hot_slot(ip: &[u8; 16]) -> usize {
    let w = u128::from_le_bytes(*ip);
    // Truncation intended: the halves are folded together.
    let x = (w as u64) ^ ((w >> 64) as u64);
    (x.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - HOT.trailing_zeros())) as usize
}

/// An Ethernet header's destination and source MACs, in frame order.
pub type MacPair = [u8; 12];

/// `dst` then `src`, as a frame's first 12 bytes.
#[inline]
fn mac_pair(dst: Address, src: Address) -> MacPair {
    let mut pair = [0; 12];
    pair[..6].copy_from_slice(&dst);
    pair[6..].copy_from_slice(&src);
    pair
}

/// A worker's private copy of [`Neighbours`], plus when it last asked for each address.
#[derive(Debug)]
pub struct NeighbourCache {
    shared: Arc<Neighbours>,
    version: u64,
    map: FxHashMap<[u8; 16], Entry>,
    asked: FxHashMap<[u8; 16], u64>,
    /// The MAC frames sent to a neighbour come from (the node's).
    source: Address,
    /// Recent next hops, direct-mapped by [`hot_slot`]: a packet's lookup compares one
    /// address instead of hashing into `map` (see the module invariants).
    hot: [Option<([u8; 16], MacPair)>; HOT],
}

impl NeighbourCache {
    /// A cache of `shared`, filled now, for frames sent from `source`.
    pub fn new(shared: Arc<Neighbours>, source: Address) -> NeighbourCache {
        let (version, map) = shared.snapshot();
        NeighbourCache {
            shared,
            version,
            map,
            asked: FxHashMap::default(),
            source,
            hot: [None; HOT],
        }
    }

    /// Catches up with the shared table if it changed; call once per burst.
    #[inline]
    pub fn refresh(&mut self) {
        if self.shared.version() != self.version {
            let (version, map) = self.shared.snapshot();
            self.version = version;
            self.map = map;
            self.hot = [None; HOT];
            self.asked.retain(|ip, _| !self.map.contains_key(ip));
        }
    }

    /// The MAC of `ip`, if known.
    #[inline]
    pub fn lookup(&self, ip: &[u8; 16]) -> Option<Address> {
        self.map.get(ip).map(|e| e.mac)
    }

    /// [`NeighbourCache::lookup`] for the packet path: the MACs of a frame from this cache's
    /// source to `ip` (see [`MacPair`]). Answers from the `hot` array when the address was
    /// looked up recently, else from the map (and remembers the answer).
    #[inline(always)]
    pub fn next_hop_macs(&mut self, ip: &[u8; 16]) -> Option<&MacPair> {
        let slot = hot_slot(ip);
        if !matches!(&self.hot[slot], Some((hot_ip, _)) if hot_ip == ip) {
            self.fill_hot(ip, slot)?;
        }
        // A reference: the caller copies the 12 bytes straight into the frame (returned by
        // value, they went through the stack first).
        self.hot[slot].as_ref().map(|(_, macs)| macs)
    }

    /// The MAC of `ip` through the `hot` array ([`NeighbourCache::next_hop_macs`]).
    pub fn next_hop(&mut self, ip: &[u8; 16]) -> Option<Address> {
        let macs = self.next_hop_macs(ip)?;
        macs.first_chunk().copied()
    }

    /// The map's answer for `ip`, remembered in `hot[slot]`.
    #[cold]
    #[inline(never)]
    fn fill_hot(&mut self, ip: &[u8; 16], slot: usize) -> Option<()> {
        let macs = mac_pair(self.map.get(ip)?.mac, self.source);
        self.hot[slot] = Some((*ip, macs));
        Some(())
    }

    /// The learned (not configured) addresses, in no particular order.
    pub fn learned(&self) -> impl Iterator<Item = [u8; 16]> + '_ {
        self.map.iter().filter(|(_, e)| !e.fixed).map(|(ip, _)| *ip)
    }

    /// Records a learned entry here and in the shared table. Returns true if it was news.
    pub fn learn(&mut self, ip: [u8; 16], mac: Address) -> bool {
        match self.map.get(&ip) {
            Some(e) if e.mac == mac || e.fixed => false,
            _ => {
                self.map.insert(ip, Entry { mac, fixed: false });
                self.hot[hot_slot(&ip)] = None;
                self.asked.remove(&ip);
                self.shared.learn(ip, mac)
            }
        }
    }

    /// Records a configured entry in the shared table (and here).
    pub fn set_static(&mut self, ip: [u8; 16], mac: Address) {
        self.map.insert(ip, Entry { mac, fixed: true });
        self.hot[hot_slot(&ip)] = None;
        self.shared.set_static(ip, mac);
    }

    /// True if a request for `ip` should go out at `now` (none sent in the last
    /// [`REQUEST_INTERVAL_NS`]); records the request.
    pub fn should_ask(&mut self, ip: [u8; 16], now: u64) -> bool {
        match self.asked.get(&ip) {
            Some(&t) if now.saturating_sub(t) < REQUEST_INTERVAL_NS => false,
            _ => {
                self.asked.insert(ip, now);
                true
            }
        }
    }

    /// The shared table.
    pub fn shared(&self) -> &Arc<Neighbours> {
        &self.shared
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: [u8; 16] = [1; 16];
    const SRC: Address = [0xaa; 6];

    #[test]
    fn learned_entries_reach_other_caches_after_refresh() {
        let shared = Neighbours::new();
        let mut a = NeighbourCache::new(shared.clone(), SRC);
        let mut b = NeighbourCache::new(shared.clone(), SRC);
        assert!(a.learn(IP, [2; 6]));
        assert_eq!(b.lookup(&IP), None);
        b.refresh();
        assert_eq!(b.lookup(&IP), Some([2; 6]));
        assert!(!a.learn(IP, [2; 6]), "unchanged entry is not news");
        let v = shared.version();
        b.refresh();
        assert_eq!(shared.version(), v);
    }

    #[test]
    fn static_entries_win_over_learned_ones() {
        let shared = Neighbours::new();
        let mut a = NeighbourCache::new(shared.clone(), SRC);
        a.set_static(IP, [3; 6]);
        assert!(!a.learn(IP, [4; 6]));
        assert!(!shared.learn(IP, [4; 6]));
        assert_eq!(shared.get(&IP), Some([3; 6]));
    }

    #[test]
    fn next_hop_follows_every_change() {
        let shared = Neighbours::new();
        let mut a = NeighbourCache::new(shared.clone(), SRC);
        assert_eq!(a.next_hop(&IP), None);
        assert!(a.learn(IP, [2; 6]));
        assert_eq!(a.next_hop(&IP), Some([2; 6]));
        assert!(a.learn(IP, [5; 6]));
        assert_eq!(
            a.next_hop(&IP),
            Some([5; 6]),
            "learning replaces the hot entry"
        );
        a.set_static(IP, [3; 6]);
        assert_eq!(a.next_hop(&IP), Some([3; 6]), "a static entry replaces it");
        // Another worker's change reaches this cache at its next refresh.
        let mut b = NeighbourCache::new(shared.clone(), SRC);
        assert_eq!(b.next_hop(&IP), Some([3; 6]));
        shared.set_static(IP, [7; 6]);
        assert_eq!(b.next_hop(&IP), Some([3; 6]), "until the refresh");
        b.refresh();
        assert_eq!(b.next_hop(&IP), Some([7; 6]));
        assert_eq!(b.next_hop_macs(&IP), Some(&mac_pair([7; 6], SRC)));
        // Addresses sharing a slot evict each other but never answer for each other.
        let ips: Vec<[u8; 16]> = (2..=255u8).map(|i| [i; 16]).collect();
        for (i, ip) in ips.iter().enumerate() {
            assert!(a.learn(*ip, [i as u8; 6]));
        }
        for (i, ip) in ips.iter().enumerate().rev() {
            assert_eq!(a.next_hop(ip), Some([i as u8; 6]));
        }
    }

    #[test]
    fn requests_are_rate_limited_per_address() {
        let mut a = NeighbourCache::new(Neighbours::new(), SRC);
        assert!(a.should_ask(IP, 0));
        assert!(!a.should_ask(IP, REQUEST_INTERVAL_NS - 1));
        assert!(a.should_ask([9; 16], 1));
        assert!(a.should_ask(IP, REQUEST_INTERVAL_NS));
    }
}
