//! One reader (one worker thread): takes a view per burst and announces quiescent points.
//!
//! Call order on a worker: [`Reader::enter`] at the top of every burst and use the returned
//! value for that burst only (the borrow ends at the next `enter`, which is the quiescent point).
//! Before blocking (sleeping, waiting on a queue) call [`Reader::offline`] so the writer is not
//! held up; the next `enter` comes back online. Dropping a reader takes it offline for good.
//!
//! Hot path: one `Acquire` load of the current pointer; only when it changed, one `Release`
//! store of the new sequence number into the reader's own cache-line-padded slot.

use std::fmt;
use std::ptr;

use crate::core::{Core, JOINING, OFFLINE};
use crate::node::Node;
use crate::sync::{Arc, AtomicU64, Ordering, fence};

/// The reading side of an RCU cell, one per worker thread. See the [crate docs](crate).
pub struct Reader<T: ?Sized> {
    core: Arc<Core<T>>,
    index: usize,
    /// The node this reader announced; null when offline or when nothing is published.
    held: *const Node<T>,
    online: bool,
}

// SAFETY: a reader hands out `&T` on whatever thread it runs (needs `T: Sync`) and may be the
// last owner of the core, which drops `T` values (needs `T: Send`).
unsafe impl<T: ?Sized + Send + Sync> Send for Reader<T> {}

impl<T: ?Sized> Reader<T> {
    pub(crate) fn new(core: Arc<Core<T>>, index: usize) -> Self {
        Reader {
            core,
            index,
            held: ptr::null(),
            online: false,
        }
    }

    /// This reader's index (its position in the `Vec` from [`Rcu::new`](crate::Rcu::new) and in
    /// [`Writer::reader_seqs`](crate::Writer::reader_seqs)).
    pub fn index(&self) -> usize {
        self.index
    }

    /// Sequence number of the value this reader holds (`None` when offline or before any
    /// publish).
    pub fn seq(&self) -> Option<u64> {
        // SAFETY: `held` is null or a node this reader announced, which stays allocated until
        // the reader announces something newer or goes offline (both need `&mut self`).
        unsafe { self.held.as_ref() }.map(|n| n.seq)
    }

    /// Starts a burst: a quiescent point for everything returned before, then the current value.
    /// Comes back online first if the reader was offline.
    #[inline]
    pub fn enter(&mut self) -> Option<&T> {
        #[cfg(loom)]
        self.assert_alive();
        if self.online {
            let p = self.core.current.load(Ordering::Acquire);
            if !ptr::eq(p, self.held) {
                self.announce(p);
            }
        } else {
            self.come_online();
        }
        // SAFETY: `held` is null or the node just announced (see `seq`); the returned borrow
        // ties up `&mut self`, so it ends before the next announcement or `offline`.
        let node = unsafe { self.held.as_ref() }?;
        #[cfg(loom)]
        node.assert_alive();
        Some(&*node.value)
    }

    /// Stops counting this reader until its next [`enter`](Reader::enter): the writer may free
    /// everything meanwhile. Use it before blocking.
    pub fn offline(&mut self) {
        if !self.online {
            return;
        }
        #[cfg(loom)]
        self.assert_alive();
        // Release: every access to the held node happens-before a writer that reads OFFLINE.
        self.slot().store(OFFLINE, Ordering::Release);
        self.online = false;
        self.held = ptr::null();
    }

    /// Loom builds only: asserts the held value has not been reclaimed (a tracked read).
    #[cfg(loom)]
    pub fn assert_alive(&self) {
        // SAFETY: see `seq`; under loom reclaimed nodes are never deallocated anyway.
        if let Some(node) = unsafe { self.held.as_ref() } {
            node.assert_alive();
        }
    }

    fn slot(&self) -> &AtomicU64 {
        &self.core.slots[self.index]
    }

    /// Online and the pointer changed: announce the new node's sequence number.
    #[cold]
    fn announce(&mut self, p: *const Node<T>) {
        // SAFETY: `p` was loaded (Acquire) from the current pointer. While our slot still holds
        // an older sequence (or JOINING), the writer cannot free `p`: freeing needs a slot value
        // greater than `p`'s sequence, which only this reader can store.
        let seq = unsafe { p.as_ref() }.map_or(JOINING, |n| n.seq);
        // Release: our accesses to the previously held node happen-before any free that reads
        // this value (the writer loads slots with Acquire).
        self.slot().store(seq, Ordering::Release);
        self.held = p;
    }

    /// The going-online handshake: store JOINING, SeqCst fence, then load the pointer.
    #[cold]
    fn come_online(&mut self) {
        self.slot().store(JOINING, Ordering::SeqCst);
        // Pairs with the writer's fence in `reclaim` (see the crate docs): either the writer sees
        // JOINING (and frees nothing), or this load sees every pointer swap that writer made
        // before its fence (so it cannot load a node that writer is freeing).
        fence(Ordering::SeqCst);
        let p = self.core.current.load(Ordering::Acquire);
        self.online = true;
        self.announce(p);
    }
}

impl<T: ?Sized> Drop for Reader<T> {
    fn drop(&mut self) {
        self.offline();
    }
}

impl<T: ?Sized> fmt::Debug for Reader<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader")
            .field("index", &self.index)
            .field("online", &self.online)
            .field("seq", &self.seq())
            .finish()
    }
}
