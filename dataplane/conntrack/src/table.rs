//! The per-core table: construction, lookup by either key, per-packet `observe`, removal.
//!
//! # Invariants
//! * All memory (`slots`, `buckets`, `free`) is allocated in [`Conntrack::new`]; nothing here or
//!   in `insert`/`expire` grows a `Vec` past the capacity it was created with.
//! * An occupied slot has exactly two occupied buckets, at `Entry::pos`, holding
//!   `slot << 1 | 0` (forward key) and `slot << 1 | 1` (reply key); a free slot has none and
//!   its index is on `free` exactly once.
//! * A key is held by at most one slot (live or expired-but-unreclaimed).
//! * Expiry is judged at use: an entry with `now - last_seen >= timeout(state)` is absent for
//!   [`Conntrack::lookup`]; its slot is reclaimed later by `insert` (when it needs room or the
//!   same key) or by the `expire` sweep, which both hand it back as a [`Released`].

use crate::buckets::{self, Bucket, EMPTY, Hashed, KeyHasher, WINDOW};
use crate::conn::{Conn, ConnId, Direction, Reason, Released};
use crate::counters::Counters;
use crate::state::{State, Timeouts};
use strait_cpu::huge_vec;
use strait_packet::FlowKey;

/// Largest supported capacity (slot numbers must fit in 31 bits with room for the buckets).
pub const MAX_CAPACITY: usize = 1 << 26;

/// What `insert` does when it needs room and finds no expired entry in its probe windows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Eviction {
    /// Evict the connection with the oldest `last_seen` in the windows, sparing `Established`
    /// ones while any other candidate exists.
    #[default]
    OldestInWindow,
    /// Never evict a live connection: refuse the new one with `InsertError::Full`.
    Never,
}

/// Settings fixed for the table's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Maximum number of connections (`1..=MAX_CAPACITY`).
    pub capacity: usize,
    /// Idle timeouts per state.
    pub timeouts: Timeouts,
    /// Hash seed; pick it at random per table so clients cannot aim collisions at a window.
    pub seed: u64,
    /// Policy when the table or a probe window is full.
    pub eviction: Eviction,
}

impl Config {
    /// Default timeouts and eviction for `capacity` connections, hashed with `seed`.
    pub fn new(capacity: usize, seed: u64) -> Config {
        Config {
            capacity,
            timeouts: Timeouts::default(),
            seed,
            eviction: Eviction::default(),
        }
    }
}

/// `Config::capacity` was 0 or above [`MAX_CAPACITY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadCapacity;

impl core::fmt::Display for BadCapacity {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "conntrack capacity must be in 1..={MAX_CAPACITY}")
    }
}

impl core::error::Error for BadCapacity {}

/// A live (or expired, not yet reclaimed) connection in its slot.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub(crate) keys: [FlowKey; 2],
    pub(crate) pos: [u32; 2],
    pub(crate) conn: Conn,
}

/// Two cache lines exactly (checked below): a lookup that hits touches those two and no more.
#[derive(Debug, Clone, Copy)]
#[repr(align(64))]
pub(crate) struct Slot {
    pub(crate) epoch: u32,
    pub(crate) entry: Option<Entry>,
}

const _: () = assert!(core::mem::size_of::<Slot>() == 2 * strait_cpu::CACHE_LINE);

/// True if `conn` is past the timeout of its state at `now`; `shortest` is
/// [`Timeouts::shortest`] of `timeouts`.
#[inline]
fn expired(timeouts: &Timeouts, shortest: u64, conn: &Conn, now: u64) -> bool {
    let idle = now.saturating_sub(conn.last_seen);
    // Idle for less than every timeout (the service's own too, if it has one): live in any
    // state, without looking up the state's timeout (the usual answer on the packet path).
    if idle < shortest && (conn.idle_timeout_s == 0 || idle < conn.idle_override()) {
        return false;
    }
    idle >= timeouts.for_state(conn.state, conn.idle_override())
}

/// One worker's connection table: owned and mutated by that worker alone, so no locks.
#[derive(Debug)]
pub struct Conntrack {
    pub(crate) config: Config,
    /// `config.timeouts.shortest()`, for [`expired`].
    pub(crate) shortest: u64,
    /// Home count − 1 (see `buckets`).
    pub(crate) mask: usize,
    pub(crate) buckets: Vec<Bucket>,
    pub(crate) slots: Vec<Slot>,
    pub(crate) free: Vec<u32>,
    pub(crate) cursor: usize,
    pub(crate) counters: Counters,
    pub(crate) hasher: KeyHasher,
}

