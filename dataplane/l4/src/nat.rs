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
use strait_packet::ip::protocol;
use strait_packet::{Family, Kind, Parsed, ipv4, ipv6};
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
    let (l3, at, end) = (parsed.l3_offset, l4.offset, l4.ip_end);
    // The transport header must be whole: TCP's checksum is at 16, UDP's at 6.
    let csum_at = if proto == protocol::TCP { 16 } else { 6 };
    let header_len = if proto == protocol::TCP { 20 } else { 8 };
    if at + header_len > end || end > frame.len() {
        return Err(NatError::BadOffsets);
    }
    // One's-complement deltas (RFC 1624 eqn. 3): Σ(~old + new) over every changed word.
    let (addr_delta, ip_csum_at) = match (l4.flow.family, src, dst) {
        (Family::V4, SocketAddr::V4(s), SocketAddr::V4(d)) => {
            if l3 + ipv4::HEADER_LEN > at || frame[l3] >> 4 != 4 {
                return Err(NatError::BadOffsets);
            }
            let (old_s, old_d) = (be32(frame, l3 + 12), be32(frame, l3 + 16));
            let (new_s, new_d) = (u32::from(*s.ip()), u32::from(*d.ip()));
            let delta = delta32(old_s, new_s) + delta32(old_d, new_d);
            frame[l3 + 12..l3 + 16].copy_from_slice(&new_s.to_be_bytes());
            frame[l3 + 16..l3 + 20].copy_from_slice(&new_d.to_be_bytes());
            (delta, Some(l3 + 10))
        }
        (Family::V6, SocketAddr::V6(s), SocketAddr::V6(d)) => {
            if l3 + ipv6::HEADER_LEN > at || frame[l3] >> 4 != 6 {
                return Err(NatError::BadOffsets);
            }
            let (new_s, new_d) = (s.ip().octets(), d.ip().octets());
            let delta = delta128(&frame[l3 + 8..l3 + 24], &new_s)
                + delta128(&frame[l3 + 24..l3 + 40], &new_d);
            frame[l3 + 8..l3 + 24].copy_from_slice(&new_s);
            frame[l3 + 24..l3 + 40].copy_from_slice(&new_d);
            (delta, None)
        }
        _ => return Err(NatError::FamilyMismatch),
    };
    // Checks are done: from here on only writes.
    if let Some(c) = ip_csum_at {
        let csum = apply(be16(frame, c), addr_delta);
        frame[c..c + 2].copy_from_slice(&csum.to_be_bytes());
    }
    let (old_sp, old_dp) = (be16(frame, at), be16(frame, at + 2));
    let (new_sp, new_dp) = (src.port(), dst.port());
    frame[at..at + 2].copy_from_slice(&new_sp.to_be_bytes());
    frame[at + 2..at + 4].copy_from_slice(&new_dp.to_be_bytes());
    let c = at + csum_at;
    let old = be16(frame, c);
    // UDP over IPv4 may carry no checksum (0): it stays 0.
    if proto == protocol::UDP && ip_csum_at.is_some() && old == 0 {
        return Ok(());
    }
    let delta =
        addr_delta + u64::from(delta16(old_sp, new_sp)) + u64::from(delta16(old_dp, new_dp));
    let mut csum = apply(old, delta);
    if proto == protocol::UDP && csum == 0 {
        csum = 0xFFFF;
    }
    frame[c..c + 2].copy_from_slice(&csum.to_be_bytes());
    Ok(())
}

// One range check per field, not one per byte: these run several times per packet.
#[inline]
fn be16(b: &[u8], at: usize) -> u16 {
    let mut w = [0u8; 2];
    w.copy_from_slice(&b[at..at + 2]);
    u16::from_be_bytes(w)
}

#[inline]
fn be32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_be_bytes(w)
}

fn delta16(old: u16, new: u16) -> u32 {
    u32::from(!old) + u32::from(new)
}

fn delta32(old: u32, new: u32) -> u64 {
    u64::from(!old) + u64::from(new)
}

/// The delta of a 16-byte field `old` (a slice of 16 bytes) becoming `new`.
fn delta128(old: &[u8], new: &[u8; 16]) -> u64 {
    (0..4)
        .map(|i| delta32(be32(old, i * 4), be32(new, i * 4)))
        .sum()
}

/// `~(~csum + delta)`, folded to 16 bits.
fn apply(csum: u16, delta: u64) -> u16 {
    let mut acc = u64::from(!csum) + delta;
    acc = (acc & 0xFFFF_FFFF) + (acc >> 32);
    acc = (acc & 0xFFFF) + (acc >> 16);
    acc = (acc & 0xFFFF) + (acc >> 16);
    acc = (acc & 0xFFFF) + (acc >> 16);
    !(acc as u16)
}
