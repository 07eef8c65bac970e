//! One-call frame classifier for the worker's receive path.
//!
//! [`parse_frame`] walks Ethernet → (one VLAN tag) → IPv4 / IPv6 / ARP → TCP / UDP / ICMP /
//! ICMPv6 and returns the offsets of each layer plus a [`FlowKey`], or the [`DropReason`] reason.
//!
//! # Invariants
//! * Never panics and never reads outside `buf`, for any input: the layered walk opens every
//!   layer with its view's `new_checked` on a slice that the previous layer bounded; the
//!   one-pass path for the usual frame (`parse::fast`) reads one bounds-checked array and
//!   answers only where the layered walk gives the same answer.
//! * On `Ok`, `l3_offset <= l4.offset <= l4.payload_offset <= l4.payload_end <= l4.ip_end
//!   <= buf.len()`, so the caller may slice `buf` at them without further checks.
//! * Checks made, in order: Ethernet/VLAN length, ethertype, IP version and lengths, IPv4
//!   header checksum, TTL / hop limit ≤ 1 ([`DropReason::TtlExpired`]), non-first fragment,
//!   IPv6 extension headers (hop-by-hop, destination options, a routing header with no
//!   segments left and a first fragment's header are walked; `l4.offset` is past them), L4
//!   protocol, L4 header lengths. L4 checksums are **not**
//!   verified (left to NIC offload or to the caller, with the views' `verify_checksum`).
//! * A first fragment (offset 0, MF set; IPv6: a fragment header of offset 0 with M set) is
//!   parsed normally with `more_fragments = true`.
//! * ICMP error messages are classified by their own type/code (ports 0); the quoted inner
//!   packet is not parsed yet.

use crate::ethernet::{self, ethertype};
use crate::ip::{is_ipv6_extension_header, protocol};
use crate::{DropReason, FlowKey, arp, icmp, icmpv6, ipv4, ipv6, tcp, udp};

mod fast;

/// Result of [`parse_frame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed {
    /// VLAN id if the frame carried an 802.1Q tag.
    pub vlan: Option<u16>,
    /// Offset of the L3 header (14 or 18).
    pub l3_offset: usize,
    /// What the L3 payload is.
    pub kind: Kind,
}

impl Parsed {
    /// The flow key, for IP frames.
    pub fn flow(&self) -> Option<&FlowKey> {
        match &self.kind {
            Kind::Arp => None,
            Kind::Ip(l4) => Some(&l4.flow),
        }
    }
}

/// The kind of frame, with L4 details for IP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An Ethernet/IPv4 ARP packet at `l3_offset` (28 bytes, already validated).
    Arp,
    /// An IPv4 or IPv6 datagram with a supported L4 header (family in `flow.family`).
    Ip(L4),
}

/// Offsets and key of an IP datagram's transport layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L4 {
    /// Offset of the TCP/UDP/ICMP header.
    pub offset: usize,
    /// Offset of the L4 payload (after TCP options, the UDP or ICMP header).
    pub payload_offset: usize,
    /// End of the L4 payload: UDP length for UDP, else the end of the IP datagram.
    pub payload_end: usize,
    /// End of the IP datagram (excludes Ethernet padding).
    pub ip_end: usize,
    /// TTL or hop limit as received.
    pub ttl: u8,
    /// IPv4 first fragment (MF set, offset 0); always false for IPv6.
    pub more_fragments: bool,
    /// The flow key.
    pub flow: FlowKey,
}

/// Classifies one received frame. See the module doc for the checks and their order.
///
/// Untagged IPv4 TCP/UDP without IP options, nearly every frame, is read in one pass
/// (`parse::fast`); every other frame, and every one that fails a check, is walked layer by
/// layer, which gives the same result for the frames the one pass takes.
#[inline]
pub fn parse_frame(buf: &[u8]) -> Result<Parsed, DropReason> {
    fast::ipv4_untagged_or(buf, layered)
}

/// [`parse_frame`] layer by layer, each opened with its view's checks.
fn layered(buf: &[u8]) -> Result<Parsed, DropReason> {
    let eth = ethernet::Frame::new_checked(buf)?;
    let l3_offset = eth.header_len();
    let vlan = eth.vlan();
    let l3 = &buf[l3_offset..];
    let kind = match eth.payload_ethertype() {
        ethertype::IPV4 => Kind::Ip(parse_ipv4(l3, l3_offset)?),
        ethertype::IPV6 => Kind::Ip(parse_ipv6(l3, l3_offset)?),
        ethertype::ARP => {
            arp::Packet::new_checked(l3)?;
            Kind::Arp
        }
        _ => return Err(DropReason::UnsupportedEthertype),
    };
    Ok(Parsed {
        vlan,
        l3_offset,
        kind,
    })
}

fn parse_ipv4(l3: &[u8], l3_offset: usize) -> Result<L4, DropReason> {
    let ip = ipv4::Packet::new_checked(l3)?;
    if !ip.verify_checksum() {
        return Err(DropReason::BadIpChecksum);
    }
    if ip.ttl() <= 1 {
        return Err(DropReason::TtlExpired);
    }
    if ip.frag_offset() != 0 {
        return Err(DropReason::Fragment);
    }
    let proto = ip.protocol();
    let t = transport(ip.payload(), proto, false)?;
    let offset = l3_offset + ip.header_len();
    Ok(L4 {
        offset,
        payload_offset: offset + t.header_len,
        payload_end: offset + t.len,
        ip_end: l3_offset + usize::from(ip.total_len()),
        ttl: ip.ttl(),
        more_fragments: ip.more_frags(),
        flow: FlowKey::v4(ip.src(), ip.dst(), proto, t.src_port, t.dst_port),
    })
}

