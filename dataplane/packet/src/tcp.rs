//! TCP segment view (RFC 9293).
//!
//! The buffer is the **whole segment** (the IP payload, header through data), because the
//! checksum covers it all.
//!
//! # Invariants
//! After [`Packet::new_checked`]: `20 <= header_len() <= buffer.len()` (data offset ≥ 5 and
//! within the segment), so `options()` and `payload()` never panic. Setters never touch the
//! data offset.

use crate::DropReason;
use crate::checksum;
use crate::field::{set_u16, set_u32, u16_at, u32_at};

/// Length of a header without options.
pub const HEADER_LEN: usize = 20;

const SRC_PORT: usize = 0;
const DST_PORT: usize = 2;
const SEQ: usize = 4;
const ACK: usize = 8;
const DATA_OFF: usize = 12;
const FLAGS: usize = 13;
const WINDOW: usize = 14;
const CHECKSUM: usize = 16;
const URGENT: usize = 18;

/// The eight TCP flag bits of byte 13.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u8);

impl Flags {
    /// No more data from sender.
    pub const FIN: Flags = Flags(0x01);
    /// Synchronize sequence numbers.
    pub const SYN: Flags = Flags(0x02);
    /// Reset the connection.
    pub const RST: Flags = Flags(0x04);
    /// Push function.
    pub const PSH: Flags = Flags(0x08);
    /// Acknowledgment field significant.
    pub const ACK: Flags = Flags(0x10);
    /// Urgent pointer field significant.
    pub const URG: Flags = Flags(0x20);
    /// ECN echo.
    pub const ECE: Flags = Flags(0x40);
    /// Congestion window reduced.
    pub const CWR: Flags = Flags(0x80);

