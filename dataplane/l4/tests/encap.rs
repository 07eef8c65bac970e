//! Golden tests of IPIP / IPv6 / GUE encapsulation: build a client → VIP frame with etherparse,
//! encapsulate it, and compare the result byte for byte with a golden frame written out below
//! (derived with etherparse's serialisers, never with the code under test) and with the same
//! frame rebuilt by etherparse here; then parse the result with etherparse and check every
//! outer field, the outer checksums and that the inner packet is the input's, byte for byte.

mod common;

use common::{CLIENT_MAC, L4, NODE_MAC, finish, ip, parsed, sock, sock_from};
use core::net::{IpAddr, SocketAddr};
use etherparse::{
    ArpHardwareId, ArpOperation, ArpPacket, EtherType, Ethernet2Header, IpDscp, IpEcn, IpHeaders,
    IpNumber, Ipv4Header, Ipv6FlowLabel, Ipv6Header, LinkExtHeader, NetHeaders, PacketBuilder,
    PacketHeaders, PayloadSlice, SingleVlanHeader, TransportHeader, UdpHeader, VlanId, VlanPcp,
};
use proptest::prelude::*;
use strait_l4::encap::{OUTER_TTL, flow_label, gue_src_port};
use strait_l4::{Encap, EncapError, GUE_PORT, Tunnel, encapsulate};
use strait_table::L4Mode;

/// The flow hash of the golden cases.
const HASH: u64 = 0x9e37_79b9_7f4a_7c15;
/// `gue_src_port(HASH)`, by hand: halves `0x9e3779b9 ^ 0x7f4a7c15 = 0xe17d05ac`, then
/// `0xe17d ^ 0x05ac = 0xe4d1`, top bit set: `0xe4d1`.
const SPORT: u16 = 0xe4d1;
/// `flow_label(HASH)`, by hand: `0xe17d05ac ^ (0xe17d05ac >> 20) = 0xe17d0bbb`, low 20 bits.
const LABEL: u32 = 0xd_0bbb;
/// DSCP EF (46) and ECN ECT(1) on every inner packet: outer TOS / traffic class `0xb9`.
const TOS: u8 = (46 << 2) | 1;
const PAYLOAD: &[u8] = b"hello";
/// Room for the outer headers in every test buffer.
const ROOM: usize = 64;
const MTU: usize = 1500;

/// A client → VIP frame with DSCP/ECN [`TOS`], checksums filled in by etherparse.
fn build(l4: L4, src: SocketAddr, dst: SocketAddr, vlan: Option<u16>, payload: &[u8]) -> Vec<u8> {
    let eth = PacketBuilder::ethernet2(CLIENT_MAC, NODE_MAC);
    let header = match (src, dst) {
        (SocketAddr::V4(s), SocketAddr::V4(d)) => {
            let mut h = Ipv4Header::new(0, 64, IpNumber::TCP, s.ip().octets(), d.ip().octets())
                .expect("ipv4 header");
            h.dscp = IpDscp::try_new(TOS >> 2).unwrap();
            h.ecn = IpEcn::try_new(TOS & 3).unwrap();
            h.identification = 0x1c46;
            IpHeaders::Ipv4(h, Default::default())
        }
        (SocketAddr::V6(s), SocketAddr::V6(d)) => IpHeaders::Ipv6(
            Ipv6Header {
                traffic_class: TOS,
                flow_label: Ipv6FlowLabel::try_new(0x1_2345).unwrap(),
                hop_limit: 64,
                source: s.ip().octets(),
                destination: d.ip().octets(),
                ..Default::default()
            },
            Default::default(),
        ),
        _ => panic!("mixed families"),
    };
    let ip = match vlan {
        None => eth.ip(header),
        Some(v) => eth.single_vlan(VlanId::try_new(v).unwrap()).ip(header),
    };
    finish(ip, l4, src, dst, payload)
}

