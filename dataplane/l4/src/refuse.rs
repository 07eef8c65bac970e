//! Refusing a new flow that no backend can take: the answer a host gives for a closed port,
//! so the client fails at once instead of retrying into silence. And [`too_big`]: telling a
//! source that its packet does not fit the path ahead (a tunnel's headers on top of it), so
//! path-MTU discovery shrinks its packets instead of losing them.
//!
//! A TCP segment gets a reset (RFC 9293 §3.10.7.1, a segment to a closed port); a UDP
//! datagram gets an ICMP port unreachable (RFC 1122 §4.1.3.1, RFC 4443 §3.1) quoting it.
//! Both are built in place in the received frame and go back out of the port it came from,
//! to the MAC it came from, from the address it was sent to (the VIP).
//!
//! # Invariants
//! * Every offset is checked before the first write; on `Err` the frame is unchanged.
//! * Only a packet from one host is answered: a multicast Ethernet source, or an IP source
//!   that is unspecified, multicast or the IPv4 broadcast, gets nothing.
//! * A reset is never answered (no reset for a reset), and an ICMP error quotes only TCP or
//!   UDP (never another ICMP message, so no error about an error).
//! * The answer is a well-formed frame: a fresh IP header without options (TTL / hop limit
//!   [`TTL`]), every checksum computed. The Ethernet header and its VLAN tag stay, with the
//!   MACs swapped. An ICMP quote holds as much of the datagram as fits in 576 bytes (IPv4,
//!   RFC 1812 §4.3.2.3) or 1280 (IPv6, RFC 4443 §2.4 (c)) and in the frame's buffer.

use strait_packet::ip::protocol;
use strait_packet::{Family, Kind, L4, Parsed, checksum, icmp, icmpv6, tcp};

use crate::encap::{OUTER_TTL, Outer};

/// TTL / hop limit of an answer: the one every header the node writes carries.
pub const TTL: u8 = OUTER_TTL;

/// Largest IPv4 packet carrying an ICMP error.
const ICMP_V4_MAX: usize = 576;
/// Largest IPv6 packet carrying an ICMPv6 error.
const ICMP_V6_MAX: usize = 1280;
/// ICMPv6 destination unreachable code: port unreachable.
const V6_PORT_UNREACHABLE: u8 = 4;

const TCP_FIN: u8 = tcp::Flags::FIN.0;
const TCP_SYN: u8 = tcp::Flags::SYN.0;
const TCP_RST: u8 = tcp::Flags::RST.0;
const TCP_ACK: u8 = tcp::Flags::ACK.0;

/// Why a frame was not turned into a refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RefuseError {
    /// A reset, which is never answered.
    #[error("a reset is not answered")]
    Reset,
    /// Neither TCP nor UDP, or not an IP frame.
    #[error("only TCP and UDP are refused")]
    Protocol,
    /// The frame's offsets do not hold the headers (or the buffer has no room for the answer).
    #[error("frame too short for the answer")]
    Truncated,
    /// The source is not one host (a multicast or broadcast address, or none): answers never
    /// go to groups.
    #[error("the source is not a unicast address")]
    NotUnicast,
    /// An IPv4 packet without Don't Fragment: "fragmentation needed" is not the answer.
    #[error("the packet may be fragmented")]
    MayFragment,
}

/// Turns the TCP segment or UDP datagram in `frame[..len]` (as `parsed`) into its refusal:
/// a reset or an ICMP port unreachable. Returns the answer's length; `frame` may be longer
/// than `len` (room for a quote).
pub fn refuse(frame: &mut [u8], len: usize, parsed: &Parsed) -> Result<usize, RefuseError> {
    let (l4, answer) = answerable(frame, len, parsed)?;
    let l3 = parsed.l3_offset;
    let n = match l4.flow.proto {
        protocol::TCP => reset(frame, l3, l4, answer)?,
        protocol::UDP => unreachable(frame, l3, l4.ip_end, answer)?,
        _ => return Err(RefuseError::Protocol),
    };
    swap_macs(frame);
    Ok(n)
}

