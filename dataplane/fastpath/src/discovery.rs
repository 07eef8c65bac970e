//! ARP and IPv6 neighbour discovery for the node's own addresses: answering requests in
//! place, learning neighbours from what goes by, and building requests to resolve a next hop.
//!
//! # Invariants
//! * Answers are built in the received buffer and never exceed `buf.len()`; a request that
//!   is malformed (RFC 826 / RFC 4861 checks: hop limit 255, code 0, lengths, checksum) is
//!   not answered and teaches nothing.
//! * Duplicate address detection probes (source `::` or `0.0.0.0`) are not answered: the
//!   addresses are the data plane's, and a DAD probe for them means a conflict we cannot fix.
//! * Request builders write a complete frame with correct checksums into a 128-byte buffer.

use strait_packet::checksum::pseudo_header_v6;
use strait_packet::ethernet::{self, Address, ethertype};
use strait_packet::flow::v4_mapped;
use strait_packet::icmpv6::{self, msg_type};
use strait_packet::ip::protocol;
use strait_packet::{L4, Parsed, arp, ipv6};

/// Room a request frame needs.
pub const REQUEST_FRAME: usize = 128;

/// ICMPv6 neighbour solicitation/advertisement body before options: type, code, checksum,
/// flags/reserved, target.
const ND_FIXED: usize = 24;
/// Source / target link-layer address options.
const OPT_SOURCE_LL: u8 = 1;
const OPT_TARGET_LL: u8 = 2;
/// Neighbour advertisement flags: solicited, override.
const NA_SOLICITED_OVERRIDE: u8 = 0x60;

/// What a neighbour-discovery frame meant for us.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The frame was turned into an answer of this length: send it back.
    pub answer: Option<usize>,
    /// `(address, mac)` of the sender or target, if the frame revealed one.
    pub learned: Option<([u8; 16], Address)>,
}

impl Outcome {
    fn observed(learned: Option<([u8; 16], Address)>) -> Outcome {
        Outcome {
            answer: None,
            learned,
        }
    }
}

/// Handles an ARP frame: answers a request for an address `owned` says is ours, and learns
/// the sender's MAC from any request or reply.
pub fn arp(
    buf: &mut [u8],
    parsed: &Parsed,
    our_mac: Address,
    owned: impl Fn(&[u8; 16]) -> bool,
) -> Outcome {
    let l3 = parsed.l3_offset;
    let Some(body) = buf.get_mut(l3..l3 + arp::PACKET_LEN) else {
        return Outcome::default();
    };
    let Ok(mut packet) = arp::Packet::new_checked(body) else {
        return Outcome::default();
    };
    let sender_ip = packet.sender_ip().octets();
    let sender = v4_mapped(sender_ip);
    let learned = (sender_ip != [0; 4]).then(|| (sender, packet.sender_hw()));
    let target = v4_mapped(packet.target_ip().octets());
    if packet.operation() != arp::operation::REQUEST || !owned(&target) || learned.is_none() {
        return Outcome::observed(learned);
    }
    let asker = packet.sender_hw();
    packet.make_reply(our_mac);
    let Ok(mut eth) = ethernet::Frame::new_checked(&mut buf[..]) else {
        return Outcome::observed(learned);
    };
    eth.set_dst(asker);
    eth.set_src(our_mac);
    Outcome {
        answer: Some(l3 + arp::PACKET_LEN),
        learned,
    }
}

/// The link-layer address carried by the first option of `kind` in ND options `opts`.
fn find_option(opts: &[u8], kind: u8) -> Option<Address> {
    let mut rest = opts;
    while rest.len() >= 8 {
        let len = usize::from(rest[1]) * 8;
        if len == 0 || len > rest.len() {
            return None;
        }
        if rest[0] == kind && len >= 8 {
            let mut mac = [0; 6];
            mac.copy_from_slice(&rest[2..8]);
            return Some(mac);
        }
        rest = &rest[len..];
    }
    None
}

/// Handles an ICMPv6 neighbour solicitation or advertisement (the caller checked the
/// protocol): answers a solicitation for an address `owned` says is ours with a solicited
/// advertisement, and learns from the source/target link-layer options.
pub fn nd(
    buf: &mut [u8],
    parsed: &Parsed,
    l4: &L4,
    our_mac: Address,
    owned: impl Fn(&[u8; 16]) -> bool,
) -> Outcome {
    let none = Outcome::default();
    let (l3, icmp_at, end) = (parsed.l3_offset, l4.offset, l4.ip_end);
    if l4.flow.proto != protocol::ICMPV6 || l4.ttl != 255 || end < icmp_at + ND_FIXED {
        return none;
    }
    let Ok(ip) = ipv6::Packet::new_checked(&buf[l3..end]) else {
        return none;
    };
    let (src, dst) = (ip.src(), ip.dst());
    let pseudo = pseudo_header_v6(&src, &dst, protocol::ICMPV6, (end - icmp_at) as u32);
    let Ok(msg) = icmpv6::Packet::new_checked(&buf[icmp_at..end]) else {
        return none;
    };
    if msg.msg_code() != 0 || !msg.verify_checksum(pseudo) {
        return none;
    }
    let Some(target) = msg.nd_target() else {
        return none;
    };
    let opts = &buf[icmp_at + ND_FIXED..end];
    match msg.msg_type() {
        msg_type::NEIGHBOR_ADVERT => {
            Outcome::observed(find_option(opts, OPT_TARGET_LL).map(|mac| (target, mac)))
        }
        msg_type::NEIGHBOR_SOLICIT => {
            let learned = find_option(opts, OPT_SOURCE_LL)
                .filter(|_| src != [0; 16])
                .map(|mac| (src, mac));
            if src == [0; 16] || !owned(&target) || buf.len() < icmp_at + ND_FIXED + 8 {
                return Outcome::observed(learned);
            }
            let asker_mac = match ethernet::Frame::new_checked(&buf[..]) {
                Ok(eth) => eth.src(),
                Err(_) => return Outcome::observed(learned),
            };
            let len = write_advert(buf, l3, icmp_at, our_mac, target, src);
            if let Ok(mut eth) = ethernet::Frame::new_checked(&mut buf[..]) {
                eth.set_dst(asker_mac);
                eth.set_src(our_mac);
            }
            Outcome {
                answer: Some(len),
                learned,
            }
        }
        _ => none,
    }
}

