//! Golden frames for every protocol: built by hand or by etherparse, parsed by
//! `parse_frame` and by the per-layer views, and compared field by field.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use common::*;
use strait_packet::ethernet::{self, ethertype};
use strait_packet::ip::protocol;
use strait_packet::{
    DropReason, Family, FlowKey, Kind, arp, icmp, icmpv6, ipv4, ipv6, parse_frame, tcp,
};

/// A TCP/IPv4 SYN with an MSS option and 2 bytes of Ethernet padding, written out byte by
/// byte. The IPv4 checksum is filled in below; `parse_frame` does not check L4 checksums.
fn hand_built_tcp_v4() -> Vec<u8> {
    let mut f = vec![
        0x02, 0, 0, 0, 0, 0x0b, 0x02, 0, 0, 0, 0, 0x0a, 0x08, 0x00, // Ethernet
        0x45, 0x00, 0x00, 0x2c, 0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0, 0, // IPv4 …
        10, 0, 0, 1, 192, 168, 1, 2, // … addresses
        0x9c, 0x40, 0x01, 0xbb, 0, 0, 0x03, 0xe8, 0, 0, 0, 0, // TCP ports, seq, ack
        0x60, 0x02, 0xff, 0xff, 0, 0, 0, 0, // data offset 6, SYN, window
        0x02, 0x04, 0x05, 0xb4, // MSS option
        0, 0, // Ethernet padding beyond total length
    ];
    refill_ipv4_checksum(&mut f);
    f
}

#[test]
fn hand_built_tcp_v4_parses() {
    let f = hand_built_tcp_v4();
    let p = parse_frame(&f).unwrap();
    assert_eq!(p.vlan, None);
    assert_eq!(p.l3_offset, 14);
    let Kind::Ip(l4) = p.kind else {
        panic!("not IP")
    };
    assert_eq!(l4.offset, 34);
    assert_eq!(l4.payload_offset, 58);
    assert_eq!(l4.ip_end, 58, "padding excluded");
    assert_eq!(l4.ttl, 64);
    assert_eq!(
        l4.flow,
        FlowKey::v4([10, 0, 0, 1], [192, 168, 1, 2], 6, 40000, 443)
    );
    let seg = tcp::Packet::new_checked(&f[l4.offset..l4.ip_end]).unwrap();
    assert!(seg.syn() && !seg.ack());
    assert_eq!(seg.options(), &[2, 4, 5, 0xb4]);
}

