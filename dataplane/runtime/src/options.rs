//! Options of `strait-dataplane`.

use std::{net::IpAddr, path::PathBuf};

use strait_device::DeviceConfig;
use strait_fastpath::NodeConfig;

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
    /// The L4 packet path; `None` runs workers that only follow generations.
    pub packets: Option<PacketOptions>,
    /// One L7 (HTTP proxy) worker is pinned to each of these cores (none when empty).
    pub l7_cores: Vec<usize>,
    /// How the L7 workers run.
    pub l7: strait_l7::L7Options,
}

/// Frames per burst when not set.
pub const DEFAULT_BURST: usize = 32;

/// The L4 packet path of a data plane.
#[derive(Clone, Debug)]
pub struct PacketOptions {
    /// The device and interface, one port per worker.
    pub device: DeviceConfig,
    /// The node's addresses and policies; a zero MAC means "the interface's MAC".
    pub node: NodeConfig,
    /// Configured neighbours (next hops whose MAC is not learned).
    pub neighbours: Vec<(IpAddr, [u8; 6])>,
    /// Frames per burst.
    pub burst: usize,
}
