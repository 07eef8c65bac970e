//! The Strait data plane: pinned poll-mode workers running the tables the agent publishes.
//!
//! [`run`] starts in this order: create the stats region and health overlay; install the last
//! good image from the state directory, if any, so traffic is served before the agent answers;
//! start one worker per configured core; then keep a link to the agent (reconnecting forever),
//! installing every image it publishes. Workers see a new generation at their next burst
//! through [`strait_rcu`]; the control thread never blocks them.
#![forbid(unsafe_code)]

mod control;
mod cores;
mod handoff;
mod keeper;
mod l7;
pub mod options;
mod packets;
mod tables;
mod worker;

pub use control::run;
pub use cores::{allowed_cores, parse_cores};
pub use options::{DataplaneOptions, PacketOptions};
pub use strait_l7::{AccessLog as L7AccessLog, Driver as L7Driver, L7Options};
pub use tables::{TableError, Tables};
