//! Full-NAT rewriting of a parsed frame, in place.
//!
//! Full NAT replaces both ends of a TCP or UDP datagram:
//! * forward (client → VIP): [`forward`] sets `src = node:snat_port`, `dst = backend:port`;
//! * reverse (backend → node): [`reverse`] sets `src = vip:port`, `dst = client:port`;
//!
//! both are [`rewrite`], which sets the four fields to whatever it is given.
//!
//! # Invariants
//! * Checksums are updated incrementally (RFC 1624): the IPv4 header checksum for the address
//!   change, and the TCP/UDP checksum for the pseudo-header addresses and the ports. The result
//!   equals a full recompute whenever the old checksum was correct; a wrong one stays wrong.
//! * UDP over IPv4 with checksum `0` ("none", RFC 768) keeps `0`; a UDP result of `0` is stored
//!   as `0xFFFF`, as a full computation would store it.
//! * Same family only: every address must be of the packet's family
//!   ([`NatError::FamilyMismatch`]); NAT64 is out of scope.
//! * On `Err` the frame is unchanged: every check runs before the first write.
//! * Only addresses, ports and checksums change: no length, TTL or MAC (the caller decrements
//!   the TTL and sets MACs with [`crate::set_macs`] for the next hop as its routing requires).
//!
//! # Order of use
//! `parse_frame(&frame)` → [`rewrite`] / [`forward`] / [`reverse`] with the returned
//! [`Parsed`] of that same frame.

use core::net::SocketAddr;
use strait_packet::checksum::{update16, update32, update128};
use strait_packet::ip::protocol;
use strait_packet::{Family, Kind, L4, Parsed, ipv4, ipv6, tcp, udp};
use thiserror::Error;

/// Why a frame could not be rewritten. The frame is left unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NatError {
    /// The frame is not a TCP or UDP datagram (ARP, ICMP, …).
    #[error("nat: not a TCP or UDP datagram")]
    Unsupported,
    /// A new address is not of the packet's family.
    #[error("nat: address family differs from the packet's")]
    FamilyMismatch,
    /// The parsed offsets do not describe this buffer.
    #[error("nat: parsed offsets do not match the frame")]
    BadOffsets,
    /// DSR needs the backend's MAC and the backend record has none.
    #[error("nat: backend has no MAC for DSR")]
    NoMac,
}

/// Forward direction of full NAT: `src := snat` (node address and SNAT port),
/// `dst := backend`.
pub fn forward(
    frame: &mut [u8],
    parsed: &Parsed,
    snat: SocketAddr,
    backend: SocketAddr,
) -> Result<(), NatError> {
    rewrite(frame, parsed, snat, backend)
}

/// Reverse direction of full NAT (a reply from the backend to the node):
/// `src := vip`, `dst := client`.
pub fn reverse(
    frame: &mut [u8],
    parsed: &Parsed,
    vip: SocketAddr,
    client: SocketAddr,
) -> Result<(), NatError> {
    rewrite(frame, parsed, vip, client)
}

/// Sets the source and destination address and port of the TCP/UDP datagram `parsed`
/// describes, fixing checksums incrementally. See the module documentation.
pub fn rewrite(
    frame: &mut [u8],
    parsed: &Parsed,
    src: SocketAddr,
    dst: SocketAddr,
) -> Result<(), NatError> {
    let Kind::Ip(l4) = &parsed.kind else {
        return Err(NatError::Unsupported);
    };
    let proto = l4.flow.proto;
    if proto != protocol::TCP && proto != protocol::UDP {
        return Err(NatError::Unsupported);
    }
    let l3 = frame
        .get_mut(parsed.l3_offset..l4.ip_end)
        .ok_or(NatError::BadOffsets)?;
    let change = match (l4.flow.family, src, dst) {
        (Family::V4, SocketAddr::V4(s), SocketAddr::V4(d)) => {
            let ip = ipv4::Packet::new_checked(&*l3).map_err(|_| NatError::BadOffsets)?;
            AddrChange::V4 {
                old: (ip.src(), ip.dst()),
                new: (s.ip().octets(), d.ip().octets()),
            }
        }
        (Family::V6, SocketAddr::V6(s), SocketAddr::V6(d)) => {
            let ip = ipv6::Packet::new_checked(&*l3).map_err(|_| NatError::BadOffsets)?;
            AddrChange::V6 {
                old: (ip.src(), ip.dst()),
                new: (s.ip().octets(), d.ip().octets()),
            }
        }
        _ => return Err(NatError::FamilyMismatch),
    };
    rewrite_transport(frame, l4, &change, src.port(), dst.port())?;
    // Cannot fail: the same slice passed `new_checked` above and only its L4 part changed.
    let l3 = frame
        .get_mut(parsed.l3_offset..l4.ip_end)
        .ok_or(NatError::BadOffsets)?;
    change.write_ip(l3)
}