/// The checks every answer makes before its first write: an IP frame whose offsets lie
/// within `len` and the buffer, from one host. Returns its transport layer and the answer's
/// IP addresses (the packet's, the other way round).
fn answerable<'p>(
    frame: &[u8],
    len: usize,
    parsed: &'p Parsed,
) -> Result<(&'p L4, Outer), RefuseError> {
    let Kind::Ip(l4) = &parsed.kind else {
        return Err(RefuseError::Protocol);
    };
    let l3 = parsed.l3_offset;
    if l4.ip_end > len || len > frame.len() || l3 < 12 {
        return Err(RefuseError::Truncated);
    }
    let sent = addresses(frame, l3, l4.flow.family).ok_or(RefuseError::Truncated)?;
    if !unicast(frame, &sent) {
        return Err(RefuseError::NotUnicast);
    }
    Ok((l4, sent.reversed()))
}

/// True if the frame came from one host: a unicast Ethernet source and an IP source (of
/// `sent`, the packet's addresses) that is neither unspecified, multicast nor broadcast
/// (RFC 1122 §3.2.2, RFC 4443 §2.4 (e)): an answer never goes to a group.
pub(crate) fn unicast(frame: &[u8], sent: &Outer) -> bool {
    let ethernet = frame.get(6).is_some_and(|b| b & 1 == 0);
    let ip = match sent {
        Outer::V4 { src, .. } => src[0] != 0 && src[0] < 224,
        Outer::V6 { src, .. } => src[0] != 0xff && *src != [0; 16],
    };
    ethernet && ip
}

/// The addresses of the IP header of `family` at `l3`, as sent.
pub(crate) fn addresses(frame: &[u8], l3: usize, family: Family) -> Option<Outer> {
    Outer::read(frame.get(l3..)?, family)
}

/// The reset answering the TCP segment at `l4` (RFC 9293 §3.10.7.1): `<SEQ=SEG.ACK><CTL=RST>`
/// if it carries an ACK, else `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`.
fn reset(frame: &mut [u8], l3: usize, l4: &L4, answer: Outer) -> Result<usize, RefuseError> {
    let seg = frame
        .get(l4.offset..l4.offset + tcp::HEADER_LEN)
        .ok_or(RefuseError::Truncated)?;
    let flags = seg[13];
    if flags & TCP_RST != 0 {
        return Err(RefuseError::Reset);
    }
    let word = |at: usize| u32::from_be_bytes([seg[at], seg[at + 1], seg[at + 2], seg[at + 3]]);
    let (seq, ack) = (word(4), word(8));
    let ports = [seg[2], seg[3], seg[0], seg[1]];
    let data = l4.payload_end.saturating_sub(l4.payload_offset);
    let seg_len = data as u32 + u32::from(flags & TCP_SYN != 0) + u32::from(flags & TCP_FIN != 0);
    let (seq, ack, flags) = if flags & TCP_ACK != 0 {
        (ack, 0, TCP_RST)
    } else {
        (0, seq.wrapping_add(seg_len), TCP_RST | TCP_ACK)
    };
    let at = l3 + answer.header_len();
    let Some(packet) = frame.get_mut(l3..at + tcp::HEADER_LEN) else {
        return Err(RefuseError::Truncated);
    };
    answer.write_ip_header(packet, protocol::TCP, 0, 0);
    let t = &mut frame[at..at + tcp::HEADER_LEN];
    t[..4].copy_from_slice(&ports);
    t[4..8].copy_from_slice(&seq.to_be_bytes());
    t[8..12].copy_from_slice(&ack.to_be_bytes());
    t[12..].copy_from_slice(&[0x50, flags, 0, 0, 0, 0, 0, 0]);
    let sum = !checksum::combine(&[
        answer.pseudo_header(protocol::TCP, tcp::HEADER_LEN),
        checksum::sum(t),
    ]);
    t[16..18].copy_from_slice(&sum.to_be_bytes());
    Ok(at + tcp::HEADER_LEN)
}

/// The ICMP port unreachable quoting the datagram `frame[l3..ip_end]`.
fn unreachable(
    frame: &mut [u8],
    l3: usize,
    ip_end: usize,
    answer: Outer,
) -> Result<usize, RefuseError> {
    let (ty, code) = match answer {
        Outer::V4 { .. } => (icmp::msg_type::DEST_UNREACHABLE, icmp::unreachable::PORT),
        Outer::V6 { .. } => (icmpv6::msg_type::DEST_UNREACHABLE, V6_PORT_UNREACHABLE),
    };
    icmp_error(frame, l3, ip_end, answer, [ty, code, 0, 0, 0, 0, 0, 0])
}

