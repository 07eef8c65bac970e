//! [`AnyPort`]: the port a worker drives, whichever device it came from, and [`open`].

use crate::memory::MemoryPort;
use std::path::PathBuf;

use crate::{
    DeviceError, DeviceKind, Port, PortStats, RingSizes, Verdict, XdpMode, af_packet, af_xdp, dpdk,
};

/// A port of any kind (static dispatch: one `match` per burst call, not per frame).
// One value per worker, made once and never moved on the fast path: boxing the large variants
// would only add a pointer chase to every burst.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum AnyPort {
    /// See [`crate::memory`].
    Memory(MemoryPort),
    /// See [`crate::af_packet`].
    AfPacket(af_packet::AfPacketPort),
    /// See [`crate::af_xdp`].
    AfXdp(af_xdp::AfXdpPort),
    /// See [`crate::dpdk`].
    Dpdk(dpdk::DpdkPort),
}

/// Where and how to open a device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceConfig {
    /// The device kind.
    pub kind: DeviceKind,
    /// The interface (ignored by `memory`); for `dpdk` the port's name (PCI address or vdev
    /// name), empty for the first port.
    pub interface: String,
    /// Ring sizes (descriptors per queue for `dpdk`).
    pub rings: RingSizes,
    /// XDP attach mode (`af_xdp` only).
    pub xdp_mode: XdpMode,
    /// EAL and port settings (`dpdk` only).
    pub dpdk: DpdkOptions,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        DeviceConfig {
            kind: DeviceKind::Memory,
            interface: String::new(),
            rings: RingSizes::default(),
            xdp_mode: XdpMode::Auto,
            dpdk: DpdkOptions::default(),
        }
    }
}

impl DeviceConfig {
    /// The `dpdk` device on one virtual device `spec` (`driver<n>[,key=value…]`), its port,
    /// without hugepages (256 MB), with the EAL's main lcore on `main_core`: tests and
    /// benchmarks.
    pub fn dpdk_vdev(spec: &str, main_core: usize) -> DeviceConfig {
        DeviceConfig {
            kind: DeviceKind::Dpdk,
            interface: spec.split(',').next().unwrap_or(spec).to_owned(),
            rings: RingSizes { rx: 1024, tx: 1024 },
            dpdk: DpdkOptions {
                vdevs: vec![spec.to_owned()],
                no_huge: true,
                memory_mb: 256,
                main_core,
                ..DpdkOptions::default()
            },
            ..DeviceConfig::default()
        }
    }
}

/// How the `dpdk` device starts DPDK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DpdkOptions {
    /// Virtual devices to create (`--vdev`), e.g. `net_af_xdp0,iface=eth1,queue_count=2`.
    pub vdevs: Vec<String>,
    /// PCI devices to probe (`-a`); none with vdevs means no PCI scan.
    pub allow: Vec<String>,
    /// Anonymous memory instead of hugepages.
    pub no_huge: bool,
    /// Megabytes reserved without hugepages.
    pub memory_mb: u32,
    /// hugetlbfs mount (the first mounted if `None`).
    pub huge_dir: Option<PathBuf>,
    /// `--file-prefix`; `None` keeps no runtime files (`--in-memory` / `--no-shconf`).
    pub file_prefix: Option<String>,
    /// Mbufs in the pool (sized from the rings if `None`).
    pub mbufs: Option<u32>,
    /// More EAL arguments, as they are.
    pub eal_args: Vec<String>,
    /// Core of the EAL's main lcore (the data plane passes its first worker core).
    pub main_core: usize,
    /// Receive frames for any MAC.
    pub promiscuous: bool,
}

impl Default for DpdkOptions {
    fn default() -> Self {
        DpdkOptions {
            vdevs: Vec::new(),
            allow: Vec::new(),
            no_huge: false,
            memory_mb: 512,
            huge_dir: None,
            file_prefix: None,
            mbufs: None,
            eal_args: Vec::new(),
            main_core: 0,
            promiscuous: false,
        }
    }
}

