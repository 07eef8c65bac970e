//! Table behaviour: two keys per connection, ids, removal, eviction, `Full`, the sweep.

use super::{S, add, fwd, reply, table};
use crate::Direction::{Original, Reply};
use crate::{Config, Conn, Conntrack, Eviction, InsertError, Reason, Released, State};
use strait_packet::ip::protocol::TCP;

#[test]
fn both_keys_find_one_connection_with_direction() {
    let mut t = table(8);
    let a = add(&mut t, 1, 0);
    let b = add(&mut t, 2, 0);
    assert_ne!(a, b);
    assert_eq!(t.lookup(&fwd(1, TCP), 0), Some((a, Original)));
    assert_eq!(t.lookup(&reply(1, TCP), 0), Some((a, Reply)));
    assert_eq!(t.lookup(&fwd(2, TCP), 0), Some((b, Original)));
    assert_eq!(t.lookup(&reply(2, TCP), 0), Some((b, Reply)));
    assert_eq!(t.lookup(&fwd(3, TCP), 0), None);
    // The reversed forward key is not the reply key after NAT.
    assert_eq!(t.lookup(&fwd(1, TCP).reversed(), 0), None);
    assert_eq!(t.get(a).map(|c| c.backend), Some(1));
    assert_eq!(t.keys(a), Some(&[fwd(1, TCP), reply(1, TCP)]));
    let c = t.counters();
    assert_eq!(
        (c.inserts, c.lookup_hits, c.lookup_misses, c.live),
        (2, 4, 2, 2)
    );
}

#[test]
fn a_hint_of_another_key_gives_the_same_answer() {
    let mut t = table(64);
    let ids: Vec<_> = (0..40).map(|n| add(&mut t, n, 0)).collect();
    let hints: Vec<_> = (0..50)
        .flat_map(|n| [fwd(n, TCP), reply(n, TCP)])
        .map(|k| t.hash(&k))
        .collect();
    for n in 0..50u16 {
        for (key, dir) in [(fwd(n, TCP), Original), (reply(n, TCP), Reply)] {
            let want = ids.get(usize::from(n)).map(|&id| (id, dir));
            let own = t.hash(&key);
            for hint in hints.iter().copied().map(Some).chain([None, Some(own)]) {
                let got = t.lookup_hinted(&key, hint, 0).map(|h| (h.id, h.dir));
                assert_eq!(got, want, "connection {n} {dir:?}");
            }
        }
    }
    // Expired stays a miss whatever the hint.
    let late = 1_000 * S;
    let hint = Some(t.hash(&fwd(1, TCP)));
    assert!(t.lookup_hinted(&fwd(0, TCP), hint, late).is_none());
}

#[test]
fn observe_moves_state_and_last_seen_forward() {
    let mut t = table(2);
    let id = add(&mut t, 1, 5);
    assert_eq!(t.get(id).map(|c| c.last_seen), Some(5));
    t.observe(id, Original, 0x02, 6);
    t.observe(id, Reply, 0x12, 7);
    t.observe(id, Original, 0x10, 3); // late packet: last_seen never goes back
    let c = t.get(id).expect("live");
    assert_eq!(c.last_seen, 7);
    assert_eq!(c.state, State::Established);
}

#[test]
fn remove_invalidates_id_and_frees_keys() {
    let mut t = table(2);
    let a = add(&mut t, 1, 0);
    let (keys, conn) = t.remove(a).expect("live");
    assert_eq!((keys, conn.backend), ([fwd(1, TCP), reply(1, TCP)], 1));
    assert_eq!(t.remove(a), None);
    assert!(t.get(a).is_none() && t.get_mut(a).is_none());
    assert_eq!(t.observe(a, Original, 0, 0), None);
    assert_eq!(t.lookup(&reply(1, TCP), 0), None);
    // The slot is reused under a new id; the old id still does not resolve.
    let b = add(&mut t, 1, 0);
    assert_eq!(a.slot(), b.slot());
    assert_ne!(a, b);
    assert!(t.get(a).is_none());
    assert_eq!((t.counters().removed, t.counters().live), (1, 1));
}

#[test]
fn duplicate_keys_are_refused_unless_expired() {
    let mut t = table(4);
    add(&mut t, 1, 0);
    let c = Conn::new(TCP, 0, 0, 0);
    let none = |r: Released| panic!("{r:?}");
    assert_eq!(
        t.insert(fwd(1, TCP), reply(9, TCP), c, 0, none),
        Err(InsertError::Exists)
    );
    assert_eq!(
        t.insert(fwd(9, TCP), reply(1, TCP), c, 0, none),
        Err(InsertError::Exists)
    );
    assert_eq!(
        t.insert(fwd(9, TCP), fwd(9, TCP), c, 0, none),
        Err(InsertError::Exists)
    );
    assert_eq!(t.counters().exists, 3);
    // After the SYN timeout the same forward key reclaims the old entry and reports it.
    let mut released = Vec::new();
    let id = t
        .insert(fwd(1, TCP), reply(9, TCP), c, 10 * S, |r| released.push(r))
        .expect("insert");
    assert_eq!(released.len(), 1);
    assert_eq!(
        (released[0].reason, released[0].conn.backend),
        (Reason::Expired, 1)
    );
    assert_eq!(t.lookup(&reply(1, TCP), 10 * S), None);
    assert_eq!(t.lookup(&fwd(1, TCP), 10 * S), Some((id, Original)));
    assert_eq!((t.counters().expired, t.counters().live), (1, 1));
}

