//! IPv6 extension headers: the ones a load balancer passes over are walked to the transport
//! header; the rest, and non-first fragments, are dropped with their reason.

mod common;

use common::*;
use strait_packet::ip::protocol;
use strait_packet::{DropReason, Kind, parse_frame};

/// `frame` (an IPv6 frame without extension headers) with `headers` inserted after the fixed
/// header, each `(type, bytes)` with its next-header byte filled in; payload length fixed.
fn with_headers(frame: &[u8], headers: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let upper = frame[20];
    let mut out = frame[..54].to_vec();
    let mut chain: Vec<u8> = Vec::new();
    for (i, (_, bytes)) in headers.iter().enumerate() {
        let mut h = bytes.clone();
        h[0] = headers.get(i + 1).map_or(upper, |(t, _)| *t);
        chain.extend_from_slice(&h);
    }
    out[20] = headers.first().map_or(upper, |(t, _)| *t);
    let payload = u16::from_be_bytes([frame[18], frame[19]]) + chain.len() as u16;
    out[18..20].copy_from_slice(&payload.to_be_bytes());
    out.extend_from_slice(&chain);
    out.extend_from_slice(&frame[54..]);
    out
}

/// An options header (hop-by-hop or destination options) of `8 × (1 + n)` bytes: PadN.
fn options(n: u8) -> Vec<u8> {
    let mut h = vec![0, n, 1, 4 + 8 * n, 0, 0, 0, 0];
    h.resize(8 * (1 + usize::from(n)), 0);
    h
}

fn fragment(offset: u16, more: bool) -> Vec<u8> {
    let word = offset << 3 | u16::from(more);
    let [a, b] = word.to_be_bytes();
    vec![0, 0, a, b, 0, 0, 0, 42]
}

fn routing(segments_left: u8) -> Vec<u8> {
    vec![0, 0, 0, segments_left, 0, 0, 0, 0]
}

#[test]
fn passable_headers_are_walked_to_the_transport_header() {
    let plain = udp_v6(b"query");
    let Kind::Ip(want) = parse_frame(&plain).unwrap().kind else {
        panic!("IP")
    };
    let cases = [
        (vec![(protocol::HOP_BY_HOP, options(0))], false),
        (
            vec![
                (protocol::HOP_BY_HOP, options(1)),
                (protocol::IPV6_OPTS, options(0)),
                (protocol::IPV6_ROUTE, routing(0)),
            ],
            false,
        ),
        (vec![(protocol::IPV6_FRAG, fragment(0, false))], false),
        (
            vec![
                (protocol::IPV6_OPTS, options(2)),
                (protocol::IPV6_FRAG, fragment(0, true)),
            ],
            true,
        ),
    ];
    for (headers, first_fragment) in cases {
        let f = with_headers(&plain, &headers);
        let ext: usize = headers.iter().map(|(_, h)| h.len()).sum();
        let p = parse_frame(&f).unwrap_or_else(|e| panic!("{headers:?}: {e:?}"));
        let Kind::Ip(l4) = p.kind else { panic!("IP") };
        assert_eq!(l4.flow, want.flow, "{headers:?}");
        assert_eq!(l4.offset, want.offset + ext);
        assert_eq!(&f[l4.payload_offset..l4.payload_end], b"query");
        assert_eq!(l4.ip_end, f.len());
        assert_eq!(l4.more_fragments, first_fragment);
    }
}

#[test]
fn other_headers_and_later_fragments_are_dropped_by_reason() {
    let plain = tcp_v6(b"GET /");
    let drops = [
        (
            vec![(protocol::IPV6_FRAG, fragment(1, false))],
            DropReason::Fragment,
        ),
        (
            vec![(protocol::IPV6_ROUTE, routing(2))],
            DropReason::Ipv6ExtensionHeader,
        ),
        (
            vec![
                (protocol::IPV6_OPTS, options(0)),
                (protocol::HOP_BY_HOP, options(0)),
            ],
            DropReason::Ipv6ExtensionHeader,
        ),
        (
            vec![(protocol::AH, options(0))],
            DropReason::Ipv6ExtensionHeader,
        ),
        (
            (0..9).map(|_| (protocol::IPV6_OPTS, options(0))).collect(),
            DropReason::Ipv6ExtensionHeader,
        ),
    ];
    for (headers, reason) in drops {
        let f = with_headers(&plain, &headers);
        assert_eq!(parse_frame(&f), Err(reason), "{headers:?}");
    }
    // A header longer than the payload: cut, never read past.
    let mut f = with_headers(&plain, &[(protocol::IPV6_OPTS, options(0))]);
    f[55] = 200;
    assert_eq!(parse_frame(&f), Err(DropReason::Ipv6ExtensionHeader));
    let eight: Vec<_> = (0..8).map(|_| (protocol::IPV6_OPTS, options(0))).collect();
    assert!(
        parse_frame(&with_headers(&plain, &eight)).is_ok(),
        "eight are walked"
    );
}