#[test]
fn tcp_v4_vlan_matches_etherparse() {
    let f = tcp_v4(Some(100), b"hello");
    let p = parse_frame(&f).unwrap();
    assert_eq!(p.vlan, Some(100));
    assert_eq!(p.l3_offset, 18);
    let Kind::Ip(l4) = p.kind else {
        panic!("not IP")
    };
    assert_eq!(&f[l4.payload_offset..l4.payload_end], b"hello");
    let flow = p.flow().unwrap();
    assert_eq!(flow.family, Family::V4);
    assert_eq!(flow.src_ip(), IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
    assert_eq!(
        (flow.src_port, flow.dst_port, flow.proto),
        (40000, 443, protocol::TCP)
    );

    let eth = ethernet::Frame::new_checked(&f[..]).unwrap();
    assert_eq!((eth.src(), eth.dst()), (MAC_A, MAC_B));
    assert_eq!(eth.payload_ethertype(), ethertype::IPV4);
    let ip = ipv4::Packet::new_checked(eth.payload()).unwrap();
    let seg = tcp::Packet::new_checked(ip.payload()).unwrap();
    assert!(
        seg.verify_checksum(ip.pseudo_header_sum()),
        "etherparse checksum verifies"
    );
    assert_eq!(seg.seq_number(), 1000);
    assert_eq!(seg.window_len(), 65535);
}

#[test]
fn udp_v6_golden() {
    let f = udp_v6(b"query");
    let p = parse_frame(&f).unwrap();
    let Kind::Ip(l4) = p.kind else {
        panic!("not IP")
    };
    assert_eq!(l4.offset, 54);
    assert_eq!(&f[l4.payload_offset..l4.payload_end], b"query");
    let flow = l4.flow;
    assert_eq!(flow.family, Family::V6);
    assert_eq!(flow.dst_ip(), IpAddr::V6(Ipv6Addr::from(V6_B)));
    assert_eq!(
        (flow.src_port, flow.dst_port, flow.proto),
        (5353, 53, protocol::UDP)
    );
    let ip = ipv6::Packet::new_checked(&f[14..]).unwrap();
    let d = strait_packet::udp::Packet::new_checked(ip.payload()).unwrap();
    assert!(d.verify_checksum(ip.pseudo_header_sum()));
}

#[test]
fn tcp_v6_golden() {
    let f = tcp_v6(b"GET /");
    let p = parse_frame(&f).unwrap();
    let Kind::Ip(l4) = p.kind else {
        panic!("not IP")
    };
    let ip = ipv6::Packet::new_checked(&f[14..]).unwrap();
    let seg = tcp::Packet::new_checked(&f[l4.offset..l4.ip_end]).unwrap();
    assert!(seg.ack() && seg.psh() && !seg.syn());
    assert_eq!(seg.ack_number(), 99);
    assert!(seg.verify_checksum(ip.pseudo_header_sum()));
    assert_eq!(l4.flow, FlowKey::v6(V6_A, V6_B, 6, 40000, 80));
}

#[test]
fn icmp_echo_uses_identifier_as_ports() {
    let f = icmp_echo_v4(0x4242, 1);
    let flow = *parse_frame(&f).unwrap().flow().unwrap();
    assert_eq!(
        flow,
        FlowKey::v4([10, 0, 0, 1], [10, 0, 0, 2], 1, 0x4242, 0x4242)
    );
    let m = icmp::Packet::new_checked(&f[34..]).unwrap();
    assert_eq!(m.msg_type(), icmp::msg_type::ECHO_REQUEST);
    assert!(m.verify_checksum());

    let f = icmp_echo_v6(7, 1);
    let flow = *parse_frame(&f).unwrap().flow().unwrap();
    assert_eq!(flow, FlowKey::v6(V6_A, V6_B, 58, 7, 7));
}

#[test]
fn neighbor_solicitation_golden() {
    let f = neighbor_solicit();
    let flow = *parse_frame(&f).unwrap().flow().unwrap();
    assert_eq!(
        (flow.proto, flow.src_port, flow.dst_port),
        (protocol::ICMPV6, 0, 0)
    );
    let ip = ipv6::Packet::new_checked(&f[14..]).unwrap();
    let m = icmpv6::Packet::new_checked(ip.payload()).unwrap();
    assert_eq!(m.msg_type(), icmpv6::msg_type::NEIGHBOR_SOLICIT);
    assert_eq!(m.nd_target(), Some(V6_B));
    assert!(m.verify_checksum(ip.pseudo_header_sum()));
}

#[test]
fn arp_golden() {
    let f = arp_request();
    let p = parse_frame(&f).unwrap();
    assert_eq!(p.kind, Kind::Arp);
    assert_eq!(p.flow(), None);
    let a = arp::Packet::new_checked(&f[p.l3_offset..]).unwrap();
    assert_eq!(a.operation(), arp::operation::REQUEST);
    assert_eq!(a.sender_hw(), MAC_A);
    assert_eq!(a.target_ip(), Ipv4Addr::new(10, 0, 0, 2));
}

/// Each drop reason reachable from an edit of a golden frame.
#[test]
fn drop_reasons() {
    let base = hand_built_tcp_v4();
    let edit = |off: usize, val: u8, refill: bool| {
        let mut f = base.clone();
        f[off] = val;
        if refill {
            refill_ipv4_checksum(&mut f);
        }
        parse_frame(&f).unwrap_err()
    };
    assert_eq!(parse_frame(&base[..13]).unwrap_err(), DropReason::TooShort);
    assert_eq!(edit(12, 0x88, false), DropReason::UnsupportedEthertype);
    assert_eq!(edit(14, 0x65, true), DropReason::BadIpVersion);
    assert_eq!(edit(14, 0x44, true), DropReason::BadIpHeaderLength);
    assert_eq!(edit(17, 0xff, true), DropReason::BadIpTotalLength);
    assert_eq!(edit(22, 0x41, false), DropReason::BadIpChecksum);
    assert_eq!(edit(22, 1, true), DropReason::TtlExpired);
    assert_eq!(edit(21, 0x10, true), DropReason::Fragment);
    assert_eq!(edit(23, 47, true), DropReason::UnsupportedProtocol);
    assert_eq!(edit(46, 0x40, false), DropReason::BadTcpHeader);
    assert_eq!(edit(46, 0xf0, false), DropReason::BadTcpHeader);

    // First fragment (MF, offset 0) is parsed, flagged.
    let mut f = base.clone();
    f[20] = 0x20;
    refill_ipv4_checksum(&mut f);
    let Kind::Ip(l4) = parse_frame(&f).unwrap().kind else {
        panic!("not IP")
    };
    assert!(l4.more_fragments);

    let mut u = udp_v4(b"x");
    u[39] = 200; // UDP length beyond the datagram
    assert_eq!(parse_frame(&u).unwrap_err(), DropReason::BadUdpLength);
    let mut i = icmp_echo_v4(1, 1);
    i[17] = 27; // total length leaves 7 bytes of ICMP
    refill_ipv4_checksum(&mut i);
    assert_eq!(parse_frame(&i).unwrap_err(), DropReason::BadIcmp);
    let mut a = arp_request();
    a[19] = 16;
    assert_eq!(parse_frame(&a).unwrap_err(), DropReason::BadArp);
    let mut v = udp_v6(b"x");
    v[20] = protocol::ESP;
    assert_eq!(
        parse_frame(&v).unwrap_err(),
        DropReason::Ipv6ExtensionHeader
    );
    v[20] = protocol::ICMP; // ICMPv4 inside IPv6
    assert_eq!(
        parse_frame(&v).unwrap_err(),
        DropReason::UnsupportedProtocol
    );
    v[21] = 1;
    assert_eq!(parse_frame(&v).unwrap_err(), DropReason::TtlExpired);
    // A stacked (QinQ) VLAN tag is not decoded.
    let mut q = tcp_v4(Some(5), b"");
    q[16] = 0x81;
    q[17] = 0x00;
    assert_eq!(
        parse_frame(&q).unwrap_err(),
        DropReason::UnsupportedEthertype
    );
}
