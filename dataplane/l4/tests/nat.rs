//! Golden tests of the full-NAT and DSR rewrites: build a frame, rewrite it, and compare it byte
//! for byte with the frame built directly with the target fields (so every checksum equals a
//! full recompute by etherparse), then verify the checksums with strait-packet's views.

mod common;

use common::{CLIENT_MAC, L4, NODE_MAC, Svc, finish, image, parsed, sock, sock_from};
use core::net::SocketAddr;
use etherparse::{PacketBuilder, VlanId};
use proptest::prelude::*;
use strait_l4::{NatError, dsr, nat, set_macs};
use strait_packet::flow::v4_mapped;
use strait_packet::{Kind, ipv4, ipv6, tcp, udp};
use strait_table::Protocol;

/// A frame from `src` to `dst`, checksums filled in by etherparse.
fn build(l4: L4, src: SocketAddr, dst: SocketAddr, vlan: Option<u16>, payload: &[u8]) -> Vec<u8> {
    build_ttl(l4, src, dst, vlan, payload, 64)
}

/// [`build`] with TTL / hop limit `ttl`.
fn build_ttl(
    l4: L4,
    src: SocketAddr,
    dst: SocketAddr,
    vlan: Option<u16>,
    payload: &[u8],
    ttl: u8,
) -> Vec<u8> {
    let eth = PacketBuilder::ethernet2(CLIENT_MAC, NODE_MAC);
    let ip = match (vlan, src, dst) {
        (None, SocketAddr::V4(s), SocketAddr::V4(d)) => {
            eth.ipv4(s.ip().octets(), d.ip().octets(), ttl)
        }
        (None, SocketAddr::V6(s), SocketAddr::V6(d)) => {
            eth.ipv6(s.ip().octets(), d.ip().octets(), ttl)
        }
        (Some(v), SocketAddr::V4(s), SocketAddr::V4(d)) => eth
            .single_vlan(VlanId::try_new(v).unwrap())
            .ipv4(s.ip().octets(), d.ip().octets(), ttl),
        (Some(v), SocketAddr::V6(s), SocketAddr::V6(d)) => eth
            .single_vlan(VlanId::try_new(v).unwrap())
            .ipv6(s.ip().octets(), d.ip().octets(), ttl),
        _ => panic!("mixed families"),
    };
    finish(ip, l4, src, dst, payload)
}

/// A socket address's address in flow-key form (IPv4-mapped for IPv4).
fn key_addr(a: SocketAddr) -> [u8; 16] {
    match a {
        SocketAddr::V4(a) => v4_mapped(a.ip().octets()),
        SocketAddr::V6(a) => a.ip().octets(),
    }
}

/// Checks every checksum of `frame` with strait-packet's views.
fn assert_checksums(frame: &[u8]) {
    let p = parsed(frame);
    let Kind::Ip(l4) = p.kind else {
        panic!("not IP")
    };
    let (ip, seg) = (&frame[p.l3_offset..l4.ip_end], &frame[l4.offset..l4.ip_end]);
    let (pseudo, v4) = match ipv4::Packet::new_checked(ip) {
        Ok(v4) => {
            assert!(v4.verify_checksum(), "IPv4 header checksum");
            (v4.pseudo_header_sum(), true)
        }
        Err(_) => (
            ipv6::Packet::new_checked(ip).unwrap().pseudo_header_sum(),
            false,
        ),
    };
    match l4.flow.proto {
        6 => assert!(
            tcp::Packet::new_checked(seg)
                .unwrap()
                .verify_checksum(pseudo)
        ),
        _ => {
            let u = udp::Packet::new_checked(seg).unwrap();
            assert!(
                (v4 && u.checksum() == 0) || u.verify_checksum(pseudo),
                "UDP checksum"
            );
        }
    }
}

/// Rewrites `before` to `src → dst` and checks it against the frame built with those fields.
fn golden(
    l4: L4,
    before: (SocketAddr, SocketAddr),
    after: (SocketAddr, SocketAddr),
    vlan: Option<u16>,
) {
    let payload = b"GET / HTTP/1.1\r\nHost: strait\r\n\r\n";
    let mut frame = build(l4, before.0, before.1, vlan, payload);
    let p = parsed(&frame);
    nat::rewrite(&mut frame, &p, after.0, after.1).expect("rewrite");
    assert_eq!(
        frame,
        build(l4, after.0, after.1, vlan, payload),
        "{l4:?} {before:?} → {after:?}"
    );
    assert_checksums(&frame);
}

