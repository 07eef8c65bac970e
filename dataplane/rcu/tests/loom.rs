//! Model check of the reclamation rule with loom.
//!
//! Run: `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=/work/target-shm/loom \
//!       cargo test -p strait-rcu --test loom --release`
//!
//! Under `--cfg loom` the crate never frees a reclaimed value: it marks it dead through a loom
//! `UnsafeCell`, and a reader reads that mark whenever it returns a value from `enter`, leaves it
//! (next `enter`, `offline`, drop) or calls `assert_alive`. A reader access that is not ordered
//! before the reclaim is therefore a loom causality violation (or a failed assertion) in the
//! schedule that exposes it, instead of a silent use-after-free.
#![cfg(loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use strait_rcu::Rcu;

/// A value that counts its drops.
struct Gen {
    n: u64,
    drops: Arc<AtomicUsize>,
}

impl Drop for Gen {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

fn value(n: u64, drops: &Arc<AtomicUsize>) -> Box<Gen> {
    Box::new(Gen {
        n,
        drops: Arc::clone(drops),
    })
}

/// Runs `f` under loom, exploring schedules with at most `preemptions` forced context switches
/// (`None`: all schedules). `LOOM_MAX_PREEMPTIONS` in the environment overrides the bound.
fn model(preemptions: Option<usize>, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if std::env::var_os("LOOM_MAX_PREEMPTIONS").is_none() {
        builder.preemption_bound = preemptions;
    }
    builder.check(f);
}

/// Writer publishes twice and reclaims after each; reader 0 enters twice; reader 1 enters, goes
/// offline and comes back online. Three threads: bounded to 3 preemptions (loom's advice; the
/// full space takes far too long), which covers every bug the rule guards against in practice.
#[test]
fn readers_never_touch_a_reclaimed_value() {
    model(Some(3), || {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut writer, mut readers) = Rcu::<Gen>::new(2);
        writer.publish(value(1, &drops));
        let mut r1 = readers.pop().unwrap();
        let mut r0 = readers.pop().unwrap();

        let t0 = thread::spawn(move || {
            let a = r0.enter().map(|g| g.n);
            r0.assert_alive();
            let b = r0.enter().map(|g| g.n);
            r0.assert_alive();
            assert!(
                a.is_some() && b >= a,
                "sequence went back: {a:?} then {b:?}"
            );
        });
        let t1 = thread::spawn(move || {
            let a = r1.enter().map(|g| g.n);
            r1.assert_alive();
            r1.offline();
            let b = r1.enter().map(|g| g.n);
            r1.assert_alive();
            assert!(
                a.is_some() && b >= a,
                "sequence went back: {a:?} then {b:?}"
            );
        });

        writer.publish(value(2, &drops));
        writer.reclaim();
        writer.publish(value(3, &drops));
        writer.reclaim();

        t0.join().unwrap();
        t1.join().unwrap();
        writer.reclaim();
        assert_eq!(
            writer.pending(),
            0,
            "both readers are gone, everything is reclaimable"
        );
        drop(writer);
        assert_eq!(
            drops.load(Ordering::Relaxed),
            3,
            "every value dropped exactly once"
        );
    });
}

/// A reader that only comes online while the writer publishes and reclaims: the going-online
/// handshake on its own. Two threads: every schedule is explored.
#[test]
fn coming_online_races_with_reclaim() {
    model(None, || {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut writer, mut readers) = Rcu::<Gen>::new(1);
        writer.publish(value(1, &drops));
        let mut r = readers.pop().unwrap();

        let t = thread::spawn(move || {
            let a = r.enter().map(|g| g.n);
            r.assert_alive();
            r.offline();
            let b = r.enter().map(|g| g.n);
            r.assert_alive();
            assert!(a.is_some() && b >= a);
        });

        writer.publish(value(2, &drops));
        writer.reclaim();
        t.join().unwrap();
        writer.reclaim();
        assert_eq!(
            writer.pending(),
            0,
            "the reader is gone, everything is reclaimable"
        );
        drop(writer);
        assert_eq!(drops.load(Ordering::Relaxed), 2);
    });
}
