//! The outer headers of [`super::encapsulate`] and the values it derives from the flow hash.
//!
//! # Invariants
//! * The writers get `packet` = space for the outer headers followed by the inner packet
//!   already in place, with `packet.len() <= Outer::max_len()` (checked by the caller), so
//!   every length field fits and no slice index can fail.
//! * [`gue_src_port`] and [`flow_label`] are pure functions of the flow hash: every packet of
//!   a flow gets the same outer port and label, so the network and the backend's RSS keep it
//!   on one path and one queue.

use core::net::IpAddr;
use strait_packet::checksum;
use strait_packet::ethernet::ethertype;
use strait_packet::ip::protocol;
use strait_packet::{Family, ipv4, ipv6, udp};

/// Outer protocol for an IPv4 inner packet (IPIP).
pub(super) const IPPROTO_IPIP: u8 = 4;
/// Outer protocol for an IPv6 inner packet.
pub(super) const IPPROTO_IPV6: u8 = 41;

/// TTL / hop limit of every outer header.
pub const OUTER_TTL: u8 = 64;

/// Folds the 64-bit flow hash to 32 bits (xor of its halves).
const fn fold32(flow_hash: u64) -> u32 {
    (flow_hash ^ (flow_hash >> 32)) as u32
}

/// The GUE outer UDP source port for a flow: 15 bits of its hash in `32768..=65535`, clear of
/// the well-known and registered ports.
pub const fn gue_src_port(flow_hash: u64) -> u16 {
    let h = fold32(flow_hash);
    0x8000 | ((h ^ (h >> 16)) as u16 & 0x7FFF)
}

/// The outer IPv6 flow label for a flow: 20 bits of its hash, never 0 (which means "no
/// label", RFC 6437) — a hash folding to 0 gets label 1.
pub const fn flow_label(flow_hash: u64) -> u32 {
    let h = fold32(flow_hash);
    let label = (h ^ (h >> 20)) & 0x000F_FFFF;
    if label == 0 { 1 } else { label }
}

/// The addresses of an IP header the node writes from scratch (a tunnel's outer header, or
/// the header of an answer built in place by `crate::refuse`), of one family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outer {
    V4 { src: [u8; 4], dst: [u8; 4] },
    V6 { src: [u8; 16], dst: [u8; 16] },
}

