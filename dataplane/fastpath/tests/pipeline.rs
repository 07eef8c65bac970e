//! The pipeline end to end on buffers: neighbour discovery, full NAT both ways (IPv4 and
//! IPv6), DSR, balancing by weight, backend removal, malformed input, exception policy.

mod common;

use std::net::IpAddr;

use common::*;
use strait_fastpath::{Action, Exception, Neighbours, Pipeline, counter};
use strait_l4::Health;
use strait_table::L4Mode;

fn three(mode: L4Mode) -> Vec<Svc> {
    vec![
        Svc::tcp(
            "198.18.0.100",
            mode,
            &[("198.18.0.11", 1), ("198.18.0.12", 1), ("198.18.0.13", 2)],
        ),
        Svc::tcp(
            "2001:2::100",
            mode,
            &[("2001:2::11", 1), ("2001:2::12", 1), ("2001:2::13", 2)],
        ),
    ]
}

#[test]
fn arp_for_a_vip_or_snat_address_is_answered_and_teaches_the_sender() {
    let mut rig = Rig::new(image(1, &three(L4Mode::FullNat)));
    for target in [VIP4, SNAT4] {
        let (action, out) = rig.send(&arp_request(CLIENT_MAC, CLIENT4, target));
        let Action::Tx(n) = action else {
            panic!("{action:?}")
        };
        assert_eq!(&out[..6], &CLIENT_MAC, "reply goes to the asker");
        assert_eq!(&out[6..12], &NODE_MAC);
        assert_eq!(&out[20..22], &[0, 2], "ARP reply");
        assert_eq!(&out[22..28], &NODE_MAC, "sender hw is the node");
        assert_eq!(&out[28..32], &target, "sender ip is the asked address");
        assert_eq!(&out[32..38], &CLIENT_MAC);
        assert_eq!(n, 42);
    }
    // Not ours: left to the kernel.
    let (action, _) = rig.send(&arp_request(CLIENT_MAC, CLIENT4, [198, 18, 0, 77]));
    assert_eq!(action, Action::Kernel);
    assert_eq!(rig.pipeline.counters().get(counter::ARP_REPLIES), 2);
    assert_eq!(rig.pipeline.counters().get(counter::NEIGHBOURS_LEARNED), 1);
}

#[test]
fn neighbour_solicitation_for_the_v6_vip_gets_a_valid_advertisement() {
    let mut rig = Rig::new(image(1, &three(L4Mode::FullNat)));
    let ns = neighbour_solicit(CLIENT_MAC, &v6(CLIENT6), &v6(VIP6));
    let (action, out) = rig.send(&ns);
    assert!(matches!(action, Action::Tx(_)), "{action:?}");
    let p = etherparse::SlicedPacket::from_ethernet(&out).unwrap();
    let Some(etherparse::InternetSlice::Ipv6(ip)) = &p.net else {
        panic!("not IPv6")
    };
    let h = ip.header().to_header();
    assert_eq!(h.source, v6(VIP6));
    assert_eq!(h.destination, v6(CLIENT6));
    assert_eq!(h.hop_limit, 255);
    let Some(etherparse::TransportSlice::Icmpv6(icmp)) = &p.transport else {
        panic!("not ICMPv6")
    };
    assert_eq!(icmp.type_u8(), 136);
    assert_eq!(
        icmp.icmp_type()
            .calc_checksum(h.source, h.destination, icmp.payload())
            .unwrap(),
        icmp.checksum()
    );
    assert_eq!(&icmp.payload()[..16], &v6(VIP6));
    assert_eq!(&icmp.payload()[16..24], &[2, 1, 2, 0, 0, 0, 0, 0xaa]);
    // The solicitation taught the client's MAC.
    assert_eq!(rig.pipeline.counters().get(counter::NEIGHBOURS_LEARNED), 1);
}

