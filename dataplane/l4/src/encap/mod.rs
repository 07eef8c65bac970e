//! Katran-style encapsulation of a client → VIP frame towards a backend, in place.
//!
//! The balancer keeps the client's packet intact and wraps it in an outer IP header addressed
//! to the backend, which decapsulates it and answers the client directly (DSR over L3):
//! * [`Encap::Ip`]: IP in IP. The outer protocol / next header is 4 for an IPv4 inner packet
//!   and 41 for an IPv6 one, whatever the outer family: IPIP (RFC 2003), IPv4-in-IPv6 and
//!   IPv6-in-IPv6 (RFC 2473), and IPv6-in-IPv4 (RFC 4213).
//! * [`Encap::Gue`]: GUE variant 1 (draft-ietf-intarea-gue §5), as Katran sends it: outer IP,
//!   then UDP to the backend's GUE port ([`GUE_PORT`] by default), then the inner IP packet with
//!   no GUE header; the receiver tells IPv4 from IPv6 by the first nibble. The UDP source port
//!   is [`gue_src_port`] of the flow hash, so the backend's RSS spreads flows over its queues.
//!
//! The outer family is the backend's: both [`Tunnel`] addresses must be of one family.
//!
//! # Outer headers
//! * IPv4: version/IHL `0x45`, TOS copied from the inner packet (DSCP and ECN), total length,
//!   identification 0, DF set, TTL [`OUTER_TTL`], protocol, full header checksum.
//! * IPv6: traffic class copied from the inner packet, flow label [`flow_label`] of the flow
//!   hash, payload length, next header, hop limit [`OUTER_TTL`].
//! * UDP (GUE): over IPv4 the checksum is 0, "none" (RFC 768; the inner packet carries its own
//!   checksums, as Katran does). Over IPv6 a zero checksum is not allowed (RFC 8200 §8.1; the
//!   RFC 6935 exception for tunnels is not used), so it is computed over the pseudo-header, the
//!   UDP header and the whole inner packet.
//!
//! # Invariants
//! * `buf[..len]` is the frame `parsed` describes. After `Ok(n)`, `buf[..n]` is: the same
//!   Ethernet header (MACs and VLAN tag unchanged, payload EtherType now the outer family's),
//!   the outer headers, then the inner IP packet byte for byte (Ethernet padding dropped).
//! * `mtu` is the largest outer IP packet (the link's L3 MTU, Ethernet header excluded). A
//!   larger result is refused with [`EncapError::ExceedsMtu`], as is one whose length field
//!   would overflow; the caller counts it and may answer with ICMP "fragmentation needed" /
//!   ICMPv6 "packet too big" for `mtu - Tunnel::overhead()`.
//! * On `Err` the frame is unchanged: every check runs before the first write.
//! * Nothing allocates; the inner packet is moved once with `copy_within`.
//!
//! # Order of use
//! `parse_frame(&buf[..len])` → choose the backend → [`Encap::for_mode`] of the service's mode →
//! [`encapsulate`] with the node's address of the backend's family as `src`, the backend's as
//! `dst` and the flow's [`crate::flow_hash`] (all five fields, so flows of one client spread) →
//! [`crate::set_macs`] for the next hop on `buf[..n]`.

mod outer;

pub use outer::{OUTER_TTL, flow_label, gue_src_port};

use core::net::IpAddr;
use strait_packet::ethernet;
use strait_packet::{Family, Kind, Parsed, ipv4, ipv6, udp};
use strait_table::L4Mode;
use thiserror::Error;

pub(crate) use outer::Outer;

/// The default UDP destination port of GUE, as Katran uses it.
pub const GUE_PORT: u16 = 6080;

/// How to encapsulate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encap {
    /// IP in IP: the outer header is followed directly by the inner packet.
    Ip,
    /// GUE variant 1: outer IP, then UDP to `port`, then the inner packet.
    Gue {
        /// The backend's GUE UDP port ([`GUE_PORT`] unless configured otherwise).
        port: u16,
    },
}

impl Encap {
    /// GUE to the default port [`GUE_PORT`].
    pub const GUE: Encap = Encap::Gue { port: GUE_PORT };

    /// The encapsulation of a service's mode: `Ipip` → [`Encap::Ip`], `Gue` → [`Encap::GUE`];
    /// `None` for the modes that do not encapsulate (full NAT, DSR).
    pub fn for_mode(mode: L4Mode) -> Option<Encap> {
        match mode {
            L4Mode::Ipip => Some(Encap::Ip),
            L4Mode::Gue => Some(Encap::GUE),
            _ => None,
        }
    }
}

