//! ICMP errors about a flow go on to its peer: from the client side to the backend (full NAT
//! rewritten, DSR as it is), from the backend side to the client, IPv4 and IPv6; errors about
//! no known flow are dropped and counted; with two workers they go to the flow's owner.

mod common;

use std::net::IpAddr;

use common::*;
use etherparse::PacketBuilder;
use strait_fastpath::{Action, Neighbours, counter};
use strait_packet::checksum;
use strait_table::L4Mode;

const ROUTER4: [u8; 4] = [198, 18, 0, 254];
const ROUTER6: &str = "2001:2::fe";
const FRAG_NEEDED: (u8, u8) = (3, 4);
const PACKET_TOO_BIG: (u8, u8) = (2, 0);

fn services(mode: L4Mode) -> Vec<Svc> {
    vec![
        Svc::tcp(
            "198.18.0.100",
            mode,
            &[("198.18.0.11", 1), ("198.18.0.12", 1)],
        ),
        Svc::tcp("2001:2::100", mode, &[("2001:2::11", 1), ("2001:2::12", 1)]),
    ]
}

/// The IP packet inside an Ethernet frame, cut to `keep` bytes (all of it if longer).
fn ip_packet(frame: &[u8], keep: usize) -> Vec<u8> {
    frame[14..].iter().take(keep).copied().collect()
}

/// An ICMPv4 error `(type, code)` from a router to `dst`, quoting `quote`.
fn icmp4_error(dst: [u8; 4], (ty, code): (u8, u8), quote: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(CLIENT_MAC, NODE_MAC)
        .ipv4(ROUTER4, dst, 64)
        .icmpv4_raw(ty, code, [0, 0, 0x05, 0x78])
        .write(&mut out, quote)
        .expect("ICMP frame");
    out
}

/// An ICMPv6 error `(type, code)` from a router to `dst`, quoting `quote`.
fn icmp6_error(dst: [u8; 16], (ty, code): (u8, u8), quote: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(CLIENT_MAC, NODE_MAC)
        .ipv6(v6(ROUTER6), dst, 64)
        .icmpv6_raw(ty, code, 1280u32.to_be_bytes())
        .write(&mut out, quote)
        .expect("ICMPv6 frame");
    out
}

/// What an ICMP error frame says, with every checksum it carries checked.
struct Error {
    outer: Seen,
    msg: [u8; 8],
    quoted_src: (IpAddr, u16),
    quoted_dst: (IpAddr, u16),
}

fn error_of(frame: &[u8]) -> Error {
    let v4 = frame[12..14] == [0x08, 0x00];
    let (l4, outer) = if v4 {
        let ihl = usize::from(frame[14] & 0x0f) * 4;
        (14 + ihl, seen(frame))
    } else {
        (54, seen(frame))
    };
    let message = &frame[l4..];
    if v4 {
        assert_eq!(checksum::sum(message), 0xFFFF, "ICMP checksum");
    } else {
        let (IpAddr::V6(s), IpAddr::V6(d)) = (outer.src, outer.dst) else {
            panic!("IPv6 outer")
        };
        let len = message.len() as u32;
        let pseudo = checksum::pseudo_header_v6(&s.octets(), &d.octets(), 58, len);
        assert_eq!(
            checksum::combine(&[pseudo, checksum::sum(message)]),
            0xFFFF,
            "ICMPv6 checksum"
        );
    }
    let quote = &message[8..];
    let (src, dst, t) = if v4 {
        let ihl = usize::from(quote[0] & 0x0f) * 4;
        assert_eq!(checksum::sum(&quote[..ihl]), 0xFFFF, "quoted IPv4 checksum");
        let a = |at: usize| IpAddr::from(<[u8; 4]>::try_from(&quote[at..at + 4]).unwrap());
        (a(12), a(16), &quote[ihl..])
    } else {
        let a = |at: usize| IpAddr::from(<[u8; 16]>::try_from(&quote[at..at + 16]).unwrap());
        (a(8), a(24), &quote[40..])
    };
    let port = |at: usize| u16::from_be_bytes([t[at], t[at + 1]]);
    Error {
        outer,
        msg: message[..8].try_into().unwrap(),
        quoted_src: (src, port(0)),
        quoted_dst: (dst, port(2)),
    }
}

