//! IPv6 fixed header view (RFC 8200).
//!
//! # Invariants
//! After [`Packet::new_checked`]: version is 6 and `40 + payload_len() <= buffer.len()`, so
//! `payload()` (which ends at the payload length, excluding Ethernet padding) never panics.
//!
//! Extension headers are not walked here: [`Packet::next_header`] reports the first
//! next-header value as is, and [`crate::ip::is_ipv6_extension_header`] tells whether it is an
//! extension header (hop-by-hop, routing, fragment, destination options, AH, ESP, …) or an
//! upper-layer protocol. [`crate::parse_frame`] walks the ones a load balancer can pass over
//! and drops the rest ([`DropReason::Ipv6ExtensionHeader`]); jumbograms (payload length 0 +
//! hop-by-hop) are among those dropped.

use core::net::Ipv6Addr;

use crate::DropReason;
use crate::checksum;
use crate::field::{array, u16_at, u32_at};

/// Length of the fixed header.
pub const HEADER_LEN: usize = 40;

const VER_TC_FLOW: usize = 0;
const PAYLOAD_LEN: usize = 4;
const NEXT_HEADER: usize = 6;
const HOP_LIMIT: usize = 7;
const SRC: usize = 8;
const DST: usize = 24;

crate::view::view!(Packet, "Zero-copy view of an IPv6 packet.");

impl<T: AsRef<[u8]>> Packet<T> {
    /// [`DropReason::TooShort`] below 40 bytes, [`DropReason::BadIpVersion`] unless version 6,
    /// [`DropReason::BadIpTotalLength`] if the payload length runs past the buffer.
    pub fn check_len(&self) -> Result<(), DropReason> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(DropReason::TooShort);
        }
        if self.version() != 6 {
            return Err(DropReason::BadIpVersion);
        }
        if HEADER_LEN + usize::from(self.payload_len()) > b.len() {
            return Err(DropReason::BadIpTotalLength);
        }
        Ok(())
    }

    /// Version nibble (6 once checked).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[VER_TC_FLOW] >> 4
    }

    /// Traffic class (DSCP << 2 | ECN).
    pub fn traffic_class(&self) -> u8 {
        ((u16_at(self.buffer.as_ref(), VER_TC_FLOW) >> 4) & 0xFF) as u8
    }

    /// 20-bit flow label.
    pub fn flow_label(&self) -> u32 {
        u32_at(self.buffer.as_ref(), VER_TC_FLOW) & 0x000F_FFFF
    }

    /// Payload length in bytes (extension headers included).
    pub fn payload_len(&self) -> u16 {
        u16_at(self.buffer.as_ref(), PAYLOAD_LEN)
    }

    /// Next header: an upper-layer protocol or the first extension header (not walked).
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[NEXT_HEADER]
    }

    /// Hop limit.
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[HOP_LIMIT]
    }

    /// Source address as bytes.
    pub fn src(&self) -> [u8; 16] {
        array(self.buffer.as_ref(), SRC)
    }

    /// Destination address as bytes.
    pub fn dst(&self) -> [u8; 16] {
        array(self.buffer.as_ref(), DST)
    }

    /// Source address.
    pub fn src_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.src())
    }

    /// Destination address.
    pub fn dst_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.dst())
    }

    /// Payload (after the fixed header), up to the payload length.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..HEADER_LEN + usize::from(self.payload_len())]
    }

    /// Pseudo-header sum for an upper-layer checksum directly after the fixed header.
    pub fn pseudo_header_sum(&self) -> u16 {
        checksum::pseudo_header_v6(
            &self.src(),
            &self.dst(),
            self.next_header(),
            u32::from(self.payload_len()),
        )
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the hop limit (IPv6 has no header checksum).
    pub fn set_hop_limit(&mut self, hop_limit: u8) {
        self.buffer.as_mut()[HOP_LIMIT] = hop_limit;
    }

    /// Sets the source address. Update the L4 checksum with [`checksum::update128`].
    pub fn set_src(&mut self, addr: [u8; 16]) {
        self.buffer.as_mut()[SRC..SRC + 16].copy_from_slice(&addr);
    }

    /// Sets the destination address. Update the L4 checksum with [`checksum::update128`].
    pub fn set_dst(&mut self, addr: [u8; 16]) {
        self.buffer.as_mut()[DST..DST + 16].copy_from_slice(&addr);
    }

    /// Mutable payload, up to the payload length.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(payload_len: u16) -> [u8; 44] {
        let mut b = [0u8; 44];
        b[0] = 0x6a; // version 6, TC 0xab
        b[1] = 0xb1; // flow label 0x12345
        b[2] = 0x23;
        b[3] = 0x45;
        b[4..6].copy_from_slice(&payload_len.to_be_bytes());
        b[6] = 17;
        b[7] = 64;
        b[8] = 0x20;
        b[9] = 0x01;
        b[23] = 1;
        b[24] = 0xfe;
        b[25] = 0x80;
        b[39] = 2;
        b
    }

    #[test]
    fn fields() {
        let b = header(4);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.version(), 6);
        assert_eq!(p.traffic_class(), 0xab);
        assert_eq!(p.flow_label(), 0x12345);
        assert_eq!(p.payload_len(), 4);
        assert_eq!(p.next_header(), 17);
        assert_eq!(p.hop_limit(), 64);
        assert_eq!(p.src_addr(), "2001::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.dst_addr(), "fe80::2".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.payload().len(), 4);
    }

    #[test]
    fn length_errors() {
        let b = header(5);
        assert_eq!(
            Packet::new_checked(&b[..]),
            Err(DropReason::BadIpTotalLength)
        );
        assert_eq!(Packet::new_checked(&b[..39]), Err(DropReason::TooShort));
        let mut b = header(0);
        b[0] = 0x45;
        assert_eq!(Packet::new_checked(&b[..]), Err(DropReason::BadIpVersion));
    }
}