/// The Ethernet header length and the IP packet of a frame `build` made.
fn split(frame: &[u8]) -> (usize, &[u8]) {
    let p = parsed(frame);
    let strait_packet::Kind::Ip(l4) = p.kind else {
        panic!("not IP")
    };
    (p.l3_offset, &frame[p.l3_offset..l4.ip_end])
}

/// The encapsulated frame, built with etherparse only: the input's Ethernet header (and tag)
/// with the outer EtherType, the outer IP header, the UDP header for GUE, the inner packet.
fn expected(input: &[u8], outer: (IpAddr, IpAddr), gue: Option<u16>, hash: u64) -> Vec<u8> {
    let (l3, inner) = split(input);
    let tc = match inner[0] >> 4 {
        4 => inner[1],
        _ => (u16::from_be_bytes([inner[0], inner[1]]) >> 4) as u8,
    };
    let inner_proto = if inner[0] >> 4 == 4 {
        IpNumber::IPV4
    } else {
        IpNumber::IPV6
    };
    let proto = if gue.is_some() {
        IpNumber::UDP
    } else {
        inner_proto
    };
    let udp_len = gue.map_or(0, |_| UdpHeader::LEN);
    let (ether_type, ip_bytes, udp) = match outer {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let mut h = Ipv4Header::new(
                (udp_len + inner.len()) as u16,
                64,
                proto,
                s.octets(),
                d.octets(),
            )
            .unwrap();
            h.dscp = IpDscp::try_new(tc >> 2).unwrap();
            h.ecn = IpEcn::try_new(tc & 3).unwrap();
            h.header_checksum = h.calc_header_checksum();
            // GUE over IPv4: checksum 0 ("none").
            let udp = gue.map(|port| {
                UdpHeader::without_ipv4_checksum(expected_port(hash), port, inner.len()).unwrap()
            });
            (EtherType::IPV4, h.to_bytes().to_vec(), udp)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let h = Ipv6Header {
                traffic_class: tc,
                flow_label: Ipv6FlowLabel::try_new(expected_label(hash)).unwrap(),
                payload_length: (udp_len + inner.len()) as u16,
                next_header: proto,
                hop_limit: 64,
                source: s.octets(),
                destination: d.octets(),
            };
            let udp = gue.map(|port| {
                UdpHeader::with_ipv6_checksum(expected_port(hash), port, &h, inner).unwrap()
            });
            (EtherType::IPV6, h.to_bytes().to_vec(), udp)
        }
        _ => panic!("mixed outer families"),
    };
    let eth = Ethernet2Header::from_slice(input).unwrap().0;
    let mut out = Vec::new();
    if l3 == Ethernet2Header::LEN {
        out.extend_from_slice(&Ethernet2Header { ether_type, ..eth }.to_bytes());
    } else {
        out.extend_from_slice(&eth.to_bytes());
        let tag = SingleVlanHeader::from_slice(&input[Ethernet2Header::LEN..])
            .unwrap()
            .0;
        out.extend_from_slice(&SingleVlanHeader { ether_type, ..tag }.to_bytes());
    }
    out.extend_from_slice(&ip_bytes);
    if let Some(udp) = udp {
        out.extend_from_slice(&udp.to_bytes());
    }
    out.extend_from_slice(inner);
    out
}

/// The GUE source port the test expects: [`SPORT`] for [`HASH`], else the crate's
/// derivation (its range is checked by `derived_values_are_in_range`).
fn expected_port(hash: u64) -> u16 {
    if hash == HASH {
        SPORT
    } else {
        gue_src_port(hash)
    }
}

/// The flow label the test expects: [`LABEL`] for [`HASH`], else the crate's derivation.
fn expected_label(hash: u64) -> u32 {
    if hash == HASH {
        LABEL
    } else {
        flow_label(hash)
    }
}

