//! UDP datagram view (RFC 768).
//!
//! The buffer is the IP payload; the UDP length field may be shorter than it (trailing
//! bytes are ignored by `payload()`), never longer.
//!
//! # Invariants
//! After [`Packet::new_checked`]: `8 <= len() <= buffer.len()`, so `payload()` never panics.
//! Checksum `0` over IPv4 means "none" (RFC 768); over IPv6 it is invalid (RFC 8200 §8.1).
//! [`Packet::fill_checksum`] stores a computed `0` as `0xFFFF`.

use crate::DropReason;
use crate::checksum;
use crate::field::{set_u16, u16_at};

/// Length of the UDP header.
pub const HEADER_LEN: usize = 8;

const SRC_PORT: usize = 0;
const DST_PORT: usize = 2;
const LENGTH: usize = 4;
const CHECKSUM: usize = 6;

crate::view::view!(Packet, "Zero-copy view of a UDP datagram.");

impl<T: AsRef<[u8]>> Packet<T> {
    /// [`DropReason::BadUdpLength`] if the header is truncated or the length field is below 8 or
    /// past the buffer.
    pub fn check_len(&self) -> Result<(), DropReason> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(DropReason::BadUdpLength);
        }
        let len = usize::from(self.len());
        if len < HEADER_LEN || len > b.len() {
            return Err(DropReason::BadUdpLength);
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

    /// Length field: header plus data, in bytes.
    #[allow(clippy::len_without_is_empty)] // a datagram is never empty: len() >= 8
    pub fn len(&self) -> u16 {
        u16_at(self.buffer.as_ref(), LENGTH)
    }

    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        u16_at(self.buffer.as_ref(), CHECKSUM)
    }

    /// Data, up to the length field.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..usize::from(self.len())]
    }

    /// True if the checksum verifies over `len()` bytes plus the pseudo-header sum (built
    /// with `len()` as its length). Does not special-case a zero checksum: check
    /// `checksum() == 0` first on IPv4.
    pub fn verify_checksum(&self, pseudo_header_sum: u16) -> bool {
        let data = &self.buffer.as_ref()[..usize::from(self.len())];
        checksum::combine(&[pseudo_header_sum, checksum::sum(data)]) == 0xFFFF
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

    /// Stores a checksum value as is.
    pub fn set_checksum(&mut self, csum: u16) {
        set_u16(self.buffer.as_mut(), CHECKSUM, csum);
    }

    /// Recomputes the checksum; a result of `0` is stored as `0xFFFF`.
    pub fn fill_checksum(&mut self, pseudo_header_sum: u16) {
        self.set_checksum(0);
        let data = &self.buffer.as_ref()[..usize::from(self.len())];
        let csum = !checksum::combine(&[pseudo_header_sum, checksum::sum(data)]);
        self.set_checksum(if csum == 0 { 0xFFFF } else { csum });
    }

    /// Mutable data, up to the length field.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.len());
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DGRAM: [u8; 12] = [
        0x30, 0x39, 0x00, 0x35, 0x00, 0x0b, 0, 0, b'a', b'b', b'c', 0xee,
    ];

    #[test]
    fn fields_and_checksum() {
        let mut b = DGRAM;
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        assert_eq!((p.src_port(), p.dst_port(), p.len()), (12345, 53, 11));
        assert_eq!(p.payload(), b"abc");
        let pseudo = checksum::pseudo_header_v6(&[1; 16], &[2; 16], 17, 11);
        p.fill_checksum(pseudo);
        assert!(p.verify_checksum(pseudo));
    }

    #[test]
    fn length_checks() {
        assert_eq!(
            Packet::new_checked(&DGRAM[..7]),
            Err(DropReason::BadUdpLength)
        );
        assert_eq!(
            Packet::new_checked(&DGRAM[..10]),
            Err(DropReason::BadUdpLength)
        );
        let mut b = DGRAM;
        b[5] = 7;
        assert_eq!(Packet::new_checked(&b[..]), Err(DropReason::BadUdpLength));
    }
}