/// A live connection [`Conntrack::lookup_mut`] found: all a packet needs from one lookup,
/// borrowed from the table (no copy of the keys).
#[derive(Debug)]
pub struct Hit<'a> {
    /// Its handle, valid until it is removed, expired or evicted.
    pub id: ConnId,
    /// Which of its keys the packet matched.
    pub dir: Direction,
    /// Forward and reply keys, indexed by [`Direction::index`].
    pub keys: &'a [FlowKey; 2],
    /// Its contents, to read and update in place (e.g. with [`Conn::observe`]).
    pub conn: &'a mut Conn,
}

/// A key's hash under one table's seed ([`Conntrack::hash`]), to look the key up later
/// without hashing it again. Only meaningful for the table that computed it.
#[derive(Debug, Clone, Copy)]
pub struct KeyHash(pub(crate) Hashed);

impl Conntrack {
    /// Allocates every slot and bucket for `config.capacity` connections.
    pub fn new(config: Config) -> Result<Conntrack, BadCapacity> {
        let cap = config.capacity;
        if cap == 0 || cap > MAX_CAPACITY {
            return Err(BadCapacity);
        }
        let n = buckets::home_count(cap);
        let mut free = Vec::with_capacity(cap);
        // Pop order 0, 1, 2, … (cap fits in u32: checked above).
        free.extend((0..cap as u32).rev());
        Ok(Conntrack {
            config,
            shortest: config.timeouts.shortest(),
            mask: n - 1,
            buckets: huge_vec(Bucket::VACANT, n + WINDOW - 1),
            slots: huge_vec(
                Slot {
                    epoch: 0,
                    entry: None,
                },
                cap,
            ),
            free,
            cursor: 0,
            counters: Counters::default(),
            hasher: KeyHasher::new(config.seed),
        })
    }

    /// Maximum number of connections.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Occupied slots, including expired entries not yet reclaimed.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// True if no slot is occupied.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The table's settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Event counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Finds the live connection `key` belongs to, and which of its keys matched. An expired
    /// entry counts as a miss (and stays until `insert` or `expire` reclaims it).
    pub fn lookup(&mut self, key: &FlowKey, now: u64) -> Option<(ConnId, Direction)> {
        self.lookup_mut(key, now).map(|hit| (hit.id, hit.dir))
    }

