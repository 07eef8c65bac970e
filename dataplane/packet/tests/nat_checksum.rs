//! RFC 1624 incremental checksum updates equal a full recompute, for random packets:
//! the rewrites a NAT / DSR load balancer does (IPv4 address + ports, IPv6 address).

mod common;

use proptest::prelude::*;
use strait_packet::{checksum, ipv4, ipv6, tcp, udp};

proptest! {
    #[test]
    fn update16_matches_recompute(
        mut data in proptest::collection::vec(any::<u8>(), 4..128),
        word in any::<prop::sample::Index>(),
        new in any::<u16>(),
    ) {
        // Word 0 holds the checksum; rewrite one of the whole words after it.
        data[0] = 0;
        data[1] = 0;
        prop_assume!(data.iter().any(|&b| b != 0));
        let i = 1 + word.index(data.len() / 2 - 1);
        let csum = checksum::checksum(&data);
        let old = u16::from_be_bytes([data[2 * i], data[2 * i + 1]]);
        data[2 * i..2 * i + 2].copy_from_slice(&new.to_be_bytes());
        prop_assume!(data.iter().any(|&b| b != 0));
        prop_assert_eq!(checksum::update16(csum, old, new), checksum::checksum(&data));
    }

    /// SNAT/DNAT of a TCP/IPv4 packet: rewrite source address and port, fix both checksums
    /// incrementally, compare with recomputing them.
    #[test]
    fn ipv4_tcp_nat(
        payload in proptest::collection::vec(any::<u8>(), 0..64),
        new_src in any::<[u8; 4]>(),
        new_port in any::<u16>(),
    ) {
        let mut f = common::tcp_v4(None, &payload);
        let l3 = &mut f[14..];
        let (old_src, ip_csum, hl) = {
            let ip = ipv4::Packet::new_checked(&*l3).unwrap();
            (ip.src(), ip.checksum(), ip.header_len())
        };
        let (l3h, l4) = l3.split_at_mut(hl);
        let mut seg = tcp::Packet::new_checked(l4).unwrap();
        let old_port = seg.src_port();
        let mut c = checksum::update32(seg.checksum(), u32::from_be_bytes(old_src), u32::from_be_bytes(new_src));
        c = checksum::update16(c, old_port, new_port);
        seg.set_src_port(new_port);
        seg.set_checksum(c);

        let mut ip = ipv4::Packet::new_unchecked(&mut *l3h);
        ip.set_src(new_src);
        ip.set_checksum(checksum::update32(ip_csum, u32::from_be_bytes(old_src), u32::from_be_bytes(new_src)));

        let ip = ipv4::Packet::new_checked(&f[14..]).unwrap();
        prop_assert!(ip.verify_checksum());
        let seg = tcp::Packet::new_checked(ip.payload()).unwrap();
        prop_assert!(seg.verify_checksum(ip.pseudo_header_sum()));
        // Exactly what a full recompute stores.
        let mut copy = f.clone();
        let mut ipc = ipv4::Packet::new_checked(&mut copy[14..]).unwrap();
        ipc.fill_checksum();
        prop_assert_eq!(ipc.checksum(), ip.checksum());
        let pseudo = ipc.pseudo_header_sum();
        let mut segc = tcp::Packet::new_checked(ipc.payload_mut()).unwrap();
        segc.fill_checksum(pseudo);
        prop_assert_eq!(segc.checksum(), seg.checksum());
    }

    /// Rewrite the IPv6 destination of a UDP/IPv6 datagram (update128 on the UDP checksum).
    #[test]
    fn ipv6_udp_nat(
        payload in proptest::collection::vec(any::<u8>(), 0..64),
        new_dst in any::<[u8; 16]>(),
    ) {
        let mut f = common::udp_v6(&payload);
        let mut ip = ipv6::Packet::new_checked(&mut f[14..]).unwrap();
        let old_dst = ip.dst();
        ip.set_dst(new_dst);
        let mut d = udp::Packet::new_checked(ip.payload_mut()).unwrap();
        let mut c = checksum::update128(d.checksum(), &old_dst, &new_dst);
        if c == 0 {
            c = 0xFFFF; // UDP: zero is "no checksum"
        }
        d.set_checksum(c);

        let ip = ipv6::Packet::new_checked(&f[14..]).unwrap();
        let d = udp::Packet::new_checked(ip.payload()).unwrap();
        prop_assert!(d.verify_checksum(ip.pseudo_header_sum()));
        let mut copy = f.clone();
        let mut ipc = ipv6::Packet::new_checked(&mut copy[14..]).unwrap();
        let pseudo = ipc.pseudo_header_sum();
        let mut dc = udp::Packet::new_checked(ipc.payload_mut()).unwrap();
        dc.fill_checksum(pseudo);
        prop_assert_eq!(dc.checksum(), d.checksum());
    }
}
