//! What the rx closure sees of a received frame: the bytes as they were on the wire.
//!
//! Before a packet socket sees a frame the kernel takes its outer 802.1Q/802.1ad tag out
//! (into `tp_vlan_tci` and `tp_vlan_tpid`, flagged by `TP_STATUS_VLAN_VALID`). [`restore`]
//! puts the tag back in front of the EtherType by moving the two MAC addresses 4 bytes towards
//! the frame header, into headroom the kernel leaves free, so the data plane parses one wire
//! format whichever device it runs on. Pure byte work: tested without sockets.

use libc::{TP_STATUS_VLAN_TPID_VALID, TP_STATUS_VLAN_VALID};

/// Bytes of an 802.1Q tag (TPID and TCI).
pub(super) const VLAN_LEN: usize = 4;
/// Bytes of the destination and source MAC addresses, which the tag follows.
const MACS_LEN: usize = 12;
/// The 802.1Q TPID, assumed when the kernel does not say which TPID it took out.
const TPID_8021Q: u16 = 0x8100;

/// A VLAN tag the kernel took out of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct VlanTag {
    /// Tag protocol identifier (0x8100, 0x88a8, …).
    pub(super) tpid: u16,
    /// Priority, drop eligibility and VLAN id.
    pub(super) tci: u16,
}

impl VlanTag {
    /// The tag described by a TPACKET_V2 status word and header fields, if there was one.
    pub(super) fn from_header(status: u32, tci: u16, tpid: u16) -> Option<VlanTag> {
        if status & TP_STATUS_VLAN_VALID == 0 {
            return None;
        }
        let tpid = if status & TP_STATUS_VLAN_TPID_VALID != 0 {
            tpid
        } else {
            TPID_8021Q
        };
        Some(VlanTag { tpid, tci })
    }
}

/// Re-inserts `tag` (if any) into the frame captured at `data[mac..mac + snaplen]` and returns
/// where the frame now starts and how long it is. Out-of-range `mac`/`snaplen` are clamped to
/// `data`. A frame without room for the tag (no headroom, or shorter than two MAC addresses)
/// is left as it is: it cannot happen with the ring layout, and a frame is never dropped here.
pub(super) fn restore(
    data: &mut [u8],
    mac: usize,
    snaplen: usize,
    tag: Option<VlanTag>,
) -> (usize, usize) {
    let mac = mac.min(data.len());
    let len = snaplen.min(data.len() - mac);
    let Some(tag) = tag else {
        return (mac, len);
    };
    if mac < VLAN_LEN || len < MACS_LEN {
        return (mac, len);
    }
    let start = mac - VLAN_LEN;
    data.copy_within(mac..mac + MACS_LEN, start);
    let tag_at = start + MACS_LEN;
    data[tag_at..tag_at + 2].copy_from_slice(&tag.tpid.to_be_bytes());
    data[tag_at + 2..tag_at + VLAN_LEN].copy_from_slice(&tag.tci.to_be_bytes());
    (start, len + VLAN_LEN)
}