    /// True if every bit of `other` is set.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

crate::view::view!(Packet, "Zero-copy view of a TCP segment.");

impl<T: AsRef<[u8]>> Packet<T> {
    /// [`DropReason::BadTcpHeader`] if the segment is shorter than 20 bytes, or the data offset is
    /// below 5 or past the end of the segment.
    pub fn check_len(&self) -> Result<(), DropReason> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(DropReason::BadTcpHeader);
        }
        let hl = self.header_len();
        if hl < HEADER_LEN || hl > b.len() {
            return Err(DropReason::BadTcpHeader);
        }
        Ok(())
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        u16_at(self.buffer.as_ref(), SRC_PORT)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        u16_at(self.buffer.as_ref(), DST_PORT)
    }

    /// Sequence number.
    pub fn seq_number(&self) -> u32 {
        u32_at(self.buffer.as_ref(), SEQ)
    }

    /// Acknowledgment number.
    pub fn ack_number(&self) -> u32 {
        u32_at(self.buffer.as_ref(), ACK)
    }

    /// Header length in bytes (data offset × 4), options included.
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[DATA_OFF] >> 4) * 4
    }

    /// Flag bits.
    pub fn flags(&self) -> Flags {
        Flags(self.buffer.as_ref()[FLAGS])
    }

    /// FIN set.
    pub fn fin(&self) -> bool {
        self.flags().contains(Flags::FIN)
    }

    /// SYN set.
    pub fn syn(&self) -> bool {
        self.flags().contains(Flags::SYN)
    }

    /// RST set.
    pub fn rst(&self) -> bool {
        self.flags().contains(Flags::RST)
    }

    /// PSH set.
    pub fn psh(&self) -> bool {
        self.flags().contains(Flags::PSH)
    }

    /// ACK set.
    pub fn ack(&self) -> bool {
        self.flags().contains(Flags::ACK)
    }

    /// Receive window (unscaled).
    pub fn window_len(&self) -> u16 {
        u16_at(self.buffer.as_ref(), WINDOW)
    }

    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        u16_at(self.buffer.as_ref(), CHECKSUM)
    }

    /// Urgent pointer.
    pub fn urgent_at(&self) -> u16 {
        u16_at(self.buffer.as_ref(), URGENT)
    }

    /// Options bytes (not decoded).
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.header_len()]
    }

    /// Segment data after the header.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }

    /// True if the checksum verifies, given the IP layer's pseudo-header sum.
    pub fn verify_checksum(&self, pseudo_header_sum: u16) -> bool {
        checksum::combine(&[pseudo_header_sum, checksum::sum(self.buffer.as_ref())]) == 0xFFFF
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the source port. Update the checksum with [`checksum::update16`].
    pub fn set_src_port(&mut self, port: u16) {
        set_u16(self.buffer.as_mut(), SRC_PORT, port);
    }

    /// Sets the destination port. Update the checksum with [`checksum::update16`].
    pub fn set_dst_port(&mut self, port: u16) {
        set_u16(self.buffer.as_mut(), DST_PORT, port);
    }

    /// Sets the sequence number.
    pub fn set_seq_number(&mut self, seq: u32) {
        set_u32(self.buffer.as_mut(), SEQ, seq);
    }

    /// Sets the acknowledgment number.
    pub fn set_ack_number(&mut self, ack: u32) {
        set_u32(self.buffer.as_mut(), ACK, ack);
    }

    /// Sets the flag bits.
    pub fn set_flags(&mut self, flags: Flags) {
        self.buffer.as_mut()[FLAGS] = flags.0;
    }

    /// Sets the receive window.
    pub fn set_window_len(&mut self, window: u16) {
        set_u16(self.buffer.as_mut(), WINDOW, window);
    }

    /// Stores a checksum value as is.
    pub fn set_checksum(&mut self, csum: u16) {
        set_u16(self.buffer.as_mut(), CHECKSUM, csum);
    }

    /// Recomputes the checksum over the whole segment plus the pseudo-header sum.
    pub fn fill_checksum(&mut self, pseudo_header_sum: u16) {
        self.set_checksum(0);
        let s = checksum::combine(&[pseudo_header_sum, checksum::sum(self.buffer.as_ref())]);
        self.set_checksum(!s);
    }

    /// Mutable segment data.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let off = self.header_len();
        &mut self.buffer.as_mut()[off..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment() -> [u8; 26] {
        let mut b = [0u8; 26];
        b[0..2].copy_from_slice(&1234u16.to_be_bytes());
        b[2..4].copy_from_slice(&80u16.to_be_bytes());
        b[4..8].copy_from_slice(&0xdead_beefu32.to_be_bytes());
        b[8..12].copy_from_slice(&7u32.to_be_bytes());
        b[12] = 6 << 4; // 24-byte header
        b[13] = 0x12; // SYN|ACK
        b[14..16].copy_from_slice(&65535u16.to_be_bytes());
        b[20..24].copy_from_slice(&[2, 4, 5, 0xb4]); // MSS 1460
        b[24..26].copy_from_slice(b"hi");
        b
    }

    #[test]
    fn fields_and_checksum() {
        let mut b = segment();
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        assert_eq!((p.src_port(), p.dst_port()), (1234, 80));
        assert_eq!((p.seq_number(), p.ack_number()), (0xdead_beef, 7));
        assert_eq!(p.header_len(), 24);
        assert!(p.syn() && p.ack() && !p.fin() && !p.rst() && !p.psh());
        assert_eq!(p.flags(), Flags::SYN | Flags::ACK);
        assert_eq!(p.options(), &[2, 4, 5, 0xb4]);
        assert_eq!(p.payload(), b"hi");
        let pseudo = checksum::pseudo_header_v4(&[10, 0, 0, 1], &[10, 0, 0, 2], 6, 26);
        p.fill_checksum(pseudo);
        assert!(p.verify_checksum(pseudo));
        assert!(!p.verify_checksum(pseudo.wrapping_add(1)));
    }

    #[test]
    fn data_offset_checks() {
        let mut b = segment();
        b[12] = 4 << 4;
        assert_eq!(Packet::new_checked(&b[..]), Err(DropReason::BadTcpHeader));
        b[12] = 7 << 4; // 28 > 26
        assert_eq!(Packet::new_checked(&b[..]), Err(DropReason::BadTcpHeader));
        assert_eq!(Packet::new_checked(&b[..19]), Err(DropReason::BadTcpHeader));
    }
}