/// The outer end points and the kind of encapsulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tunnel {
    /// IP in IP or GUE.
    pub kind: Encap,
    /// Outer source: the node's address, of the backend's family.
    pub src: IpAddr,
    /// Outer destination: the backend.
    pub dst: IpAddr,
}

impl Tunnel {
    /// Bytes the outer headers add: 20 or 40 for the IP header, plus 8 for GUE's UDP header.
    pub fn overhead(&self) -> usize {
        let ip = match self.dst {
            IpAddr::V4(_) => ipv4::HEADER_LEN,
            IpAddr::V6(_) => ipv6::HEADER_LEN,
        };
        match self.kind {
            Encap::Ip => ip,
            Encap::Gue { .. } => ip + udp::HEADER_LEN,
        }
    }
}

/// Why a frame could not be encapsulated. The frame is left unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EncapError {
    /// The frame is not an IP datagram (ARP).
    #[error("encap: not an IP datagram")]
    NotIp,
    /// The outer source and destination are of different families.
    #[error("encap: outer addresses of different families")]
    FamilyMismatch,
    /// The parsed offsets (or `len`) do not describe this buffer.
    #[error("encap: parsed offsets do not match the frame")]
    BadOffsets,
    /// The outer packet would be larger than the MTU (or than its length field can hold).
    #[error("encap: outer packet would exceed the MTU")]
    ExceedsMtu,
    /// The buffer has no room for the outer headers.
    #[error("encap: buffer too small for the outer headers")]
    BufferTooSmall,
}

/// Encapsulates the IP packet of the frame `buf[..len]` (described by `parsed`) in place and
/// returns the new frame length. See the module documentation for the layout and the checks.
pub fn encapsulate(
    buf: &mut [u8],
    len: usize,
    parsed: &Parsed,
    tunnel: &Tunnel,
    flow_hash: u64,
    mtu: usize,
) -> Result<usize, EncapError> {
    let Kind::Ip(l4) = &parsed.kind else {
        return Err(EncapError::NotIp);
    };
    let outer = Outer::new(tunnel.src, tunnel.dst).ok_or(EncapError::FamilyMismatch)?;
    let (l3, ip_end) = (parsed.l3_offset, l4.ip_end);
    let frame = buf.get(..len).ok_or(EncapError::BadOffsets)?;
    let eth = ethernet::Frame::new_checked(frame).map_err(|_| EncapError::BadOffsets)?;
    if eth.header_len() != l3 || ip_end > len || ip_end < l3 {
        return Err(EncapError::BadOffsets);
    }
    let inner = &frame[l3..ip_end];
    let (inner_proto, traffic_class) = inner_fields(inner, l4.flow.family)?;

    let overhead = tunnel.overhead();
    let outer_len = overhead + inner.len();
    if outer_len > mtu.min(outer.max_len()) {
        return Err(EncapError::ExceedsMtu);
    }
    let new_len = l3 + outer_len;
    if new_len > buf.len() {
        return Err(EncapError::BufferTooSmall);
    }

    // Checks done: from here on nothing fails.
    buf.copy_within(l3..ip_end, l3 + overhead);
    let mut eth = ethernet::Frame::new_unchecked(&mut buf[..l3]);
    eth.set_payload_ethertype(outer.ethertype());
    let packet = &mut buf[l3..new_len];
    match tunnel.kind {
        Encap::Ip => outer.write_ip(packet, inner_proto, traffic_class, flow_hash),
        Encap::Gue { port } => outer.write_gue(packet, port, traffic_class, flow_hash),
    }
    Ok(new_len)
}

/// The outer protocol number for the inner packet (4 or 41) and its DSCP/ECN byte.
fn inner_fields(inner: &[u8], family: Family) -> Result<(u8, u8), EncapError> {
    match family {
        Family::V4 => {
            let ip = ipv4::Packet::new_checked(inner).map_err(|_| EncapError::BadOffsets)?;
            Ok((outer::IPPROTO_IPIP, (ip.dscp() << 2) | ip.ecn()))
        }
        Family::V6 => {
            let ip = ipv6::Packet::new_checked(inner).map_err(|_| EncapError::BadOffsets)?;
            Ok((outer::IPPROTO_IPV6, ip.traffic_class()))
        }
    }
}
