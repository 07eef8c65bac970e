//! Looking ahead over a burst: [`Pipeline::ahead`] and the prefetches it drives.
//!
//! At a high flow count most of a frame's time is two dependent cache misses in the connection
//! table: its bucket window, then its slot. Taken frame by frame they come one after another.
//! A port that can show a burst's frames before handing them out (`Port::rx_burst_ahead` of
//! `strait-device`) lets the pipeline hash every frame's key first and prefetch the line of its
//! home bucket, where its key nearly always is (`Conntrack::prefetch_window`); while the burst
//! is processed, the slot of the frame [`SLOT_DISTANCE`] places ahead is prefetched too (its
//! bucket is in cache by then). The misses of a whole burst overlap instead of adding up.
//!
//! # Invariants
//! * Looking ahead changes nothing: no counter, no connection, no frame. Skipping it, or
//!   handing it other frames than the ones processed next, changes only timing.
//! * [`flow_key`] is a hint, not a parser: it reads untagged or single-tagged IPv4/IPv6
//!   TCP/UDP headers without validating them (`parse_frame` still does that), returns `None`
//!   for anything else and never reads outside the frame.
//! * At most [`AHEAD_MAX`] frames per burst are remembered; later ones are not looked at.
//! * A remembered hash is only a hint for the lookup of the frame processed at its place:
//!   a hit proves the key (the table compares whole keys), and a miss is retried with the
//!   key's own hash unless the hint was that hash.

use strait_conntrack::KeyHash;
use strait_packet::FlowKey;
use strait_packet::ethernet::{HEADER_LEN, VLAN_TAG_LEN, ethertype};
use strait_packet::ip::protocol;

use crate::pipeline::Pipeline;

/// The first `N` bytes of `b` at `at`, as an array: one bounds check for a whole header.
fn header<const N: usize>(b: &[u8], at: usize) -> Option<&[u8; N]> {
    b.get(at..)?.first_chunk()
}

/// The flow key `parse_frame` would give a well-formed TCP/UDP frame, read without checks.
///
/// Each layer is read from one fixed-size view (one length check per layer), so the fields
/// are loads at constant offsets.
pub(crate) fn flow_key(frame: &[u8]) -> Option<FlowKey> {
    let eth = header::<{ HEADER_LEN + VLAN_TAG_LEN }>(frame, 0)?;
    let [.., t0, t1, _, _, v0, v1] = *eth;
    // Untagged IPv4, the usual frame, is tested first.
    let (l3, ty) = match u16::from_be_bytes([t0, t1]) {
        ethertype::IPV4 => (HEADER_LEN, ethertype::IPV4),
        ethertype::VLAN => (HEADER_LEN + VLAN_TAG_LEN, u16::from_be_bytes([v0, v1])),
        ty => (HEADER_LEN, ty),
    };
    let (key, l4) = match ty {
        ethertype::IPV4 => {
            let ip = header::<20>(frame, l3)?;
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let (src, dst) = (*ip[12..].first_chunk()?, *ip[16..].first_chunk()?);
            (FlowKey::v4(src, dst, ip[9], 0, 0), l3 + ihl)
        }
        ethertype::IPV6 => {
            let ip = header::<40>(frame, l3)?;
            let (src, dst) = (*ip[8..].first_chunk()?, *ip[24..].first_chunk()?);
            (FlowKey::v6(src, dst, ip[6], 0, 0), l3 + 40)
        }
        _ => return None,
    };
    if key.proto != protocol::TCP && key.proto != protocol::UDP {
        return None;
    }
    let &[s0, s1, d0, d1] = header::<4>(frame, l4)?;
    Some(FlowKey {
        src_port: u16::from_be_bytes([s0, s1]),
        dst_port: u16::from_be_bytes([d0, d1]),
        ..key
    })
}

/// Frames of one burst the pipeline remembers from [`Pipeline::ahead`].
pub const AHEAD_MAX: usize = 64;

