//! The state shared by the writer and all readers: the current pointer and one slot per reader.
//!
//! A slot holds what its reader last announced:
//! * [`OFFLINE`] (`u64::MAX`): the reader holds nothing and will re-announce before loading;
//! * [`JOINING`] (`0`): the reader is coming online and may be about to load any node; this
//!   blocks every reclamation until it stores a real sequence number;
//! * `s >= 1`: the reader holds (at most) the node with sequence `s`, and will never again load a
//!   node older than `s`.
//!
//! A retired node with sequence `s` may therefore be freed once every slot reads `> s`, i.e. once
//! `min(slots) > s` ([`Core::min_slot`]). The core is shared through an `Arc`; whoever drops the
//! last reference frees the current node and every node the writer left behind ([`Core::orphans`]).

use std::marker::PhantomData;
use std::ptr;

use crate::node::{self, Node, NodePtr};
use crate::sync::{Arc, AtomicPtr, AtomicU64, Mutex, Ordering};

/// Slot value of a reader that holds nothing and is not counted.
pub(crate) const OFFLINE: u64 = u64::MAX;
/// Slot value of a reader coming online, before it knows which node it loaded.
pub(crate) const JOINING: u64 = 0;

/// A value alone on its own pair of cache lines (128 bytes covers adjacent-line prefetch).
#[repr(align(128))]
pub(crate) struct CachePadded<T>(pub(crate) T);

impl<T> std::ops::Deref for CachePadded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Shared state of one RCU cell.
pub(crate) struct Core<T: ?Sized> {
    /// The current node, or null before the first publish.
    pub(crate) current: CachePadded<AtomicPtr<Node<T>>>,
    /// One announcement slot per reader, each on its own cache lines.
    pub(crate) slots: Box<[CachePadded<AtomicU64>]>,
    /// Retired (or, under loom, killed) nodes handed over by a dropped writer.
    pub(crate) orphans: Mutex<Vec<NodePtr<T>>>,
    /// The core owns `T` values (drop check, auto traits).
    _owns: PhantomData<T>,
}

impl<T: ?Sized> Core<T> {
    /// A core with `readers` slots, all offline, and no current value.
    pub(crate) fn new(readers: usize) -> Arc<Self> {
        Arc::new(Core {
            current: CachePadded(AtomicPtr::new(ptr::null_mut())),
            slots: (0..readers)
                .map(|_| CachePadded(AtomicU64::new(OFFLINE)))
                .collect(),
            orphans: Mutex::new(Vec::new()),
            _owns: PhantomData,
        })
    }

    /// The smallest slot value, `OFFLINE` when there are no readers. The loads are `Acquire` so
    /// that a reader's accesses before its announcing `Release` store happen-before a free.
    pub(crate) fn min_slot(&self) -> u64 {
        self.slots
            .iter()
            .map(|s| s.load(Ordering::Acquire))
            .min()
            .unwrap_or(OFFLINE)
    }
}

impl<T: ?Sized> Drop for Core<T> {
    fn drop(&mut self) {
        // The last `Arc` drop synchronizes with every other owner's drop, so no reader or writer
        // can touch any node any more.
        let current = self.current.load(Ordering::Acquire);
        let orphans = std::mem::take(
            &mut *self
                .orphans
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        if let Some(current) = ptr::NonNull::new(current) {
            // SAFETY: the current node came from `Node::alloc`, was never retired (so it is not
            // in `orphans`), and no owner of the core is left to reach it.
            unsafe { node::free(NodePtr(current)) };
        }
        for orphan in orphans {
            // SAFETY: orphans are retired nodes the writer never freed, each listed once, and no
            // owner of the core is left to reach them.
            unsafe { node::free(orphan) };
        }
    }
}
