//! IPv4 header view (RFC 791), options allowed.
//!
//! # Invariants
//! After [`Packet::new_checked`]: version is 4, `20 <= header_len() <= total_len() <=
//! buffer.len()`. So `header()`, `options()` and `payload()` (which ends at `total_len`,
//! excluding any Ethernet padding) never panic. The header checksum is *not* checked by
//! `new_checked`; call [`Packet::verify_checksum`] (as [`crate::parse_frame`] does).
//! Setters never touch IHL or total length.

use core::net::Ipv4Addr;

use crate::DropReason;
use crate::checksum;
use crate::field::{array, set_u16, u16_at};

/// Length of a header without options.
pub const HEADER_LEN: usize = 20;

const VER_IHL: usize = 0;
const TOS: usize = 1;
const TOTAL_LEN: usize = 2;
const IDENT: usize = 4;
const FLAGS_FRAG: usize = 6;
const TTL: usize = 8;
const PROTOCOL: usize = 9;
const CHECKSUM: usize = 10;
const SRC: usize = 12;
const DST: usize = 16;

crate::view::view!(Packet, "Zero-copy view of an IPv4 packet.");

impl<T: AsRef<[u8]>> Packet<T> {
    /// Validates version and length fields against the buffer.
    ///
    /// [`DropReason::TooShort`] below 20 bytes, [`DropReason::BadIpVersion`], [`DropReason::BadIpHeaderLength`]
    /// for IHL < 5 or beyond the buffer, [`DropReason::BadIpTotalLength`] for a total length below
    /// the header or beyond the buffer.
    pub fn check_len(&self) -> Result<(), DropReason> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(DropReason::TooShort);
        }
        if self.version() != 4 {
            return Err(DropReason::BadIpVersion);
        }
        let hl = self.header_len();
        if hl < HEADER_LEN || hl > b.len() {
            return Err(DropReason::BadIpHeaderLength);
        }
        let total = usize::from(self.total_len());
        if total < hl || total > b.len() {
            return Err(DropReason::BadIpTotalLength);
        }
        Ok(())
    }

    /// Version nibble (4 once checked).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[VER_IHL] >> 4
    }

    /// Header length in bytes (IHL × 4), options included.
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[VER_IHL] & 0x0F) * 4
    }

    /// DSCP (upper six bits of the TOS byte).
    pub fn dscp(&self) -> u8 {
        self.buffer.as_ref()[TOS] >> 2
    }

    /// ECN (lower two bits of the TOS byte).
    pub fn ecn(&self) -> u8 {
        self.buffer.as_ref()[TOS] & 0x03
    }

    /// Total length of the datagram in bytes, header included.
    pub fn total_len(&self) -> u16 {
        u16_at(self.buffer.as_ref(), TOTAL_LEN)
    }

    /// Identification field.
    pub fn ident(&self) -> u16 {
        u16_at(self.buffer.as_ref(), IDENT)
    }

    /// Don't-fragment flag.
    pub fn dont_frag(&self) -> bool {
        u16_at(self.buffer.as_ref(), FLAGS_FRAG) & 0x4000 != 0
    }

    /// More-fragments flag.
    pub fn more_frags(&self) -> bool {
        u16_at(self.buffer.as_ref(), FLAGS_FRAG) & 0x2000 != 0
    }

    /// Fragment offset **in bytes** (the field × 8).
    pub fn frag_offset(&self) -> u16 {
        (u16_at(self.buffer.as_ref(), FLAGS_FRAG) & 0x1FFF) << 3
    }

    /// True for any fragment (first or not): MF set or offset non-zero.
    pub fn is_fragment(&self) -> bool {
        self.more_frags() || self.frag_offset() != 0
    }

    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[TTL]
    }

    /// Protocol of the payload (see [`crate::ip::protocol`]).
    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[PROTOCOL]
    }

    /// Header checksum field.
    pub fn checksum(&self) -> u16 {
        u16_at(self.buffer.as_ref(), CHECKSUM)
    }

    /// Source address as bytes.
    pub fn src(&self) -> [u8; 4] {
        array(self.buffer.as_ref(), SRC)
    }

    /// Destination address as bytes.
    pub fn dst(&self) -> [u8; 4] {
        array(self.buffer.as_ref(), DST)
    }

    /// Source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.src())
    }

    /// Destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.dst())
    }

    /// The whole header, options included.
    pub fn header(&self) -> &[u8] {
        &self.buffer.as_ref()[..self.header_len()]
    }

    /// Options bytes (empty when IHL is 5).
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.header_len()]
    }

    /// Payload, up to `total_len` (Ethernet padding excluded).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..usize::from(self.total_len())]
    }

    /// True if the header checksum verifies.
    pub fn verify_checksum(&self) -> bool {
        let h = self.header();
        // A header without options, the usual one, is summed as a fixed-size array.
        match <&[u8; HEADER_LEN]>::try_from(h) {
            Ok(fixed) => checksum::sums_to_ones(fixed),
            Err(_) => checksum::sums_to_ones(h),
        }
    }

    /// Pseudo-header sum for the payload's TCP/UDP checksum (length = payload length).
    pub fn pseudo_header_sum(&self) -> u16 {
        // Checked views have header_len (≤ 60) ≤ total_len; saturate for unchecked ones.
        let len = self.total_len().saturating_sub(self.header_len() as u16);
        checksum::pseudo_header_v4(&self.src(), &self.dst(), self.protocol(), len)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the whole TOS byte (DSCP << 2 | ECN). Does not update the checksum.
    pub fn set_tos(&mut self, tos: u8) {
        self.buffer.as_mut()[TOS] = tos;
    }

    /// Sets the identification field. Does not update the checksum.
    pub fn set_ident(&mut self, ident: u16) {
        set_u16(self.buffer.as_mut(), IDENT, ident);
    }

    /// Sets the TTL. Does not update the checksum.
    pub fn set_ttl(&mut self, ttl: u8) {
        self.buffer.as_mut()[TTL] = ttl;
    }

    /// Sets the protocol. Does not update the checksum.
    pub fn set_protocol(&mut self, protocol: u8) {
        self.buffer.as_mut()[PROTOCOL] = protocol;
    }

    /// Sets the source address. Does not update the checksum.
    pub fn set_src(&mut self, addr: [u8; 4]) {
        self.buffer.as_mut()[SRC..SRC + 4].copy_from_slice(&addr);
    }

    /// Sets the destination address. Does not update the checksum.
    pub fn set_dst(&mut self, addr: [u8; 4]) {
        self.buffer.as_mut()[DST..DST + 4].copy_from_slice(&addr);
    }

    /// Stores a checksum value as is.
    pub fn set_checksum(&mut self, csum: u16) {
        set_u16(self.buffer.as_mut(), CHECKSUM, csum);
    }

    /// Recomputes the header checksum from scratch.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let csum = checksum::checksum(self.header());
        self.set_checksum(csum);
    }

    /// Decrements the TTL by one and updates the checksum incrementally (RFC 1624).
    /// Saturates at zero.
    pub fn decrement_ttl(&mut self) {
        let b = self.buffer.as_ref();
        let old = u16_at(b, TTL);
        let ttl = b[TTL].saturating_sub(1);
        self.set_ttl(ttl);
        let new = u16_at(self.buffer.as_ref(), TTL);
        let csum = checksum::update16(self.checksum(), old, new);
        self.set_checksum(csum);
    }

    /// Mutable payload, up to `total_len`.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (start, end) = (self.header_len(), usize::from(self.total_len()));
        &mut self.buffer.as_mut()[start..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 20-byte header with checksum 0xb20a (computed by hand) and 4 payload bytes.
    const HDR: [u8; 24] = [
        0x45, 0x00, 0x00, 0x18, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06, 0xb2, 0x0a, 0xac, 0x10, 0x0a,
        0x63, 0xac, 0x10, 0x0a, 0x0c, 1, 2, 3, 4,
    ];

    #[test]
    fn fields_and_checksum() {
        let p = Packet::new_checked(&HDR[..]).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.total_len(), 24);
        assert_eq!(p.ident(), 0x1c46);
        assert!(p.dont_frag() && !p.more_frags() && !p.is_fragment());
        assert_eq!(p.ttl(), 64);
        assert_eq!(p.protocol(), 6);
        assert_eq!(p.src_addr(), Ipv4Addr::new(172, 16, 10, 99));
        assert_eq!(p.dst(), [172, 16, 10, 12]);
        assert_eq!(p.payload(), &[1, 2, 3, 4]);
        assert!(p.verify_checksum());
    }

    #[test]
    fn fill_and_decrement() {
        let mut buf = HDR;
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        p.set_src([10, 0, 0, 1]);
        assert!(!p.verify_checksum());
        p.fill_checksum();
        assert!(p.verify_checksum());
        p.decrement_ttl();
        assert_eq!(p.ttl(), 63);
        assert!(p.verify_checksum());
    }

    #[test]
    fn length_errors() {
        assert_eq!(Packet::new_checked(&HDR[..19]), Err(DropReason::TooShort));
        let mut b = HDR;
        b[0] = 0x65;
        assert_eq!(Packet::new_checked(&b[..]), Err(DropReason::BadIpVersion));
        b[0] = 0x44;
        assert_eq!(
            Packet::new_checked(&b[..]),
            Err(DropReason::BadIpHeaderLength)
        );
        b[0] = 0x47; // 28-byte header in a 24-byte buffer
        assert_eq!(
            Packet::new_checked(&b[..]),
            Err(DropReason::BadIpHeaderLength)
        );
        b[0] = 0x45;
        b[3] = 25;
        assert_eq!(
            Packet::new_checked(&b[..]),
            Err(DropReason::BadIpTotalLength)
        );
        b[3] = 19;
        assert_eq!(
            Packet::new_checked(&b[..]),
            Err(DropReason::BadIpTotalLength)
        );
    }

    #[test]
    fn fragment_fields() {
        let mut b = HDR;
        b[6] = 0x20; // MF, offset 0x0010 → 128 bytes
        b[7] = 0x10;
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(p.more_frags() && p.is_fragment());
        assert_eq!(p.frag_offset(), 128);
    }
}