/// Parses `out` with etherparse and checks every outer field against `input` and the tunnel.
fn check_outer(out: &[u8], input: &[u8], outer: (IpAddr, IpAddr), gue: Option<u16>, hash: u64) {
    let (_, inner) = split(input);
    let h = PacketHeaders::from_ethernet_slice(out).expect("etherparse parses the output");
    let eth = h.link.clone().unwrap().ethernet2().unwrap();
    assert_eq!((eth.source, eth.destination), (CLIENT_MAC, NODE_MAC));
    let in_h = PacketHeaders::from_ethernet_slice(input).unwrap();
    let tags = |h: &PacketHeaders| -> Vec<(VlanPcp, bool, VlanId)> {
        h.link_exts
            .iter()
            .map(|e| match e {
                LinkExtHeader::Vlan(v) => (v.pcp, v.drop_eligible_indicator, v.vlan_id),
                LinkExtHeader::Macsec(_) => panic!("macsec"),
            })
            .collect()
    };
    assert_eq!(tags(&h), tags(&in_h), "VLAN tag kept");
    let inner_proto = if inner[0] >> 4 == 4 { 4 } else { 41 };
    let proto = if gue.is_some() { 17 } else { inner_proto };
    let tc = match in_h.net.as_ref().unwrap() {
        NetHeaders::Ipv4(ip, _) => (ip.dscp.value() << 2) | ip.ecn.value(),
        NetHeaders::Ipv6(ip, _) => ip.traffic_class,
        NetHeaders::Arp(_) => panic!("arp"),
    };
    let udp_len = gue.map_or(0, |_| 8);
    let ip_payload_len = udp_len + inner.len();
    match (h.net.as_ref().unwrap(), outer) {
        (NetHeaders::Ipv4(ip, exts), (IpAddr::V4(s), IpAddr::V4(d))) => {
            assert!(exts.is_empty() && ip.options.is_empty());
            assert_eq!((ip.dscp.value() << 2) | ip.ecn.value(), tc, "TOS copied");
            assert_eq!(usize::from(ip.total_len), 20 + ip_payload_len);
            assert_eq!(ip.identification, 0);
            assert!(ip.dont_fragment && !ip.more_fragments);
            assert_eq!(ip.fragment_offset.value(), 0);
            assert_eq!(ip.time_to_live, 64);
            assert_eq!(ip.protocol.0, proto);
            assert_eq!(
                ip.header_checksum,
                ip.calc_header_checksum(),
                "IPv4 checksum"
            );
            assert_eq!((ip.source, ip.destination), (s.octets(), d.octets()));
        }
        (NetHeaders::Ipv6(ip, exts), (IpAddr::V6(s), IpAddr::V6(d))) => {
            assert!(exts.is_empty());
            assert_eq!(ip.traffic_class, tc, "traffic class copied");
            assert_eq!(ip.flow_label.value(), expected_label(hash));
            assert_eq!(usize::from(ip.payload_length), ip_payload_len);
            assert_eq!(ip.next_header.0, proto);
            assert_eq!(ip.hop_limit, 64);
            assert_eq!((ip.source, ip.destination), (s.octets(), d.octets()));
        }
        (net, _) => panic!("outer header {net:?} for {outer:?}"),
    }
    let carried = match (&h.transport, &h.payload, gue) {
        (None, PayloadSlice::Ip(p), None) => {
            assert_eq!(p.ip_number.0, inner_proto);
            p.payload
        }
        (Some(TransportHeader::Udp(u)), PayloadSlice::Udp(p), Some(port)) => {
            assert_eq!(
                (u.source_port, u.destination_port),
                (expected_port(hash), port)
            );
            assert!(u.source_port >= 32768);
            assert_eq!(usize::from(u.length), 8 + inner.len());
            match h.net.as_ref().unwrap() {
                NetHeaders::Ipv4(..) => assert_eq!(u.checksum, 0, "no checksum over IPv4"),
                NetHeaders::Ipv6(ip, _) => {
                    assert_ne!(u.checksum, 0, "IPv6 needs a UDP checksum");
                    assert_eq!(u.checksum, u.calc_checksum_ipv6(ip, p).unwrap());
                }
                NetHeaders::Arp(_) => unreachable!(),
            }
            p
        }
        (t, _, _) => panic!("unexpected transport {t:?} for gue {gue:?}"),
    };
    assert_eq!(carried, inner, "inner packet byte-identical");
}

