//! The interface behind the ports: does it exist here, and how many receive queues it has.
//!
//! Both answers come from ioctls on a socket of the calling thread's network namespace, so
//! they hold for a thread that moved into another namespace (as tests do) — unlike
//! `/sys/class/net`, which shows the namespace sysfs was mounted in. The queue count is
//! `ETHTOOL_GCHANNELS`'s `rx_count + combined_count`; a driver without channel support
//! falls back to counting `/sys/class/net/IFACE/queues/rx-*`, used only when that entry's
//! `ifindex` matches the interface found here.

use std::{
    fs, io,
    os::fd::{AsRawFd, OwnedFd},
};

use rustix::net::{AddressFamily, SocketType, netdevice, socket};
use tracing::debug;

use crate::DeviceError;

/// `ETHTOOL_GCHANNELS` from `linux/ethtool.h`.
const ETHTOOL_GCHANNELS: u32 = 0x3c;

/// `struct ethtool_channels` from `linux/ethtool.h`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
struct EthtoolChannels {
    cmd: u32,
    max_rx: u32,
    max_tx: u32,
    max_other: u32,
    max_combined: u32,
    rx_count: u32,
    tx_count: u32,
    other_count: u32,
    combined_count: u32,
}

/// `struct ifreq` with its union used as `ifr_data`, the form `SIOCETHTOOL` takes.
#[repr(C)]
struct IfreqData {
    name: [u8; libc::IFNAMSIZ],
    data: *mut EthtoolChannels,
    /// The rest of the union (`struct ifmap` is the largest member).
    _rest: [u8; 16],
}

const _: () = assert!(size_of::<IfreqData>() == size_of::<libc::ifreq>());

/// What [`lookup`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Link {
    /// The receive queues in use, or `None` if the driver does not say.
    pub rx_queues: Option<usize>,
}

/// Finds `interface` in the calling thread's network namespace.
pub(super) fn lookup(interface: &str) -> Result<Link, DeviceError> {
    let sock =
        socket(AddressFamily::INET, SocketType::DGRAM, None).map_err(|e| DeviceError::Setup {
            device: super::setup::DEVICE,
            interface: interface.to_owned(),
            port: 0,
            what: "opening a socket for interface ioctls",
            source: e.into(),
        })?;
    let index =
        netdevice::name_to_index(&sock, interface).map_err(|e| DeviceError::NoInterface {
            interface: interface.to_owned(),
            source: e.into(),
        })?;
    let rx_queues = match channels(&sock, interface) {
        Ok(c) if c.rx_count + c.combined_count > 0 => {
            Some((c.rx_count + c.combined_count) as usize)
        }
        Ok(_) => sysfs_rx_queues(interface, index),
        Err(e) => {
            debug!(interface, error = %e, "ETHTOOL_GCHANNELS failed; counting sysfs queues");
            sysfs_rx_queues(interface, index)
        }
    };
    Ok(Link { rx_queues })
}

/// The driver's channel counts (`ethtool -l`).
fn channels(sock: &OwnedFd, interface: &str) -> io::Result<EthtoolChannels> {
    let mut channels = EthtoolChannels {
        cmd: ETHTOOL_GCHANNELS,
        ..EthtoolChannels::default()
    };
    let mut req = IfreqData {
        name: [0; libc::IFNAMSIZ],
        data: &raw mut channels,
        _rest: [0; 16],
    };
    // `name_to_index` succeeded, so the name is shorter than IFNAMSIZ: it stays NUL-ended.
    req.name[..interface.len()].copy_from_slice(interface.as_bytes());
    // SAFETY: SIOCETHTOOL reads the NUL-ended name from `req`, which has the size and layout
    // of `struct ifreq`, and, for ETHTOOL_GCHANNELS, writes one `struct ethtool_channels`
    // (mirrored by `EthtoolChannels`) through `req.data`. That points to `channels`, which
    // lives until after the call and is not otherwise used during it.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCETHTOOL, &raw mut req) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(channels)
}

/// Counts `rx-*` in `/sys/class/net/IFACE/queues`, if that entry is this interface.
fn sysfs_rx_queues(interface: &str, index: u32) -> Option<usize> {
    let dir = format!("/sys/class/net/{interface}");
    let sysfs_index = fs::read_to_string(format!("{dir}/ifindex")).ok()?;
    if sysfs_index.trim().parse::<u32>().ok()? != index {
        debug!(
            interface,
            "sysfs shows another namespace; queue count unknown"
        );
        return None;
    }
    let queues = fs::read_dir(format!("{dir}/queues")).ok()?;
    let rx = queues
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("rx-"))
        .count();
    (rx > 0).then_some(rx)
}

/// Why `ports` ports cannot be opened on an interface with `have` receive queues.
pub(super) fn queue_hint(interface: &str, have: usize, ports: usize) -> String {
    format!(
        "{interface} has {have} receive queue(s) and an AF_XDP port needs one each, \
         but {ports} ports were asked for: give it more queues \
         (`ethtool -L {interface} combined {ports}`; a veth must be created with \
         `numrxqueues {ports} numtxqueues {ports}`) or run fewer workers"
    )
}
