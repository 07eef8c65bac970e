//! Per-core connection tracking for the Strait L4 fast path.
#![forbid(unsafe_code)]