#[test]
fn full_nat_forward_and_reverse_v4() {
    let (client, vip) = (sock("192.0.2.10:40001"), sock("10.0.0.100:80"));
    let (node, backend) = (sock("10.2.0.1:20001"), sock("10.1.0.3:8080"));
    for l4 in [L4::Tcp, L4::Udp] {
        for vlan in [None, Some(42)] {
            golden(l4, (client, vip), (node, backend), vlan);
            golden(l4, (backend, node), (vip, client), vlan);
        }
    }
}

#[test]
fn full_nat_forward_and_reverse_v6() {
    let (client, vip) = (sock("[2001:db8::10]:40001"), sock("[2001:db8::100]:443"));
    let (node, backend) = (sock("[fd00:1::1]:20001"), sock("[fd00::3]:8443"));
    for l4 in [L4::Tcp, L4::Udp] {
        for vlan in [None, Some(7)] {
            golden(l4, (client, vip), (node, backend), vlan);
            golden(l4, (backend, node), (vip, client), vlan);
        }
    }
}

#[test]
fn forward_and_reverse_are_named_rewrites() {
    let (client, vip) = (sock("192.0.2.10:40001"), sock("10.0.0.100:80"));
    let (node, backend) = (sock("10.2.0.1:20001"), sock("10.1.0.3:8080"));
    let mut frame = build(L4::Tcp, client, vip, None, b"x");
    let p = parsed(&frame);
    nat::forward(&mut frame, &p, node, backend).unwrap();
    assert_eq!(frame, build(L4::Tcp, node, backend, None, b"x"));
    let mut reply = build(L4::Tcp, backend, node, None, b"y");
    let p = parsed(&reply);
    nat::reverse(&mut reply, &p, vip, client).unwrap();
    assert_eq!(reply, build(L4::Tcp, vip, client, None, b"y"));
}

#[test]
fn udp_v4_without_checksum_keeps_none() {
    let zero = |f: &mut Vec<u8>| f[14 + 20 + 6..14 + 20 + 8].copy_from_slice(&[0, 0]);
    let (client, vip) = (sock("192.0.2.10:5353"), sock("10.0.0.100:53"));
    let (node, backend) = (sock("10.2.0.1:20001"), sock("10.1.0.3:53"));
    let mut frame = build(L4::Udp, client, vip, None, b"query");
    zero(&mut frame);
    let p = parsed(&frame);
    nat::forward(&mut frame, &p, node, backend).unwrap();
    let mut want = build(L4::Udp, node, backend, None, b"query");
    zero(&mut want);
    assert_eq!(frame, want);
    assert_checksums(&frame);
}

#[test]
fn udp_result_zero_is_stored_as_ffff() {
    let (client, vip) = (sock("192.0.2.10:5353"), sock("10.0.0.100:53"));
    // Find a target port whose correct checksum is the "computed 0" case.
    let (port, want) = (1..=u16::MAX)
        .map(|p| {
            (
                p,
                build(
                    L4::Udp,
                    sock("10.2.0.1:20001"),
                    SocketAddr::new(common::ip("10.1.0.3"), p),
                    None,
                    b"q",
                ),
            )
        })
        .find(|(_, f)| f[14 + 20 + 6..14 + 20 + 8] == [0xff, 0xff])
        .expect("some port gives a zero checksum");
    let mut frame = build(L4::Udp, client, vip, None, b"q");
    let backend = SocketAddr::new(common::ip("10.1.0.3"), port);
    let p = parsed(&frame);
    nat::forward(&mut frame, &p, sock("10.2.0.1:20001"), backend).unwrap();
    assert_eq!(frame, want);
    assert_checksums(&frame);
}

