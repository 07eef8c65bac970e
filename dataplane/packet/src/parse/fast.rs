//! The usual frame in one pass: untagged Ethernet, IPv4 without options, TCP or UDP.
//!
//! [`ipv4_untagged_or`] reads the three headers at constant offsets of one bounds-checked
//! array instead of opening a view per layer, so its checks are loads and compares with no
//! slicing in between. It hands any other frame to its fallback (the layered walk) itself, so
//! the usual frame's `Parsed` is written once, straight into the returned `Result`: an
//! `Option` converted into it afterwards cost a copy of the whole ~100-byte value a frame.
//!
//! # Invariants
//! * `Ok(p)` without the fallback only if the layered walk ([`super::layered`]) gives `Ok(p)`
//!   for the same bytes: every check it makes is made here (length, version, header length,
//!   total length, checksum, TTL, fragment offset, transport header), and the offsets and key
//!   are computed the same way. A property test compares the two on random and mutated
//!   frames.
//! * Anything else (a VLAN tag, IP options, another ethertype or protocol, a frame shorter
//!   than [`MIN`], any failed check) goes to the fallback, which decides, drop reason
//!   included.
//! * Never reads outside `buf`.

use crate::ethernet::{self, ethertype};
use crate::ip::protocol;
use crate::{DropReason, FlowKey, checksum, ipv4, tcp, udp};

use super::{Kind, L4, Parsed};

const ETH: usize = ethernet::HEADER_LEN;
const IP: usize = ipv4::HEADER_LEN;
/// The bytes read: Ethernet, IPv4 and a TCP header without options (60-byte minimum frames
/// always have them).
pub(super) const MIN: usize = ETH + IP + tcp::HEADER_LEN;

/// [`ipv4_untagged_or`] without the fallback: `None` where it would be called.
#[cfg(test)]
pub(super) fn ipv4_untagged(buf: &[u8]) -> Option<Parsed> {
    // The fast path itself never answers `Err`: only the fallback does.
    ipv4_untagged_or(buf, |_| Err(DropReason::TooShort)).ok()
}