/// Encapsulates `input` in a buffer with [`ROOM`] spare bytes; returns the new frame.
fn encap(input: &[u8], tunnel: &Tunnel, hash: u64) -> Vec<u8> {
    let mut buf = input.to_vec();
    buf.resize(input.len() + ROOM, 0xee);
    let n =
        encapsulate(&mut buf, input.len(), &parsed(input), tunnel, hash, MTU).expect("encapsulate");
    buf.truncate(n);
    buf
}

/// Decodes a golden frame: hex digits, whitespace ignored.
fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|d| u8::from_str_radix(core::str::from_utf8(d).unwrap(), 16).expect("hex"))
        .collect()
}

fn gue_port(kind: Encap) -> Option<u16> {
    match kind {
        Encap::Ip => None,
        Encap::Gue { port } => Some(port),
    }
}

/// Builds the input, encapsulates it and checks the result against `golden` (if given), the
/// etherparse-built frame and etherparse's parse.
fn run(l4: L4, flow: (&str, &str), vlan: Option<u16>, tunnel: Tunnel, golden: Option<&str>) {
    let input = build(l4, sock(flow.0), sock(flow.1), vlan, PAYLOAD);
    let out = encap(&input, &tunnel, HASH);
    let outer = (tunnel.src, tunnel.dst);
    let gue = gue_port(tunnel.kind);
    if let Some(golden) = golden {
        assert_eq!(out, hex(golden), "golden {l4:?} {tunnel:?}");
    }
    assert_eq!(out, expected(&input, outer, gue, HASH), "{l4:?} {tunnel:?}");
    check_outer(&out, &input, outer, gue, HASH);
}

const V4_FLOW: (&str, &str) = ("192.0.2.10:40001", "10.0.0.100:80");
const V6_FLOW: (&str, &str) = ("[2001:db8::10]:40001", "[2001:db8::100]:443");

fn tunnel(kind: Encap, v6: bool) -> Tunnel {
    let (src, dst) = if v6 {
        (ip("fd00:1::1"), ip("fd00::3"))
    } else {
        (ip("10.2.0.1"), ip("10.1.0.3"))
    };
    Tunnel { kind, src, dst }
}

// ---- Golden frames, one per mode and inner protocol ----

#[test]
fn ipip_v4_in_v4() {
    run(
        L4::Tcp,
        V4_FLOW,
        None,
        tunnel(Encap::Ip, false),
        Some(IPIP_TCP),
    );
    run(
        L4::Udp,
        V4_FLOW,
        None,
        tunnel(Encap::Ip, false),
        Some(IPIP_UDP),
    );
}

#[test]
fn ipv4_in_ipv6() {
    run(
        L4::Tcp,
        V4_FLOW,
        None,
        tunnel(Encap::Ip, true),
        Some(IP4IN6_TCP),
    );
    run(
        L4::Udp,
        V4_FLOW,
        None,
        tunnel(Encap::Ip, true),
        Some(IP4IN6_UDP),
    );
}

#[test]
fn ipv6_in_ipv6() {
    run(
        L4::Tcp,
        V6_FLOW,
        None,
        tunnel(Encap::Ip, true),
        Some(IP6IN6_TCP),
    );
    run(
        L4::Udp,
        V6_FLOW,
        None,
        tunnel(Encap::Ip, true),
        Some(IP6IN6_UDP),
    );
}

#[test]
fn gue_over_ipv4() {
    run(
        L4::Tcp,
        V4_FLOW,
        None,
        tunnel(Encap::GUE, false),
        Some(GUE4_TCP),
    );
    run(
        L4::Udp,
        V4_FLOW,
        None,
        tunnel(Encap::GUE, false),
        Some(GUE4_UDP),
    );
}

#[test]
fn gue_over_ipv6_has_a_valid_udp_checksum() {
    run(
        L4::Tcp,
        V6_FLOW,
        None,
        tunnel(Encap::GUE, true),
        Some(GUE6_TCP),
    );
    run(
        L4::Udp,
        V6_FLOW,
        None,
        tunnel(Encap::GUE, true),
        Some(GUE6_UDP),
    );
}