/// Turns the TCP or UDP packet in `frame[..len]` (as `parsed`), one too large for the path
/// ahead, into the ICMP "fragmentation needed" (IPv4, RFC 1191) or ICMPv6 "packet too big"
/// (RFC 8201) that tells its source the path takes `mtu` bytes (at least 68 / 1280), sent
/// back from its destination. An IPv4 packet without Don't Fragment is refused with
/// [`RefuseError::MayFragment`]; so is anything but TCP or UDP (never an error about an
/// ICMP message). Returns the answer's length; on `Err` the frame is unchanged.
pub fn too_big(
    frame: &mut [u8],
    len: usize,
    parsed: &Parsed,
    mtu: usize,
) -> Result<usize, RefuseError> {
    let (l4, answer) = answerable(frame, len, parsed)?;
    if l4.flow.proto != protocol::TCP && l4.flow.proto != protocol::UDP {
        return Err(RefuseError::Protocol);
    }
    let l3 = parsed.l3_offset;
    let header = match answer {
        Outer::V4 { .. } => {
            let flags = *frame.get(l3 + 6).ok_or(RefuseError::Truncated)?;
            if flags & 0x40 == 0 {
                return Err(RefuseError::MayFragment);
            }
            let [hi, lo] = (mtu.clamp(68, 0xffff) as u16).to_be_bytes();
            let code = icmp::unreachable::FRAG_NEEDED;
            [icmp::msg_type::DEST_UNREACHABLE, code, 0, 0, 0, 0, hi, lo]
        }
        Outer::V6 { .. } => {
            let [a, b, c, d] = (mtu.clamp(1280, u32::MAX as usize) as u32).to_be_bytes();
            [icmpv6::msg_type::PACKET_TOO_BIG, 0, 0, 0, a, b, c, d]
        }
    };
    let n = icmp_error(frame, l3, l4.ip_end, answer, header)?;
    swap_macs(frame);
    Ok(n)
}

/// Swaps the Ethernet destination and source (the frame holds at least 12 bytes).
pub(crate) fn swap_macs(frame: &mut [u8]) {
    let (macs, _) = frame.split_at_mut(12);
    let (a, b) = macs.split_at_mut(6);
    a.swap_with_slice(b);
}

/// The ICMP error with `header` (type, code, checksum 0, the rest) quoting the packet
/// `frame[l3..ip_end]`: at least its IP header and eight bytes (RFC 792), or all of it if
/// shorter, and as much more as the size limits and the buffer allow.
fn icmp_error(
    frame: &mut [u8],
    l3: usize,
    ip_end: usize,
    answer: Outer,
    header: [u8; icmp::HEADER_LEN],
) -> Result<usize, RefuseError> {
    let ip_len = answer.header_len();
    let (max, proto) = match answer {
        Outer::V4 { .. } => (ICMP_V4_MAX, protocol::ICMP),
        Outer::V6 { .. } => (ICMP_V6_MAX, protocol::ICMPV6),
    };
    let head = ip_len + icmp::HEADER_LEN;
    let room = frame.len().saturating_sub(l3 + head);
    let packet = ip_end - l3;
    if room < packet.min(ip_len + 8) {
        return Err(RefuseError::Truncated);
    }
    let quote = packet.min(max - head).min(room);
    frame.copy_within(l3..l3 + quote, l3 + head);
    let icmp_len = icmp::HEADER_LEN + quote;
    answer.write_ip_header(&mut frame[l3..l3 + ip_len + icmp_len], proto, 0, 0);
    let m = &mut frame[l3 + ip_len..l3 + ip_len + icmp_len];
    m[..8].copy_from_slice(&header);
    let sum = match answer {
        Outer::V4 { .. } => checksum::checksum(m),
        Outer::V6 { .. } => {
            !checksum::combine(&[answer.pseudo_header(proto, icmp_len), checksum::sum(m)])
        }
    };
    m[2..4].copy_from_slice(&sum.to_be_bytes());
    Ok(l3 + ip_len + icmp_len)
}
