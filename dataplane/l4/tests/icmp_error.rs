//! ICMP error rewriting on arbitrary input: finding the quote and rewriting never panics,
//! never changes a frame it refuses, and never changes a length.

use etherparse::PacketBuilder;
use proptest::prelude::*;
use strait_l4::icmp_error::{quote, rewrite};
use strait_l4::nat::Ends;
use strait_packet::{FlowKey, parse_frame};

/// An ICMP (or ICMPv6) message of `ty`/`code` with `body` after its header.
fn frame(v6: bool, ty: u8, code: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
    if v6 {
        let (s, d) = (
            [0x20, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            [0x20; 16],
        );
        b.ipv6(s, d, 64)
            .icmpv6_raw(ty, code, [0; 4])
            .write(&mut out, body)
    } else {
        b.ipv4([198, 18, 0, 254], [198, 18, 0, 100], 64)
            .icmpv4_raw(ty, code, [0; 4])
            .write(&mut out, body)
    }
    .expect("frame");
    out
}

proptest! {
    #[test]
    fn arbitrary_quotes_never_panic(
        v6 in any::<bool>(),
        ty in prop_oneof![Just(1u8), Just(2), Just(3), Just(11), any::<u8>()],
        version in prop_oneof![Just(0x45u8), Just(0x60), any::<u8>()],
        proto in prop_oneof![Just(6u8), Just(17), any::<u8>()],
        body in proptest::collection::vec(any::<u8>(), 0..80),
        ports in any::<[u16; 2]>(),
    ) {
        let mut body = body;
        if let Some(b) = body.first_mut() {
            *b = version;
        }
        let at = if version >> 4 == 6 { 6 } else { 9 };
        if let Some(b) = body.get_mut(at) {
            *b = proto;
        }
        let f = frame(v6, ty, 0, &body);
        let Ok(parsed) = parse_frame(&f) else {
            return Ok(());
        };
        let Some(q) = quote(&f, &parsed) else {
            return Ok(());
        };
        prop_assert!(q.ip_at < q.l4_at && q.l4_at + 4 <= f.len());
        let inner = FlowKey { src_port: ports[0], dst_port: ports[1], ..q.key.reversed() };
        let mut out = f.clone();
        match rewrite(&mut out, &parsed, &q, &Ends::against(&inner), &inner, true) {
            Ok(()) => prop_assert_eq!(out.len(), f.len()),
            Err(_) => prop_assert_eq!(&out, &f, "a refused frame is unchanged"),
        }
    }
}