/// An address change, old and new `(src, dst)`.
enum AddrChange {
    V4 {
        old: ([u8; 4], [u8; 4]),
        new: ([u8; 4], [u8; 4]),
    },
    V6 {
        old: ([u8; 16], [u8; 16]),
        new: ([u8; 16], [u8; 16]),
    },
}

impl AddrChange {
    /// A checksum covering both addresses, updated for the change.
    fn update(&self, csum: u16) -> u16 {
        match self {
            AddrChange::V4 { old, new } => {
                let be = u32::from_be_bytes;
                let c = update32(csum, be(old.0), be(new.0));
                update32(c, be(old.1), be(new.1))
            }
            AddrChange::V6 { old, new } => {
                update128(update128(csum, &old.0, &new.0), &old.1, &new.1)
            }
        }
    }

    fn is_v4(&self) -> bool {
        matches!(self, AddrChange::V4 { .. })
    }

    /// Writes the new addresses into the IP header (and its checksum for IPv4).
    fn write_ip(&self, l3: &mut [u8]) -> Result<(), NatError> {
        match self {
            AddrChange::V4 { new, .. } => {
                let mut ip = ipv4::Packet::new_checked(l3).map_err(|_| NatError::BadOffsets)?;
                let csum = self.update(ip.checksum());
                ip.set_src(new.0);
                ip.set_dst(new.1);
                ip.set_checksum(csum);
            }
            AddrChange::V6 { new, .. } => {
                let mut ip = ipv6::Packet::new_checked(l3).map_err(|_| NatError::BadOffsets)?;
                ip.set_src(new.0);
                ip.set_dst(new.1);
            }
        }
        Ok(())
    }
}

/// Rewrites the ports and the TCP/UDP checksum (pseudo-header addresses included).
fn rewrite_transport(
    frame: &mut [u8],
    l4: &L4,
    change: &AddrChange,
    sport: u16,
    dport: u16,
) -> Result<(), NatError> {
    let buf = frame
        .get_mut(l4.offset..l4.ip_end)
        .ok_or(NatError::BadOffsets)?;
    match l4.flow.proto {
        protocol::TCP => {
            let mut p = tcp::Packet::new_checked(buf).map_err(|_| NatError::BadOffsets)?;
            let c = change.update(p.checksum());
            let c = update16(update16(c, p.src_port(), sport), p.dst_port(), dport);
            p.set_src_port(sport);
            p.set_dst_port(dport);
            p.set_checksum(c);
        }
        protocol::UDP => {
            let mut p = udp::Packet::new_checked(buf).map_err(|_| NatError::BadOffsets)?;
            let old = p.checksum();
            if !(change.is_v4() && old == 0) {
                let c = change.update(old);
                let c = update16(update16(c, p.src_port(), sport), p.dst_port(), dport);
                p.set_checksum(if c == 0 { 0xFFFF } else { c });
            }
            p.set_src_port(sport);
            p.set_dst_port(dport);
        }
        _ => return Err(NatError::Unsupported),
    }
    Ok(())
}