    /// [`Conntrack::lookup`], returning the connection and its keys as well: one resolution
    /// of the key serves the whole packet.
    pub fn lookup_mut(&mut self, key: &FlowKey, now: u64) -> Option<Hit<'_>> {
        self.lookup_hinted(key, None, now)
    }

    /// [`Conntrack::lookup_mut`] trying `hint` first: a hash from [`Conntrack::hash`] of a key
    /// that is probably `key` (computed ahead, from a frame that may turn out to be another).
    /// The answer is always `key`'s own: a hit under any hash has compared the whole key (a
    /// key is held by at most one slot), and a miss under a hint that is not `key`'s hash is
    /// looked up again under `key`'s hash.
    #[inline(always)]
    pub fn lookup_hinted(
        &mut self,
        key: &FlowKey,
        hint: Option<KeyHash>,
        now: u64,
    ) -> Option<Hit<'_>> {
        let h = match hint {
            Some(h) => h.0,
            None => self.hasher.hash(key),
        };
        let mut found = self.find(key, h);
        if found.is_none() && hint.is_some() {
            found = self.find_unhinted(key, h);
        }
        self.live_hit(found, now)
    }

    /// [`Conntrack::find`] under `key`'s own hash after a miss under `tried` (a hint), unless
    /// that was the same hash.
    #[cold]
    #[inline(never)]
    fn find_unhinted(&self, key: &FlowKey, tried: Hashed) -> Option<(u32, Direction, usize)> {
        let own = self.hasher.hash(key);
        if own == tried {
            None
        } else {
            self.find(key, own)
        }
    }

    /// The [`Hit`] for what [`Conntrack::find`] found, unless it is expired; counts the
    /// lookup as a hit or a miss.
    #[inline]
    fn live_hit(&mut self, found: Option<(u32, Direction, usize)>, now: u64) -> Option<Hit<'_>> {
        let (timeouts, shortest) = (&self.config.timeouts, self.shortest);
        let live = found.and_then(|(index, dir, _)| {
            let slot = self.slots.get_mut(index as usize)?;
            let epoch = slot.epoch;
            let e = slot.entry.as_mut()?;
            (!expired(timeouts, shortest, &e.conn, now)).then_some((index, epoch, dir, e))
        });
        match live {
            Some((index, epoch, dir, e)) => {
                self.counters.lookup_hits += 1;
                Some(Hit {
                    id: ConnId { index, epoch },
                    dir,
                    keys: &e.keys,
                    conn: &mut e.conn,
                })
            }
            None => {
                self.counters.lookup_misses += 1;
                None
            }
        }
    }

    /// The hash of `key` under this table's seed.
    #[inline]
    pub fn hash(&self, key: &FlowKey) -> KeyHash {
        KeyHash(self.hasher.hash(key))
    }

    /// Starts loading the line of `h`'s home bucket, where a lookup hashed `h` starts its scan
    /// (a prefetch: it returns at once and changes nothing). See [`Conntrack::prefetch_slot`]
    /// for the second step.
    ///
    /// Only that line: a hit stops at its key, and a key sits in its home bucket or close
    /// after it (the table is at most half full and `insert` takes the window's first empty
    /// bucket), so the window's other lines are rarely read, and each line fetched for nothing
    /// holds one of the few miss buffers a burst's lookups share.
    #[inline]
    pub fn prefetch_window(&self, h: KeyHash) {
        strait_cpu::prefetch(&self.window_of(h.0).1[0]);
    }

    /// Starts loading the slot of the first bucket in `h`'s window that carries `h`'s tag: the
    /// slot a lookup will compare first. Reads the window (best after
    /// [`Conntrack::prefetch_window`] had time to bring it in); changes nothing.
    #[inline(always)]
    pub fn prefetch_slot(&self, h: KeyHash) {
        let h = h.0;
        let found = self
            .window_of(h)
            .1
            .iter()
            .find(|b| b.carries(h.tag))
            .and_then(|b| self.slots.get((b.entry >> 1) as usize));
        if let Some(slot) = found {
            // Keys, then the connection: the lookup compares one key, the packet reads the
            // other and updates the connection, so every line of the slot is wanted.
            strait_cpu::prefetch_whole(slot);
        }
    }

    /// The connection `id` names, or `None` if it has been released. Does not check expiry.
    pub fn get(&self, id: ConnId) -> Option<&Conn> {
        self.entry(id).map(|e| &e.conn)
    }

    /// Mutable access to the connection `id` names, or `None` if it has been released.
    pub fn get_mut(&mut self, id: ConnId) -> Option<&mut Conn> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.epoch != id.epoch {
            return None;
        }
        slot.entry.as_mut().map(|e| &mut e.conn)
    }

    /// The forward and reply keys of `id`, indexed by [`Direction::index`].
    pub fn keys(&self, id: ConnId) -> Option<&[FlowKey; 2]> {
        self.entry(id).map(|e| &e.keys)
    }

    /// Records one packet in direction `dir` (TCP `flags`, 0 for other protocols) at `now`
    /// ([`Conn::observe`]). Returns the new state, or `None` if `id` has been released.
    pub fn observe(&mut self, id: ConnId, dir: Direction, flags: u8, now: u64) -> Option<State> {
        Some(self.get_mut(id)?.observe(dir, flags, now))
    }

    /// True if `id` is released or past its timeout at `now`.
    pub fn is_expired(&self, id: ConnId, now: u64) -> bool {
        self.entry(id)
            .is_none_or(|e| self.conn_expired(&e.conn, now))
    }

    /// Removes `id` (e.g. after the worker saw the last ACK, or the backend was drained) and
    /// returns its keys and contents; `None` if it was already released.
    pub fn remove(&mut self, id: ConnId) -> Option<([FlowKey; 2], Conn)> {
        self.entry(id)?;
        let e = self.release_slot(id.index);
        self.counters.removed += 1;
        Some((e.keys, e.conn))
    }

    fn entry(&self, id: ConnId) -> Option<&Entry> {
        let slot = self.slots.get(id.index as usize)?;
        if slot.epoch != id.epoch {
            return None;
        }
        slot.entry.as_ref()
    }

    pub(crate) fn id_of(&self, index: u32) -> ConnId {
        ConnId {
            index,
            epoch: self.slots[index as usize].epoch,
        }
    }

    /// The home bucket of `h`: the first of its window.
    #[inline(always)]
    pub(crate) fn home(&self, h: Hashed) -> usize {
        h.home & self.mask
    }

    /// The first bucket of `h`'s window, and the window. The array's tail makes every window
    /// whole (see `buckets`), so the empty stand-in is never returned.
    #[inline(always)]
    fn window_of(&self, h: Hashed) -> (usize, &[Bucket; WINDOW]) {
        static NONE: [Bucket; WINDOW] = [Bucket::VACANT; WINDOW];
        let start = self.home(h);
        // The window as one range of the array (fewer checks than a slice from `start` and a
        // length check of that).
        let window = self.buckets.get(start..start + WINDOW);
        (
            start,
            window.and_then(|w| w.try_into().ok()).unwrap_or(&NONE),
        )
    }

    /// Slot, direction and bucket of `key`, expired or not.
    #[inline(always)]
    pub(crate) fn find(&self, key: &FlowKey, h: Hashed) -> Option<(u32, Direction, usize)> {
        let hit = |pos: usize, b: Bucket| {
            if !b.carries(h.tag) {
                return None;
            }
            let (index, dir) = (b.entry >> 1, Direction::from_bit(b.entry));
            let e = self.slots.get(index as usize)?.entry.as_ref()?;
            (e.keys[dir.index()] == *key).then_some((index, dir, pos))
        };
        let (start, window) = self.window_of(h);
        window
            .iter()
            .enumerate()
            .find_map(|(i, &b)| hit(start + i, b))
    }

    pub(crate) fn conn_expired(&self, conn: &Conn, now: u64) -> bool {
        expired(&self.config.timeouts, self.shortest, conn, now)
    }

    /// True if the occupied slot `index` is past its timeout.
    pub(crate) fn expired_at(&self, index: u32, now: u64) -> bool {
        self.slots[index as usize]
            .entry
            .as_ref()
            .is_some_and(|e| self.conn_expired(&e.conn, now))
    }

    /// Empties the occupied slot `index` and its two buckets; bumps the generation.
    pub(crate) fn release_slot(&mut self, index: u32) -> Entry {
        let slot = &mut self.slots[index as usize];
        let Some(e) = slot.entry.take() else {
            unreachable!("release_slot on a free slot");
        };
        slot.epoch = slot.epoch.wrapping_add(1);
        for pos in e.pos {
            self.buckets[pos as usize] = Bucket::VACANT;
        }
        self.free.push(index);
        self.counters.live -= 1;
        e
    }

    /// Releases slot `index` for `reason`, counts it and hands it to `on_release`.
    pub(crate) fn reclaim(
        &mut self,
        index: u32,
        reason: Reason,
        on_release: &mut impl FnMut(Released),
    ) {
        let id = self.id_of(index);
        let e = self.release_slot(index);
        match reason {
            Reason::Expired => self.counters.expired += 1,
            Reason::Evicted => self.counters.evicted += 1,
        }
        on_release(Released {
            id,
            keys: e.keys,
            conn: e.conn,
            reason,
        });
    }

    /// Stores a new entry; the caller has checked that `index` is the top of `free` and both
    /// buckets are empty.
    pub(crate) fn occupy(
        &mut self,
        index: u32,
        hashes: [Hashed; 2],
        pos: [usize; 2],
        entry_keys: [FlowKey; 2],
        conn: Conn,
    ) -> ConnId {
        debug_assert!(pos.iter().all(|&p| self.buckets[p].entry == EMPTY));
        let popped = self.free.pop();
        debug_assert_eq!(popped, Some(index));
        for (d, (h, p)) in hashes.iter().zip(pos).enumerate() {
            self.buckets[p] = Bucket {
                tag: h.tag,
                entry: index << 1 | d as u32,
            };
        }
        self.slots[index as usize].entry = Some(Entry {
            keys: entry_keys,
            pos: pos.map(|p| p as u32),
            conn,
        });
        self.counters.live += 1;
        self.id_of(index)
    }
}
