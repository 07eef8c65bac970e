//! The single writer: publishes new values, retires old ones, and frees them when safe.
//!
//! Call order on the control thread: [`Writer::publish`] a new value, then call
//! [`Writer::reclaim`] whenever convenient (e.g. after each publish and on a timer) to free the
//! values no reader can still hold, and poll [`Writer::readers_at_least`] to learn when every
//! online reader runs the new value. Dropping the writer frees what it can; the rest is freed by
//! whichever reader drops the shared core last.

use std::fmt;

use crate::core::{Core, OFFLINE};
use crate::node::{Node, NodePtr};
use crate::sync::{Arc, Ordering, fence};

/// A value that is no longer current, waiting for every reader to pass it.
struct Retired<T: ?Sized> {
    seq: u64,
    node: NodePtr<T>,
}

/// The writing side of an RCU cell; exactly one exists per cell. See the [crate docs](crate).
pub struct Writer<T: ?Sized> {
    core: Arc<Core<T>>,
    /// Sequence number of the current value (0 before the first publish).
    seq: u64,
    /// Retired values, in increasing `seq` order.
    retired: Vec<Retired<T>>,
    /// Loom builds only: reclaimed nodes, killed but kept so late readers are caught.
    #[cfg(loom)]
    graveyard: Vec<NodePtr<T>>,
}

// SAFETY: the writer owns `T` values (sent to whichever thread frees them) and shares `&T` with
// readers on other threads, so it may move between threads when `T: Send + Sync`.
unsafe impl<T: ?Sized + Send + Sync> Send for Writer<T> {}

impl<T: ?Sized> Writer<T> {
    pub(crate) fn new(core: Arc<Core<T>>) -> Self {
        Writer {
            core,
            seq: 0,
            retired: Vec::new(),
            #[cfg(loom)]
            graveyard: Vec::new(),
        }
    }

    /// Makes `value` current, retires the previous value, and returns the new sequence number
    /// (1 for the first publish, then +1 each time). The box is kept as is (not copied).
    pub fn publish(&mut self, value: Box<T>) -> u64 {
        let seq = self.seq + 1;
        let node = Node::alloc(seq, value);
        // SeqCst (a Release store for readers' Acquire loads) ordered before the fence in
        // `reclaim`: the writer's half of the going-online handshake.
        let old = self.core.current.swap(node.as_ptr(), Ordering::SeqCst);
        if let Some(old) = std::ptr::NonNull::new(old) {
            self.retired.push(Retired {
                seq: self.seq,
                node: NodePtr(old),
            });
        }
        self.seq = seq;
        seq
    }

    /// The current value, if any has been published.
    pub fn current(&self) -> Option<&T> {
        // Relaxed: only this writer stores the pointer, and it reads its own latest store.
        let p = self.core.current.load(Ordering::Relaxed);
        // SAFETY: the current node is never freed while it is current, and only `publish`
        // (which needs `&mut self`) can retire it, so it outlives this `&self` borrow.
        unsafe { p.as_ref() }.map(|n| &*n.value)
    }

    /// Sequence number of the current value (0 before the first publish).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Number of retired values still waiting for readers.
    pub fn pending(&self) -> usize {
        self.retired.len()
    }

    /// Drops every retired value that no reader can still hold; returns how many were dropped.
    pub fn reclaim(&mut self) -> usize {
        if self.retired.is_empty() {
            return 0;
        }
        // Pairs with the fence a reader issues when coming online (see the crate docs).
        fence(Ordering::SeqCst);
        let min = self.core.min_slot();
        let mut freed = 0;
        for dead in self.retired.extract_if(.., |r| r.seq < min) {
            freed += 1;
            #[cfg(not(loom))]
            {
                // SAFETY: the node is retired (not current) and every slot is offline or holds a
                // sequence greater than `dead.seq`, so no reader holds it or can load it again.
                unsafe { crate::node::free(dead.node) };
            }
            #[cfg(loom)]
            {
                // SAFETY: as above, the node cannot be reached by readers; loom verifies that.
                unsafe { dead.node.0.as_ref() }.kill();
                self.graveyard.push(dead.node);
            }
        }
        freed
    }

    /// True when every online reader has announced sequence `seq` or later (offline readers
    /// count as passed: they load the newest value when they come back).
    pub fn readers_at_least(&self, seq: u64) -> bool {
        self.core
            .slots
            .iter()
            .all(|s| s.load(Ordering::Acquire) >= seq)
    }

    /// The sequence number each reader announced (`None` for an offline or dropped reader;
    /// `Some(0)` for a reader that is online but has not seen any value).
    pub fn reader_seqs(&self) -> Vec<Option<u64>> {
        self.core
            .slots
            .iter()
            .map(|s| match s.load(Ordering::Acquire) {
                OFFLINE => None,
                seq => Some(seq),
            })
            .collect()
    }
}

impl<T: ?Sized> Drop for Writer<T> {
    fn drop(&mut self) {
        self.reclaim();
        let mut orphans = self
            .core
            .orphans
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        orphans.extend(self.retired.drain(..).map(|r| r.node));
        #[cfg(loom)]
        orphans.append(&mut self.graveyard);
    }
}

impl<T: ?Sized> fmt::Debug for Writer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer")
            .field("seq", &self.seq)
            .field("pending", &self.retired.len())
            .field("readers", &self.core.slots.len())
            .finish()
    }
}
