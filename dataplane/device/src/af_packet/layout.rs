//! Where everything lies: how big a ring is, how it is cut into blocks, and where data
//! starts inside a frame.
//!
//! Every frame is [`FRAME_SIZE`] bytes and a block holds a whole number of frames, so the
//! frames of a ring lie back to back and frame `i` starts at `i * FRAME_SIZE`, page aligned.
//! A frame begins with a `tpacket2_hdr`; received data lies after the header and the
//! `sockaddr_ll` the kernel writes ([`RX_DATA`]), data to send right after the header
//! ([`TX_DATA`]). The assertions below check at compile time that this leaves every frame the
//! room the burst contract promises.

use libc::tpacket_req;

use super::frame::VLAN_LEN;
use crate::MIN_BUFFER;

/// Bytes per ring frame: a page, so a received frame has well over [`crate::MIN_BUFFER`]
/// bytes after its MAC header.
pub(super) const FRAME_SIZE: usize = 4096;
/// Fewest frames per ring: 16 frames make a 64 KiB block, a whole number of pages for every
/// page size Linux uses (4, 16 and 64 KiB).
pub(super) const MIN_FRAMES: u32 = 16;
/// Most frames per ring (256 MiB of frames).
pub(super) const MAX_FRAMES: u32 = 1 << 16;
/// Frames per block once a ring has that many: 128 KiB blocks, a small allocation order.
const MAX_FRAMES_PER_BLOCK: u32 = 32;
/// Where received data may start: after the header and the `sockaddr_ll` the kernel writes.
pub(super) const RX_DATA: usize = libc::TPACKET2_HDRLEN;
/// Where data to send starts (no `PACKET_TX_HAS_OFF`): right after the header.
pub(super) const TX_DATA: usize = libc::TPACKET2_HDRLEN - size_of::<libc::sockaddr_ll>();
/// The largest frame a TX ring frame holds.
pub(super) const TX_CAPACITY: usize = FRAME_SIZE - TX_DATA;
/// Where the kernel puts the MAC header of a received frame on a `SOCK_RAW` socket
/// (`net/packet/af_packet.c`: `TPACKET_ALIGN(tp_hdrlen + 16) - 14`).
const RX_MAC: usize = (RX_DATA + 16).next_multiple_of(libc::TPACKET_ALIGNMENT) - 14;

// Room for a stripped VLAN tag in front of the MAC header, then at least a minimum buffer to
// the end of the frame; and a minimum buffer in every TX frame.
const _: () = assert!(RX_MAC - RX_DATA >= VLAN_LEN);
const _: () = assert!(FRAME_SIZE - (RX_MAC - VLAN_LEN) >= MIN_BUFFER);
const _: () = assert!(TX_CAPACITY >= MIN_BUFFER);

/// How many frames one ring has: a requested size clamped to
/// [`MIN_FRAMES`]..=[`MAX_FRAMES`] and rounded up to a power of two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Geometry {
    frames: u32,
}

impl Geometry {
    /// The ring for `requested` frames.
    pub(super) fn new(requested: u32) -> Geometry {
        let frames = requested.clamp(MIN_FRAMES, MAX_FRAMES).next_power_of_two();
        Geometry { frames }
    }

    /// Frames in the ring.
    pub(super) fn frames(self) -> u32 {
        self.frames
    }

    /// The `PACKET_RX_RING` / `PACKET_TX_RING` request: blocks of whole frames, back to back.
    pub(super) fn request(self) -> tpacket_req {
        let per_block = self.frames.min(MAX_FRAMES_PER_BLOCK);
        tpacket_req {
            tp_block_size: per_block * FRAME_SIZE as u32,
            tp_block_nr: self.frames / per_block,
            tp_frame_size: FRAME_SIZE as u32,
            tp_frame_nr: self.frames,
        }
    }

    /// Bytes the ring takes in the mapping.
    pub(super) fn bytes(self) -> usize {
        self.frames as usize * FRAME_SIZE
    }
}