/// The TCP checksum of a whole quoted IPv4 packet (0 when valid).
fn quoted_tcp4_checksum(frame: &[u8]) -> u16 {
    let quote = &frame[14 + 20 + 8..];
    let ihl = usize::from(quote[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([quote[2], quote[3]]));
    let tcp = &quote[ihl..total];
    let mut src = [0u8; 4];
    let mut dst = [0u8; 4];
    src.copy_from_slice(&quote[12..16]);
    dst.copy_from_slice(&quote[16..20]);
    let pseudo = checksum::pseudo_header_v4(&src, &dst, 6, tcp.len() as u16);
    !checksum::combine(&[pseudo, checksum::sum(tcp)])
}

#[test]
fn an_error_from_the_client_side_reaches_the_backend_as_its_own() {
    let mut rig = Rig::new(image(1, &services(L4Mode::FullNat)));
    rig.learn_all(2);
    let (_, out) = rig.send(&syn(40000));
    let (fwd, b) = (seen(&out), backend_of(&out));
    // A router on the way to the client could not take the node's reply VIP:80 → client.
    let reply = tcp4(VIP4, 80, CLIENT4, 40000, false, NODE_MAC, CLIENT_MAC);
    let error = icmp4_error(VIP4, FRAG_NEEDED, &ip_packet(&reply, usize::MAX));
    let (action, sent) = rig.send(&error);
    assert!(matches!(action, Action::Tx(_)), "{action:?}");
    let e = error_of(&sent);
    assert_eq!(
        (e.outer.src, e.outer.dst),
        (SNAT4.into(), backend4(b).into())
    );
    assert_eq!((e.outer.dst_mac, e.outer.ttl), (backend_mac(b), 63));
    assert_eq!(e.msg[..2], [3, 4], "still fragmentation needed");
    assert_eq!(e.msg[6..], [0x05, 0x78], "with its MTU");
    // The backend sees an error about its own packet: backend:8080 → SNAT address:port.
    assert_eq!(e.quoted_src, (backend4(b).into(), 8080));
    assert_eq!(e.quoted_dst, (SNAT4.into(), fwd.sport));
    assert_eq!(quoted_tcp4_checksum(&sent), 0, "quoted TCP checksum");
    let c = rig.pipeline.counters();
    assert_eq!(c.get(counter::ICMP_ERRORS_FORWARDED), 1);
    assert_eq!(c.get(counter::NEW_FLOWS), 1, "an error makes no flow");
}

#[test]
fn an_error_from_the_backend_side_reaches_the_client_as_its_own() {
    let mut rig = Rig::new(image(1, &services(L4Mode::FullNat)));
    rig.learn_all(2);
    let (_, out) = rig.send(&syn(40000));
    let (fwd, b) = (seen(&out), backend_of(&out));
    // A router on the way to the backend reports the node's packet, quoted to 8 bytes.
    let error = icmp4_error(SNAT4, (11, 0), &ip_packet(&out, 28));
    let (action, sent) = rig.send(&error);
    assert!(matches!(action, Action::Tx(_)), "{action:?}");
    let e = error_of(&sent);
    assert_eq!((e.outer.src, e.outer.dst), (VIP4.into(), CLIENT4.into()));
    assert_eq!(e.outer.dst_mac, CLIENT_MAC);
    assert_eq!(e.quoted_src, (CLIENT4.into(), 40000));
    assert_eq!(e.quoted_dst, (VIP4.into(), 80));
    assert_ne!(fwd.sport, 0);
    assert_eq!(b, backend_of(&out));
}

#[test]
fn packet_too_big_about_an_ipv6_flow_reaches_the_backend() {
    let mut rig = Rig::new(image(1, &services(L4Mode::FullNat)));
    rig.learn_all(2);
    let (_, out) = rig.send(&syn6(40000));
    let (fwd, b) = (seen(&out), backend_of(&out));
    let reply = tcp6(v6(VIP6), 80, v6(CLIENT6), 40000, NODE_MAC, CLIENT_MAC);
    let error = icmp6_error(v6(VIP6), PACKET_TOO_BIG, &ip_packet(&reply, usize::MAX));
    let (action, sent) = rig.send(&error);
    assert!(matches!(action, Action::Tx(_)), "{action:?}");
    let e = error_of(&sent);
    assert_eq!(
        (e.outer.src, e.outer.dst),
        (IpAddr::from(v6(SNAT6)), IpAddr::from(backend6(b)))
    );
    assert_eq!(e.outer.ttl, 63);
    assert_eq!(e.msg[..2], [2, 0]);
    assert_eq!(e.quoted_src, (IpAddr::from(backend6(b)), 8080));
    assert_eq!(e.quoted_dst, (IpAddr::from(v6(SNAT6)), fwd.sport));
}

#[test]
fn with_dsr_the_backend_gets_the_error_as_it_is() {
    let mut rig = Rig::new(image(1, &services(L4Mode::Dsr)));
    rig.learn_all(2);
    let (_, out) = rig.send(&syn(40001));
    let b = backend_of(&out);
    let reply = tcp4(VIP4, 80, CLIENT4, 40001, false, NODE_MAC, CLIENT_MAC);
    let error = icmp4_error(VIP4, FRAG_NEEDED, &ip_packet(&reply, 28));
    let (action, sent) = rig.send(&error);
    assert!(matches!(action, Action::Tx(_)), "{action:?}");
    assert_eq!(&sent[..6], &backend_mac(b));
    assert_eq!(&sent[12..], &error[12..], "nothing above L2 changes");
}

#[test]
fn errors_about_no_known_flow_and_other_icmp_are_dropped() {
    let mut rig = Rig::new(image(1, &services(L4Mode::FullNat)));
    rig.learn_all(2);
    rig.send(&syn(40000));
    let unknown = tcp4(VIP4, 80, CLIENT4, 50000, false, NODE_MAC, CLIENT_MAC);
    let cut = tcp4(VIP4, 80, CLIENT4, 40000, false, NODE_MAC, CLIENT_MAC);
    for frame in [
        icmp4_error(VIP4, FRAG_NEEDED, &ip_packet(&unknown, 28)),
        // Cut before the ports: the flow cannot be told.
        icmp4_error(VIP4, FRAG_NEEDED, &ip_packet(&cut, 22)),
        // A timestamp request is no error (and no echo request).
        icmp4_error(VIP4, (13, 0), &ip_packet(&cut, 28)),
    ] {
        let (action, _) = rig.send(&frame);
        assert_eq!(action, Action::Drop);
    }
    let c = rig.pipeline.counters();
    assert_eq!(c.get(counter::DROP_ICMP), 3);
    assert_eq!(c.get(counter::ICMP_ERRORS_FORWARDED), 0);
}

#[test]
fn with_two_workers_an_error_goes_to_the_flows_owner() {
    let n = Neighbours::new();
    let img = || image(1, &services(L4Mode::FullNat));
    let mut rigs = [
        Rig::worker(img(), 0, 2, n.clone()),
        Rig::worker(img(), 1, 2, n.clone()),
    ];
    rigs[0].learn_all(2);
    let (owner, _) = match rigs[0].send(&syn(40000)) {
        (Action::Steer(w), _) => (w, ()),
        (_, _) => (0, ()),
    };
    let (action, _) = rigs[owner].send_with(&syn(40000), owner != 0, &healthy);
    assert!(matches!(action, Action::Tx(_)), "{action:?}");
    let reply = tcp4(VIP4, 80, CLIENT4, 40000, false, NODE_MAC, CLIENT_MAC);
    let error = icmp4_error(VIP4, FRAG_NEEDED, &ip_packet(&reply, 28));
    let other = 1 - owner;
    assert_eq!(rigs[other].send(&error).0, Action::Steer(owner));
    let (action, _) = rigs[owner].send_with(&error, true, &healthy);
    assert!(matches!(action, Action::Tx(_)), "{action:?}");
}

#[test]
fn pings_to_the_nodes_addresses_are_answered_and_others_are_not_ours() {
    let mut rig = Rig::new(image(1, &services(L4Mode::FullNat)));
    let ping4 = |dst: [u8; 4]| {
        let mut out = Vec::new();
        PacketBuilder::ethernet2(CLIENT_MAC, NODE_MAC)
            .ipv4(CLIENT4, dst, 64)
            .icmpv4_echo_request(9, 1)
            .write(&mut out, b"ping")
            .unwrap();
        out
    };
    let mut ping6 = Vec::new();
    PacketBuilder::ethernet2(CLIENT_MAC, NODE_MAC)
        .ipv6(v6(CLIENT6), v6(VIP6), 64)
        .icmpv6_echo_request(9, 1)
        .write(&mut ping6, b"ping")
        .unwrap();
    for (f, reply_type) in [(ping4(VIP4), 0), (ping4(SNAT4), 0), (ping6, 129)] {
        let (action, out) = rig.send(&f);
        assert_eq!(action, Action::Tx(f.len()));
        assert_eq!(&out[..6], &CLIENT_MAC, "back to the sender");
        let at = if f[12..14] == [0x86, 0xdd] { 54 } else { 34 };
        assert_eq!(out[at], reply_type);
    }
    assert_eq!(rig.send(&ping4([198, 18, 0, 77])).0, Action::Kernel);
    let c = rig.pipeline.counters();
    assert_eq!(c.get(counter::ICMP_ECHO_REPLIES), 3);
    assert_eq!(c.get(counter::DROP_ICMP), 0);
}
