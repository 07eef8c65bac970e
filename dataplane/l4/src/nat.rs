//! Full-NAT rewriting of a parsed frame, in place.
//!
//! Full NAT replaces both ends of a TCP or UDP datagram:
//! * forward (client → VIP): [`forward`] sets `src = node:snat_port`, `dst = backend:port`;
//! * reverse (backend → node): [`reverse`] sets `src = vip:port`, `dst = client:port`;
//!
//! both are [`rewrite`], which sets the four fields to whatever it is given; the packet path
//! calls [`rewrite_ends`] with the same fields in flow-key form (and, for routed full NAT, the
//! TTL decrement folded into the same IPv4 checksum update).
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
//!   the TTL and sets MACs with [`crate::set_macs`] for the next hop as its routing requires),
//!   except that [`rewrite_ends`] with `route` also decrements the TTL / hop limit.
//!
//! # Order of use
//! `parse_frame(&frame)` → [`rewrite`] / [`forward`] / [`reverse`] with the returned
//! [`Parsed`] of that same frame.

use core::net::SocketAddr;
use strait_packet::flow::v4_mapped;
use strait_packet::ip::protocol;
use strait_packet::{Family, FlowKey, Kind, Parsed, ipv4, ipv6};
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
    // The same order of checks as `rewrite_ends`: protocol, then family.
    if l4.flow.proto != protocol::TCP && l4.flow.proto != protocol::UDP {
        return Err(NatError::Unsupported);
    }
    let (s, d) = match (l4.flow.family, src, dst) {
        (Family::V4, SocketAddr::V4(s), SocketAddr::V4(d)) => {
            (v4_mapped(s.ip().octets()), v4_mapped(d.ip().octets()))
        }
        (Family::V6, SocketAddr::V6(s), SocketAddr::V6(d)) => (s.ip().octets(), d.ip().octets()),
        _ => return Err(NatError::FamilyMismatch),
    };
    let ends = Ends {
        src: &s,
        src_port: src.port(),
        dst: &d,
        dst_port: dst.port(),
    };
    rewrite_ends(frame, parsed, &ends, false)
}

/// The new ends of a datagram for [`rewrite_ends`], addresses in flow-key form (16 bytes,
/// IPv4-mapped for IPv4: only the last four bytes are written into an IPv4 header).
#[derive(Clone, Copy, Debug)]
pub struct Ends<'a> {
    /// New source address.
    pub src: &'a [u8; 16],
    /// New source port.
    pub src_port: u16,
    /// New destination address.
    pub dst: &'a [u8; 16],
    /// New destination port.
    pub dst_port: u16,
}

