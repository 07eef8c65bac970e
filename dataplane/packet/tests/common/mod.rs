//! Frame builders shared by the integration tests, on top of etherparse's `PacketBuilder`
//! (an independent implementation, so a bug in our views cannot hide in the fixtures).
#![allow(dead_code)] // each test binary uses a different subset

use etherparse::{PacketBuilder, VlanId};

/// MAC addresses used by the fixtures.
pub const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
/// MAC addresses used by the fixtures.
pub const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];
/// IPv6 fixture addresses.
pub const V6_A: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
/// IPv6 fixture addresses.
pub const V6_B: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

/// TCP/IPv4 SYN, optionally VLAN-tagged.
pub fn tcp_v4(vlan: Option<u16>, payload: &[u8]) -> Vec<u8> {
    let eth = PacketBuilder::ethernet2(MAC_A, MAC_B);
    let mut out = Vec::new();
    match vlan {
        Some(id) => eth
            .single_vlan(VlanId::try_new(id).unwrap())
            .ipv4([10, 0, 0, 1], [192, 168, 1, 2], 64)
            .tcp(40000, 443, 1000, 65535)
            .syn()
            .write(&mut out, payload),
        None => eth
            .ipv4([10, 0, 0, 1], [192, 168, 1, 2], 64)
            .tcp(40000, 443, 1000, 65535)
            .syn()
            .write(&mut out, payload),
    }
    .unwrap();
    out
}

/// UDP/IPv6 datagram.
pub fn udp_v6(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv6(V6_A, V6_B, 64)
        .udp(5353, 53)
        .write(&mut out, payload)
        .unwrap();
    out
}

/// UDP/IPv4 datagram.
pub fn udp_v4(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .udp(1234, 53)
        .write(&mut out, payload)
        .unwrap();
    out
}

/// TCP/IPv6 segment with ACK|PSH.
pub fn tcp_v6(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv6(V6_A, V6_B, 64)
        .tcp(40000, 80, 7, 1024)
        .ack(99)
        .psh()
        .write(&mut out, payload)
        .unwrap();
    out
}

/// ICMPv4 echo request.
pub fn icmp_echo_v4(id: u16, seq: u16) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .icmpv4_echo_request(id, seq)
        .write(&mut out, b"ping")
        .unwrap();
    out
}

/// ICMPv6 echo request.
pub fn icmp_echo_v6(id: u16, seq: u16) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv6(V6_A, V6_B, 64)
        .icmpv6_echo_request(id, seq)
        .write(&mut out, b"ping")
        .unwrap();
    out
}

/// ICMPv6 neighbour solicitation for `V6_B` (hop limit 255 as RFC 4861 requires).
pub fn neighbor_solicit() -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv6(V6_A, V6_B, 255)
        .icmpv6(etherparse::Icmpv6Type::NeighborSolicitation)
        .write(&mut out, &V6_B)
        .unwrap();
    out
}

/// ARP request "who has 10.0.0.2".
pub fn arp_request() -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(MAC_A, [0xff; 6])
        .arp(
            etherparse::ArpPacket::new(
                etherparse::ArpHardwareId::ETHERNET,
                etherparse::EtherType::IPV4,
                etherparse::ArpOperation::REQUEST,
                &MAC_A,
                &[10, 0, 0, 1],
                &[0; 6],
                &[10, 0, 0, 2],
            )
            .unwrap(),
        )
        .write(&mut out)
        .unwrap();
    out
}

/// Recomputes the IPv4 header checksum of an untagged frame after a test edited the header.
pub fn refill_ipv4_checksum(frame: &mut [u8]) {
    let mut ip = strait_packet::ipv4::Packet::new_unchecked(&mut frame[14..]);
    ip.fill_checksum();
}