#[test]
fn full_nat_round_trip_ipv4() {
    let mut rig = Rig::new(image(1, &three(L4Mode::FullNat)));
    rig.learn_all(3);
    let (action, out) = rig.send(&syn(40000));
    assert!(matches!(action, Action::Tx(_)), "{action:?}");
    let fwd = seen(&out);
    let b = backend_of(&out);
    assert_eq!(fwd.src, IpAddr::from(SNAT4));
    assert_eq!(fwd.dst, IpAddr::from(backend4(b)));
    assert_eq!(fwd.dport, 8080);
    assert_eq!(fwd.src_mac, NODE_MAC);
    assert_eq!(fwd.ttl, 63, "full NAT routes: TTL decremented");
    // The backend answers the SNAT address; the node turns it back into VIP → client.
    let reply = backend_reply(b, fwd.sport);
    let (action, back) = rig.send(&reply);
    assert!(matches!(action, Action::Tx(_)), "{action:?}");
    let rev = seen(&back);
    assert_eq!((rev.src, rev.sport), (IpAddr::from(VIP4), 80));
    assert_eq!((rev.dst, rev.dport), (IpAddr::from(CLIENT4), 40000));
    assert_eq!(rev.dst_mac, CLIENT_MAC);
    assert_eq!(rev.ttl, 63, "the reply is routed too");
    // Later packets of the flow keep the backend and the SNAT port.
    let (_, again) = rig.send(&tcp4(CLIENT4, 40000, VIP4, 80, false, CLIENT_MAC, NODE_MAC));
    assert_eq!(backend_of(&again), b);
    assert_eq!(seen(&again).sport, fwd.sport);
    assert_eq!(rig.pipeline.counters().get(counter::NEW_FLOWS), 1);
}

#[test]
fn full_nat_round_trip_ipv6() {
    let mut rig = Rig::new(image(1, &three(L4Mode::FullNat)));
    rig.learn_all(3);
    let (action, out) = rig.send(&syn6(40000));
    assert!(matches!(action, Action::Tx(_)), "{action:?}");
    let fwd = seen(&out);
    let b = backend_of(&out);
    assert_eq!(fwd.src, IpAddr::from(v6(SNAT6)));
    assert_eq!(fwd.dst, IpAddr::from(backend6(b)));
    assert_eq!(fwd.ttl, 63, "full NAT routes: hop limit decremented");
    let reply = tcp6(
        backend6(b),
        8080,
        v6(SNAT6),
        fwd.sport,
        backend_mac(b),
        NODE_MAC,
    );
    let (_, back) = rig.send(&reply);
    let rev = seen(&back);
    assert_eq!(
        (rev.src, rev.dst),
        (IpAddr::from(v6(VIP6)), IpAddr::from(v6(CLIENT6)))
    );
    assert_eq!((rev.sport, rev.dport), (80, 40000));
    assert_eq!(rev.ttl, 63, "the reply is routed too");
}

#[test]
fn dsr_rewrites_only_the_macs() {
    let mut rig = Rig::new(image(1, &three(L4Mode::Dsr)));
    rig.learn_all(3);
    let frame = syn(40001);
    let (action, out) = rig.send(&frame);
    assert!(matches!(action, Action::Tx(_)), "{action:?}");
    let b = backend_of(&out);
    assert_eq!(&out[..6], &backend_mac(b));
    assert_eq!(&out[6..12], &NODE_MAC);
    assert_eq!(&out[12..], &frame[12..], "nothing above L2 changes");
}