/// The remaining family pairs, a configured GUE port and ICMP: checked against etherparse.
#[test]
fn other_family_pairs_ports_and_icmp() {
    for l4 in [L4::Tcp, L4::Udp] {
        run(l4, V6_FLOW, None, tunnel(Encap::Ip, false), None); // IPv6 in IPv4 (41)
        run(l4, V6_FLOW, None, tunnel(Encap::GUE, false), None);
        run(l4, V4_FLOW, None, tunnel(Encap::GUE, true), None);
        for v6 in [false, true] {
            let flow = if v6 { V6_FLOW } else { V4_FLOW };
            run(l4, flow, None, tunnel(Encap::Gue { port: 9999 }, v6), None);
        }
    }
    let mut ping = Vec::new();
    PacketBuilder::ethernet2(CLIENT_MAC, NODE_MAC)
        .ipv4([192, 0, 2, 10], [10, 0, 0, 100], 64)
        .icmpv4_echo_request(7, 1)
        .write(&mut ping, b"ping")
        .unwrap();
    for kind in [Encap::Ip, Encap::GUE] {
        for v6 in [false, true] {
            let t = tunnel(kind, v6);
            let out = encap(&ping, &t, HASH);
            assert_eq!(out, expected(&ping, (t.src, t.dst), gue_port(kind), HASH));
            check_outer(&out, &ping, (t.src, t.dst), gue_port(kind), HASH);
        }
    }
}

#[test]
fn vlan_tag_is_kept() {
    let vlan = Some(42);
    run(
        L4::Tcp,
        V4_FLOW,
        vlan,
        tunnel(Encap::GUE, false),
        Some(GUE4_TCP_VLAN),
    );
    // PCP and DEI survive too (no checksum covers the tag, so set them by hand).
    for (kind, v6, flow) in [(Encap::Ip, true, V4_FLOW), (Encap::GUE, true, V6_FLOW)] {
        let mut input = build(L4::Udp, sock(flow.0), sock(flow.1), Some(7), PAYLOAD);
        input[14] |= 0xb0; // PCP 5, DEI
        let t = tunnel(kind, v6);
        let out = encap(&input, &t, HASH);
        assert_eq!(&out[12..16], &[0x81, 0x00, 0xb0, 0x07]);
        assert_eq!(out, expected(&input, (t.src, t.dst), gue_port(kind), HASH));
        check_outer(&out, &input, (t.src, t.dst), gue_port(kind), HASH);
    }
}

#[test]
fn ethernet_padding_is_dropped() {
    let input = build(L4::Udp, sock(V4_FLOW.0), sock(V4_FLOW.1), None, b"x");
    assert_eq!(input.len(), 43);
    let mut padded = input.clone();
    padded.resize(60, 0);
    let t = tunnel(Encap::Ip, false);
    let out = encap(&padded, &t, HASH);
    assert_eq!(out, expected(&input, (t.src, t.dst), None, HASH));
}

// ---- Refusals leave the frame unchanged ----

/// Calls `encapsulate` on `buf` (frame of `len` bytes) and checks `buf` is unchanged on `Err`.
fn refused(buf: &mut [u8], len: usize, tunnel: &Tunnel, mtu: usize) -> EncapError {
    let before = buf.to_vec();
    let p = parsed(&buf[..len]);
    let err = encapsulate(buf, len, &p, tunnel, HASH, mtu).expect_err("refused");
    assert_eq!(buf, &before[..], "frame unchanged on {err:?}");
    err
}

/// A TCP frame whose IP packet is `ip_len` bytes.
fn frame_of(v6: bool, ip_len: usize) -> Vec<u8> {
    let (flow, headers) = if v6 { (V6_FLOW, 60) } else { (V4_FLOW, 40) };
    let payload = vec![0x5a; ip_len - headers];
    let f = build(L4::Tcp, sock(flow.0), sock(flow.1), None, &payload);
    assert_eq!(f.len(), 14 + ip_len);
    f
}

