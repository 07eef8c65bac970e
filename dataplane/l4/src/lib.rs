//! The Strait L4 fast path, sans-IO.
#![forbid(unsafe_code)]
