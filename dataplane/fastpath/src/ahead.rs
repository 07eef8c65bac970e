//! Looking ahead over a burst: [`Pipeline::ahead`] and the prefetches it drives.
//!
//! At a high flow count most of a frame's time is two dependent cache misses in the connection
//! table: its bucket window, then its slot. Taken frame by frame they come one after another.
//! A port that can show a burst's frames before handing them out (`Port::rx_burst_ahead` of
//! `strait-device`) lets the pipeline hash every frame's key
//! first and prefetch its bucket window; while the burst is processed, the slot of the frame
//! [`SLOT_DISTANCE`] places ahead is prefetched too (its window is in cache by then). The misses
//! of a whole burst overlap instead of adding up.
//!
//! # Invariants
//! * Looking ahead changes nothing: no counter, no connection, no frame. Skipping it, or
//!   handing it other frames than the ones processed next, changes only timing.
//! * [`flow_key`] is a hint, not a parser: it reads untagged or single-tagged IPv4/IPv6
//!   TCP/UDP headers without validating them (`parse_frame` still does that), returns `None`
//!   for anything else and never reads outside the frame.
//! * At most [`AHEAD_MAX`] frames per burst are remembered; later ones are not looked at.

use strait_conntrack::KeyHash;
use strait_packet::FlowKey;
use strait_packet::ethernet::{HEADER_LEN, VLAN_TAG_LEN, ethertype};
use strait_packet::ip::protocol;

use crate::pipeline::Pipeline;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn array<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at + N)?.try_into().ok()
}

/// The flow key `parse_frame` would give a well-formed TCP/UDP frame, read without checks.
pub(crate) fn flow_key(frame: &[u8]) -> Option<FlowKey> {
    let mut l3 = HEADER_LEN;
    let mut ty = be16(frame, 12)?;
    if ty == ethertype::VLAN {
        ty = be16(frame, 16)?;
        l3 += VLAN_TAG_LEN;
    }
    let (key, l4) = match ty {
        ethertype::IPV4 => {
            let ihl = usize::from(*frame.get(l3)? & 0x0f) * 4;
            let proto = *frame.get(l3 + 9)?;
            let src = array::<4>(frame, l3 + 12)?;
            let dst = array::<4>(frame, l3 + 16)?;
            (FlowKey::v4(src, dst, proto, 0, 0), l3 + ihl)
        }
        ethertype::IPV6 => {
            let proto = *frame.get(l3 + 6)?;
            let src = array::<16>(frame, l3 + 8)?;
            let dst = array::<16>(frame, l3 + 24)?;
            (FlowKey::v6(src, dst, proto, 0, 0), l3 + 40)
        }
        _ => return None,
    };
    if key.proto != protocol::TCP && key.proto != protocol::UDP {
        return None;
    }
    Some(FlowKey {
        src_port: be16(frame, l4)?,
        dst_port: be16(frame, l4 + 2)?,
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
    /// [`SLOT_DISTANCE`] places later (and, before the first, of the ones up to it).
    #[inline]
    pub(crate) fn step_ahead(&mut self) {
        let a = &mut self.ahead;
        let i = a.next;
        a.next += 1;
        let end = (i + SLOT_DISTANCE + 1).min(a.len);
        let first = if i == 0 { 0 } else { i + SLOT_DISTANCE };
        for h in a.hashes.get(first..end).unwrap_or(&[]).iter().flatten() {
            self.conntrack.prefetch_slot(*h);
        }
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