/// How many frames before its turn a frame's connection slot is prefetched: far enough for the
/// load to land before the frame is processed, near enough for its window to be in cache.
pub const SLOT_DISTANCE: usize = 4;

/// The hashes of the burst's frames seen ahead, and how far processing has got.
#[derive(Debug)]
pub(crate) struct Ahead {
    hashes: [Option<KeyHash>; AHEAD_MAX],
    len: usize,
    next: usize,
}

impl Default for Ahead {
    fn default() -> Self {
        Ahead {
            hashes: [None; AHEAD_MAX],
            len: 0,
            next: 0,
        }
    }
}

impl Ahead {
    /// Forgets the last burst.
    pub(crate) fn clear(&mut self) {
        self.len = 0;
        self.next = 0;
    }
}

impl Pipeline {
    /// Shows the pipeline a frame of this burst before any of the burst is processed (see the
    /// module documentation): call it after [`Pipeline::begin_burst`], once per received
    /// frame, in the order [`Pipeline::process`] will get them.
    #[inline]
    pub fn ahead(&mut self, frame: &[u8]) {
        let a = &mut self.ahead;
        if a.len == AHEAD_MAX {
            return;
        }
        let h = flow_key(frame).map(|key| self.conntrack.hash(&key));
        if let Some(h) = h {
            self.conntrack.prefetch_window(h);
        }
        a.hashes[a.len] = h;
        a.len += 1;
    }

    /// One received frame is about to be processed: prefetch the slot of the frame
    /// [`SLOT_DISTANCE`] places later (and, before the first, of the ones up to it). Returns
    /// the hash [`Pipeline::ahead`] computed for this frame: a hint for its lookup, which may
    /// belong to another key if `ahead` was shown other frames (see
    /// [`strait_conntrack::Conntrack::lookup_hinted`]).
    #[inline]
    pub(crate) fn step_ahead(&mut self) -> Option<KeyHash> {
        let a = &mut self.ahead;
        let i = a.next;
        a.next += 1;
        let seen = &a.hashes[..a.len.min(AHEAD_MAX)];
        if i == 0 {
            for h in seen.iter().take(SLOT_DISTANCE).flatten() {
                self.conntrack.prefetch_slot(*h);
            }
        }
        if let Some(Some(h)) = seen.get(i + SLOT_DISTANCE) {
            self.conntrack.prefetch_slot(*h);
        }
        seen.get(i).copied().flatten()
    }
}

#[cfg(test)]
mod tests {
    use strait_packet::{Kind, parse_frame};

    use super::*;

    fn tcp4(vlan: bool) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        if vlan {
            f.extend_from_slice(&[0x81, 0x00, 0x00, 0x05]);
        }
        f.extend_from_slice(&[0x08, 0x00]);
        let mut ip = [
            0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 198, 19, 0, 1, 198, 18, 0, 100,
        ];
        let sum = strait_packet::checksum::checksum(&ip);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        f.extend_from_slice(&ip);
        let mut tcp = [0u8; 20];
        tcp[0..2].copy_from_slice(&40000u16.to_be_bytes());
        tcp[2..4].copy_from_slice(&80u16.to_be_bytes());
        tcp[12] = 0x50;
        f.extend_from_slice(&tcp);
        f
    }

    #[test]
    fn the_hint_matches_the_parser() {
        for vlan in [false, true] {
            let f = tcp4(vlan);
            let Ok(parsed) = parse_frame(&f) else {
                panic!("valid frame")
            };
            let Kind::Ip(l4) = parsed.kind else {
                panic!("IP")
            };
            assert_eq!(flow_key(&f), Some(l4.flow));
        }
    }

    #[test]
    fn the_hint_never_reads_past_the_frame() {
        let f = tcp4(true);
        for n in 0..f.len() {
            let _ = flow_key(&f[..n]);
        }
        assert_eq!(flow_key(&f[..f.len() - 20]), None, "ports cut off");
        let mut arp = f.clone();
        arp[16..18].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(flow_key(&arp), None);
    }
}
