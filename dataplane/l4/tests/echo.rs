//! Echo replies to pings at the node's addresses: built in place, every checksum valid.

use etherparse::PacketBuilder;
use proptest::prelude::*;
use strait_l4::echo::reply;
use strait_packet::{checksum, parse_frame};

const CLIENT_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const NODE_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
const CLIENT6: [u8; 16] = [0x20, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const VIP6: [u8; 16] = [0x20, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0];

fn ping(v6: bool, id: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(CLIENT_MAC, NODE_MAC);
    let mut out = Vec::new();
    if v6 {
        b.ipv6(CLIENT6, VIP6, 50)
            .icmpv6_echo_request(id, seq)
            .write(&mut out, data)
    } else {
        b.ipv4([198, 19, 0, 1], [198, 18, 0, 100], 50)
            .icmpv4_echo_request(id, seq)
            .write(&mut out, data)
    }
    .expect("ping");
    out
}

/// The ICMP message of `f` (IPv4 without options, or IPv6) and whether its checksum holds.
fn message(f: &[u8], v6: bool) -> (&[u8], bool) {
    if v6 {
        let (ip, m) = f[14..].split_at(40);
        let a = |at: usize| -> [u8; 16] { ip[at..at + 16].try_into().unwrap() };
        let pseudo = checksum::pseudo_header_v6(&a(8), &a(24), 58, m.len() as u32);
        (m, checksum::combine(&[pseudo, checksum::sum(m)]) == 0xffff)
    } else {
        let m = &f[34..];
        (m, checksum::sum(m) == 0xffff)
    }
}

#[test]
fn a_ping_gets_its_echo_back() {
    for v6 in [false, true] {
        let f = ping(v6, 0x1234, 7, b"abcdefgh");
        let p = parse_frame(&f).expect("ping parses");
        let mut buf = f.clone();
        let n = reply(&mut buf, f.len(), &p).expect("answered");
        buf.truncate(n);
        assert_eq!(n, f.len());
        assert_eq!((&buf[..6], &buf[6..12]), (&CLIENT_MAC[..], &NODE_MAC[..]));
        let (m, ok) = message(&buf, v6);
        assert!(ok, "ICMP checksum");
        assert_eq!(m[0], if v6 { 129 } else { 0 }, "echo reply");
        assert_eq!(&m[1..2], &[0]);
        assert_eq!(
            &m[4..],
            &message(&f, v6).0[4..],
            "id, sequence and data as sent"
        );
        if v6 {
            assert_eq!((&buf[22..38], &buf[38..54]), (&VIP6[..], &CLIENT6[..]));
            assert_eq!(buf[21], 64);
        } else {
            assert!(checksum::sums_to_ones(&buf[14..34]), "IPv4 header checksum");
            assert_eq!(
                (&buf[26..30], &buf[30..34]),
                (&[198, 18, 0, 100][..], &[198, 19, 0, 1][..])
            );
            assert_eq!(buf[22], 64);
        }
        assert!(parse_frame(&buf).is_ok());
    }
}

#[test]
fn ethernet_padding_is_cut() {
    let f = ping(false, 1, 1, b"");
    let mut padded = f.clone();
    padded.resize(60, 0);
    let p = parse_frame(&padded).expect("padded ping parses");
    let n = reply(&mut padded, 60, &p).expect("answered");
    assert_eq!(n, f.len());
}

#[test]
fn other_icmp_is_not_answered() {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(CLIENT_MAC, NODE_MAC)
        .ipv4([198, 19, 0, 1], [198, 18, 0, 100], 50)
        .icmpv4_echo_reply(1, 1)
        .write(&mut out, b"x")
        .unwrap();
    let p = parse_frame(&out).unwrap();
    let mut buf = out.clone();
    assert_eq!(reply(&mut buf, out.len(), &p), None);
    assert_eq!(buf, out);
}

#[test]
fn a_ping_from_a_group_is_not_answered() {
    let mut f = ping(true, 1, 1, b"x");
    f[22] = 0xff; // a multicast source
    let p = parse_frame(&f).unwrap();
    let mut buf = f.clone();
    assert_eq!(reply(&mut buf, f.len(), &p), None);
    assert_eq!(buf, f);
}

proptest! {
    #[test]
    fn any_ping_is_answered_with_valid_checksums(
        v6 in any::<bool>(),
        id in any::<u16>(),
        seq in any::<u16>(),
        data in proptest::collection::vec(any::<u8>(), 0..1400),
    ) {
        let f = ping(v6, id, seq, &data);
        let p = parse_frame(&f).unwrap();
        let mut buf = f.clone();
        let n = reply(&mut buf, f.len(), &p).unwrap();
        let (m, ok) = message(&buf[..n], v6);
        prop_assert!(ok);
        prop_assert_eq!(&m[4..], &message(&f, v6).0[4..]);
    }
}