fn parse_ipv6(l3: &[u8], l3_offset: usize) -> Result<L4, DropReason> {
    let ip = ipv6::Packet::new_checked(l3)?;
    if ip.hop_limit() <= 1 {
        return Err(DropReason::TtlExpired);
    }
    let payload = ip.payload();
    let ext = extensions(payload, ip.next_header())?;
    let t = transport(&payload[ext.len..], ext.proto, true)?;
    let offset = l3_offset + ipv6::HEADER_LEN + ext.len;
    Ok(L4 {
        offset,
        payload_offset: offset + t.header_len,
        payload_end: offset + t.len,
        ip_end: l3_offset + ipv6::HEADER_LEN + usize::from(ip.payload_len()),
        ttl: ip.hop_limit(),
        more_fragments: ext.more_fragments,
        flow: FlowKey::v6(ip.src(), ip.dst(), ext.proto, t.src_port, t.dst_port),
    })
}

/// Most IPv6 extension headers walked before the upper-layer header.
const MAX_EXTENSIONS: usize = 8;

/// What the IPv6 extension headers before the upper-layer header come to.
struct Extensions {
    /// Their total length: the upper-layer header starts this far into the payload.
    len: usize,
    /// The upper-layer protocol.
    proto: u8,
    /// A fragment header with offset 0 and M set: a first fragment.
    more_fragments: bool,
}

/// Walks the extension headers at the start of an IPv6 `payload` whose first next-header
/// value is `first` (RFC 8200 §4): hop-by-hop (first only), destination options, a routing
/// header with no segments left, and a fragment header of offset 0 are passed over. A
/// non-first fragment is [`DropReason::Fragment`]; any other extension header (AH, ESP,
/// mobility…), a routing header that names further segments, a truncated header or more
/// than [`MAX_EXTENSIONS`] are [`DropReason::Ipv6ExtensionHeader`].
fn extensions(payload: &[u8], first: u8) -> Result<Extensions, DropReason> {
    let mut ext = Extensions {
        len: 0,
        proto: first,
        more_fragments: false,
    };
    for i in 0..=MAX_EXTENSIONS {
        if !is_ipv6_extension_header(ext.proto) {
            return Ok(ext);
        }
        let unwalkable = Err(DropReason::Ipv6ExtensionHeader);
        let Some(&[next, size, b2, b3]) = payload.get(ext.len..).and_then(|h| h.first_chunk())
        else {
            return unwalkable;
        };
        let len = match ext.proto {
            protocol::HOP_BY_HOP if i == 0 => (usize::from(size) + 1) * 8,
            protocol::IPV6_OPTS => (usize::from(size) + 1) * 8,
            protocol::IPV6_ROUTE if b3 == 0 => (usize::from(size) + 1) * 8,
            protocol::IPV6_FRAG => {
                if u16::from_be_bytes([b2, b3]) >> 3 != 0 {
                    return Err(DropReason::Fragment);
                }
                ext.more_fragments = b3 & 1 != 0;
                8
            }
            _ => return unwalkable,
        };
        if payload.len() < ext.len + len {
            return unwalkable;
        }
        ext.len += len;
        ext.proto = next;
    }
    Err(DropReason::Ipv6ExtensionHeader)
}

/// What the transport layer contributes: ports, header length, used length.
struct Transport {
    src_port: u16,
    dst_port: u16,
    header_len: usize,
    len: usize,
}

fn transport(l4: &[u8], proto: u8, v6: bool) -> Result<Transport, DropReason> {
    match (proto, v6) {
        (protocol::TCP, _) => {
            let p = tcp::Packet::new_checked(l4)?;
            Ok(Transport {
                src_port: p.src_port(),
                dst_port: p.dst_port(),
                header_len: p.header_len(),
                len: l4.len(),
            })
        }
        (protocol::UDP, _) => {
            let p = udp::Packet::new_checked(l4)?;
            Ok(Transport {
                src_port: p.src_port(),
                dst_port: p.dst_port(),
                header_len: udp::HEADER_LEN,
                len: usize::from(p.len()),
            })
        }
        (protocol::ICMP, false) => {
            let p = icmp::Packet::new_checked(l4)?;
            let id = if p.is_echo() { p.echo_ident() } else { 0 };
            Ok(icmp_transport(id, l4.len()))
        }
        (protocol::ICMPV6, true) => {
            let p = icmpv6::Packet::new_checked(l4)?;
            let id = if p.is_echo() { p.echo_ident() } else { 0 };
            Ok(icmp_transport(id, l4.len()))
        }
        _ => Err(DropReason::UnsupportedProtocol),
    }
}

fn icmp_transport(id: u16, len: usize) -> Transport {
    Transport {
        src_port: id,
        dst_port: id,
        header_len: icmp::HEADER_LEN,
        len,
    }
}
