//! Answering a ping to one of the node's addresses (a VIP, a SNAT address): the echo reply
//! a host gives (RFC 792, RFC 4443 §4.2), built in place from the request.
//!
//! # Invariants
//! * Only an unfragmented ICMP echo request (type 8) or ICMPv6 echo request (type 128), code
//!   0, from one host (as `crate::refuse` judges it) is answered; on `None` the frame is
//!   unchanged.
//! * The reply is the request with the MACs and IP addresses swapped, the TTL / hop limit set
//!   to [`crate::refuse::TTL`], the type changed to echo reply, Ethernet padding cut, and the
//!   checksums updated incrementally (RFC 1624): identifier, sequence number and data come
//!   back as they were sent.

use strait_packet::ip::protocol;
use strait_packet::{Family, Kind, Parsed, checksum, icmp, icmpv6};

use crate::refuse::{self, TTL};

/// Turns the echo request in `frame[..len]` (as `parsed`) into its reply; returns the reply's
/// length, or `None` (frame unchanged) for anything else.
pub fn reply(frame: &mut [u8], len: usize, parsed: &Parsed) -> Option<usize> {
    let Kind::Ip(l4) = &parsed.kind else {
        return None;
    };
    let (proto, request, answer) = match l4.flow.family {
        Family::V4 => (
            protocol::ICMP,
            icmp::msg_type::ECHO_REQUEST,
            icmp::msg_type::ECHO_REPLY,
        ),
        Family::V6 => (
            protocol::ICMPV6,
            icmpv6::msg_type::ECHO_REQUEST,
            icmpv6::msg_type::ECHO_REPLY,
        ),
    };
    let l3 = parsed.l3_offset;
    let (at, end) = (l4.offset, l4.ip_end);
    if l4.flow.proto != proto || l4.more_fragments || end > len || l3 < 12 || at < l3 {
        return None;
    }
    let sent = refuse::addresses(frame, l3, l4.flow.family)?;
    if !refuse::unicast(frame, &sent) {
        return None;
    }
    let message = frame.get(at..end)?;
    if message.len() < icmp::HEADER_LEN || message[..2] != [request, 0] {
        return None;
    }
    let old = u16::from_be_bytes([request, 0]);
    let sum = u16::from_be_bytes([message[2], message[3]]);
    let sum = checksum::update16(sum, old, u16::from_be_bytes([answer, 0]));
    let ip = frame.get_mut(l3..at)?;
    match l4.flow.family {
        Family::V4 => {
            let h = ip.get_mut(..20)?;
            let old = u16::from_be_bytes([h[8], h[9]]);
            h[8] = TTL;
            let ip_sum = u16::from_be_bytes([h[10], h[11]]);
            let ip_sum = checksum::update16(ip_sum, old, u16::from_be_bytes([TTL, h[9]]));
            h[10..12].copy_from_slice(&ip_sum.to_be_bytes());
            let (src, dst) = h[12..20].split_at_mut(4);
            src.swap_with_slice(dst);
        }
        Family::V6 => {
            let h = ip.get_mut(..40)?;
            h[7] = TTL;
            let (src, dst) = h[8..40].split_at_mut(16);
            src.swap_with_slice(dst);
        }
    }
    frame[at] = answer;
    frame[at + 2..at + 4].copy_from_slice(&sum.to_be_bytes());
    refuse::swap_macs(frame);
    Some(end)
}
