//! Options of `strait-dataplane`.

use std::path::PathBuf;

/// Default data-plane link socket (served by the agent).
pub const DEFAULT_LINK_SOCKET: &str = "/run/strait/dataplane.sock";
/// Default state directory (the last good image).
pub const DEFAULT_STATE_DIR: &str = "/var/lib/strait/dataplane";
/// Default number of health-overlay slots (endpoints the agent can mark).
pub const DEFAULT_HEALTH_SLOTS: u32 = 1 << 20;

/// Everything the data plane needs to start.
#[derive(Clone, Debug)]
pub struct DataplaneOptions {
    /// One worker is pinned to each of these cores.
    pub cores: Vec<usize>,
    /// The agent's link socket.
    pub link_socket: PathBuf,
    /// Where the last good image is kept.
    pub state_dir: PathBuf,
    /// Capacity of the health overlay.
    pub health_slots: u32,
}
