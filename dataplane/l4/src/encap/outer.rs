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
use strait_packet::{ipv4, ipv6, udp};

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

/// The outer addresses, of one family.
pub(super) enum Outer {
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
        self.write_ip_header(packet, proto, tc, flow_hash);
    }

    /// GUE variant 1: writes the outer IP and UDP headers in front of the inner packet.
    pub(super) fn write_gue(&self, packet: &mut [u8], port: u16, tc: u8, flow_hash: u64) {
        let hl = self.write_ip_header(packet, protocol::UDP, tc, flow_hash);
        let dgram = &mut packet[hl..];
        // Fits: `packet.len() <= max_len()`, so the UDP length is at most the IP payload length.
        let udp_len = dgram.len() as u16;
        let [sp0, sp1] = gue_src_port(flow_hash).to_be_bytes();
        let [dp0, dp1] = port.to_be_bytes();
        let [l0, l1] = udp_len.to_be_bytes();
        dgram[..udp::HEADER_LEN].copy_from_slice(&[sp0, sp1, dp0, dp1, l0, l1, 0, 0]);
        if let Outer::V6 { src, dst } = self {
            let pseudo = checksum::pseudo_header_v6(src, dst, protocol::UDP, u32::from(udp_len));
            udp::Packet::new_unchecked(dgram).fill_checksum(pseudo);
        }
    }

    /// Writes the outer IP header at the start of `packet`; returns its length.
    fn write_ip_header(&self, packet: &mut [u8], proto: u8, tc: u8, flow_hash: u64) -> usize {
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
                let first = (6 << 28) | (u32::from(tc) << 20) | flow_label(flow_hash);
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
