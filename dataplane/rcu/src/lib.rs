//! Generation switch for shared-memory tables: an in-process RCU with quiescent-state-based
//! reclamation (QSBR).
//!
//! One atomic pointer holds the current value; each reader (a pinned worker thread) owns one
//! announcement slot on its own cache lines. A worker calls [`Reader::enter`] once per burst:
//! that is one `Acquire` load of the pointer, plus a `Release` store to its own slot only when
//! the value changed. The single [`Writer`] (the control thread) [`publish`](Writer::publish)es
//! a new value, which retires the old one, and later [`reclaim`](Writer::reclaim)s retired values
//! no reader can still hold. `T` may be unsized (`Rcu<dyn Tables>`, `Rcu<[u8]>`): values are
//! published as `Box<T>` and stay in that box.
//!
//! # Call order
//! 1. [`Rcu::new`]`(n)` → one [`Writer`] and `n` [`Reader`]s; move each reader to its worker.
//! 2. Writer: `publish(value)` → sequence number `s` (1, 2, 3, …); poll
//!    [`readers_at_least`](Writer::readers_at_least)`(s)` to learn that every online worker runs
//!    it; call `reclaim()` after publishing and periodically.
//! 3. Worker: `enter()` at the top of every burst; use the value for that burst only (the borrow
//!    ends at the next `enter`, the quiescent point). Call [`offline`](Reader::offline) before
//!    blocking; the next `enter` comes back online. A worker that blocks while online stalls
//!    reclamation (memory grows) but never breaks safety.
//!
//! # Invariants
//! * Slot values: `OFFLINE` (`u64::MAX`), `JOINING` (`0`, coming online), or the sequence `s` of
//!   the node the reader holds; an online reader never loads a node older than its slot.
//! * **Reclamation rule:** a retired value with sequence `s` is dropped only once every slot is
//!   offline or holds a sequence `> s` (`min(slots) > s`, since `OFFLINE` is `u64::MAX`).
//! * The current value is never dropped while current; dropping the writer frees what is
//!   reclaimable and hands the rest to the shared core (an `Arc`), whose last owner frees it.
//!
//! # Memory ordering
//! *Steady state:* a reader's accesses to its old value are sequenced before its `Release` store
//! of the newer sequence (or of `OFFLINE`), and the writer frees only after an `Acquire` load has
//! read that store, so every read of the old value happens-before the free.
//! *Coming online:* the reader stores `JOINING`, issues a `SeqCst` fence, then loads the pointer;
//! the writer swaps the pointer, issues a `SeqCst` fence (in `reclaim`), then loads the slots. In
//! the single total order of the two fences, either the writer's fence comes second, so it sees
//! `JOINING` (or later) and frees nothing the reader might load, or the reader's fence comes
//! second, so its load sees the new pointer and never the retired one. (Fences rather than
//! `SeqCst` accesses alone, because loom models only fences with full `SeqCst` strength.)
//!
//! # Testing
//! Under `--cfg loom` reclaimed values are not freed but marked dead in a loom `UnsafeCell`, and
//! readers read that mark whenever they touch or leave a value, so loom reports every schedule in
//! which a reader could touch a reclaimed value (`tests/loom.rs`).

#![deny(unsafe_op_in_unsafe_fn)]

mod core;
mod node;
mod reader;
mod sync;
mod writer;

#[cfg(all(test, not(loom)))]
mod tests;

use std::marker::PhantomData;

pub use reader::Reader;
pub use writer::Writer;

/// Constructor namespace for an RCU cell holding values of type `T`.
#[derive(Debug)]
pub struct Rcu<T: ?Sized> {
    _never: PhantomData<fn() -> T>,
}

impl<T: ?Sized + Send + Sync> Rcu<T> {
    /// Creates an empty cell with `readers` reader slots, all offline until their first
    /// [`Reader::enter`]. Returns the single writer and the readers, in slot order.
    #[expect(
        clippy::new_ret_no_self,
        reason = "`Rcu` is only a namespace; a cell is its writer plus its readers"
    )]
    pub fn new(readers: usize) -> (Writer<T>, Vec<Reader<T>>) {
        let core = core::Core::new(readers);
        let list = (0..readers)
            .map(|i| Reader::new(sync::Arc::clone(&core), i))
            .collect();
        (Writer::new(core), list)
    }
}