#[test]
fn an_unknown_next_hop_is_asked_for_then_used() {
    let mut rig = Rig::new(image(1, &three(L4Mode::FullNat)));
    // Worker 0 asks for every backend as soon as it sees the generation.
    let (action, _) = rig.send(&syn(40002));
    assert_eq!(action, Action::Drop);
    let asked = rig.outbox();
    let arp = asked
        .iter()
        .filter(|f| f[..6] == [0xff; 6] && f[12..14] == [8, 6])
        .count();
    let ns = asked
        .iter()
        .filter(|f| f[..3] == [0x33, 0x33, 0xff] && f[12..14] == [0x86, 0xdd])
        .count();
    assert_eq!((arp, ns), (3, 3), "ARP and ND requests for every backend");
    assert_eq!(rig.pipeline.counters().get(counter::DROP_NEIGHBOUR_MISS), 1);
    for i in 1..=3 {
        let mut reply = arp_request(backend_mac(i), backend4(i), SNAT4);
        reply[21] = 2; // op = reply
        rig.send(&reply);
    }
    let (action, _) = rig.send(&syn(40002));
    assert!(matches!(action, Action::Tx(_)), "{action:?}");
}

#[test]
fn learned_neighbours_are_asked_for_again_and_a_new_mac_is_followed() {
    let mut rig = Rig::new(image(1, &three(L4Mode::FullNat)));
    rig.learn_all(3);
    rig.outbox();
    let (_, out) = rig.send(&syn(40003));
    let b = backend_of(&out);
    assert_eq!(&out[..6], &backend_mac(b));
    let asks_for = |frames: &[Vec<u8>], ip: [u8; 4]| {
        frames
            .iter()
            .any(|f| f[..6] == [0xff; 6] && f[12..14] == [8, 6] && f[38..42] == ip)
    };
    // Within the refresh interval nothing is asked.
    rig.now += strait_fastpath::neighbour::REFRESH_NS / 2;
    rig.send(&syn(40003));
    assert!(!asks_for(&rig.outbox(), backend4(b)));
    // After it, every learned neighbour is asked for, a few a burst.
    rig.now += strait_fastpath::neighbour::REFRESH_NS;
    let mut asked = Vec::new();
    for _ in 0..4 {
        rig.send(&syn(40003));
        asked.extend(rig.outbox());
    }
    for i in 1..=3 {
        assert!(asks_for(&asked, backend4(i)), "backend {i} asked for again");
    }
    assert!(asks_for(&asked, CLIENT4), "the client too");
    // The backend answers from a new MAC: its flow follows.
    let new_mac = [2, 0, 0, 0, 0x77, b];
    let mut reply = arp_request(new_mac, backend4(b), SNAT4);
    reply[21] = 2; // op = reply
    rig.send(&reply);
    let (_, out) = rig.send(&syn(40003));
    assert_eq!(&out[..6], &new_mac);
}

#[test]
fn ipv6_with_a_hop_by_hop_header_is_balanced_and_rewritten() {
    let mut rig = Rig::new(image(1, &three(L4Mode::FullNat)));
    rig.learn_all(3);
    let plain = syn6(40004);
    // The same SYN with an 8-byte hop-by-hop header (PadN) before TCP.
    let mut f = plain[..54].to_vec();
    f[20] = 0; // next header: hop-by-hop
    let payload = u16::from_be_bytes([plain[18], plain[19]]) + 8;
    f[18..20].copy_from_slice(&payload.to_be_bytes());
    f.extend_from_slice(&[6, 0, 1, 4, 0, 0, 0, 0]);
    f.extend_from_slice(&plain[54..]);
    let (action, out) = rig.send(&f);
    assert!(matches!(action, Action::Tx(_)), "{action:?}");
    let s = seen(&out); // checks the TCP checksum under the rewritten addresses
    assert_eq!(
        s.src,
        "2001:2::2".parse::<IpAddr>().unwrap(),
        "from the SNAT address"
    );
    let b = backend_of(&out);
    assert_eq!(s.dst, IpAddr::from(backend6(b)));
    assert_eq!(&out[54..62], &f[54..62], "the header is passed on");
}

