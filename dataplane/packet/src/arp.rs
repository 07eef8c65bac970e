//! ARP packets for Ethernet/IPv4 (RFC 826), the only kind a load balancer answers.
//!
//! Layout (28 bytes): `htype(2)=1 ptype(2)=0x0800 hlen(1)=6 plen(1)=4 oper(2) sha(6) spa(4)
//! tha(6) tpa(4)`.
//!
//! # Invariants
//! After [`Packet::new_checked`] the buffer holds at least 28 bytes and the hardware/protocol
//! type and length fields are those of Ethernet/IPv4, so the fixed offsets below are valid.

use core::net::Ipv4Addr;

use crate::DropReason;
use crate::ethernet::{self, Address};
use crate::field::{array, set_u16, u16_at};

/// Length of an Ethernet/IPv4 ARP packet.
pub const PACKET_LEN: usize = 28;

/// ARP operation codes.
pub mod operation {
    /// Who has `tpa`? Tell `spa`.
    pub const REQUEST: u16 = 1;
    /// `spa` is at `sha`.
    pub const REPLY: u16 = 2;
}

const HTYPE_ETHERNET: u16 = 1;
const OPER: usize = 6;
const SHA: usize = 8;
const SPA: usize = 14;
const THA: usize = 18;
const TPA: usize = 24;

crate::view::view!(Packet, "Zero-copy view of an Ethernet/IPv4 ARP packet.");

impl<T: AsRef<[u8]>> Packet<T> {
    /// [`DropReason::BadArp`] unless the buffer is a complete Ethernet/IPv4 ARP packet.
    pub fn check_len(&self) -> Result<(), DropReason> {
        let b = self.buffer.as_ref();
        if b.len() < PACKET_LEN
            || u16_at(b, 0) != HTYPE_ETHERNET
            || u16_at(b, 2) != ethernet::ethertype::IPV4
            || b[4] != 6
            || b[5] != 4
        {
            return Err(DropReason::BadArp);
        }
        Ok(())
    }

    /// Operation: [`operation::REQUEST`], [`operation::REPLY`] or another value.
    pub fn operation(&self) -> u16 {
        u16_at(self.buffer.as_ref(), OPER)
    }

    /// Sender hardware address.
    pub fn sender_hw(&self) -> Address {
        array(self.buffer.as_ref(), SHA)
    }

    /// Sender protocol (IPv4) address.
    pub fn sender_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(array::<4>(self.buffer.as_ref(), SPA))
    }

    /// Target hardware address (zero in a request).
    pub fn target_hw(&self) -> Address {
        array(self.buffer.as_ref(), THA)
    }

    /// Target protocol (IPv4) address.
    pub fn target_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(array::<4>(self.buffer.as_ref(), TPA))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the operation code.
    pub fn set_operation(&mut self, op: u16) {
        set_u16(self.buffer.as_mut(), OPER, op);
    }

    /// Sets the sender hardware address.
    pub fn set_sender_hw(&mut self, mac: Address) {
        self.buffer.as_mut()[SHA..SHA + 6].copy_from_slice(&mac);
    }

    /// Sets the sender protocol address.
    pub fn set_sender_ip(&mut self, ip: Ipv4Addr) {
        self.buffer.as_mut()[SPA..SPA + 4].copy_from_slice(&ip.octets());
    }

    /// Sets the target hardware address.
    pub fn set_target_hw(&mut self, mac: Address) {
        self.buffer.as_mut()[THA..THA + 6].copy_from_slice(&mac);
    }

    /// Sets the target protocol address.
    pub fn set_target_ip(&mut self, ip: Ipv4Addr) {
        self.buffer.as_mut()[TPA..TPA + 4].copy_from_slice(&ip.octets());
    }

    /// Turns a request into the reply "`target_ip` is at `our_mac`", in place.
    pub fn make_reply(&mut self, our_mac: Address) {
        let (sha, spa, tpa) = (self.sender_hw(), self.sender_ip(), self.target_ip());
        self.set_operation(operation::REPLY);
        self.set_target_hw(sha);
        self.set_target_ip(spa);
        self.set_sender_hw(our_mac);
        self.set_sender_ip(tpa);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUEST: [u8; 28] = [
        0, 1, 8, 0, 6, 4, 0, 1, 2, 2, 2, 2, 2, 2, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2,
    ];

    #[test]
    fn request_fields() {
        let p = Packet::new_checked(&REQUEST[..]).unwrap();
        assert_eq!(p.operation(), operation::REQUEST);
        assert_eq!(p.sender_hw(), [2; 6]);
        assert_eq!(p.sender_ip(), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(p.target_hw(), [0; 6]);
        assert_eq!(p.target_ip(), Ipv4Addr::new(10, 0, 0, 2));
    }

    #[test]
    fn reply_in_place() {
        let mut buf = REQUEST;
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        p.make_reply([7; 6]);
        assert_eq!(p.operation(), operation::REPLY);
        assert_eq!(p.sender_hw(), [7; 6]);
        assert_eq!(p.sender_ip(), Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(p.target_hw(), [2; 6]);
        assert_eq!(p.target_ip(), Ipv4Addr::new(10, 0, 0, 1));
    }

    #[test]
    fn rejects_short_and_foreign() {
        assert_eq!(Packet::new_checked(&REQUEST[..27]), Err(DropReason::BadArp));
        let mut other = REQUEST;
        other[5] = 16; // IPv6-sized protocol address
        assert_eq!(Packet::new_checked(&other[..]), Err(DropReason::BadArp));
    }
}
