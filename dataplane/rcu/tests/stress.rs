//! Multi-threaded stress: readers spin on `enter` while the writer publishes thousands of values
//! and reclaims after each. Every value carries a canary, and a side table records each value's
//! life (published → alive → dropped); readers check both at the start and at the end of every
//! burst, so a value dropped while in use is reported. At the end every published value must have
//! been dropped exactly once.
#![cfg(not(loom))]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::thread;

use strait_rcu::Rcu;

const VALUES: usize = 50_000;
const READERS: usize = 3;
const CANARY: u64 = 0x5354_5241_4954_5f21;

const UNBORN: u8 = 0;
const ALIVE: u8 = 1;
const DEAD: u8 = 2;

struct Shared {
    life: Vec<AtomicU8>,
    drops: AtomicUsize,
}

struct Value {
    id: usize,
    canary: u64,
    shared: Arc<Shared>,
}

impl Value {
    /// Panics unless this value is intact and not yet dropped.
    fn check(&self) {
        assert_eq!(self.canary, CANARY ^ self.id as u64, "canary clobbered");
        assert_eq!(
            self.shared.life[self.id].load(Ordering::SeqCst),
            ALIVE,
            "value {} used after drop",
            self.id
        );
    }
}

impl Drop for Value {
    fn drop(&mut self) {
        let was = self.shared.life[self.id].swap(DEAD, Ordering::SeqCst);
        assert_eq!(was, ALIVE, "value {} dropped twice", self.id);
        self.canary = 0xdead_dead_dead_dead;
        self.shared.drops.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn readers_never_see_a_dropped_value_and_every_value_is_dropped_once() {
    let shared = Arc::new(Shared {
        life: (0..VALUES).map(|_| AtomicU8::new(UNBORN)).collect(),
        drops: AtomicUsize::new(0),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let (mut writer, readers) = Rcu::<Value>::new(READERS);

    let handles: Vec<_> = readers
        .into_iter()
        .map(|mut reader| {
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let (mut bursts, mut last, mut switches) = (0u64, 0usize, 0u64);
                while !stop.load(Ordering::Relaxed) {
                    if let Some(v) = reader.enter() {
                        v.check();
                        assert!(v.id >= last, "went back from {last} to {}", v.id);
                        switches += u64::from(v.id != last);
                        last = v.id;
                        for _ in 0..8 {
                            std::hint::black_box(v.canary);
                            v.check();
                        }
                        v.check();
                    }
                    bursts += 1;
                    // Exercise the going-online handshake now and then.
                    if bursts % (97 + reader.index() as u64) == 0 {
                        reader.offline();
                        thread::yield_now();
                    }
                }
                (bursts, switches)
            })
        })
        .collect();

    let mut reclaimed = 0;
    for id in 0..VALUES {
        shared.life[id].store(ALIVE, Ordering::SeqCst);
        let seq = writer.publish(Box::new(Value {
            id,
            canary: CANARY ^ id as u64,
            shared: Arc::clone(&shared),
        }));
        assert_eq!(seq, id as u64 + 1);
        reclaimed += writer.reclaim();
        // Now and then wait until every worker runs the new value, so readers really do
        // move through many generations while values are being freed under them.
        if id % 64 == 0 {
            while !writer.readers_at_least(seq) {
                thread::yield_now();
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let (mut bursts, mut switches) = (0, 0);
    for h in handles {
        let (b, s) = h.join().unwrap();
        bursts += b;
        switches += s;
    }
    reclaimed += writer.reclaim();
    assert_eq!(
        writer.pending(),
        0,
        "all readers are gone, nothing may stay retired"
    );
    drop(writer);

    assert_eq!(
        reclaimed,
        VALUES - 1,
        "all but the current value reclaimed by the writer"
    );
    assert_eq!(shared.drops.load(Ordering::SeqCst), VALUES);
    assert!(shared.life.iter().all(|l| l.load(Ordering::SeqCst) == DEAD));
    assert!(bursts > 0);
    // How many generations a reader passes through depends on scheduling: `readers_at_least`
    // does not wait for offline readers, and these go offline on purpose, so on a loaded
    // machine they may skip most values. They must still have moved at least once, or the
    // test exercised nothing.
    assert!(switches > 0, "readers never switched generations");
}
