//! Inserting a connection under its two keys, making room by reclaiming or evicting.
//!
//! # Order inside `insert`
//! 1. Refuse `fwd == reply`, or a key held by a live connection ([`InsertError::Exists`]);
//!    then reclaim the expired connections holding either key (so `Exists` changes nothing).
//! 2. Try to place: a free slot, an empty bucket in the forward key's window and another in the
//!    reply key's window.
//! 3. If something is missing, pick one victim among the connections referenced from the window(s)
//!    that lack room (both windows when slots ran out): the first expired one; otherwise, under
//!    [`Eviction::OldestInWindow`], the oldest `last_seen`, non-`Established` first. Release it
//!    and retry, at most [`MAX_VICTIMS`] times; then give up with [`InsertError::Full`].
//!
//! Every connection let go of is handed to the caller's `on_release` (so it can free the SNAT
//! port) and counted as `expired` or `evicted`.

use crate::buckets::{self, Hashed};
use crate::conn::{Conn, ConnId, Reason, Released};
use crate::table::{Conntrack, Eviction};
use strait_packet::FlowKey;

/// Most connections one `insert` may release to make room (slot + two windows).
pub const MAX_VICTIMS: usize = 3;

/// Why `insert` refused a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InsertError {
    /// No room could be made within the probe windows.
    Full,
    /// A live connection already holds one of the keys, or `fwd == reply`.
    Exists,
}

impl core::fmt::Display for InsertError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            InsertError::Full => "conntrack table full",
            InsertError::Exists => "conntrack key already in use",
        })
    }
}

impl core::error::Error for InsertError {}

/// What was missing when placing a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shortage {
    Slot,
    Window(usize),
}

impl Conntrack {
    /// Tracks a new connection reachable by `fwd` ([`crate::Direction::Original`]) and `reply`
    /// ([`crate::Direction::Reply`]); `conn.last_seen` is set to `now`. Connections released to
    /// make room are passed to `on_release` before this returns.
    pub fn insert(
        &mut self,
        fwd: FlowKey,
        reply: FlowKey,
        conn: Conn,
        now: u64,
        mut on_release: impl FnMut(Released),
    ) -> Result<ConnId, InsertError> {
        let keys = [fwd, reply];
        let hashes = keys.map(|k| self.hasher.hash(&k));
        if fwd == reply {
            self.counters.exists += 1;
            return Err(InsertError::Exists);
        }
        let holders = [0, 1].map(|d| self.find(&keys[d], hashes[d]).map(|(i, _, _)| i));
        if holders.iter().flatten().any(|&i| !self.expired_at(i, now)) {
            self.counters.exists += 1;
            return Err(InsertError::Exists);
        }
        // Both holders are expired here; they may be the same connection.
        for d in 0..2 {
            if let Some(index) = holders[d]
                && (d == 0 || holders[0] != Some(index))
            {
                self.reclaim(index, Reason::Expired, &mut on_release);
            }
        }
        let conn = Conn {
            last_seen: now,
            ..conn
        };
        let mut victims = 0;
        loop {
            let shortage = match self.room(hashes) {
                Ok((index, pos)) => {
                    self.counters.inserts += 1;
                    return Ok(self.occupy(index, hashes, pos, keys, conn));
                }
                Err(shortage) => shortage,
            };
            if victims == MAX_VICTIMS {
                break;
            }
            let Some((index, reason)) = self.pick_victim(shortage, hashes, now) else {
                break;
            };
            self.reclaim(index, reason, &mut on_release);
            victims += 1;
        }
        self.counters.full += 1;
        Err(InsertError::Full)
    }

    /// A free slot and two distinct empty buckets, one in each key's window.
    fn room(&self, hashes: [Hashed; 2]) -> Result<(u32, [usize; 2]), Shortage> {
        let &index = self.free.last().ok_or(Shortage::Slot)?;
        let empty = |h: Hashed, not: Option<usize>| {
            buckets::window(self.home(h)).find(|&p| self.buckets[p].is_empty() && Some(p) != not)
        };
        let f = empty(hashes[0], None).ok_or(Shortage::Window(0))?;
        let r = empty(hashes[1], Some(f)).ok_or(Shortage::Window(1))?;
        Ok((index, [f, r]))
    }

    /// The connection to release for `shortage`, if any qualifies under the eviction policy.
    fn pick_victim(
        &self,
        shortage: Shortage,
        hashes: [Hashed; 2],
        now: u64,
    ) -> Option<(u32, Reason)> {
        let windows: &[Hashed] = match shortage {
            Shortage::Slot => &hashes,
            Shortage::Window(d) => core::slice::from_ref(&hashes[d]),
        };
        let evict = self.config.eviction == Eviction::OldestInWindow;
        let mut best: Option<((bool, u64), u32)> = None;
        for pos in windows.iter().flat_map(|&h| buckets::window(self.home(h))) {
            let b = self.buckets[pos];
            if b.is_empty() {
                continue;
            }
            let index = b.entry >> 1;
            let Some(e) = self.slots[index as usize].entry.as_ref() else {
                continue;
            };
            if self.conn_expired(&e.conn, now) {
                return Some((index, Reason::Expired));
            }
            let rank = (e.conn.state.is_established(), e.conn.last_seen);
            if evict && best.is_none_or(|(r, _)| rank < r) {
                best = Some((rank, index));
            }
        }
        best.map(|(_, index)| (index, Reason::Evicted))
    }
}
