//! The Strait control API, `strait.v1`, generated from `proto/strait/v1/strait.proto`.
//!
//! Both the agent (server) and `straitctl` (client) use these types; nothing else lives here.
#![forbid(unsafe_code)]

/// Generated messages and the `Control` service client and server.
#[allow(missing_docs, clippy::all, missing_debug_implementations)]
pub mod v1 {
    tonic::include_proto!("strait.v1");
}

mod client;

pub use client::{MAX_MESSAGE, connect};