impl<'a> Ends<'a> {
    /// The ends of a datagram sent along `key`'s direction: its own source and destination.
    pub fn along(key: &'a FlowKey) -> Ends<'a> {
        Ends {
            src: &key.src,
            src_port: key.src_port,
            dst: &key.dst,
            dst_port: key.dst_port,
        }
    }

    /// The ends of a datagram sent against `key`'s direction: from its destination to its
    /// source (a full-NAT connection's reply key gives the forward rewrite, and its forward
    /// key the reverse one).
    pub fn against(key: &'a FlowKey) -> Ends<'a> {
        Ends {
            src: &key.dst,
            src_port: key.dst_port,
            dst: &key.src,
            dst_port: key.src_port,
        }
    }
}

/// [`rewrite`] for the packet path: the addresses are in flow-key form and of the packet's
/// family (as the keys of the packet's connection are), so no `SocketAddr` is built or
/// matched. With `route`, the IPv4 TTL (with the header checksum, in the same update) or the
/// IPv6 hop limit is decremented as well, saturating at 0; this is the one exception to "no
/// TTL" in the module documentation.
#[inline(always)]
pub fn rewrite_ends(
    frame: &mut [u8],
    parsed: &Parsed,
    ends: &Ends<'_>,
    route: bool,
) -> Result<(), NatError> {
    let Kind::Ip(l4) = &parsed.kind else {
        return Err(NatError::Unsupported);
    };
    let proto = l4.flow.proto;
    // The transport header must be whole: TCP's checksum is at 16, UDP's at 6.
    let (csum_at, header_len) = match proto {
        protocol::TCP => (16, 20),
        protocol::UDP => (6, 8),
        _ => return Err(NatError::Unsupported),
    };
    let (l3, at, end) = (parsed.l3_offset, l4.offset, l4.ip_end);
    // The datagram is in the frame and the IP header ends where the transport header starts;
    // split where the parser says, with no arithmetic that could overflow.
    let split = frame
        .get_mut(..end)
        .and_then(|d| d.split_at_mut_checked(at));
    let Some((ip, transport)) = split.filter(|(_, t)| t.len() >= header_len) else {
        return Err(NatError::BadOffsets);
    };
    let Some((ports, rest)) = transport.split_first_chunk_mut::<4>() else {
        return Err(NatError::BadOffsets);
    };
    let Some(c) = rest.get_mut(csum_at - 4..csum_at - 2) else {
        return Err(NatError::BadOffsets);
    };
    let v4 = l4.flow.family == Family::V4;
    // The last check is the IP header's; each arm only writes once it has passed.
    let addr_delta = if v4 {
        rewrite_v4(header_at(ip, l3, 4)?, ends, route)
    } else {
        rewrite_v6(header_at(ip, l3, 6)?, ends, route)
    };
    let delta = addr_delta + set_ports(ports, ends);
    update_transport_checksum(c, proto == protocol::UDP, v4, delta);
    Ok(())
}

/// Writes `ends`' ports into a transport header's first four bytes; returns their delta for
/// the transport checksum.
#[inline(always)]
pub(crate) fn set_ports(ports: &mut [u8; 4], ends: &Ends<'_>) -> u64 {
    let old = u32::from_ne_bytes(*ports);
    let new = (u32::from(ends.src_port) << 16 | u32::from(ends.dst_port)).to_be_bytes();
    *ports = new;
    delta32(old, u32::from_ne_bytes(new))
}

/// Applies `delta` to the TCP or UDP checksum field `c` (2 bytes, native order): UDP over IPv4
/// with no checksum (0, RFC 768) keeps 0, and a UDP result of 0 is stored as `0xFFFF`.
#[inline(always)]
pub(crate) fn update_transport_checksum(c: &mut [u8], udp: bool, v4: bool, delta: u64) {
    let old = u16::from_ne_bytes([c[0], c[1]]);
    if udp && v4 && old == 0 {
        return;
    }
    let mut csum = apply(old, delta);
    if udp && csum == 0 {
        csum = 0xFFFF;
    }
    c.copy_from_slice(&csum.to_ne_bytes());
}

/// The `N`-byte IP header at `l3` of `ip` (the bytes before the transport header), if it is
/// whole there and of IP version `version`.
#[inline]
fn header_at<const N: usize>(
    ip: &mut [u8],
    l3: usize,
    version: u8,
) -> Result<&mut [u8; N], NatError> {
    match ip.get_mut(l3..).and_then(|h| h.first_chunk_mut::<N>()) {
        Some(h) if h[0] >> 4 == version => Ok(h),
        _ => Err(NatError::BadOffsets),
    }
}

/// Writes the new addresses (and, with `route`, the decremented TTL) into an IPv4 header,
/// updating its checksum; returns the addresses' delta for the transport checksum.
#[inline(always)]
pub(crate) fn rewrite_v4(h: &mut [u8; ipv4::HEADER_LEN], ends: &Ends<'_>, route: bool) -> u64 {
    let (old_s, old_d) = (ne32(&h[12..16]), ne32(&h[16..20]));
    let (new_s, new_d) = (ne32(&ends.src[12..]), ne32(&ends.dst[12..]));
    let delta = delta32(old_s, new_s) + delta32(old_d, new_d);
    h[12..16].copy_from_slice(&new_s.to_ne_bytes());
    h[16..20].copy_from_slice(&new_d.to_ne_bytes());
    let mut ip_delta = delta;
    if route {
        // TTL and protocol share the word at 8; the new word is made in a register.
        let [ttl, proto] = [h[8], h[9]];
        let new_ttl = ttl.saturating_sub(1);
        h[8] = new_ttl;
        let (old, new) = (
            u16::from_ne_bytes([ttl, proto]),
            u16::from_ne_bytes([new_ttl, proto]),
        );
        ip_delta += u64::from(!old) + u64::from(new);
    }
    let csum = apply(u16::from_ne_bytes([h[10], h[11]]), ip_delta);
    h[10..12].copy_from_slice(&csum.to_ne_bytes());
    delta
}

/// Writes the new addresses (and, with `route`, the decremented hop limit) into an IPv6
/// header; returns the addresses' delta for the transport checksum.
#[inline]
pub(crate) fn rewrite_v6(h: &mut [u8; ipv6::HEADER_LEN], ends: &Ends<'_>, route: bool) -> u64 {
    let delta = delta128(&h[8..24], ends.src) + delta128(&h[24..40], ends.dst);
    h[8..24].copy_from_slice(ends.src);
    h[24..40].copy_from_slice(ends.dst);
    if route {
        h[7] = h[7].saturating_sub(1);
    }
    delta
}

// Checksum arithmetic on native-order words: the one's-complement sum of byte-swapped words
// is the byte-swapped sum (RFC 1071 §2(B)), so reading every word (checksum fields included)
// and writing every result in the same native order gives the bytes the big-endian
// computation gives, without swapping a word.

/// The native-order word of 4 bytes (`b` is 4 bytes long).
#[inline]
fn ne32(b: &[u8]) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(b);
    u32::from_ne_bytes(w)
}

/// The delta of a 32-bit word `old` becoming `new` (RFC 1624 eqn. 3: `~m + m'`).
#[inline]
fn delta32(old: u32, new: u32) -> u64 {
    u64::from(!old) + u64::from(new)
}

/// The delta of a 16-byte field `old` (a slice of 16 bytes) becoming `new`.
#[inline]
fn delta128(old: &[u8], new: &[u8; 16]) -> u64 {
    (0..4)
        .map(|i| delta32(ne32(&old[i * 4..i * 4 + 4]), ne32(&new[i * 4..i * 4 + 4])))
        .sum()
}

/// `~(~csum + delta)`, folded to 16 bits with end-around carry: 64 → 32 → 16 bits, each an
/// add with its carry added back (a carry out leaves at most `MAX - 1`, so that add cannot
/// carry again; `0xFFFF` divides `2^32 - 1`, so the first step keeps the sum).
#[inline]
fn apply(csum: u16, delta: u64) -> u16 {
    let acc = u64::from(!csum) + delta;
    let (lo, carry) = (acc as u32).overflowing_add((acc >> 32) as u32);
    let x = lo + u32::from(carry);
    let (lo, carry) = (x as u16).overflowing_add((x >> 16) as u16);
    !(lo + u16::from(carry))
}
