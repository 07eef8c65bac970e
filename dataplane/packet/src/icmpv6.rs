//! ICMPv6 (RFC 4443) header view, with the Neighbor Discovery (RFC 4861) type numbers.
//!
//! # Invariants
//! After [`Packet::new_checked`] the buffer holds the 8-byte header. Fields past it
//! (the ND target address) are returned as `Option`, so nothing can panic. The checksum
//! includes the IPv6 pseudo-header, passed in by the caller.

use crate::checksum;
use crate::field::{array, u32_at};
use crate::icmp_common::IDENT;

/// Length of the ICMPv6 header.
pub const HEADER_LEN: usize = 8;

/// ICMPv6 message types.
pub mod msg_type {
    /// Destination unreachable.
    pub const DEST_UNREACHABLE: u8 = 1;
    /// Packet too big (PMTUD; `mtu` is valid).
    pub const PACKET_TOO_BIG: u8 = 2;
    /// Time exceeded.
    pub const TIME_EXCEEDED: u8 = 3;
    /// Parameter problem.
    pub const PARAM_PROBLEM: u8 = 4;
    /// Echo request.
    pub const ECHO_REQUEST: u8 = 128;
    /// Echo reply.
    pub const ECHO_REPLY: u8 = 129;
    /// ND router solicitation.
    pub const ROUTER_SOLICIT: u8 = 133;
    /// ND router advertisement.
    pub const ROUTER_ADVERT: u8 = 134;
    /// ND neighbor solicitation.
    pub const NEIGHBOR_SOLICIT: u8 = 135;
    /// ND neighbor advertisement.
    pub const NEIGHBOR_ADVERT: u8 = 136;
    /// ND redirect.
    pub const REDIRECT: u8 = 137;
}

const ND_TARGET: usize = 8;

crate::icmp_common::icmp_packet!("ICMPv6");

impl<T: AsRef<[u8]>> Packet<T> {
    /// MTU of "packet too big" (bytes 4–7).
    pub fn mtu(&self) -> u32 {
        u32_at(self.buffer.as_ref(), IDENT)
    }

    /// Target address of a neighbor solicitation/advertisement (or redirect), if this is one
    /// and the message is long enough.
    pub fn nd_target(&self) -> Option<[u8; 16]> {
        let b = self.buffer.as_ref();
        let is_nd = matches!(
            self.msg_type(),
            msg_type::NEIGHBOR_SOLICIT | msg_type::NEIGHBOR_ADVERT | msg_type::REDIRECT
        );
        (is_nd && b.len() >= ND_TARGET + 16).then(|| array(b, ND_TARGET))
    }

    /// True if the checksum verifies, given the IPv6 pseudo-header sum.
    pub fn verify_checksum(&self, pseudo_header_sum: u16) -> bool {
        checksum::combine(&[pseudo_header_sum, checksum::sum(self.buffer.as_ref())]) == 0xFFFF
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Recomputes the checksum over the whole message plus the pseudo-header sum.
    pub fn fill_checksum(&mut self, pseudo_header_sum: u16) {
        self.set_checksum(0);
        let s = checksum::combine(&[pseudo_header_sum, checksum::sum(self.buffer.as_ref())]);
        self.set_checksum(!s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DropReason;

    #[test]
    fn neighbor_solicitation() {
        let mut b = [0u8; 24];
        b[0] = msg_type::NEIGHBOR_SOLICIT;
        b[8] = 0xfe;
        b[9] = 0x80;
        b[23] = 1;
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        let target = p.nd_target().unwrap();
        assert_eq!(&target[..2], &[0xfe, 0x80]);
        let pseudo = checksum::pseudo_header_v6(&[1; 16], &[2; 16], 58, 24);
        p.fill_checksum(pseudo);
        assert!(p.verify_checksum(pseudo));
        assert_eq!(Packet::new_checked(&b[..20]).unwrap().nd_target(), None);
    }

    #[test]
    fn echo_and_too_big() {
        let b = [128u8, 0, 0, 0, 0xab, 0xcd, 0, 9];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(p.is_echo());
        assert_eq!((p.echo_ident(), p.echo_seq_no()), (0xabcd, 9));
        let b = [2u8, 0, 0, 0, 0, 0, 0x05, 0x00];
        assert_eq!(Packet::new_checked(&b[..]).unwrap().mtu(), 1280);
        assert_eq!(Packet::new_checked(&b[..3]), Err(DropReason::BadIcmp));
    }
}