/// Writes a solicited advertisement "`target` is at `mac`" to `to` over the IPv6 header at
/// `l3` and the ICMPv6 message at `icmp_at`; returns the frame length. The caller checked the
/// buffer holds `icmp_at + 32` bytes.
fn write_advert(
    buf: &mut [u8],
    l3: usize,
    icmp_at: usize,
    mac: Address,
    target: [u8; 16],
    to: [u8; 16],
) -> usize {
    let body_len = ND_FIXED + 8;
    let body = &mut buf[icmp_at..icmp_at + body_len];
    body.fill(0);
    body[0] = msg_type::NEIGHBOR_ADVERT;
    body[4] = NA_SOLICITED_OVERRIDE;
    body[8..24].copy_from_slice(&target);
    body[24] = OPT_TARGET_LL;
    body[25] = 1;
    body[26..32].copy_from_slice(&mac);
    write_ipv6_header(&mut buf[l3..icmp_at], body_len as u16, target, to);
    fill_icmpv6_checksum(&mut buf[icmp_at..icmp_at + body_len], &target, &to);
    icmp_at + body_len
}

/// Writes a 40-byte IPv6 header for an ND message (hop limit 255, next header ICMPv6).
fn write_ipv6_header(h: &mut [u8], payload_len: u16, src: [u8; 16], dst: [u8; 16]) {
    h[..ipv6::HEADER_LEN].fill(0);
    h[0] = 0x60;
    h[4..6].copy_from_slice(&payload_len.to_be_bytes());
    h[6] = protocol::ICMPV6;
    h[7] = 255;
    h[8..24].copy_from_slice(&src);
    h[24..40].copy_from_slice(&dst);
}

fn fill_icmpv6_checksum(msg: &mut [u8], src: &[u8; 16], dst: &[u8; 16]) {
    let pseudo = pseudo_header_v6(src, dst, protocol::ICMPV6, msg.len() as u32);
    if let Ok(mut p) = icmpv6::Packet::new_checked(msg) {
        p.fill_checksum(pseudo);
    }
}

/// Writes a broadcast ARP request "who has `target`, tell `sender`" into `out`; returns its
/// length.
pub fn arp_request(
    out: &mut [u8; REQUEST_FRAME],
    mac: Address,
    sender: [u8; 4],
    target: [u8; 4],
) -> usize {
    out.fill(0);
    out[..6].fill(0xff);
    out[6..12].copy_from_slice(&mac);
    out[12..14].copy_from_slice(&ethertype::ARP.to_be_bytes());
    let a = &mut out[14..14 + arp::PACKET_LEN];
    a[..8].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    a[8..14].copy_from_slice(&mac);
    a[14..18].copy_from_slice(&sender);
    a[24..28].copy_from_slice(&target);
    // Pad to the Ethernet minimum.
    60
}

/// Writes a neighbour solicitation for `target` from `src` to its solicited-node multicast
/// group into `out`; returns its length.
pub fn neighbour_solicit(
    out: &mut [u8; REQUEST_FRAME],
    mac: Address,
    src: [u8; 16],
    target: [u8; 16],
) -> usize {
    out.fill(0);
    let mut group = [0u8; 16];
    group[..2].copy_from_slice(&[0xff, 0x02]);
    group[11] = 1;
    group[12] = 0xff;
    group[13..].copy_from_slice(&target[13..]);
    out[..2].copy_from_slice(&[0x33, 0x33]);
    out[2..6].copy_from_slice(&group[12..]);
    out[6..12].copy_from_slice(&mac);
    out[12..14].copy_from_slice(&ethertype::IPV6.to_be_bytes());
    let icmp_at = 14 + ipv6::HEADER_LEN;
    let body_len = ND_FIXED + 8;
    write_ipv6_header(&mut out[14..icmp_at], body_len as u16, src, group);
    let body = &mut out[icmp_at..icmp_at + body_len];
    body[0] = msg_type::NEIGHBOR_SOLICIT;
    body[8..24].copy_from_slice(&target);
    body[24] = OPT_SOURCE_LL;
    body[25] = 1;
    body[26..32].copy_from_slice(&mac);
    fill_icmpv6_checksum(body, &src, &group);
    icmp_at + body_len
}