/// `frame` in a buffer with `room` spare bytes.
fn with_room(frame: &[u8], room: usize) -> Vec<u8> {
    let mut buf = frame.to_vec();
    buf.resize(frame.len() + room, 0xee);
    buf
}

const ALL_KINDS: [(Encap, bool); 4] = [
    (Encap::Ip, false),
    (Encap::Ip, true),
    (Encap::GUE, false),
    (Encap::GUE, true),
];

#[test]
fn frame_at_the_mtu_is_refused() {
    for (kind, outer_v6) in ALL_KINDS {
        let t = tunnel(kind, outer_v6);
        for inner_v6 in [false, true] {
            // An inner packet of exactly MTU bytes has no room for any outer header.
            let full = frame_of(inner_v6, MTU);
            let mut buf = with_room(&full, ROOM);
            assert_eq!(
                refused(&mut buf, full.len(), &t, MTU),
                EncapError::ExceedsMtu
            );
            // The largest inner packet that fits makes an outer packet of exactly the MTU…
            let fits = frame_of(inner_v6, MTU - t.overhead());
            let mut buf = with_room(&fits, ROOM);
            let mut refused_buf = buf.clone();
            let n = encapsulate(&mut buf, fits.len(), &parsed(&fits), &t, HASH, MTU).unwrap();
            assert_eq!(n, 14 + MTU);
            // …and one byte less of MTU refuses it.
            let err = refused(&mut refused_buf, fits.len(), &t, MTU - 1);
            assert_eq!(err, EncapError::ExceedsMtu);
        }
    }
}

#[test]
fn length_fields_cannot_overflow() {
    // A 65535-byte IPv4 packet fits no IPv4 outer header, whatever the MTU.
    let huge = frame_of(false, usize::from(u16::MAX));
    let mut buf = with_room(&huge, ROOM);
    let t = tunnel(Encap::Ip, false);
    assert_eq!(
        refused(&mut buf, huge.len(), &t, usize::MAX),
        EncapError::ExceedsMtu
    );
    // IPv6's payload length excludes its own header: 65535 + 40 is the limit.
    let t = tunnel(Encap::Ip, true);
    let n = encapsulate(&mut buf, huge.len(), &parsed(&huge), &t, HASH, usize::MAX).unwrap();
    assert_eq!(n, 14 + 40 + usize::from(u16::MAX));
    let out = &buf[..n];
    assert_eq!(&out[18..20], &[0xff, 0xff], "payload length 65535");
    assert_eq!(&out[54..], &huge[14..]);
}

#[test]
fn too_small_buffer_is_refused() {
    for (kind, v6) in ALL_KINDS {
        let t = tunnel(kind, v6);
        let input = build(L4::Udp, sock(V4_FLOW.0), sock(V4_FLOW.1), None, PAYLOAD);
        let mut buf = with_room(&input, t.overhead() - 1);
        let err = refused(&mut buf, input.len(), &t, MTU);
        assert_eq!(err, EncapError::BufferTooSmall);
        // Exactly enough room is enough.
        let mut buf = with_room(&input, t.overhead());
        let n = encapsulate(&mut buf, input.len(), &parsed(&input), &t, HASH, MTU).unwrap();
        assert_eq!(n, buf.len());
        let expect = expected(&input, (t.src, t.dst), gue_port(kind), HASH);
        assert_eq!(buf, expect);
    }
}

#[test]
fn arp_is_not_ip() {
    let arp = ArpPacket::new(
        ArpHardwareId::ETHERNET,
        EtherType::IPV4,
        ArpOperation::REQUEST,
        &CLIENT_MAC,
        &[192, 0, 2, 10],
        &[0; 6],
        &[10, 0, 0, 100],
    )
    .unwrap();
    let mut frame = Vec::new();
    PacketBuilder::ethernet2(CLIENT_MAC, [0xff; 6])
        .arp(arp)
        .write(&mut frame)
        .unwrap();
    let mut buf = with_room(&frame, ROOM);
    let t = tunnel(Encap::Ip, false);
    assert_eq!(refused(&mut buf, frame.len(), &t, MTU), EncapError::NotIp);
}

