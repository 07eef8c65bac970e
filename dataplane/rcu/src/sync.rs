//! The one place that chooses between `std` and `loom` synchronization primitives.
//!
//! Under `--cfg loom` every atomic, fence, `Arc` and `Mutex` the crate uses comes from `loom`, so
//! the model checker sees (and permutes) every synchronizing operation; otherwise they are the
//! `std` types. Nothing else in the crate names `std::sync` or `loom` directly.

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicPtr, AtomicU64, fence};
#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Mutex};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicPtr, AtomicU64, fence};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Mutex};

pub(crate) use std::sync::atomic::Ordering;
