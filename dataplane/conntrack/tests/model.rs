//! Model test: the table against a plain `Vec` model under random insert / lookup / observe /
//! remove / advance-time / expire sequences, over a small pool of keys so keys collide, entries
//! expire, and small capacities force eviction and `Full`.
//!
//! With capacity ≤ 4 the table has 16 buckets, so every probe window covers the whole table
//! and the model can predict exactly when `insert` must evict, which class of victim it picks,
//! and when it must say `Full`. Larger capacities are checked with the weaker invariants.

use proptest::prelude::*;
use strait_conntrack::{
    Config, Conn, ConnId, Conntrack, Direction, Eviction, FlowKey, InsertError, NS_PER_SEC, Reason,
    Released, Timeouts,
};
use strait_packet::ip::protocol::{TCP, UDP};

const POOL: u8 = 12;

#[derive(Debug, Clone)]
enum Op {
    Insert {
        f: u8,
        r: u8,
        tcp: bool,
        backend: u32,
    },
    Lookup {
        k: u8,
    },
    Observe {
        pick: usize,
        reply: bool,
        flags: u8,
    },
    Remove {
        pick: usize,
        stale: bool,
    },
    Advance {
        ms: u64,
    },
    Expire {
        budget: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let flags = prop::sample::select(vec![0x02u8, 0x12, 0x10, 0x11, 0x04, 0x18, 0x00]);
    prop_oneof![
        4 => (0..POOL, 0..POOL, any::<bool>(), any::<u32>())
            .prop_map(|(f, r, tcp, backend)| Op::Insert { f, r, tcp, backend }),
        3 => (0..POOL).prop_map(|k| Op::Lookup { k }),
        3 => (any::<usize>(), any::<bool>(), flags)
            .prop_map(|(pick, reply, flags)| Op::Observe { pick, reply, flags }),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(pick, stale)| Op::Remove { pick, stale }),
        2 => (0..15_000u64).prop_map(|ms| Op::Advance { ms }),
        1 => (0..6usize).prop_map(|budget| Op::Expire { budget }),
    ]
}

/// Key `i` of the pool; the protocol is part of the key.
fn key(i: u8, tcp: bool) -> FlowKey {
    let proto = if tcp { TCP } else { UDP };
    FlowKey::v4(
        [10, 0, 0, i],
        [10, 0, 0, 200],
        proto,
        1000 + u16::from(i),
        80,
    )
}

#[derive(Debug, Clone)]
struct Entry {
    id: ConnId,
    keys: [FlowKey; 2],
    conn: Conn,
}

struct Harness {
    t: Conntrack,
    model: Vec<Entry>,
    gone: Vec<ConnId>,
    timeouts: Timeouts,
    now: u64,
    precise: bool,
    eviction: Eviction,
}

impl Harness {
    fn expired(&self, c: &Conn) -> bool {
        self.now - c.last_seen >= self.timeouts.for_state(c.state, c.idle_override())
    }

    fn holder(&self, k: &FlowKey) -> Option<usize> {
        self.model.iter().position(|e| e.keys.contains(k))
    }

    /// Removes a released connection from the model, checking it was there and matches.
    fn released(&mut self, r: &Released) {
        let i = self
            .model
            .iter()
            .position(|e| e.id == r.id)
            .expect("released unknown id");
        let e = self.model.swap_remove(i);
        assert_eq!((e.keys, e.conn), (r.keys, r.conn));
        assert_eq!(r.reason == Reason::Expired, self.expired(&e.conn), "{r:?}");
        self.gone.push(r.id);
    }

    fn insert(&mut self, f: u8, r: u8, tcp: bool, backend: u32) {
        let (fk, rk) = (key(f, tcp), key(r, tcp));
        let conn = Conn::new(if tcp { TCP } else { UDP }, 1, backend, 9);
        let live_holder = [fk, rk]
            .iter()
            .filter_map(|k| self.holder(k))
            .any(|i| !self.expired(&self.model[i].conn));
        // Predicted (precise mode): with a full table and no expired entry, the victim class.
        let before: Vec<Entry> = self.model.clone();
        let mut rel = Vec::new();
        let now = self.now;
        let res = self.t.insert(fk, rk, conn, now, |x| rel.push(x));
        for x in &rel {
            self.released(x);
        }
        match res {
            Err(InsertError::Exists) => {
                assert!(fk == rk || live_holder);
                assert!(rel.is_empty());
            }
            Err(e) => {
                assert_eq!(e, InsertError::Full);
                assert!(fk != rk && !live_holder);
                if self.precise {
                    assert_eq!(self.eviction, Eviction::Never);
                    assert_eq!(self.model.len(), self.t.capacity());
                    assert!(self.model.iter().all(|e| !self.expired(&e.conn)));
                }
            }
            Ok(id) => {
                assert!(fk != rk && !live_holder);
                let conn = Conn {
                    last_seen: now,
                    ..conn
                };
                assert_eq!(self.t.get(id), Some(&conn));
                self.model.push(Entry {
                    id,
                    keys: [fk, rk],
                    conn,
                });
            }
        }
        let evicted: Vec<_> = rel.iter().filter(|x| x.reason == Reason::Evicted).collect();
        if !evicted.is_empty() {
            assert_eq!(self.eviction, Eviction::OldestInWindow);
        }
        if self.precise {
            assert!(evicted.len() <= 1);
            for v in evicted {
                // Nothing was expired, and the victim had the lowest rank in the table.
                assert!(before.iter().all(|e| !self.expired(&e.conn)));
                let rank = |c: &Conn| (c.state.is_established(), c.last_seen);
                let min = before.iter().map(|e| rank(&e.conn)).min();
                assert_eq!(Some(rank(&v.conn)), min);
                assert_eq!(before.len(), self.t.capacity());
            }
        }
    }

