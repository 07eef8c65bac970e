//! The heap cell behind every published value, and the owning raw pointer the writer keeps.
//!
//! The node holds the caller's `Box<T>` as is (no copy, and `T` may be unsized, e.g.
//! `dyn Trait` or `[u8]`); readers pay one extra pointer hop per burst to reach the value.
//!
//! A `Node` is allocated by [`Writer::publish`](crate::Writer::publish) with `Box::into_raw`,
//! reached by readers only through the shared atomic pointer, and freed exactly once by
//! [`free`] — by the writer's reclaim, or by the last owner of the shared core.
//!
//! Under `--cfg loom` a node also carries an `alive` flag in a loom `UnsafeCell`. Reclaim does not
//! free the node then; it writes `alive = false` and keeps the node in a graveyard. Readers read
//! the flag whenever they touch or leave a node, so any read that is not ordered before the
//! reclaim is reported by loom's causality checker (or trips the assertion), instead of being an
//! invisible use-after-free.

use std::ptr::NonNull;

#[cfg(loom)]
use crate::sync::UnsafeCell;

/// One published value with its sequence number.
pub(crate) struct Node<T: ?Sized> {
    /// Sequence number given by the writer (1, 2, 3, …); never changes.
    pub(crate) seq: u64,
    /// Use-after-reclaim detector (loom builds only).
    #[cfg(loom)]
    alive: UnsafeCell<bool>,
    /// The value handed to readers.
    pub(crate) value: Box<T>,
}

impl<T: ?Sized> Node<T> {
    /// Allocates a node and leaks it into a raw owning pointer.
    pub(crate) fn alloc(seq: u64, value: Box<T>) -> NodePtr<T> {
        let node = Box::new(Node {
            seq,
            #[cfg(loom)]
            alive: UnsafeCell::new(true),
            value,
        });
        NodePtr(NonNull::from(Box::leak(node)))
    }

    /// Panics (or makes loom report a data race) if the node was reclaimed.
    #[cfg(loom)]
    pub(crate) fn assert_alive(&self) {
        // SAFETY: `with` hands out a pointer to the flag for a tracked shared read; loom reports
        // any concurrent `with_mut` as a causality violation instead of letting the read race.
        let alive = self.alive.with(|p| unsafe { *p });
        assert!(
            alive,
            "strait-rcu: reader touched a reclaimed value (seq {})",
            self.seq
        );
    }

    /// Marks the node dead in place of freeing it (loom builds only).
    #[cfg(loom)]
    pub(crate) fn kill(&self) {
        // SAFETY: a tracked exclusive write; loom checks that every earlier read of the flag
        // happens-before it, which is exactly the reclamation rule under test.
        self.alive.with_mut(|p| unsafe { *p = false });
    }
}

/// Owning raw pointer to a [`Node`]; the holder is responsible for passing it to [`free`] once.
pub(crate) struct NodePtr<T: ?Sized>(pub(crate) NonNull<Node<T>>);

// SAFETY: a `NodePtr` is the unique owner of its node (like a `Box`), and it is only moved between
// the writer and the shared core; sending it sends a `T`, and readers on other threads share `&T`,
// hence the `Send + Sync` bound.
unsafe impl<T: ?Sized + Send + Sync> Send for NodePtr<T> {}

impl<T: ?Sized> NodePtr<T> {
    /// The raw pointer stored in the shared atomic.
    pub(crate) fn as_ptr(&self) -> *mut Node<T> {
        self.0.as_ptr()
    }
}

/// Frees a node (runs `T`'s destructor).
///
/// # Safety
/// `node` must come from [`Node::alloc`], must not have been freed, and no reader may be able to
/// reach it any more: it is no longer the current pointer and every reader slot is offline or
/// holds a sequence number greater than the node's (or no reader exists).
pub(crate) unsafe fn free<T: ?Sized>(node: NodePtr<T>) {
    // SAFETY: the caller guarantees unique ownership and that nobody else can reach the node; it
    // was allocated by `Box` in `Node::alloc`.
    drop(unsafe { Box::from_raw(node.as_ptr()) });
}