#[test]
fn flows_spread_by_weight() {
    let mut rig = Rig::new(image(1, &three(L4Mode::FullNat)));
    rig.learn_all(3);
    let mut counts = [0u32; 4];
    let n = 20_000u32;
    for i in 0..n {
        let src = [198, 18, 1 + (i / 60_000) as u8, (i % 250) as u8 + 1];
        let (action, out) = rig.send(&tcp4(
            src,
            1024 + (i % 60_000) as u16,
            VIP4,
            80,
            true,
            CLIENT_MAC,
            NODE_MAC,
        ));
        assert!(matches!(action, Action::Tx(_)), "{action:?}");
        counts[backend_of(&out) as usize] += 1;
    }
    let share = |i: usize| f64::from(counts[i]) / f64::from(n);
    for (i, want) in [(1, 0.25), (2, 0.25), (3, 0.5)] {
        assert!(
            (share(i) - want).abs() < 0.02,
            "backend {i}: {:.3} (want {want})",
            share(i)
        );
    }
}

#[test]
fn removing_a_backend_moves_only_its_flows() {
    let mut rig = Rig::new(image(1, &three(L4Mode::FullNat)));
    rig.learn_all(3);
    let flows: Vec<Vec<u8>> = (0..3000u16).map(|i| syn(20000 + i)).collect();
    let before: Vec<u8> = flows.iter().map(|f| backend_of(&rig.send(f).1)).collect();
    // Generation 2 drops backend 3 and keeps the others.
    let svc = vec![Svc::tcp(
        "198.18.0.100",
        L4Mode::FullNat,
        &[("198.18.0.11", 1), ("198.18.0.12", 1)],
    )];
    rig.image = image(2, &svc);
    let mut moved = 0;
    for (f, &b) in flows.iter().zip(&before) {
        let (action, out) = rig.send(f);
        assert!(matches!(action, Action::Tx(_)), "{action:?}");
        let now = backend_of(&out);
        if b == 3 {
            assert_ne!(now, 3);
            moved += 1;
        } else {
            assert_eq!(now, b, "a flow on a remaining backend kept it");
        }
    }
    assert_eq!(rig.pipeline.counters().get(counter::FLOWS_MOVED), moved);
    assert!(moved > 1000, "backend 3 had about half the flows: {moved}");
}

#[test]
fn a_drained_or_unhealthy_backend_keeps_its_flows_but_gets_no_new_ones() {
    let mut rig = Rig::new(image(1, &three(L4Mode::FullNat)));
    rig.learn_all(3);
    let flows: Vec<Vec<u8>> = (0..600u16).map(|i| syn(30000 + i)).collect();
    let before: Vec<u8> = flows.iter().map(|f| backend_of(&rig.send(f).1)).collect();
    let draining = |slot: u32| Health {
        unhealthy: false,
        draining: slot == 2,
    };
    for (f, &b) in flows.iter().zip(&before) {
        let (_, out) = rig.send_with(f, false, &draining);
        assert_eq!(backend_of(&out), b);
    }
    for i in 0..600u16 {
        let (_, out) = rig.send_with(&syn(50000 + i), false, &draining);
        assert_ne!(
            backend_of(&out),
            3,
            "a new flow avoided the drained backend"
        );
    }
}

#[test]
fn malformed_frames_are_counted_by_reason_and_forwarding_goes_on() {
    let mut rig = Rig::new(image(1, &three(L4Mode::FullNat)));
    rig.learn_all(3);
    let good = syn(41000);
    let mut bad_sum = good.clone();
    bad_sum[24] ^= 0xff; // IPv4 header checksum
    let mut ttl1 = Vec::new();
    etherparse::PacketBuilder::ethernet2(CLIENT_MAC, NODE_MAC)
        .ipv4(CLIENT4, VIP4, 1)
        .tcp(41000, 80, 1, 1000)
        .write(&mut ttl1, b"x")
        .unwrap();
    let drops_before = rig.pipeline.counters().dropped();
    for len in 0..good.len() - 5 {
        assert_eq!(rig.send(&good[..len]).0, Action::Drop, "truncated to {len}");
    }
    assert_eq!(rig.send(&bad_sum).0, Action::Drop);
    assert_eq!(rig.send(&ttl1).0, Action::Drop);
    let c = rig.pipeline.counters();
    assert!(c.by_name("too_short").unwrap() >= 14);
    assert!(c.by_name("bad_ip_checksum").unwrap() >= 1);
    assert!(c.by_name("ttl_expired").unwrap() >= 1);
    assert_eq!(c.dropped() - drops_before, (good.len() - 5 + 2) as u64);
    assert!(
        matches!(rig.send(&good).0, Action::Tx(_)),
        "still forwarding"
    );
}

