//! The 5-tuple flow key that [`crate::parse_frame`] extracts for conntrack and Maglev.
//!
//! # Invariants
//! * Addresses are always 16 bytes: IPv4 addresses are stored IPv4-mapped
//!   (`::ffff:a.b.c.d`), so a V4 key never equals a V6 key with a different `family`, and
//!   hashing reads the same bytes for both families.
//! * `src_port`/`dst_port` are TCP/UDP ports; for ICMP/ICMPv6 echo both hold the echo
//!   identifier (so [`FlowKey::reversed`] of a request is the key of its reply); for other
//!   ICMP messages both are 0.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Address family of a [`FlowKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Family {
    /// IPv4.
    V4 = 4,
    /// IPv6.
    V6 = 6,
}

/// Transport 5-tuple plus family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    /// Source address (IPv4-mapped for [`Family::V4`]).
    pub src: [u8; 16],
    /// Destination address (IPv4-mapped for [`Family::V4`]).
    pub dst: [u8; 16],
    /// Source port, or ICMP echo identifier, or 0.
    pub src_port: u16,
    /// Destination port, or ICMP echo identifier, or 0.
    pub dst_port: u16,
    /// IP protocol number (see [`crate::ip::protocol`]).
    pub proto: u8,
    /// Address family.
    pub family: Family,
}

/// Maps an IPv4 address into the 16-byte form.
///
/// Built as one little-endian 128-bit value rather than byte by byte (bytes 10 and 11 are
/// `0xff`, bytes 12..16 the address), so the compiler keeps the address as whole words, with
/// no byte swap on little-endian targets (the connection table hashes little-endian words).
pub const fn v4_mapped(addr: [u8; 4]) -> [u8; 16] {
    ((u32::from_le_bytes(addr) as u128) << 96 | 0xffff << 80).to_le_bytes()
}

/// An address in the 16-byte flow-key form (IPv4-mapped for IPv4).
pub const fn key_addr(addr: IpAddr) -> [u8; 16] {
    match addr {
        IpAddr::V4(a) => v4_mapped(a.octets()),
        IpAddr::V6(a) => a.octets(),
    }
}

impl FlowKey {
    /// Key for an IPv4 flow.
    pub const fn v4(src: [u8; 4], dst: [u8; 4], proto: u8, src_port: u16, dst_port: u16) -> Self {
        FlowKey {
            src: v4_mapped(src),
            dst: v4_mapped(dst),
            src_port,
            dst_port,
            proto,
            family: Family::V4,
        }
    }

    /// Key for an IPv6 flow.
    pub const fn v6(src: [u8; 16], dst: [u8; 16], proto: u8, src_port: u16, dst_port: u16) -> Self {
        FlowKey {
            src,
            dst,
            src_port,
            dst_port,
            proto,
            family: Family::V6,
        }
    }

    /// Source address.
    pub fn src_ip(&self) -> IpAddr {
        Self::ip(self.family, self.src)
    }

    /// Destination address.
    pub fn dst_ip(&self) -> IpAddr {
        Self::ip(self.family, self.dst)
    }

    /// The key of the reverse direction (addresses and ports swapped).
    pub const fn reversed(&self) -> Self {
        FlowKey {
            src: self.dst,
            dst: self.src,
            src_port: self.dst_port,
            dst_port: self.src_port,
            proto: self.proto,
            family: self.family,
        }
    }

    fn ip(family: Family, a: [u8; 16]) -> IpAddr {
        match family {
            Family::V4 => IpAddr::V4(Ipv4Addr::new(a[12], a[13], a[14], a[15])),
            Family::V6 => IpAddr::V6(Ipv6Addr::from(a)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_mapped_layout() {
        assert_eq!(
            v4_mapped([192, 0, 2, 1]),
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1]
        );
    }

    #[test]
    fn key_addr_maps_v4_and_keeps_v6() {
        let k = FlowKey::v4([10, 0, 0, 1], [10, 0, 0, 2], 6, 1000, 80);
        assert_eq!(key_addr(k.src_ip()), k.src);
        let v6: Ipv6Addr = "2001:2::1".parse().unwrap();
        assert_eq!(key_addr(IpAddr::V6(v6)), v6.octets());
    }

    #[test]
    fn v4_round_trip_and_reverse() {
        let k = FlowKey::v4([10, 0, 0, 1], [10, 0, 0, 2], 6, 1000, 80);
        assert_eq!(k.src_ip(), IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(k.dst_ip(), IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)));
        let r = k.reversed();
        assert_eq!((r.src_port, r.dst_port), (80, 1000));
        assert_eq!(r.reversed(), k);
        let v6 = FlowKey::v6(k.src, k.dst, 6, 1000, 80);
        assert_ne!(k, v6);
    }
}