#[test]
fn mixed_outer_families_are_refused() {
    let input = build(L4::Tcp, sock(V4_FLOW.0), sock(V4_FLOW.1), None, PAYLOAD);
    let mut buf = with_room(&input, ROOM);
    for (src, dst) in [("10.2.0.1", "fd00::3"), ("fd00:1::1", "10.1.0.3")] {
        let (src, dst) = (ip(src), ip(dst));
        let t = Tunnel {
            kind: Encap::GUE,
            src,
            dst,
        };
        let err = refused(&mut buf, input.len(), &t, MTU);
        assert_eq!(err, EncapError::FamilyMismatch);
    }
}

#[test]
fn offsets_of_another_frame_are_refused() {
    let input = build(L4::Tcp, sock(V4_FLOW.0), sock(V4_FLOW.1), None, PAYLOAD);
    let longer = build(L4::Tcp, sock(V4_FLOW.0), sock(V4_FLOW.1), None, &[0; 64]);
    let tagged = build(L4::Tcp, sock(V4_FLOW.0), sock(V4_FLOW.1), Some(3), PAYLOAD);
    let t = tunnel(Encap::Ip, false);
    let mut buf = with_room(&input, ROOM);
    let before = buf.clone();
    for other in [&longer, &tagged] {
        let r = encapsulate(&mut buf, input.len(), &parsed(other), &t, HASH, MTU);
        assert_eq!(r, Err(EncapError::BadOffsets));
    }
    let len = buf.len() + 1;
    let r = encapsulate(&mut buf, len, &parsed(&input), &t, HASH, MTU);
    assert_eq!(r, Err(EncapError::BadOffsets));
    assert_eq!(buf, before);
}

// ---- The API's small parts ----

#[test]
fn derived_values_and_modes() {
    assert_eq!(gue_src_port(HASH), SPORT);
    assert_eq!(flow_label(HASH), LABEL);
    assert_eq!(flow_label(0), 1, "0 would mean no flow label");
    assert_eq!(GUE_PORT, 6080);
    assert_eq!(OUTER_TTL, 64);
    assert_eq!(Encap::GUE, Encap::Gue { port: 6080 });
    assert_eq!(Encap::for_mode(L4Mode::Ipip), Some(Encap::Ip));
    assert_eq!(Encap::for_mode(L4Mode::Gue), Some(Encap::GUE));
    assert_eq!(Encap::for_mode(L4Mode::FullNat), None);
    assert_eq!(Encap::for_mode(L4Mode::Dsr), None);
    let overheads = ALL_KINDS.map(|(k, v6)| tunnel(k, v6).overhead());
    assert_eq!(overheads, [20, 40, 28, 48]);
}

proptest! {
    #[test]
    fn derived_values_are_in_range(hash in any::<u64>()) {
        prop_assert!(gue_src_port(hash) >= 32768);
        prop_assert!((1..=0xF_FFFF).contains(&flow_label(hash)));
    }

    #[test]
    fn any_flow_encapsulates_into_a_valid_frame(
        inner_v6 in any::<bool>(),
        outer_v6 in any::<bool>(),
        tcp in any::<bool>(),
        gue in proptest::option::of(any::<u16>()),
        vlan in proptest::option::of(0u16..4095),
        addrs in any::<[[u8; 16]; 4]>(),
        ports in any::<[u16; 2]>(),
        hash in any::<u64>(),
        // Up to the largest that fits the MTU in the worst case: 1500 − 60 (IPv6 + TCP inner)
        // − 48 (IPv6 + UDP outer) = 1392.
        payload in proptest::collection::vec(any::<u8>(), 0..=1392),
    ) {
        let l4 = if tcp { L4::Tcp } else { L4::Udp };
        let (client, vip) = (sock_from(inner_v6, addrs[0], ports[0]), sock_from(inner_v6, addrs[1], ports[1]));
        let (src, dst) = (sock_from(outer_v6, addrs[2], 0).ip(), sock_from(outer_v6, addrs[3], 0).ip());
        let kind = gue.map_or(Encap::Ip, |port| Encap::Gue { port });
        let input = build(l4, client, vip, vlan, &payload);
        let out = encap(&input, &Tunnel { kind, src, dst }, hash);
        prop_assert_eq!(&out, &expected(&input, (src, dst), gue, hash));
        check_outer(&out, &input, (src, dst), gue, hash);
    }
}

