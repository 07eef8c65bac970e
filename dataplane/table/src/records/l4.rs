//! L4 load-balancer records: services (VIPs) and their backends.
//!
//! A service owns `backends` (a range of `L4_BACKENDS`) and `maglev` (a range of `MAGLEV`, whose
//! length is the table size). Each Maglev entry is an index relative to `backends.first` and is
//! smaller than `backends.count`; the reader checks every entry.

use super::codes::{L4Mode, Protocol};
use super::{Range, StrRef, decode_ip};
use bytemuck::{Pod, Zeroable};
use core::net::IpAddr;

/// Bits of [`L4Service::flags`].
pub mod l4_flags {
    /// Hash the flow without the client's source port (all flows of a client go to one backend).
    pub const NO_SRC_PORT_HASH: u8 = 1 << 0;
    /// Do not keep connection-tracking state; every packet is balanced by Maglev alone.
    pub const CONNTRACK_BYPASS: u8 = 1 << 1;
    /// The service carries QUIC; route by connection id when one is present.
    pub const QUIC: u8 = 1 << 2;
    /// Every bit this ABI defines; the reader refuses others.
    pub const ALL: u8 = NO_SRC_PORT_HASH | CONNTRACK_BYPASS | QUIC;
}

/// An L4 virtual service: packets to `vip:port/protocol` are balanced over `backends`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct L4Service {
    /// Service name, for logs and metrics.
    pub name: StrRef,
    /// Virtual IP address (see `family`).
    pub vip: [u8; 16],
    /// Backends in `L4_BACKENDS`.
    pub backends: Range,
    /// Maglev table in `MAGLEV`; entries index `backends` relative to its first record.
    pub maglev: Range,
    /// Seconds of inactivity after which a flow's conntrack entry expires (0 = data-plane default).
    pub idle_timeout_s: u32,
    /// Virtual port (host order).
    pub port: u16,
    /// [`crate::Family`] code of `vip`.
    pub family: u8,
    /// [`Protocol`] code.
    pub protocol: u8,
    /// [`L4Mode`] code.
    pub mode: u8,
    /// [`l4_flags`] bits.
    pub flags: u8,
    /// Zero.
    pub _pad: [u8; 2],
}

impl L4Service {
    /// The virtual IP, `None` if the family code is bad.
    pub fn vip(&self) -> Option<IpAddr> {
        decode_ip(&self.vip, self.family)
    }

    /// The transport protocol.
    pub fn protocol(&self) -> Option<Protocol> {
        Protocol::from_code(self.protocol)
    }

    /// The forwarding mode.
    pub fn mode(&self) -> Option<L4Mode> {
        L4Mode::from_code(self.mode)
    }

    /// True if every bit of `flag` (from [`l4_flags`]) is set.
    pub fn has_flag(&self, flag: u8) -> bool {
        self.flags & flag == flag
    }
}

/// One backend of an L4 service.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct L4Backend {
    /// Backend address (see `family`).
    pub addr: [u8; 16],
    /// Relative weight; 0 means drained (no Maglev slots).
    pub weight: u32,
    /// Index of this backend's slot in the shared health overlay (bounds-checked by the overlay).
    pub health_slot: u32,
    /// Backend port; 0 means the service's port.
    pub port: u16,
    /// Static next-hop MAC, meaningful when `has_mac` is 1 (e.g. for DSR on a flat L2).
    pub mac: [u8; 6],
    /// [`crate::Family`] code of `addr`.
    pub family: u8,
    /// 1 if `mac` is set, else 0.
    pub has_mac: u8,
    /// Zero.
    pub _pad: [u8; 2],
}

impl L4Backend {
    /// The backend address, `None` if the family code is bad.
    pub fn addr(&self) -> Option<IpAddr> {
        decode_ip(&self.addr, self.family)
    }

    /// The port to send to, given the service's port.
    pub fn port_for(&self, service_port: u16) -> u16 {
        if self.port == 0 {
            service_port
        } else {
            self.port
        }
    }

    /// The static MAC, if one is set.
    pub fn mac(&self) -> Option<[u8; 6]> {
        (self.has_mac == 1).then_some(self.mac)
    }
}
