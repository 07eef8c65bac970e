//! Helpers for Strait's end-to-end tests: the binaries, processes stopped by PID, waiting.
//!
//! Every process a test starts is a [`Proc`]; dropping it kills the process (SIGTERM, then
//! SIGKILL) and reaps it, so a failing assertion never leaves anything running. The binaries
//! come from the same target directory and profile as the test; `scripts/test.sh` builds them
//! before running the tests.
#![forbid(unsafe_code)]

mod background;
pub mod grpc;
pub mod http;
pub mod http2;
pub mod https_upstream;
pub mod l7;
mod node;
pub mod one_shot;
pub mod probe;
mod proc;
pub mod testbed;
pub mod tls;
pub mod tls_upstream;
pub mod upstream;
pub mod ws;

pub use node::{Node, test_cores};
pub use proc::{Proc, assert_agent_unreachable, bin, straitctl, wait_until};
pub use testbed::Testbed;