#[test]
fn refusals_leave_the_frame_unchanged() {
    let (v4a, v4b, v6a) = (
        sock("192.0.2.10:1"),
        sock("10.0.0.100:80"),
        sock("[fd00::1]:80"),
    );
    let frame = build(L4::Tcp, v4a, v4b, None, b"abc");
    let p = parsed(&frame);
    let mut f = frame.clone();
    assert_eq!(
        nat::rewrite(&mut f, &p, v4a, v6a),
        Err(NatError::FamilyMismatch)
    );
    assert_eq!(
        nat::rewrite(&mut f, &p, v6a, v6a),
        Err(NatError::FamilyMismatch)
    );
    // Offsets of a longer frame do not fit this one.
    let long = build(L4::Tcp, v4a, v4b, None, &[0; 64]);
    assert_eq!(
        nat::rewrite(&mut f, &parsed(&long), v4b, v4a),
        Err(NatError::BadOffsets)
    );
    assert_eq!(f, frame);

    let mut ping = Vec::new();
    PacketBuilder::ethernet2(CLIENT_MAC, NODE_MAC)
        .ipv4([192, 0, 2, 10], [10, 0, 0, 100], 64)
        .icmpv4_echo_request(1, 1)
        .write(&mut ping, b"ping")
        .unwrap();
    let before = ping.clone();
    assert_eq!(
        nat::rewrite(&mut ping, &parsed(&before), v4a, v4b),
        Err(NatError::Unsupported)
    );
    assert_eq!(ping, before);
}

#[test]
fn dsr_rewrites_macs_only() {
    let img = image(&[Svc::new("10.0.0.100", 80, Protocol::Tcp, 2)]);
    let backend = img.l4_backends()[1];
    let (client, vip) = (sock("192.0.2.10:40001"), sock("10.0.0.100:80"));
    for vlan in [None, Some(5)] {
        let frame = build(L4::Tcp, client, vip, vlan, b"data");
        let mut f = frame.clone();
        dsr(&mut f, [0x02, 0xcc, 0, 0, 0, 9], &backend).unwrap();
        assert_eq!(&f[..6], &backend.mac);
        assert_eq!(&f[6..12], &[0x02, 0xcc, 0, 0, 0, 9]);
        assert_eq!(&f[12..], &frame[12..]);
        assert_checksums(&f);
    }
    let no_mac = strait_table::L4Backend {
        has_mac: 0,
        ..backend
    };
    let mut f = build(L4::Udp, client, vip, None, b"d");
    let before = f.clone();
    assert_eq!(dsr(&mut f, NODE_MAC, &no_mac), Err(NatError::NoMac));
    assert_eq!(
        set_macs(&mut f[..10], NODE_MAC, CLIENT_MAC),
        Err(NatError::BadOffsets)
    );
    assert_eq!(f, before);
}

proptest! {
    #[test]
    fn any_rewrite_equals_a_rebuild(
        v6 in any::<bool>(),
        tcp in any::<bool>(),
        vlan in proptest::option::of(0u16..4095),
        addrs in any::<[[u8; 16]; 4]>(),
        ports in any::<[u16; 4]>(),
        payload in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let [a, b, c, d] = [0, 1, 2, 3].map(|i| sock_from(v6, addrs[i], ports[i]));
        let l4 = if tcp { L4::Tcp } else { L4::Udp };
        let mut frame = build(l4, a, b, vlan, &payload);
        let p = parsed(&frame);
        nat::rewrite(&mut frame, &p, c, d).unwrap();
        prop_assert_eq!(&frame, &build(l4, c, d, vlan, &payload));
        assert_checksums(&frame);
    }

    /// The packet path's rewrite: ends in flow-key form, TTL / hop limit decremented in the
    /// same checksum update.
    #[test]
    fn any_routed_rewrite_equals_a_rebuild(
        v6 in any::<bool>(),
        tcp in any::<bool>(),
        vlan in proptest::option::of(0u16..4095),
        addrs in any::<[[u8; 16]; 4]>(),
        ports in any::<[u16; 4]>(),
        ttl in 3u8..=255,
        payload in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let [a, b, c, d] = [0, 1, 2, 3].map(|i| sock_from(v6, addrs[i], ports[i]));
        let l4 = if tcp { L4::Tcp } else { L4::Udp };
        let mut frame = build_ttl(l4, a, b, vlan, &payload, ttl);
        let p = parsed(&frame);
        let (src, dst) = (key_addr(c), key_addr(d));
        let ends = nat::Ends { src: &src, src_port: c.port(), dst: &dst, dst_port: d.port() };
        nat::rewrite_ends(&mut frame, &p, &ends, true).unwrap();
        prop_assert_eq!(&frame, &build_ttl(l4, c, d, vlan, &payload, ttl - 1));
        assert_checksums(&frame);
    }
}
