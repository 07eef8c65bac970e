//! Every truncation of a valid frame is rejected with a reason — never a panic, never `Ok`.
//!
//! The IP length fields make any cut inside the datagram detectable; cuts inside the
//! Ethernet padding (none here) would legitimately still parse.

mod common;

use common::*;
use strait_packet::parse_frame;

fn assert_all_truncations_fail(frame: &[u8]) {
    assert!(parse_frame(frame).is_ok(), "the full frame parses");
    for len in 0..frame.len() {
        assert!(
            parse_frame(&frame[..len]).is_err(),
            "truncated to {len} bytes parsed"
        );
    }
}

#[test]
fn tcp_v4_truncations() {
    assert_all_truncations_fail(&tcp_v4(None, b"payload"));
    assert_all_truncations_fail(&tcp_v4(Some(7), b""));
}

#[test]
fn udp_v6_truncations() {
    assert_all_truncations_fail(&udp_v6(b"payload"));
    assert_all_truncations_fail(&udp_v6(b""));
}

#[test]
fn other_protocol_truncations() {
    assert_all_truncations_fail(&tcp_v6(b"x"));
    assert_all_truncations_fail(&udp_v4(b"x"));
    assert_all_truncations_fail(&icmp_echo_v4(1, 2));
    assert_all_truncations_fail(&icmp_echo_v6(1, 2));
    assert_all_truncations_fail(&neighbor_solicit());
    assert_all_truncations_fail(&arp_request());
}
