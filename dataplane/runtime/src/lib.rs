//! The Strait data plane: pinned workers running the published tables.
#![forbid(unsafe_code)]