/// Opens one port per worker.
pub fn open(config: &DeviceConfig, ports: usize) -> Result<Vec<AnyPort>, DeviceError> {
    Ok(match config.kind {
        DeviceKind::Memory => (0..ports)
            .map(|_| AnyPort::Memory(MemoryPort::new()))
            .collect(),
        DeviceKind::AfPacket => af_packet::open(&config.interface, ports, config.rings)?
            .into_iter()
            .map(AnyPort::AfPacket)
            .collect(),
        DeviceKind::AfXdp => af_xdp::open(&config.interface, ports, config.rings, config.xdp_mode)?
            .into_iter()
            .map(AnyPort::AfXdp)
            .collect(),
        DeviceKind::Dpdk => dpdk::open(config, ports)?
            .into_iter()
            .map(AnyPort::Dpdk)
            .collect(),
    })
}

impl AnyPort {
    /// The MAC address the device itself reports, where it has its own (DPDK ports); the
    /// kernel-backed ports use the interface's ([`interface_mac`]).
    pub fn mac(&self) -> Option<[u8; 6]> {
        match self {
            AnyPort::Dpdk(p) => Some(p.mac()),
            _ => None,
        }
    }
}

/// The MAC address of `interface` in this network namespace.
pub fn interface_mac(interface: &str) -> Result<[u8; 6], DeviceError> {
    let path = format!("/sys/class/net/{interface}/address");
    let text = std::fs::read_to_string(&path).map_err(|source| DeviceError::NoInterface {
        interface: interface.to_owned(),
        source,
    })?;
    parse_mac(text.trim()).ok_or_else(|| DeviceError::Unsupported {
        device: "interface",
        interface: interface.to_owned(),
        reason: format!("{path} holds {text:?}, not a MAC address"),
    })
}

/// Parses `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for byte in &mut mac {
        *byte = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

macro_rules! each {
    ($self:ident, $p:ident => $e:expr) => {
        match $self {
            AnyPort::Memory($p) => $e,
            AnyPort::AfPacket($p) => $e,
            AnyPort::AfXdp($p) => $e,
            AnyPort::Dpdk($p) => $e,
        }
    };
}

impl Port for AnyPort {
    #[inline]
    fn rx_burst<F>(&mut self, max: usize, f: F) -> usize
    where
        F: FnMut(&mut [u8], usize) -> Verdict,
    {
        each!(self, p => p.rx_burst(max, f))
    }

    #[inline]
    fn rx_burst_ahead<C, A, F>(&mut self, max: usize, cx: &mut C, ahead: A, f: F) -> usize
    where
        A: FnMut(&mut C, &[u8]),
        F: FnMut(&mut C, &mut [u8], usize) -> Verdict,
    {
        each!(self, p => p.rx_burst_ahead(max, cx, ahead, f))
    }

    #[inline]
    fn send(&mut self, frame: &[u8]) -> bool {
        each!(self, p => p.send(frame))
    }

    #[inline]
    fn flush(&mut self) {
        each!(self, p => p.flush())
    }

    fn stats(&self) -> PortStats {
        each!(self, p => p.stats())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_parse_strictly() {
        assert_eq!(
            parse_mac("02:00:0a:ff:10:01"),
            Some([2, 0, 0x0a, 0xff, 0x10, 1])
        );
        assert_eq!(parse_mac("02:00:0a:ff:10"), None);
        assert_eq!(parse_mac("02:00:0a:ff:10:01:02"), None);
        assert_eq!(parse_mac("zz:00:0a:ff:10:01"), None);
    }

    #[test]
    fn memory_ports_open_one_per_worker() {
        let config = DeviceConfig::default();
        let ports = open(&config, 3).unwrap();
        assert_eq!(ports.len(), 3);
        assert!(matches!(
            interface_mac("strait-no-such-if"),
            Err(DeviceError::NoInterface { .. })
        ));
    }
}
