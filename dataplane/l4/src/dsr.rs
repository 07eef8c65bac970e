//! Direct server return and MAC rewriting.
//!
//! In DSR mode the balancer forwards the frame unchanged at L3 and above: only the Ethernet
//! destination becomes the backend's MAC and the source the node's. The backend holds the VIP
//! on a loopback interface and answers the client directly, so replies never come back.
//!
//! # Invariants
//! * Only the 12 MAC bytes change; the VLAN tag, IP header, ports and checksums do not (no
//!   checksum covers the Ethernet header).
//! * On `Err` the frame is unchanged.

use crate::NatError;
use strait_packet::ethernet::{self, Address};
use strait_table::L4Backend;

/// Sets the source and destination MAC of `frame` (also used after full NAT for the next hop).
pub fn set_macs(frame: &mut [u8], src: Address, dst: Address) -> Result<(), NatError> {
    let mut eth = ethernet::Frame::new_checked(frame).map_err(|_| NatError::BadOffsets)?;
    eth.set_src(src);
    eth.set_dst(dst);
    Ok(())
}

/// DSR: sends `frame` to `backend` at L2, from `node_mac`. [`NatError::NoMac`] if the backend
/// record has no static MAC (the caller would then resolve one by ARP/ND and use [`set_macs`]).
pub fn dsr(frame: &mut [u8], node_mac: Address, backend: &L4Backend) -> Result<(), NatError> {
    let mac = backend.mac().ok_or(NatError::NoMac)?;
    set_macs(frame, node_mac, mac)
}