/// Parses `buf` if it is the usual frame (see the module documentation), else returns
/// `otherwise(buf)`.
#[inline(always)]
pub(super) fn ipv4_untagged_or(
    buf: &[u8],
    otherwise: impl FnOnce(&[u8]) -> Result<Parsed, DropReason>,
) -> Result<Parsed, DropReason> {
    let Some(h) = buf.first_chunk::<MIN>() else {
        return otherwise(buf);
    };
    let Some(ip) = h[ETH..].first_chunk::<IP>() else {
        return otherwise(buf);
    };
    // Version 4 with a 20-byte header.
    if u16::from_be_bytes([h[12], h[13]]) != ethertype::IPV4 || ip[0] != 0x45 {
        return otherwise(buf);
    }
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let (ttl, frag) = (ip[8], u16::from_be_bytes([ip[6], ip[7]]));
    if total < IP || total > buf.len() - ETH || !checksum::sums_to_ones(ip) || ttl <= 1 {
        return otherwise(buf);
    }
    // A non-first fragment (offset bits) goes to the layered walk; MF alone is a first fragment.
    if frag & 0x1fff != 0 {
        return otherwise(buf);
    }
    let t = &h[ETH + IP..];
    let payload = total - IP;
    let (header_len, len) = match ip[9] {
        protocol::TCP => {
            let hl = usize::from(t[12] >> 4) * 4;
            if payload < tcp::HEADER_LEN || hl < tcp::HEADER_LEN || hl > payload {
                return otherwise(buf);
            }
            (hl, payload)
        }
        protocol::UDP => {
            let ulen = usize::from(u16::from_be_bytes([t[4], t[5]]));
            if payload < udp::HEADER_LEN || ulen < udp::HEADER_LEN || ulen > payload {
                return otherwise(buf);
            }
            (udp::HEADER_LEN, ulen)
        }
        _ => return otherwise(buf),
    };
    let offset = ETH + IP;
    let addr = |at: usize| [ip[at], ip[at + 1], ip[at + 2], ip[at + 3]];
    let port = |at: usize| u16::from_be_bytes([t[at], t[at + 1]]);
    Ok(Parsed {
        vlan: None,
        l3_offset: ETH,
        kind: Kind::Ip(L4 {
            offset,
            payload_offset: offset + header_len,
            payload_end: offset + len,
            ip_end: ETH + total,
            ttl,
            more_fragments: frag & 0x2000 != 0,
            flow: FlowKey::v4(addr(12), addr(16), ip[9], port(0), port(2)),
        }),
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The fields a test frame is built from; `frame` fills in a valid checksum.
    #[derive(Debug, Clone)]
    struct Shape {
        udp: bool,
        /// TCP option words.
        options: u8,
        payload: usize,
        /// Bytes after the IP datagram.
        pad: usize,
        ttl: u8,
        /// Flags and fragment offset.
        frag: u16,
        /// Added to the true IP total length.
        total_delta: i32,
        /// Added to the true TCP data offset or UDP length.
        t_delta: i32,
        protocol: Option<u8>,
    }

    const GOOD: Shape = Shape {
        udp: false,
        options: 0,
        payload: 6,
        pad: 0,
        ttl: 64,
        frag: 0x4000,
        total_delta: 0,
        t_delta: 0,
        protocol: None,
    };

    fn frame(s: &Shape) -> Vec<u8> {
        let t_len = if s.udp {
            8
        } else {
            20 + 4 * usize::from(s.options)
        };
        let total = (IP + t_len + s.payload) as i32;
        let mut f = vec![2, 0, 0, 0, 0, 0xaa, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        let mut ip = [
            0x45, 0, 0, 0, 0, 1, 0, 0, s.ttl, 0, 0, 0, 198, 19, 0, 1, 198, 18, 0, 100,
        ];
        ip[2..4].copy_from_slice(&((total + s.total_delta) as u16).to_be_bytes());
        ip[6..8].copy_from_slice(&s.frag.to_be_bytes());
        let default = if s.udp { protocol::UDP } else { protocol::TCP };
        ip[9] = s.protocol.unwrap_or(default);
        let sum = checksum::checksum(&ip);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        f.extend_from_slice(&ip);
        let mut t = vec![0u8; t_len];
        t[0..2].copy_from_slice(&40000u16.to_be_bytes());
        t[2..4].copy_from_slice(&80u16.to_be_bytes());
        if s.udp {
            let ulen = (8 + s.payload) as i32 + s.t_delta;
            t[4..6].copy_from_slice(&(ulen as u16).to_be_bytes());
        } else {
            let doff = (5 + i32::from(s.options) + s.t_delta) as u8;
            t[12] = doff << 4;
        }
        f.extend_from_slice(&t);
        f.resize(f.len() + s.payload + s.pad, 0x5a);
        f
    }

    fn fast_and_layered(f: &[u8]) -> (Option<Parsed>, Option<Parsed>) {
        (ipv4_untagged(f), super::super::layered(f).ok())
    }

    #[test]
    fn the_usual_frames_take_the_fast_path() {
        for (udp, options, payload) in [(false, 0, 6), (false, 1, 2), (true, 0, 18)] {
            let f = frame(&Shape {
                udp,
                options,
                payload,
                ..GOOD
            });
            assert_eq!(f.len(), 60);
            let (fast, layered) = fast_and_layered(&f);
            assert!(fast.is_some(), "udp {udp} options {options}");
            assert_eq!(fast, layered);
        }
        // Ethernet padding past the IP datagram is not part of it.
        let f = frame(&Shape {
            udp: true,
            payload: 2,
            pad: 16,
            ..GOOD
        });
        let Some(Parsed {
            kind: Kind::Ip(l4), ..
        }) = ipv4_untagged(&f)
        else {
            panic!("a padded UDP frame parses");
        };
        assert_eq!((l4.payload_end, l4.ip_end), (ETH + IP + 10, ETH + IP + 10));
    }

    #[test]
    fn other_frames_are_left_to_the_layered_walk() {
        let base = frame(&GOOD);
        let with = |at: usize, v: u8| {
            let mut f = base.clone();
            f[at] = v;
            f
        };
        let shaped = |s: Shape| frame(&s);
        // A VLAN tag, IP options, a bad checksum, short; TTL 1, a non-first fragment, ICMP,
        // lengths past the frame.
        for f in [
            with(12, 0x81),
            with(ETH, 0x46),
            with(ETH + 10, 0),
            base[..MIN - 1].to_vec(),
            shaped(Shape { ttl: 1, ..GOOD }),
            shaped(Shape {
                frag: 0x0001,
                ..GOOD
            }),
            shaped(Shape {
                protocol: Some(protocol::ICMP),
                ..GOOD
            }),
            shaped(Shape {
                total_delta: 1,
                ..GOOD
            }),
            shaped(Shape { t_delta: 2, ..GOOD }),
            shaped(Shape {
                udp: true,
                t_delta: 1,
                ..GOOD
            }),
        ] {
            assert_eq!(ipv4_untagged(&f), None);
        }
    }

    fn shapes() -> impl Strategy<Value = Shape> {
        (
            (any::<bool>(), 0u8..3, 0usize..40, 0usize..8),
            prop_oneof![0u8..3, Just(64), any::<u8>()],
            prop_oneof![
                Just(0),
                Just(0x2000),
                Just(0x4000),
                Just(0x1000),
                any::<u16>()
            ],
            prop_oneof![Just(0), -3i32..3],
            prop_oneof![Just(0), -3i32..3],
            prop_oneof![Just(None), any::<u8>().prop_map(Some)],
        )
            .prop_map(
                |((udp, options, payload, pad), ttl, frag, total_delta, t_delta, protocol)| Shape {
                    udp,
                    options,
                    payload,
                    pad,
                    ttl,
                    frag,
                    total_delta,
                    t_delta,
                    protocol,
                },
            )
    }

    proptest! {
        /// Wherever the fast path answers, the layered walk gives the same answer; and the
        /// fast path answers every untagged IPv4 TCP/UDP frame the layered walk accepts.
        #[test]
        fn the_fast_path_agrees_with_the_layered_walk(
            shape in shapes(),
            edit in proptest::option::of((0usize..80, any::<u8>())),
            cut in proptest::option::of(MIN - 2..100usize),
        ) {
            let mut f = frame(&shape);
            if let Some((at, v)) = edit
                && let Some(b) = f.get_mut(at)
            {
                *b = v;
            }
            if let Some(cut) = cut {
                f.truncate(cut);
            }
            let (fast, layered) = fast_and_layered(&f);
            if fast.is_some() {
                prop_assert_eq!(fast, layered);
            }
            let usual = f.len() >= MIN
                && f[12..14] == [0x08, 0x00]
                && f[ETH] == 0x45
                && matches!(f[ETH + 9], protocol::TCP | protocol::UDP);
            if usual && layered.is_some() {
                prop_assert!(fast.is_some(), "the layered walk took a usual frame");
            }
        }
    }
}
