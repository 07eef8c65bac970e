//! Refusals: the reset or ICMP port unreachable built in place for a flow no backend takes.
//! Every answer is checked field by field, checksums included, and read back by the parser.

use etherparse::{IpNumber, Ipv4Header, Ipv4Options, PacketBuilder};
use proptest::prelude::*;
use strait_l4::icmp_error::quote;
use strait_l4::{RefuseError, refuse};
use strait_packet::{Kind, Parsed, checksum, parse_frame};

const CLIENT_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const NODE_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
const CLIENT4: [u8; 4] = [198, 19, 0, 1];
const VIP4: [u8; 4] = [198, 18, 0, 100];
const CLIENT6: [u8; 16] = [0x20, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const VIP6: [u8; 16] = [0x20, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0];

fn builder(v6: bool) -> etherparse::PacketBuilderStep<etherparse::IpHeaders> {
    let b = PacketBuilder::ethernet2(CLIENT_MAC, NODE_MAC);
    if v6 {
        b.ipv6(CLIENT6, VIP6, 60)
    } else {
        b.ipv4(CLIENT4, VIP4, 60)
    }
}

/// A TCP segment client:40000 → VIP:80 with `flags` (SYN, ACK, RST, FIN bits as TCP's).
fn tcp(v6: bool, flags: u8, seq: u32, ack: u32, data: &[u8]) -> Vec<u8> {
    let mut t = builder(v6).tcp(40000, 80, seq, 64240);
    if flags & 0x02 != 0 {
        t = t.syn();
    }
    if flags & 0x10 != 0 {
        t = t.ack(ack);
    }
    if flags & 0x04 != 0 {
        t = t.rst();
    }
    if flags & 0x01 != 0 {
        t = t.fin();
    }
    let mut out = Vec::new();
    t.write(&mut out, data).expect("tcp frame");
    out
}

fn udp(v6: bool, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    builder(v6)
        .udp(40000, 53)
        .write(&mut out, data)
        .expect("udp frame");
    out
}

fn parsed(f: &[u8]) -> Parsed {
    parse_frame(f).expect("a valid frame")
}

/// Refuses `f` in a buffer with `spare` bytes after it; returns the answer.
fn answer(f: &[u8], spare: usize) -> Vec<u8> {
    let p = parsed(f);
    let mut buf = f.to_vec();
    buf.resize(f.len() + spare, 0);
    let n = refuse(&mut buf, f.len(), &p).expect("refused");
    buf.truncate(n);
    buf
}

/// The checksum of `l4` (of `proto`) under the answer's IP header sums to all ones.
fn transport_sums(frame: &[u8], v6: bool, proto: u8) -> bool {
    let (ip, l4) = if v6 {
        frame[14..].split_at(40)
    } else {
        frame[14..].split_at(20)
    };
    let pseudo = if v6 {
        let a = |at: usize| -> [u8; 16] { ip[at..at + 16].try_into().unwrap() };
        checksum::pseudo_header_v6(&a(8), &a(24), proto, l4.len() as u32)
    } else if proto == 1 {
        0
    } else {
        let a = |at: usize| -> [u8; 4] { ip[at..at + 4].try_into().unwrap() };
        checksum::pseudo_header_v4(&a(12), &a(16), proto, l4.len() as u16)
    };
    checksum::combine(&[pseudo, checksum::sum(l4)]) == 0xffff
}

fn check_ip(a: &[u8], v6: bool, proto: u8, payload: usize) {
    assert_eq!((&a[..6], &a[6..12]), (&CLIENT_MAC[..], &NODE_MAC[..]));
    let ip = &a[14..];
    if v6 {
        assert_eq!(ip[0] >> 4, 6);
        assert_eq!(usize::from(u16::from_be_bytes([ip[4], ip[5]])), payload);
        assert_eq!((ip[6], ip[7]), (proto, 64));
        assert_eq!((&ip[8..24], &ip[24..40]), (&VIP6[..], &CLIENT6[..]));
        assert_eq!(a.len(), 14 + 40 + payload);
    } else {
        assert_eq!(ip[0], 0x45);
        assert_eq!(
            usize::from(u16::from_be_bytes([ip[2], ip[3]])),
            20 + payload
        );
        assert_eq!((ip[8], ip[9]), (64, proto));
        assert_eq!((&ip[12..16], &ip[16..20]), (&VIP4[..], &CLIENT4[..]));
        assert!(checksum::sums_to_ones(&ip[..20]), "IPv4 header checksum");
        assert_eq!(a.len(), 14 + 20 + payload);
    }
}

/// Ports, sequence, acknowledgement and flags of the reset in `a`.
fn reset_fields(a: &[u8], v6: bool) -> ([u16; 2], u32, u32, u8) {
    let t = &a[14 + if v6 { 40 } else { 20 }..];
    let u16_at = |i: usize| u16::from_be_bytes([t[i], t[i + 1]]);
    let u32_at = |i: usize| u32::from_be_bytes([t[i], t[i + 1], t[i + 2], t[i + 3]]);
    assert_eq!(t[12], 0x50, "no options");
    ([u16_at(0), u16_at(2)], u32_at(4), u32_at(8), t[13])
}

#[test]
fn a_syn_gets_a_reset_acking_it() {
    for v6 in [false, true] {
        let a = answer(&tcp(v6, 0x02, 1_000_000, 0, &[]), 0);
        check_ip(&a, v6, 6, 20);
        assert!(transport_sums(&a, v6, 6), "TCP checksum");
        assert_eq!(reset_fields(&a, v6), ([80, 40000], 0, 1_000_001, 0x14));
        let Kind::Ip(l4) = parsed(&a).kind else {
            panic!("an IP answer")
        };
        assert_eq!((l4.flow.src_port, l4.flow.dst_port), (80, 40000));
    }
}

#[test]
fn a_segment_with_an_ack_gets_a_reset_at_that_sequence() {
    for v6 in [false, true] {
        let a = answer(&tcp(v6, 0x10, 5, 0xdead_beef, b"hello"), 0);
        check_ip(&a, v6, 6, 20);
        assert!(transport_sums(&a, v6, 6));
        assert_eq!(reset_fields(&a, v6), ([80, 40000], 0xdead_beef, 0, 0x04));
    }
}

#[test]
fn data_and_fin_count_in_the_acknowledgement() {
    let a = answer(&tcp(false, 0x01, u32::MAX - 2, 0, b"abcd"), 0);
    assert_eq!(reset_fields(&a, false), ([80, 40000], 0, 2, 0x14));
}

#[test]
fn a_reset_is_not_answered() {
    for v6 in [false, true] {
        let f = tcp(v6, 0x04 | 0x10, 1, 2, &[]);
        let mut buf = f.clone();
        let r = refuse(&mut buf, f.len(), &parsed(&f));
        assert_eq!(r, Err(RefuseError::Reset));
        assert_eq!(buf, f, "unchanged");
    }
}

#[test]
fn ip_options_are_not_carried_into_the_reset() {
    let mut ip = Ipv4Header::new(20, 60, IpNumber::TCP, CLIENT4, VIP4).expect("header");
    ip.options = Ipv4Options::from([1, 1, 1, 0]);
    let mut out = Vec::new();
    PacketBuilder::ethernet2(CLIENT_MAC, NODE_MAC)
        .ip(etherparse::IpHeaders::Ipv4(ip, Default::default()))
        .tcp(40000, 80, 7, 1000)
        .syn()
        .write(&mut out, &[])
        .expect("frame");
    let a = answer(&out, 0);
    check_ip(&a, false, 6, 20);
    assert!(transport_sums(&a, false, 6));
    assert_eq!(reset_fields(&a, false), ([80, 40000], 0, 8, 0x14));
}

#[test]
fn a_datagram_gets_a_port_unreachable_quoting_it() {
    for v6 in [false, true] {
        let f = udp(v6, b"query");
        let a = answer(&f, 64);
        let (ip_len, proto, ty, code) = if v6 { (40, 58, 1, 4) } else { (20, 1, 3, 3) };
        let quoted = f.len() - 14;
        check_ip(&a, v6, proto, 8 + quoted);
        assert!(transport_sums(&a, v6, proto), "ICMP checksum");
        let m = &a[14 + ip_len..];
        assert_eq!((m[0], m[1], &m[4..8]), (ty, code, &[0u8; 4][..]));
        assert_eq!(&m[8..], &f[14..], "the whole datagram is quoted");
        let q = quote(&a, &parsed(&a)).expect("a quote the error path reads");
        assert_eq!(Some(&q.key), parsed(&f).flow());
    }
}

#[test]
fn the_quote_is_cut_to_the_minimum_mtu_and_the_buffer() {
    for v6 in [false, true] {
        let f = udp(v6, &[7; 1400]);
        let a = answer(&f, 1000);
        let max = if v6 { 1280 } else { 576 };
        assert_eq!(a.len(), 14 + max);
        check_ip(
            &a,
            v6,
            if v6 { 58 } else { 1 },
            max - if v6 { 40 } else { 20 },
        );
        assert!(transport_sums(&a, v6, if v6 { 58 } else { 1 }));
        let head = if v6 { 48 } else { 28 };
        assert_eq!(&a[14 + head..], &f[14..14 + max - head]);
    }
    // No spare room: the quote is what the buffer holds past the new headers.
    let f = udp(false, &[7; 100]);
    let a = answer(&f, 0);
    assert_eq!(a.len(), f.len());
    assert_eq!(&a[42..], &f[14..f.len() - 28]);
    assert!(transport_sums(&a, false, 1));
}

#[test]
fn a_buffer_without_room_for_the_minimum_quote_is_left_alone() {
    let f = udp(false, &[]);
    let mut buf = f.clone();
    let r = refuse(&mut buf, f.len(), &parsed(&f));
    assert_eq!(r, Err(RefuseError::Truncated));
    assert_eq!(buf, f);
}

proptest! {
    #[test]
    fn arbitrary_frames_never_panic_and_refusals_change_nothing(
        v6 in any::<bool>(),
        is_tcp in any::<bool>(),
        flags in any::<u8>(),
        data in proptest::collection::vec(any::<u8>(), 0..1600),
        spare in 0usize..600,
        cut in 0usize..64,
    ) {
        let f = if is_tcp { tcp(v6, flags, 1, 2, &data) } else { udp(v6, &data) };
        let Ok(p) = parse_frame(&f) else { return Ok(()) };
        let mut buf = f.clone();
        buf.resize(f.len() + spare, 0);
        // A caller's length that is shorter than the parse is refused, not trusted.
        let len = f.len().saturating_sub(cut);
        let before = buf.clone();
        match refuse(&mut buf, len, &p) {
            Ok(n) => {
                prop_assert!(n <= buf.len());
                let a = parse_frame(&buf[..n]);
                prop_assert!(a.is_ok(), "the answer parses: {a:?}");
            }
            Err(_) => prop_assert_eq!(buf, before),
        }
    }
}

/// `f` with the IPv4 Don't Fragment bit set to `df` (header checksum fixed).
fn with_df(mut f: Vec<u8>, df: bool) -> Vec<u8> {
    if df {
        f[20] |= 0x40;
    } else {
        f[20] &= !0x40;
    }
    f[24..26].copy_from_slice(&[0, 0]);
    let sum = checksum::checksum(&f[14..34]);
    f[24..26].copy_from_slice(&sum.to_be_bytes());
    f
}

#[test]
fn a_packet_too_big_is_answered_with_the_paths_mtu() {
    use strait_l4::too_big;
    for v6 in [false, true] {
        let f = tcp(v6, 0x10, 1, 2, &[9; 1400]);
        let f = if v6 { f } else { with_df(f, true) };
        let p = parsed(&f);
        let mut buf = f.clone();
        // A tunnel on a 1280-byte IPv6 path leaves less than IPv6's minimum.
        let mtu = if v6 { 1240 } else { 1372 };
        let n = too_big(&mut buf, f.len(), &p, mtu).expect("answered");
        buf.truncate(n);
        let (ip_len, proto) = if v6 { (40, 58) } else { (20, 1) };
        let max = if v6 { 1280 } else { 576 };
        check_ip(&buf, v6, proto, max - ip_len);
        assert!(transport_sums(&buf, v6, proto), "ICMP checksum");
        let m = &buf[14 + ip_len..];
        if v6 {
            assert_eq!((m[0], m[1]), (2, 0), "packet too big");
            assert_eq!(&m[4..8], &1280u32.to_be_bytes(), "never below 1280");
        } else {
            assert_eq!((m[0], m[1]), (3, 4), "fragmentation needed");
            assert_eq!(&m[4..8], &[0, 0, 0x05, 0x5c], "next-hop MTU 1372");
        }
        assert_eq!(
            &m[8..],
            &f[14..14 + max - ip_len - 8],
            "the packet is quoted"
        );
        let q = quote(&buf, &parsed(&buf)).expect("a quote the error path reads");
        assert_eq!(Some(&q.key), p.flow());
    }
}

#[test]
fn ipv4_that_may_be_fragmented_is_not_told_to_shrink() {
    let f = with_df(udp(false, &[1; 1400]), false);
    let mut buf = f.clone();
    let r = strait_l4::too_big(&mut buf, f.len(), &parsed(&f), 1400);
    assert_eq!(r, Err(RefuseError::MayFragment));
    assert_eq!(buf, f);
}

#[test]
fn packets_from_groups_or_nowhere_are_not_answered() {
    let group_sources = |f: &[u8]| -> Vec<Vec<u8>> {
        let mut mac = f.to_vec();
        mac[6] |= 1; // a group Ethernet source
        let mut v4 = f.to_vec();
        v4[26..30].copy_from_slice(&[224, 0, 0, 9]);
        let mut zero = f.to_vec();
        zero[26..30].copy_from_slice(&[0, 0, 0, 0]);
        let mut all = f.to_vec();
        all[26..30].copy_from_slice(&[255; 4]);
        [mac, v4, zero, all]
            .into_iter()
            .map(|g| with_df(g, true))
            .collect()
    };
    for f in [tcp(false, 0x02, 1, 0, &[]), udp(false, b"q")] {
        for g in group_sources(&f) {
            let mut buf = g.clone();
            buf.resize(g.len() + 64, 0);
            let before = buf.clone();
            let p = parsed(&g);
            assert_eq!(refuse(&mut buf, g.len(), &p), Err(RefuseError::NotUnicast));
            assert_eq!(
                strait_l4::too_big(&mut buf, g.len(), &p, 1000),
                Err(RefuseError::NotUnicast)
            );
            assert_eq!(buf, before);
        }
    }
    let mut m6 = udp(true, b"q");
    m6[22] = 0xff; // ff.. source
    let mut buf = m6.clone();
    assert_eq!(
        refuse(&mut buf, m6.len(), &parsed(&m6)),
        Err(RefuseError::NotUnicast)
    );
}