// ---- Golden frames: derived with etherparse (`expected`), one header per line ----

const IPIP_TCP: &str = "
    02bb0000000202aa000000010800
    45b9004100004000400425fa0a0200010a010003
    45b9002d1c4640004006515ec000020a0a000064
    9c410050123456780badf00d501010008e960000
    68656c6c6f
";
const IPIP_UDP: &str = "
    02bb0000000202aa000000010800
    45b9003500004000400426060a0200010a010003
    45b900211c4640004011515fc000020a0a000064
    9c410050000d5302
    68656c6c6f
";
const IP4IN6_TCP: &str = "
    02bb0000000202aa0000000186dd
    6b9d0bbb002d0440fd000001000000000000000000000001fd000000000000000000000000000003
    45b9002d1c4640004006515ec000020a0a000064
    9c410050123456780badf00d501010008e960000
    68656c6c6f
";
const IP4IN6_UDP: &str = "
    02bb0000000202aa0000000186dd
    6b9d0bbb00210440fd000001000000000000000000000001fd000000000000000000000000000003
    45b900211c4640004011515fc000020a0a000064
    9c410050000d5302
    68656c6c6f
";
const IP6IN6_TCP: &str = "
    02bb0000000202aa0000000186dd
    6b9d0bbb00412940fd000001000000000000000000000001fd000000000000000000000000000003
    6b9123450019064020010db800000000000000000000001020010db8000000000000000000000100
    9c4101bb123456780badf00d50101000fd170000
    68656c6c6f
";
const IP6IN6_UDP: &str = "
    02bb0000000202aa0000000186dd
    6b9d0bbb00352940fd000001000000000000000000000001fd000000000000000000000000000003
    6b912345000d114020010db800000000000000000000001020010db8000000000000000000000100
    9c4101bb000dc183
    68656c6c6f
";
const GUE4_TCP: &str = "
    02bb0000000202aa000000010800
    45b9004900004000401125e50a0200010a010003
    e4d117c000350000
    45b9002d1c4640004006515ec000020a0a000064
    9c410050123456780badf00d501010008e960000
    68656c6c6f
";
const GUE4_UDP: &str = "
    02bb0000000202aa000000010800
    45b9003d00004000401125f10a0200010a010003
    e4d117c000290000
    45b900211c4640004011515fc000020a0a000064
    9c410050000d5302
    68656c6c6f
";
const GUE6_TCP: &str = "
    02bb0000000202aa0000000186dd
    6b9d0bbb00491140fd000001000000000000000000000001fd000000000000000000000000000003
    e4d117c0004973b3
    6b9123450019064020010db800000000000000000000001020010db8000000000000000000000100
    9c4101bb123456780badf00d50101000fd170000
    68656c6c6f
";
const GUE6_UDP: &str = "
    02bb0000000202aa0000000186dd
    6b9d0bbb003d1140fd000001000000000000000000000001fd000000000000000000000000000003
    e4d117c0003d68d6
    6b912345000d114020010db800000000000000000000001020010db8000000000000000000000100
    9c4101bb000dc183
    68656c6c6f
";
const GUE4_TCP_VLAN: &str = "
    02bb0000000202aa000000018100002a0800
    45b9004900004000401125e50a0200010a010003
    e4d117c000350000
    45b9002d1c4640004006515ec000020a0a000064
    9c410050123456780badf00d501010008e960000
    68656c6c6f
";
