//! ICMP errors about a translated flow: finding the flow from the quoted packet, and rewriting
//! the error for the peer on the other side of the translation.
//!
//! A router on the path of a packet the node rewrote reports trouble (fragmentation needed,
//! packet too big, unreachable, time exceeded) to that packet's source: one of the node's
//! addresses (a VIP or a SNAT address). The error quotes the packet as the node sent it. For
//! path-MTU discovery to work through the node, the error goes on to the peer that sent the
//! packet before translation, rewritten to be an error about the packet that peer sent.
//!
//! # Invariants
//! * [`quote`] reads only inside the ICMP message. It needs the quoted IP header whole, of
//!   the outer packet's family and version, carrying TCP or UDP, and the first four bytes of
//!   its transport header (the ports); RFC 792 guarantees 8 and RFC 4443 as much as fits.
//! * [`rewrite`] checks every offset before its first write; on `Err` the frame is
//!   unchanged. It leaves the frame consistent: outer IPv4 header checksum (incremental, with
//!   the TTL decrement when routing), quoted IPv4 header checksum (recomputed if the quote
//!   holds it whole), quoted TCP/UDP checksum (incremental, when the quote holds it and it is
//!   not UDP's "none"), and the ICMP checksum (recomputed over the message, with the
//!   pseudo-header for ICMPv6).
//! * Only addresses, ports, checksums and the TTL / hop limit change; never a length.

use strait_packet::ip::protocol;
use strait_packet::{Family, FlowKey, Kind, Parsed, checksum, icmp, icmpv6, ipv4, ipv6};

use crate::nat::{self, Ends, NatError};

/// True if an ICMP (`family` V4) or ICMPv6 message of `msg_type` is an error quoting the
/// packet that caused it.
pub fn is_error(family: Family, msg_type: u8) -> bool {
    match family {
        Family::V4 => matches!(
            msg_type,
            icmp::msg_type::DEST_UNREACHABLE
                | icmp::msg_type::TIME_EXCEEDED
                | icmp::msg_type::PARAM_PROBLEM
        ),
        Family::V6 => matches!(
            msg_type,
            icmpv6::msg_type::DEST_UNREACHABLE
                | icmpv6::msg_type::PACKET_TOO_BIG
                | icmpv6::msg_type::TIME_EXCEEDED
                | icmpv6::msg_type::PARAM_PROBLEM
        ),
    }
}

/// The packet an ICMP error quotes: its flow key and where it lies in the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quote {
    /// The quoted packet's key, as it was sent.
    pub key: FlowKey,
    /// Frame offset of the quoted IP header.
    pub ip_at: usize,
    /// Frame offset of the quoted transport header.
    pub l4_at: usize,
}

/// The packet quoted by the ICMP error `parsed` describes (see the module invariants); `None`
/// for anything else.
pub fn quote(frame: &[u8], parsed: &Parsed) -> Option<Quote> {
    let Kind::Ip(l4) = &parsed.kind else {
        return None;
    };
    let expected = match l4.flow.family {
        Family::V4 => protocol::ICMP,
        Family::V6 => protocol::ICMPV6,
    };
    if l4.flow.proto != expected {
        return None;
    }
    let message = frame.get(l4.offset..l4.ip_end)?;
    if !is_error(l4.flow.family, *message.first()?) {
        return None;
    }
    let ip_at = l4.offset + icmp::HEADER_LEN;
    let inner = message.get(icmp::HEADER_LEN..)?;
    let (key, header_len) = match l4.flow.family {
        Family::V4 => {
            let h: &[u8; ipv4::HEADER_LEN] = inner.first_chunk()?;
            let ihl = usize::from(h[0] & 0x0f) * 4;
            if h[0] >> 4 != 4 || ihl < ipv4::HEADER_LEN {
                return None;
            }
            let addr = |at: usize| [h[at], h[at + 1], h[at + 2], h[at + 3]];
            (FlowKey::v4(addr(12), addr(16), h[9], 0, 0), ihl)
        }
        Family::V6 => {
            let h: &[u8; ipv6::HEADER_LEN] = inner.first_chunk()?;
            if h[0] >> 4 != 6 {
                return None;
            }
            let addr = |at: usize| -> [u8; 16] { h[at..at + 16].try_into().unwrap_or_default() };
            (FlowKey::v6(addr(8), addr(24), h[6], 0, 0), ipv6::HEADER_LEN)
        }
    };
    if key.proto != protocol::TCP && key.proto != protocol::UDP {
        return None;
    }
    let &[s0, s1, d0, d1] = inner.get(header_len..)?.first_chunk::<4>()?;
    Some(Quote {
        key: FlowKey {
            src_port: u16::from_be_bytes([s0, s1]),
            dst_port: u16::from_be_bytes([d0, d1]),
            ..key
        },
        ip_at,
        l4_at: ip_at + header_len,
    })
}

