//! ICMP for IPv4 (RFC 792): the 8-byte header, echo and destination-unreachable fields.
//!
//! # Invariants
//! After [`Packet::new_checked`] the buffer holds the 8-byte header, so every accessor is in
//! bounds. The checksum covers the whole message (no pseudo-header) and is not checked by
//! `new_checked`. The invoking packet quoted by error messages is exposed as `payload()` but
//! not parsed here.

use crate::checksum;
use crate::field::{set_u16, u16_at};
use crate::icmp_common::SEQ;

/// Length of the ICMP header.
pub const HEADER_LEN: usize = 8;

/// ICMPv4 message types.
pub mod msg_type {
    /// Echo reply.
    pub const ECHO_REPLY: u8 = 0;
    /// Destination unreachable.
    pub const DEST_UNREACHABLE: u8 = 3;
    /// Redirect.
    pub const REDIRECT: u8 = 5;
    /// Echo request.
    pub const ECHO_REQUEST: u8 = 8;
    /// Time exceeded.
    pub const TIME_EXCEEDED: u8 = 11;
    /// Parameter problem.
    pub const PARAM_PROBLEM: u8 = 12;
}

/// Codes of [`msg_type::DEST_UNREACHABLE`].
pub mod unreachable {
    /// Network unreachable.
    pub const NET: u8 = 0;
    /// Host unreachable.
    pub const HOST: u8 = 1;
    /// Protocol unreachable.
    pub const PROTOCOL: u8 = 2;
    /// Port unreachable.
    pub const PORT: u8 = 3;
    /// Fragmentation needed and DF set (PMTUD; `next_hop_mtu` is valid).
    pub const FRAG_NEEDED: u8 = 4;
    /// Communication administratively prohibited.
    pub const ADMIN_PROHIBITED: u8 = 13;
}

crate::icmp_common::icmp_packet!("ICMPv4");

impl<T: AsRef<[u8]>> Packet<T> {
    /// Next-hop MTU of "fragmentation needed" (bytes 6–7, RFC 1191).
    pub fn next_hop_mtu(&self) -> u16 {
        u16_at(self.buffer.as_ref(), SEQ)
    }

    /// True if the checksum over the whole message verifies.
    pub fn verify_checksum(&self) -> bool {
        checksum::sum(self.buffer.as_ref()) == 0xFFFF
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the echo sequence number.
    pub fn set_echo_seq_no(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), SEQ, value);
    }

    /// Recomputes the checksum over the whole message.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let csum = checksum::checksum(self.buffer.as_ref());
        self.set_checksum(csum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DropReason;

    #[test]
    fn echo_request() {
        let mut b = [8u8, 0, 0, 0, 0x12, 0x34, 0, 1, b'p', b'i', b'n', b'g'];
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        assert!(p.is_echo());
        assert_eq!((p.echo_ident(), p.echo_seq_no()), (0x1234, 1));
        p.fill_checksum();
        assert!(p.verify_checksum());
        p.set_msg_type(msg_type::ECHO_REPLY);
        assert!(!p.verify_checksum());
        assert_eq!(p.payload(), b"ping");
    }

    #[test]
    fn frag_needed() {
        let b = [3u8, 4, 0, 0, 0, 0, 0x05, 0xdc];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.msg_type(), msg_type::DEST_UNREACHABLE);
        assert_eq!(p.msg_code(), unreachable::FRAG_NEEDED);
        assert_eq!(p.next_hop_mtu(), 1500);
        assert!(!p.is_echo());
        assert_eq!(Packet::new_checked(&b[..7]), Err(DropReason::BadIcmp));
    }
}