impl Outer {
    /// `None` if the addresses are of different families.
    pub(super) fn new(src: IpAddr, dst: IpAddr) -> Option<Self> {
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => Some(Outer::V4 {
                src: s.octets(),
                dst: d.octets(),
            }),
            (IpAddr::V6(s), IpAddr::V6(d)) => Some(Outer::V6 {
                src: s.octets(),
                dst: d.octets(),
            }),
            _ => None,
        }
    }

    /// The source and destination of the IP header of `family` at the start of `ip`.
    pub(crate) fn read(ip: &[u8], family: Family) -> Option<Self> {
        Some(match family {
            Family::V4 => Outer::V4 {
                src: *ip.get(12..)?.first_chunk()?,
                dst: *ip.get(16..)?.first_chunk()?,
            },
            Family::V6 => Outer::V6 {
                src: *ip.get(8..)?.first_chunk()?,
                dst: *ip.get(24..)?.first_chunk()?,
            },
        })
    }

    /// The same addresses the other way round: the header of an answer.
    pub(crate) fn reversed(self) -> Self {
        match self {
            Outer::V4 { src, dst } => Outer::V4 { src: dst, dst: src },
            Outer::V6 { src, dst } => Outer::V6 { src: dst, dst: src },
        }
    }

    /// The length of the IP header (no options).
    pub(crate) fn header_len(&self) -> usize {
        match self {
            Outer::V4 { .. } => ipv4::HEADER_LEN,
            Outer::V6 { .. } => ipv6::HEADER_LEN,
        }
    }

    /// The pseudo-header sum for `len` bytes of `proto` carried from `src` to `dst`.
    pub(crate) fn pseudo_header(&self, proto: u8, len: usize) -> u16 {
        match self {
            // Fits: callers' lengths are bounded by the header's length field.
            Outer::V4 { src, dst } => checksum::pseudo_header_v4(src, dst, proto, len as u16),
            Outer::V6 { src, dst } => checksum::pseudo_header_v6(src, dst, proto, len as u32),
        }
    }

    pub(super) fn ethertype(&self) -> u16 {
        match self {
            Outer::V4 { .. } => ethertype::IPV4,
            Outer::V6 { .. } => ethertype::IPV6,
        }
    }

    /// The largest outer packet the length fields can describe.
    pub(super) fn max_len(&self) -> usize {
        match self {
            Outer::V4 { .. } => usize::from(u16::MAX),
            Outer::V6 { .. } => ipv6::HEADER_LEN + usize::from(u16::MAX),
        }
    }

    /// IP in IP: writes the outer IP header in front of the inner packet.
    pub(super) fn write_ip(&self, packet: &mut [u8], proto: u8, tc: u8, flow_hash: u64) {
        self.write_ip_header(packet, proto, tc, flow_label(flow_hash));
    }

    /// GUE variant 1: writes the outer IP and UDP headers in front of the inner packet.
    pub(super) fn write_gue(&self, packet: &mut [u8], port: u16, tc: u8, flow_hash: u64) {
        let hl = self.write_ip_header(packet, protocol::UDP, tc, flow_label(flow_hash));
        let dgram = &mut packet[hl..];
        // Fits: `packet.len() <= max_len()`, so the UDP length is at most the IP payload length.
        let udp_len = dgram.len() as u16;
        let [sp0, sp1] = gue_src_port(flow_hash).to_be_bytes();
        let [dp0, dp1] = port.to_be_bytes();
        let [l0, l1] = udp_len.to_be_bytes();
        dgram[..udp::HEADER_LEN].copy_from_slice(&[sp0, sp1, dp0, dp1, l0, l1, 0, 0]);
        if let Outer::V6 { .. } = self {
            let pseudo = self.pseudo_header(protocol::UDP, usize::from(udp_len));
            udp::Packet::new_unchecked(dgram).fill_checksum(pseudo);
        }
    }

    /// Writes an IP header without options at the start of `packet` (the header followed by
    /// its payload, at most [`Outer::max_len`] long), with traffic class `tc` and, for IPv6,
    /// flow label `label`; returns its length.
    pub(crate) fn write_ip_header(
        &self,
        packet: &mut [u8],
        proto: u8,
        tc: u8,
        label: u32,
    ) -> usize {
        match self {
            Outer::V4 { src, dst } => {
                // Fits: `packet.len() <= max_len()` = 65535.
                let [t0, t1] = (packet.len() as u16).to_be_bytes();
                let h = &mut packet[..ipv4::HEADER_LEN];
                // Version 4, IHL 5; TOS; total length; id 0; DF, offset 0; TTL; protocol.
                h[..12].copy_from_slice(&[0x45, tc, t0, t1, 0, 0, 0x40, 0, OUTER_TTL, proto, 0, 0]);
                h[12..16].copy_from_slice(src);
                h[16..20].copy_from_slice(dst);
                ipv4::Packet::new_unchecked(h).fill_checksum();
                ipv4::HEADER_LEN
            }
            Outer::V6 { src, dst } => {
                // Fits: `packet.len() <= max_len()` = 40 + 65535.
                let payload_len = (packet.len() - ipv6::HEADER_LEN) as u16;
                let first = (6 << 28) | (u32::from(tc) << 20) | (label & 0x000F_FFFF);
                let h = &mut packet[..ipv6::HEADER_LEN];
                h[..4].copy_from_slice(&first.to_be_bytes());
                h[4..6].copy_from_slice(&payload_len.to_be_bytes());
                h[6] = proto;
                h[7] = OUTER_TTL;
                h[8..24].copy_from_slice(src);
                h[24..40].copy_from_slice(dst);
                ipv6::HEADER_LEN
            }
        }
    }
}