/// Rewrites the ICMP error `parsed` describes, whose quoted packet is `quote`: the outer
/// header gets the addresses of `outer` (ports unused), the quoted packet becomes `inner`
/// (addresses and ports). With `route`, the outer TTL / hop limit is decremented. See the
/// module invariants.
pub fn rewrite(
    frame: &mut [u8],
    parsed: &Parsed,
    quote: &Quote,
    outer: &Ends<'_>,
    inner: &FlowKey,
    route: bool,
) -> Result<(), NatError> {
    let Kind::Ip(l4) = &parsed.kind else {
        return Err(NatError::Unsupported);
    };
    let (l3, at, end, family) = (parsed.l3_offset, l4.offset, l4.ip_end, l4.flow.family);
    if inner.family != family || quote.key.family != family {
        return Err(NatError::FamilyMismatch);
    }
    let (version, header_len) = match family {
        Family::V4 => (4, ipv4::HEADER_LEN),
        Family::V6 => (6, ipv6::HEADER_LEN),
    };
    // Every check before the first write: the outer header, then the quote in the message.
    let outer_ok = l3 + header_len <= at && frame.get(l3).is_some_and(|b| b >> 4 == version);
    let quote_ok = at + icmp::HEADER_LEN <= quote.ip_at
        && quote.ip_at + header_len <= quote.l4_at
        && quote.l4_at + 4 <= end
        && end <= frame.len();
    if !outer_ok || !quote_ok {
        return Err(NatError::BadOffsets);
    }
    let inner_ends = Ends::along(inner);
    let (quoted_ip, quoted_l4) = frame[quote.ip_at..end].split_at_mut(quote.l4_at - quote.ip_at);
    let addr_delta = match family {
        Family::V4 => {
            let Some(h) = quoted_ip.first_chunk_mut() else {
                return Err(NatError::BadOffsets);
            };
            let delta = nat::rewrite_v4(h, &inner_ends, false);
            // Recomputed over the whole quoted header (options included) rather than updated:
            // the router may have changed the header (its TTL) without fixing the checksum.
            h[10..12].copy_from_slice(&[0, 0]);
            let sum = checksum::checksum(quoted_ip);
            quoted_ip[10..12].copy_from_slice(&sum.to_be_bytes());
            delta
        }
        Family::V6 => match quoted_ip.first_chunk_mut() {
            Some(h) => nat::rewrite_v6(h, &inner_ends, false),
            None => return Err(NatError::BadOffsets),
        },
    };
    // The quote holds the ports (checked above); its checksum only if it is long enough.
    if let Some(ports) = quoted_l4.first_chunk_mut() {
        let delta = addr_delta + nat::set_ports(ports, &inner_ends);
        let csum_at = if quote.key.proto == protocol::TCP {
            16
        } else {
            6
        };
        if let Some(c) = quoted_l4.get_mut(csum_at..csum_at + 2) {
            let udp = quote.key.proto == protocol::UDP;
            nat::update_transport_checksum(c, udp, family == Family::V4, delta);
        }
    }
    let (ip, message) = frame[..end].split_at_mut(at);
    match family {
        Family::V4 => {
            if let Some(h) = ip[l3..].first_chunk_mut() {
                nat::rewrite_v4(h, outer, route);
            }
            icmp::Packet::new_unchecked(message).fill_checksum();
        }
        Family::V6 => {
            if let Some(h) = ip[l3..].first_chunk_mut() {
                nat::rewrite_v6(h, outer, route);
            }
            // A message longer than u32::MAX cannot be in a frame.
            let len = message.len() as u32;
            let pseudo = checksum::pseudo_header_v6(outer.src, outer.dst, protocol::ICMPV6, len);
            icmpv6::Packet::new_unchecked(message).fill_checksum(pseudo);
        }
    }
    Ok(())
}