#[test]
fn traffic_not_for_a_service_follows_the_exception_policy() {
    let img = image(1, &three(L4Mode::FullNat));
    let other = udp4(CLIENT4, 5000, [198, 18, 0, 77], 53);
    let mut rig = Rig::new(img);
    assert_eq!(rig.send(&other).0, Action::Kernel);
    let mut node = node();
    node.exception = Exception::Drop;
    let mut p = Pipeline::new(node, 0, 1, Neighbours::new(), 1).unwrap();
    let mut buf = other.clone();
    buf.resize(2048, 0);
    p.begin_burst(Some(&rig.image), 1);
    assert_eq!(
        p.process(Some(&rig.image), &mut buf, other.len(), false, &healthy),
        Action::Drop
    );
    assert_eq!(p.counters().get(counter::DROP_NOT_FOR_US), 1);
    // A stray packet to the SNAT address is not handed to the kernel: it is refused as a
    // host refuses a port with no socket (ICMP port unreachable, a reset for TCP), or
    // dropped when it is a reset itself.
    let (action, out) = rig.send(&udp4([198, 18, 0, 11], 8080, SNAT4, 3000));
    assert!(matches!(action, Action::Tx(_)), "{action:?}");
    assert_eq!(
        (out[23], out[34], out[35]),
        (1, 3, 3),
        "ICMP port unreachable"
    );
    assert_eq!(&out[26..30], &SNAT4, "from the SNAT address");
    assert_eq!(&out[30..34], &[198, 18, 0, 11], "to the backend");
    let mut data = tcp4(
        [198, 18, 0, 11],
        8080,
        SNAT4,
        3001,
        false,
        CLIENT_MAC,
        NODE_MAC,
    );
    let (action, out) = rig.send(&data);
    assert!(matches!(action, Action::Tx(_)), "{action:?}");
    assert_eq!(out[47], 0x04, "a reset at the segment's acknowledgement");
    data[47] = 0x14; // RST|ACK (the TCP checksum is not checked on the way in)
    assert_eq!(rig.send(&data).0, Action::Drop);
    let c = rig.pipeline.counters();
    assert_eq!(c.get(counter::REFUSED_NO_CONNECTION), 2);
    assert_eq!(c.get(counter::DROP_NO_CONNECTION), 1);
}

#[test]
fn udp_services_balance_and_reverse() {
    let svc = vec![Svc::tcp("198.18.0.100", L4Mode::FullNat, &[("198.18.0.11", 1)]).udp()];
    let mut rig = Rig::new(image(1, &svc));
    rig.learn_all(1);
    let (action, out) = rig.send(&udp4(CLIENT4, 5353, VIP4, 80));
    assert!(matches!(action, Action::Tx(_)), "{action:?}");
    let fwd = seen(&out);
    assert_eq!(fwd.dst, IpAddr::from(backend4(1)));
    let mut reply = Vec::new();
    etherparse::PacketBuilder::ethernet2(backend_mac(1), NODE_MAC)
        .ipv4(backend4(1), SNAT4, 64)
        .udp(8080, fwd.sport)
        .write(&mut reply, b"b1")
        .unwrap();
    let (_, back) = rig.send(&reply);
    let rev = seen(&back);
    assert_eq!(
        (rev.src, rev.sport, rev.dst, rev.dport),
        (IpAddr::from(VIP4), 80, IpAddr::from(CLIENT4), 5353)
    );
}

