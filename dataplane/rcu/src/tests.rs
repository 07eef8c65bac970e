//! Single-threaded behaviour of the writer and readers (the concurrent cases are in
//! `tests/stress.rs` and `tests/loom.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::{Rcu, Reader, Writer};

/// A value that counts its drops.
struct Counted {
    n: u64,
    drops: Arc<AtomicUsize>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

fn counted(n: u64, drops: &Arc<AtomicUsize>) -> Box<Counted> {
    Box::new(Counted {
        n,
        drops: Arc::clone(drops),
    })
}

fn drops_of(drops: &Arc<AtomicUsize>) -> usize {
    drops.load(Ordering::SeqCst)
}

#[test]
fn sequence_numbers_start_at_one_and_increase() {
    let (mut w, _r) = Rcu::<u32>::new(1);
    assert_eq!(w.seq(), 0);
    assert!(w.current().is_none());
    assert_eq!(w.publish(Box::new(7)), 1);
    assert_eq!(w.publish(Box::new(8)), 2);
    assert_eq!(w.current(), Some(&8));
    assert_eq!(w.seq(), 2);
}

#[test]
fn reader_sees_nothing_then_latest() {
    let (mut w, mut rs) = Rcu::<u32>::new(1);
    let r = &mut rs[0];
    assert_eq!(r.enter(), None);
    assert_eq!(w.reader_seqs(), vec![Some(0)]);
    w.publish(Box::new(1));
    w.publish(Box::new(2));
    assert_eq!(r.enter(), Some(&2));
    assert_eq!(r.seq(), Some(2));
    assert_eq!(w.reader_seqs(), vec![Some(2)]);
}

#[test]
fn reclaim_waits_for_the_reader_to_pass() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (mut w, mut rs) = Rcu::new(2);
    w.publish(counted(1, &drops));
    assert_eq!(rs[0].enter().map(|c| c.n), Some(1));
    assert_eq!(rs[1].enter().map(|c| c.n), Some(1));
    w.publish(counted(2, &drops));
    assert_eq!(w.reclaim(), 0, "both readers still hold seq 1");
    assert!(!w.readers_at_least(2));
    rs[0].enter();
    assert_eq!(w.reclaim(), 0, "reader 1 still holds seq 1");
    rs[1].enter();
    assert!(w.readers_at_least(2));
    assert_eq!(w.reclaim(), 1);
    assert_eq!(drops_of(&drops), 1);
    assert_eq!(w.pending(), 0);
}

#[test]
fn offline_and_dropped_readers_do_not_hold_anything() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (mut w, mut rs) = Rcu::new(2);
    w.publish(counted(1, &drops));
    rs[0].enter();
    rs[1].enter();
    rs[0].offline();
    drop(rs.pop());
    assert_eq!(w.reader_seqs(), vec![None, None]);
    w.publish(counted(2, &drops));
    assert!(w.readers_at_least(2));
    assert_eq!(w.reclaim(), 1);
    assert_eq!(
        rs[0].enter().map(|c| c.n),
        Some(2),
        "online again at next enter"
    );
    assert_eq!(w.reader_seqs(), vec![Some(2), None]);
}

#[test]
fn joining_reader_blocks_reclaim_until_it_announces() {
    let (mut w, mut rs) = Rcu::<u32>::new(1);
    w.publish(Box::new(1));
    rs[0].enter();
    w.publish(Box::new(2));
    // A reader that never entered since the publish keeps seq 1 alive …
    assert_eq!(w.reclaim(), 0);
    // … and one that entered has moved on.
    rs[0].enter();
    assert_eq!(w.reclaim(), 1);
}

#[test]
fn every_value_is_dropped_exactly_once_whoever_goes_last() {
    for writer_first in [true, false] {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut w, mut rs): (Writer<Counted>, Vec<Reader<Counted>>) = Rcu::new(3);
        w.publish(counted(1, &drops));
        rs[1].enter();
        for n in 2..=5 {
            w.publish(counted(n, &drops));
            rs[0].enter();
        }
        assert_eq!(w.reclaim(), 0, "reader 1 still holds seq 1");
        assert_eq!(w.pending(), 4);
        if writer_first {
            drop(w);
            assert_eq!(
                rs[1].enter().map(|c| c.n),
                Some(5),
                "current survives the writer"
            );
            drop(rs);
        } else {
            drop(rs);
            drop(w);
        }
        assert_eq!(drops_of(&drops), 5);
    }
}

#[test]
fn readers_and_writer_are_send() {
    fn is_send<S: Send>() {}
    is_send::<Writer<Vec<u8>>>();
    is_send::<Reader<Vec<u8>>>();
}

#[test]
fn zero_readers_reclaim_immediately() {
    let (mut w, rs) = Rcu::<String>::new(0);
    assert!(rs.is_empty());
    w.publish(Box::new("a".into()));
    w.publish(Box::new("b".into()));
    assert!(w.readers_at_least(u64::MAX));
    assert_eq!(w.reclaim(), 1);
    assert_eq!(w.current().map(String::as_str), Some("b"));
}

#[test]
fn unsized_values_are_published_in_their_box() {
    let (mut w, mut rs) = Rcu::<[u8]>::new(1);
    let image: Box<[u8]> = vec![1, 2, 3].into_boxed_slice();
    let addr = image.as_ptr();
    w.publish(image);
    let seen = rs[0].enter().unwrap();
    assert_eq!(seen, &[1, 2, 3]);
    assert_eq!(seen.as_ptr(), addr, "not copied");

    let (mut w, mut rs) = Rcu::<dyn Fn() -> u32 + Send + Sync>::new(1);
    w.publish(Box::new(|| 7));
    assert_eq!(rs[0].enter().map(|f| f()), Some(7));
}