#[test]
fn full_table_reclaims_expired_before_evicting() {
    let mut t = table(4);
    let ids: Vec<_> = (0..4).map(|n| add(&mut t, n, n as u64 * S)).collect();
    // Connection 3 is established and recent; 0 expired (SYN timeout 10 s) at 10.5 s.
    t.observe(ids[3], Original, 0x10, 10 * S);
    let mut rel = Vec::new();
    let c = Conn::new(TCP, 0, 0, 0);
    t.insert(fwd(10, TCP), reply(10, TCP), c, 10 * S + S / 2, |r| {
        rel.push(r)
    })
    .expect("insert");
    assert_eq!(
        (rel.len(), rel[0].id, rel[0].reason),
        (1, ids[0], Reason::Expired)
    );
    // Nothing expired now: evict the oldest non-established (1), never the established 3.
    rel.clear();
    t.insert(fwd(11, TCP), reply(11, TCP), c, 10 * S + S / 2, |r| {
        rel.push(r)
    })
    .expect("insert");
    assert_eq!(
        (rel.len(), rel[0].id, rel[0].reason),
        (1, ids[1], Reason::Evicted)
    );
    let cnt = t.counters();
    assert_eq!((cnt.expired, cnt.evicted, cnt.full, cnt.live), (1, 1, 0, 4));
}

#[test]
fn never_evict_policy_counts_full() {
    let mut config = Config::new(3, 1);
    config.eviction = Eviction::Never;
    let mut t = Conntrack::new(config).expect("valid");
    for n in 0..3 {
        add(&mut t, n, 0);
    }
    let c = Conn::new(TCP, 0, 0, 0);
    for n in 3..10 {
        let r = t.insert(fwd(n, TCP), reply(n, TCP), c, S, |r| panic!("{r:?}"));
        assert_eq!(r, Err(InsertError::Full));
    }
    assert_eq!((t.counters().full, t.len()), (7, 3));
}

#[test]
fn overfilling_a_large_table_evicts_without_panicking_or_allocating() {
    let cap = 1000;
    let mut t = table(cap);
    let sizes = (t.buckets.capacity(), t.slots.capacity(), t.free.capacity());
    let mut released = 0u64;
    let c = Conn::new(TCP, 0, 0, 0);
    for n in 0..5000u16 {
        let f = fwd(n, TCP);
        let r = reply(n, TCP);
        let _ = t.insert(f, r, c, u64::from(n), |_| released += 1);
    }
    let cnt = *t.counters();
    assert_eq!(t.len(), cap);
    assert_eq!(cnt.live, cap as u64);
    assert_eq!(cnt.inserts + cnt.full, 5000);
    assert_eq!(cnt.evicted + cnt.expired, released);
    assert_eq!(cnt.inserts - released, cap as u64);
    assert_eq!(
        sizes,
        (t.buckets.capacity(), t.slots.capacity(), t.free.capacity())
    );
    assert!(t.free.is_empty());
}

#[test]
fn expire_with_budget_eventually_visits_everything() {
    let cap = 37;
    let mut t = table(cap);
    let ids: Vec<_> = (0..cap as u16).map(|n| add(&mut t, n, 0)).collect();
    // Keep one connection fresh: it must survive every sweep.
    let keep = ids[17];
    let now = 11 * S;
    t.observe(keep, Original, 0x10, now);
    let mut released = Vec::new();
    let mut calls = 0;
    let budget = 5;
    while calls < cap.div_ceil(budget) {
        let n = t.expire(now, budget, |r| released.push(r.id));
        assert!(n <= budget);
        calls += 1;
    }
    assert_eq!(released.len(), cap - 1);
    assert!(!released.contains(&keep));
    assert_eq!(t.len(), 1);
    assert_eq!(t.counters().expired, cap as u64 - 1);
    assert_eq!(
        t.expire(now, 1000, |_| panic!()),
        0,
        "budget above capacity is clamped"
    );
}

#[test]
fn bad_capacity_is_refused() {
    assert!(Conntrack::new(Config::new(0, 0)).is_err());
    assert!(Conntrack::new(Config::new(crate::MAX_CAPACITY + 1, 0)).is_err());
    assert_eq!(table(1).capacity(), 1);
}

#[test]
fn keys_homed_at_the_last_bucket_live_in_the_tail() {
    let mut t = table(64);
    let last = t.mask;
    let homed_last = |t: &Conntrack, n: u16| t.hash(&fwd(n, TCP)).0.home & t.mask == last;
    // Seeded hashing: find connections whose forward key's home is the last one.
    let at_end: Vec<u16> = (0..u16::MAX)
        .filter(|&n| homed_last(&t, n))
        .take(3)
        .collect();
    assert_eq!(at_end.len(), 3, "some keys hash to the last home");
    assert_eq!(t.buckets.len(), last + crate::buckets::WINDOW);
    let ids: Vec<_> = at_end.iter().map(|&n| add(&mut t, n, 0)).collect();
    for (&n, &id) in at_end.iter().zip(&ids) {
        assert_eq!(t.lookup(&fwd(n, TCP), 0), Some((id, Original)));
        assert_eq!(t.lookup(&reply(n, TCP), 0), Some((id, Reply)));
        let hinted = t.lookup_hinted(&fwd(n, TCP), Some(t.hash(&fwd(n, TCP))), 0);
        assert_eq!(hinted.map(|h| h.id), Some(id));
    }
    // They sit past the last home: in the tail, not wrapped to the start.
    let used: Vec<usize> = (0..t.buckets.len())
        .filter(|&p| !t.buckets[p].is_empty() && t.buckets[p].entry >> 1 == ids[2].index)
        .collect();
    assert!(used.iter().any(|&p| p > last), "{used:?}");
    assert!(t.remove(ids[1]).is_some());
    assert_eq!(t.lookup(&fwd(at_end[1], TCP), 0), None);
    assert_eq!(t.lookup(&fwd(at_end[2], TCP), 0), Some((ids[2], Original)));
}