#[test]
fn two_workers_steer_each_flow_and_its_replies_to_one_owner() {
    let shared = Neighbours::new();
    let img = || image(1, &three(L4Mode::FullNat));
    let mut w = [
        Rig::worker(img(), 0, 2, shared.clone()),
        Rig::worker(img(), 1, 2, shared.clone()),
    ];
    w[0].learn_all(3);
    for rig in &mut w {
        rig.pipeline.begin_burst(Some(&rig.image), rig.now);
    }
    let mut owners = [0; 2];
    for i in 0..200u16 {
        let frame = syn(10000 + i);
        // Whoever receives it, exactly one worker processes it.
        let (a0, _) = w[0].send(&frame);
        let owner = match a0 {
            Action::Steer(1) => 1,
            Action::Tx(_) => 0,
            other => panic!("{other:?}"),
        };
        owners[owner] += 1;
        let (action, out) = w[owner].send_with(&frame, owner == 1, &healthy);
        assert!(matches!(action, Action::Tx(_)), "{action:?}");
        let fwd = seen(&out);
        let b = backend_of(&out);
        // The reply, received by the other worker, is steered back to the owner by its port.
        let reply = backend_reply(b, fwd.sport);
        let other = 1 - owner;
        assert_eq!(w[other].send(&reply).0, Action::Steer(owner));
        let (action, _) = w[owner].send_with(&reply, true, &healthy);
        assert!(matches!(action, Action::Tx(_)), "{action:?}");
    }
    assert!(owners[0] > 50 && owners[1] > 50, "{owners:?}");
}

#[test]
fn ipip_and_gue_services_encapsulate_towards_the_backend() {
    for (mode, proto) in [(L4Mode::Ipip, 4u8), (L4Mode::Gue, 17)] {
        let mut rig = Rig::new(image(1, &three(mode)));
        rig.learn_all(3);
        let frame = syn(42000);
        let (action, out) = rig.send(&frame);
        let Action::Tx(n) = action else {
            panic!("{mode:?}: {action:?}")
        };
        let outer = &out[14..];
        assert_eq!(outer[9], proto, "{mode:?}: outer protocol");
        assert_eq!(&outer[12..16], &SNAT4, "tunnel source is the node");
        let b = (1..=3)
            .find(|&i| outer[16..20] == backend4(i))
            .expect("to a backend");
        assert_eq!(&out[..6], &backend_mac(b));
        let inner_at = 14 + 20 + if mode == L4Mode::Gue { 8 } else { 0 };
        assert_eq!(
            &out[inner_at..n],
            &frame[14..],
            "{mode:?}: inner packet unchanged"
        );
    }
}

#[test]
fn a_packet_too_big_for_the_tunnel_tells_its_source_the_mtu() {
    for (mode, overhead) in [(L4Mode::Ipip, 20u16), (L4Mode::Gue, 28)] {
        let mut rig = Rig::new(image(1, &three(mode)));
        rig.learn_all(3);
        rig.send(&syn(42001));
        // A full-size segment of the same flow, Don't Fragment set (1500 bytes of IP).
        let mut big = Vec::new();
        let mut ip =
            etherparse::Ipv4Header::new(0, 64, etherparse::IpNumber::TCP, CLIENT4, VIP4).unwrap();
        ip.dont_fragment = true;
        etherparse::PacketBuilder::ethernet2(CLIENT_MAC, NODE_MAC)
            .ip(etherparse::IpHeaders::Ipv4(ip, Default::default()))
            .tcp(42001, 80, 1, 64240)
            .ack(1)
            .write(&mut big, &[0; 1460])
            .unwrap();
        assert_eq!(big.len(), 1514);
        let (action, out) = rig.send(&big);
        assert!(matches!(action, Action::Tx(_)), "{mode:?}: {action:?}");
        assert_eq!(&out[..6], &CLIENT_MAC, "{mode:?}: back to the sender");
        let icmp = &out[34..];
        assert_eq!(
            (out[23], icmp[0], icmp[1]),
            (1, 3, 4),
            "{mode:?}: frag needed"
        );
        assert_eq!(
            &icmp[6..8],
            &(1500 - overhead).to_be_bytes(),
            "{mode:?}: MTU"
        );
        assert_eq!(&out[26..30], &VIP4, "{mode:?}: from the VIP");
        // Without Don't Fragment: dropped, not answered.
        let mut may = big.clone();
        may[20] &= !0x40;
        may[24..26].copy_from_slice(&[0, 0]);
        let sum = strait_packet::checksum::checksum(&may[14..34]);
        may[24..26].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(rig.send(&may).0, Action::Drop);
        let c = rig.pipeline.counters();
        assert_eq!(
            (c.get(counter::TOO_BIG_SENT), c.get(counter::DROP_TOO_BIG)),
            (1, 1),
            "{mode:?}"
        );
    }
}

