//! Property tests of `parse_frame`: no input panics, and frames built by etherparse from
//! random fields parse back to the same fields (and agree with etherparse's own parser).

mod common;

use etherparse::{PacketBuilder, SlicedPacket, TransportSlice, VlanId};
use proptest::prelude::*;
use strait_packet::{DropReason, Family, Kind, parse_frame};

proptest! {
    #[test]
    fn random_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_frame(&buf);
    }

    /// Random bytes behind a valid Ethernet + IP prefix reach the deeper layers.
    #[test]
    fn random_ip_bodies_never_panic(
        v6 in any::<bool>(),
        vlan in any::<bool>(),
        body in proptest::collection::vec(any::<u8>(), 0..120),
    ) {
        let mut f = vec![0u8; 12];
        if vlan {
            f.extend_from_slice(&[0x81, 0x00, 0x00, 0x05]);
        }
        f.extend_from_slice(if v6 { &[0x86, 0xdd] } else { &[0x08, 0x00] });
        let mut body = body;
        if let Some(b) = body.first_mut() {
            *b = (*b & 0x0f) | if v6 { 0x60 } else { 0x40 };
        }
        f.extend_from_slice(&body);
        if let Ok(p) = parse_frame(&f)
            && let Kind::Ip(l4) = p.kind
        {
            prop_assert!(p.l3_offset <= l4.offset);
            prop_assert!(l4.offset <= l4.payload_offset);
            prop_assert!(l4.payload_offset <= l4.payload_end);
            prop_assert!(l4.payload_end <= l4.ip_end);
            prop_assert!(l4.ip_end <= f.len());
        }
    }

    #[test]
    fn built_frames_round_trip(
        v6 in any::<bool>(),
        tcp in any::<bool>(),
        vlan in proptest::option::of(0u16..4096),
        src4 in any::<[u8; 4]>(), dst4 in any::<[u8; 4]>(),
        src6 in any::<[u8; 16]>(), dst6 in any::<[u8; 16]>(),
        ttl in 2u8..,
        sport in any::<u16>(), dport in any::<u16>(),
        seq in any::<u32>(),
        payload in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let eth = PacketBuilder::ethernet2(common::MAC_A, common::MAC_B);
        let ip = match (vlan, v6) {
            (Some(id), false) => eth.single_vlan(VlanId::try_new(id).unwrap()).ipv4(src4, dst4, ttl),
            (Some(id), true) => eth.single_vlan(VlanId::try_new(id).unwrap()).ipv6(src6, dst6, ttl),
            (None, false) => eth.ipv4(src4, dst4, ttl),
            (None, true) => eth.ipv6(src6, dst6, ttl),
        };
        let mut f = Vec::new();
        if tcp {
            ip.tcp(sport, dport, seq, 1000).write(&mut f, &payload).unwrap();
        } else {
            ip.udp(sport, dport).write(&mut f, &payload).unwrap();
        }

        let p = parse_frame(&f).unwrap();
        prop_assert_eq!(p.vlan, vlan);
        let Kind::Ip(l4) = p.kind else { panic!("not IP") };
        let flow = l4.flow;
        prop_assert_eq!(flow.family, if v6 { Family::V6 } else { Family::V4 });
        prop_assert_eq!((flow.src_port, flow.dst_port), (sport, dport));
        prop_assert_eq!(flow.proto, if tcp { 6 } else { 17 });
        prop_assert_eq!(l4.ttl, ttl);
        prop_assert_eq!(&f[l4.payload_offset..l4.payload_end], &payload[..]);
        match flow.src_ip() {
            std::net::IpAddr::V4(a) => prop_assert_eq!(a.octets(), src4),
            std::net::IpAddr::V6(a) => prop_assert_eq!(a.octets(), src6),
        }

        // Independent cross-check against etherparse's parser.
        let theirs = SlicedPacket::from_ethernet(&f).unwrap();
        let (ts, td) = match theirs.transport.unwrap() {
            TransportSlice::Tcp(t) => (t.source_port(), t.destination_port()),
            TransportSlice::Udp(u) => (u.source_port(), u.destination_port()),
            _ => panic!("unexpected transport"),
        };
        prop_assert_eq!((ts, td), (flow.src_port, flow.dst_port));
    }

    /// A frame whose IPv4 TTL etherparse sets to 0 or 1 is reported, not forwarded.
    #[test]
    fn low_ttl_is_reported(ttl in 0u8..2, v6 in any::<bool>()) {
        let eth = PacketBuilder::ethernet2(common::MAC_A, common::MAC_B);
        let ip = if v6 { eth.ipv6([1; 16], [2; 16], ttl) } else { eth.ipv4([1; 4], [2; 4], ttl) };
        let mut f = Vec::new();
        ip.udp(1, 2).write(&mut f, b"").unwrap();
        prop_assert_eq!(parse_frame(&f), Err(DropReason::TtlExpired));
    }
}
