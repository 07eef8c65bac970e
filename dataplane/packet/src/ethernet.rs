//! Ethernet II frames with at most one 802.1Q VLAN tag.
//!
//! Layout: `dst(6) src(6) ethertype(2)`, or with a tag
//! `dst(6) src(6) 0x8100(2) TCI(2) ethertype(2)`.
//!
//! # Invariants
//! After [`Frame::new_checked`] the buffer holds the whole header, including the tag when the
//! outer ethertype is [`ethertype::VLAN`]; so `header_len() <= buffer.len()` and no accessor
//! panics. A second (stacked / QinQ) tag is not decoded: `payload_ethertype()` then returns
//! `VLAN` and the caller treats the frame as unsupported.

use crate::DropReason;
use crate::field::{array, set_u16, u16_at};

/// Well-known ethertypes.
pub mod ethertype {
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// ARP.
    pub const ARP: u16 = 0x0806;
    /// 802.1Q VLAN tag (C-tag).
    pub const VLAN: u16 = 0x8100;
    /// IPv6.
    pub const IPV6: u16 = 0x86DD;
}

/// A 48-bit MAC address.
pub type Address = [u8; 6];

/// Length of an untagged Ethernet II header.
pub const HEADER_LEN: usize = 14;
/// Length of one 802.1Q tag (TPID + TCI).
pub const VLAN_TAG_LEN: usize = 4;

const DST: usize = 0;
const SRC: usize = 6;
const ETHERTYPE: usize = 12;
const TCI: usize = 14;
const INNER_ETHERTYPE: usize = 16;

crate::view::view!(Frame, "Zero-copy view of an Ethernet II frame.");

