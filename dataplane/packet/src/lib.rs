//! Sans-IO packet views for the Strait L4 fast path.
#![forbid(unsafe_code)]