/// Runs `frames` as bursts of `burst`, showing each burst's frames (or, with `shown`, other
/// frames) to `Pipeline::ahead` first; returns every action and frame after.
fn bursts(
    rig: &mut Rig,
    frames: &[Vec<u8>],
    burst: usize,
    shown: Option<&[Vec<u8>]>,
) -> Vec<(Action, Vec<u8>)> {
    let mut out = Vec::new();
    for (b, chunk) in frames.chunks(burst).enumerate() {
        rig.now += 1_000;
        rig.pipeline.begin_burst(Some(&rig.image), rig.now);
        match shown {
            Some(other) => other
                .iter()
                .cycle()
                .skip(b * 7)
                .take(burst)
                .for_each(|f| rig.pipeline.ahead(f)),
            None => chunk.iter().for_each(|f| rig.pipeline.ahead(f)),
        }
        for f in chunk {
            let mut buf = vec![0u8; 2048];
            buf[..f.len()].copy_from_slice(f);
            let action = rig
                .pipeline
                .process(Some(&rig.image), &mut buf, f.len(), false, &healthy);
            let n = match action {
                Action::Tx(n) => n,
                _ => 0,
            };
            out.push((action, buf[..n].to_vec()));
        }
        rig.pipeline.end_burst();
    }
    out
}

#[test]
fn looking_ahead_changes_only_timing() {
    // New flows to both VIPs, their next packets, replies, ARP, truncated and not-ours frames,
    // in bursts longer than the pipeline remembers.
    let mut frames = Vec::new();
    for i in 0..150u16 {
        frames.push(syn(30000 + i));
        frames.push(tcp6(
            v6(CLIENT6),
            30000 + i,
            v6("2001:2::100"),
            80,
            CLIENT_MAC,
            NODE_MAC,
        ));
        if i % 10 == 0 {
            frames.push(syn(30000 + i)[..30].to_vec());
            frames.push(arp_request(CLIENT_MAC, CLIENT4, SNAT4));
            frames.push(udp4(CLIENT4, 5000 + i, [198, 18, 9, 9], 53));
        }
    }
    frames.extend((0..150u16).map(|i| syn(30000 + i)));
    let run = |how: u8| {
        let mut rig = Rig::new(image(1, &three(L4Mode::FullNat)));
        rig.learn_all(3);
        let burst = strait_fastpath::AHEAD_MAX + 16;
        let out = match how {
            0 => bursts(&mut rig, &frames, burst, Some(&[])),
            1 => bursts(&mut rig, &frames, burst, None),
            _ => bursts(&mut rig, &frames, burst, Some(&frames[100..])),
        };
        (out, *rig.pipeline.counters().values())
    };
    let (plain, plain_counters) = run(0);
    let sent = plain
        .iter()
        .filter(|(a, _)| matches!(a, Action::Tx(_)))
        .count();
    // 300 new flows, 150 second packets and 15 ARP replies.
    assert_eq!(sent, 465, "the flows are forwarded");
    for how in [1, 2] {
        let (out, counters) = run(how);
        assert_eq!(out, plain, "frames and actions, look-ahead {how}");
        assert_eq!(counters, plain_counters, "counters, look-ahead {how}");
    }
}