impl<T: AsRef<[u8]>> Frame<T> {
    /// Checks that the header (and VLAN tag, if any) fits: [`DropReason::TooShort`] otherwise.
    pub fn check_len(&self) -> Result<(), DropReason> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(DropReason::TooShort);
        }
        if u16_at(b, ETHERTYPE) == ethertype::VLAN && b.len() < HEADER_LEN + VLAN_TAG_LEN {
            return Err(DropReason::TooShort);
        }
        Ok(())
    }

    /// Destination MAC.
    pub fn dst(&self) -> Address {
        array(self.buffer.as_ref(), DST)
    }

    /// Source MAC.
    pub fn src(&self) -> Address {
        array(self.buffer.as_ref(), SRC)
    }

    /// The outer ethertype (`VLAN` for a tagged frame).
    pub fn ethertype(&self) -> u16 {
        u16_at(self.buffer.as_ref(), ETHERTYPE)
    }

    /// The whole 802.1Q TCI (PCP, DEI, VID) if the frame is tagged.
    pub fn vlan_tci(&self) -> Option<u16> {
        (self.ethertype() == ethertype::VLAN).then(|| u16_at(self.buffer.as_ref(), TCI))
    }

    /// The 12-bit VLAN id if the frame is tagged.
    pub fn vlan(&self) -> Option<u16> {
        self.vlan_tci().map(|tci| tci & 0x0FFF)
    }

    /// The ethertype of the payload: after the tag if there is one.
    pub fn payload_ethertype(&self) -> u16 {
        match self.ethertype() {
            ethertype::VLAN => u16_at(self.buffer.as_ref(), INNER_ETHERTYPE),
            other => other,
        }
    }

    /// Header length: 14, or 18 with a VLAN tag. Also the offset of the payload.
    pub fn header_len(&self) -> usize {
        if self.ethertype() == ethertype::VLAN {
            HEADER_LEN + VLAN_TAG_LEN
        } else {
            HEADER_LEN
        }
    }

    /// The payload (may include trailing Ethernet padding).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    /// Sets the destination MAC.
    pub fn set_dst(&mut self, mac: Address) {
        self.buffer.as_mut()[DST..DST + 6].copy_from_slice(&mac);
    }

    /// Sets the source MAC.
    pub fn set_src(&mut self, mac: Address) {
        self.buffer.as_mut()[SRC..SRC + 6].copy_from_slice(&mac);
    }

    /// Sets the VLAN id of a tagged frame, keeping PCP/DEI. Returns `false` (and writes
    /// nothing) if the frame is untagged: adding a tag changes the length.
    pub fn set_vlan(&mut self, id: u16) -> bool {
        match self.vlan_tci() {
            Some(tci) => {
                set_u16(self.buffer.as_mut(), TCI, (tci & 0xF000) | (id & 0x0FFF));
                true
            }
            None => false,
        }
    }

    /// Sets the payload ethertype (the inner one on a tagged frame). Setting it to `VLAN`
    /// on an untagged frame is refused (returns `false`) since it would change the layout.
    pub fn set_payload_ethertype(&mut self, value: u16) -> bool {
        match self.ethertype() {
            ethertype::VLAN => set_u16(self.buffer.as_mut(), INNER_ETHERTYPE, value),
            _ if value == ethertype::VLAN => return false,
            _ => set_u16(self.buffer.as_mut(), ETHERTYPE, value),
        }
        true
    }

    /// Mutable payload.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let off = self.header_len();
        &mut self.buffer.as_mut()[off..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNTAGGED: [u8; 16] = [
        1, 2, 3, 4, 5, 6, 0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x08, 0x00, 0x45, 0x00,
    ];
    const TAGGED: [u8; 19] = [
        1, 2, 3, 4, 5, 6, 0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x81, 0x00, 0xa0, 0x2a, 0x86, 0xdd, 0x60,
    ];

    #[test]
    fn untagged_fields() {
        let f = Frame::new_checked(&UNTAGGED[..]).unwrap();
        assert_eq!(f.dst(), [1, 2, 3, 4, 5, 6]);
        assert_eq!(f.src(), [0xa, 0xb, 0xc, 0xd, 0xe, 0xf]);
        assert_eq!(f.ethertype(), ethertype::IPV4);
        assert_eq!(f.vlan(), None);
        assert_eq!(f.payload_ethertype(), ethertype::IPV4);
        assert_eq!(f.payload(), &[0x45, 0x00]);
    }

    #[test]
    fn tagged_fields() {
        let f = Frame::new_checked(&TAGGED[..]).unwrap();
        assert_eq!(f.vlan(), Some(42));
        assert_eq!(f.vlan_tci(), Some(0xa02a));
        assert_eq!(f.payload_ethertype(), ethertype::IPV6);
        assert_eq!(f.header_len(), 18);
        assert_eq!(f.payload(), &[0x60]);
    }

    #[test]
    fn truncated_tag_is_too_short() {
        assert_eq!(Frame::new_checked(&TAGGED[..17]), Err(DropReason::TooShort));
        assert_eq!(
            Frame::new_checked(&UNTAGGED[..13]),
            Err(DropReason::TooShort)
        );
    }

    #[test]
    fn setters_round_trip() {
        let mut buf = TAGGED;
        let mut f = Frame::new_checked(&mut buf[..]).unwrap();
        f.set_dst([9; 6]);
        f.set_src([8; 6]);
        assert!(f.set_vlan(7));
        assert!(f.set_payload_ethertype(ethertype::IPV4));
        assert_eq!(f.dst(), [9; 6]);
        assert_eq!(f.src(), [8; 6]);
        assert_eq!(f.vlan_tci(), Some(0xa007));
        assert_eq!(f.payload_ethertype(), ethertype::IPV4);

        let mut buf = UNTAGGED;
        let mut f = Frame::new_checked(&mut buf[..]).unwrap();
        assert!(!f.set_vlan(7));
        assert!(!f.set_payload_ethertype(ethertype::VLAN));
        assert_eq!(f.ethertype(), ethertype::IPV4);
    }
}
