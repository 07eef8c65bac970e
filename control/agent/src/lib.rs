//! The Strait control agent.
//!
//! The agent is the single writer of configuration. It validates a config, compiles it into a
//! table image, seals the image in a memfd and hands it to the data plane over the link socket;
//! it persists the last good config so that a restart serves it again. It is out of band: when
//! it is down, the data plane keeps running its last tables.
//!
//! Order of things in [`run`]: restore the persisted state, start the link server (data plane
//! side), then serve the gRPC API. Every apply goes validate → compile → persist and publish.
//! Endpoint states the operator sets (draining, down) go straight into the data plane's health
//! overlay, are persisted beside the config, and follow their address across applies.
#![forbid(unsafe_code)]

mod endpoint_api;
mod endpoints;
pub mod link;
pub mod options;
mod publish;
mod reaper;
mod server;
mod service;
mod stats;
mod status;
pub mod store;

pub use options::{AgentOptions, Listen};
pub use server::run;