    fn step(&mut self, op: Op) {
        match op {
            Op::Insert { f, r, tcp, backend } => self.insert(f, r, tcp, backend),
            Op::Lookup { k } => {
                for tcp in [true, false] {
                    let k = key(k, tcp);
                    let want = self.holder(&k).and_then(|i| {
                        let e = &self.model[i];
                        let dir = if e.keys[0] == k {
                            Direction::Original
                        } else {
                            Direction::Reply
                        };
                        (!self.expired(&e.conn)).then_some((e.id, dir))
                    });
                    assert_eq!(self.t.lookup(&k, self.now), want);
                }
            }
            Op::Observe { pick, reply, flags } => {
                let dir = if reply {
                    Direction::Reply
                } else {
                    Direction::Original
                };
                if self.model.is_empty() {
                    return;
                }
                let now = self.now;
                let len = self.model.len();
                let e = &mut self.model[pick % len];
                e.conn.state = e.conn.state.next(dir, flags);
                e.conn.last_seen = e.conn.last_seen.max(now);
                assert_eq!(self.t.observe(e.id, dir, flags, now), Some(e.conn.state));
                assert_eq!(self.t.get(e.id), Some(&e.conn));
            }
            Op::Remove { pick, stale } => {
                if stale && !self.gone.is_empty() {
                    let id = self.gone[pick % self.gone.len()];
                    assert_eq!(self.t.remove(id), None);
                    assert_eq!(self.t.get(id), None);
                } else if !self.model.is_empty() {
                    let e = self.model.swap_remove(pick % self.model.len());
                    assert_eq!(self.t.remove(e.id), Some((e.keys, e.conn)));
                    self.gone.push(e.id);
                }
            }
            Op::Advance { ms } => self.now += ms * 1_000_000,
            Op::Expire { budget } => {
                let mut rel = Vec::new();
                let n = self.t.expire(self.now, budget, |x| rel.push(x));
                assert_eq!(n, rel.len());
                assert!(n <= budget);
                for x in &rel {
                    assert_eq!(x.reason, Reason::Expired);
                    self.released(x);
                }
            }
        }
        self.check();
    }

    fn check(&self) {
        let c = self.t.counters();
        assert_eq!(self.t.len(), self.model.len());
        assert_eq!(c.live, self.model.len() as u64);
        assert_eq!(c.inserts - c.expired - c.evicted - c.removed, c.live);
        for e in &self.model {
            assert_eq!(self.t.get(e.id), Some(&e.conn));
            assert_eq!(self.t.keys(e.id), Some(&e.keys));
            assert_eq!(self.t.is_expired(e.id, self.now), self.expired(&e.conn));
        }
    }
}

fn run(capacity: usize, eviction: Eviction, ops: Vec<Op>) {
    let mut config = Config::new(capacity, 42);
    config.eviction = eviction;
    let mut h = Harness {
        t: Conntrack::new(config).expect("valid capacity"),
        model: Vec::new(),
        gone: Vec::new(),
        timeouts: config.timeouts,
        now: NS_PER_SEC,
        precise: capacity <= 4,
        eviction,
    };
    for op in ops {
        h.step(op);
    }
    // Draining with a large budget long after everything timed out empties the table.
    h.now += 1_000 * NS_PER_SEC;
    h.step(Op::Expire { budget: 5 });
    let mut rel = Vec::new();
    h.t.expire(h.now, capacity, |x| rel.push(x));
    for x in &rel {
        h.released(x);
    }
    h.check();
    assert!(h.t.is_empty());
}

fn eviction() -> impl Strategy<Value = Eviction> {
    prop_oneof![Just(Eviction::OldestInWindow), Just(Eviction::Never)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn small_table_matches_model(
        cap in 1usize..=4,
        ev in eviction(),
        ops in prop::collection::vec(op(), 1..200),
    ) {
        run(cap, ev, ops);
    }

    #[test]
    fn larger_table_matches_model(
        cap in 5usize..=24,
        ev in eviction(),
        ops in prop::collection::vec(op(), 1..300),
    ) {
        run(cap, ev, ops);
    }
}
