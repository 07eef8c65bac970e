//! `AF_PACKET` ports: TPACKET_V2 mmap rings, one socket per worker — the software fallback
//! that runs on any Linux interface.
//!
//! # Shape
//! [`open`] makes one `AF_PACKET`/`SOCK_RAW` socket per port, bound to the interface for
//! `ETH_P_ALL`, each with an RX ring and a TX ring of 4 KiB frames in one mapping. With more
//! than one port the sockets form one `PACKET_FANOUT_HASH` group: the kernel's symmetric flow
//! hash puts every frame of a flow, in both directions, on the same port. Sockets receive only
//! frames coming in, none going out, ours or the local stack's (`PACKET_IGNORE_OUTGOING`), and
//! hand frames straight to the driver (`PACKET_QDISC_BYPASS`). Ports are opened on one thread and may be moved to their workers
//! (`Send`); each is then driven by that worker alone.
//!
//! # Invariants
//! * Each ring frame belongs to the kernel or to the port, as its status word says; the port
//!   touches only frames that are its own, and hands each back as soon as it is done. The
//!   details, with the memory orderings, are in `ring.rs`.
//! * [`Port::rx_burst`] lends the closure a frame in place, inside the RX ring: `buf` starts
//!   at the MAC header and runs to the end of the ring frame (about 4000 bytes, well over
//!   [`MIN_BUFFER`](crate::MIN_BUFFER)). The frame returns to the kernel when the closure has
//!   returned and a `Verdict::Tx` copy into the TX ring is made (TPACKET rings cannot pass a
//!   frame from RX to TX without copying).
//! * A frame whose outer VLAN tag the kernel took out is shown with the tag put back, as it
//!   was on the wire (`frame.rs`).
//! * Nothing reaches the wire before [`Port::flush`], which kicks the kernel once if anything
//!   was queued since the last kick that succeeded.
//!
//! # Frames the closure may see
//! Every frame the kernel hands over is lent to the closure, whatever its flags:
//! * `TP_STATUS_COPY`: the frame was longer than a ring frame holds (jumbo frames only) and is
//!   truncated; `len` is the captured length.
//! * `TP_STATUS_LOSING`: the kernel dropped frames lately because the RX ring was full; this
//!   frame is whole. The drops are counted in `rx_dropped`.
//! * `TP_STATUS_CSUMNOTREADY`: the L4 checksum is not filled in yet; only for frames from a
//!   local sender with checksum offload on (a veth peer, say).
//!
//! # Counters
//! `rx`, `tx` and `tx_full` are counted as frames pass. `rx_dropped` comes from the kernel's
//! `PACKET_STATISTICS`, read (and thereby reset) every 1024th flush and added up.

mod frame;
mod layout;
mod ring;
mod socket;
#[cfg(test)]
mod tests;

use std::os::fd::{AsFd, OwnedFd};

use self::{frame::VlanTag, layout::Geometry, ring::Rings, socket::Failed};
use crate::{DeviceError, Port, PortStats, RingSizes, Verdict};

/// The name of this device kind in errors.
const DEVICE: &str = "af_packet";
/// Flushes between two reads of the kernel's drop counter.
const STATS_EVERY: u32 = 1024;

/// Opens `ports` `AF_PACKET` ports on `interface` (in the calling thread's network namespace),
/// in one fanout group when there is more than one. Ring sizes are frames per ring, clamped to
/// 16..=65536 and rounded up to a power of two. `ports == 0` gives no ports.
pub fn open(
    interface: &str,
    ports: usize,
    rings: RingSizes,
) -> Result<Vec<AfPacketPort>, DeviceError> {
    let ifindex = socket::ifindex(interface).map_err(|source| DeviceError::NoInterface {
        interface: interface.to_owned(),
        source,
    })?;
    let rx = Geometry::new(rings.rx);
    let tx = Geometry::new(rings.tx);
    let mut opened = Vec::with_capacity(ports);
    let mut group = None;
    for port in 0..ports {
        let setup = |f: Failed| DeviceError::Setup {
            device: DEVICE,
            interface: interface.to_owned(),
            port,
            what: f.what,
            source: f.source,
        };
        let (fd, mut rings) = socket::open(ifindex, rx, tx).map_err(setup)?;
        if ports > 1 {
            match group {
                None => group = Some(socket::create_fanout(fd.as_fd()).map_err(setup)?),
                Some(id) => {
                    socket::join_fanout(fd.as_fd(), id).map_err(setup)?;
                    // Until it joined, this socket received every frame the group did: drop
                    // those, so no frame reaches two ports (one arriving at the very moment of
                    // joining may be missed instead).
                    while rings.next_rx().is_some() {}
                }
            }
        }
        opened.push(AfPacketPort {
            rings,
            fd,
            sizes: RingSizes {
                rx: rx.frames(),
                tx: tx.frames(),
            },
            pending: false,
            flushes: 0,
            stats: PortStats::default(),
        });
    }
    tracing::debug!(
        interface,
        ifindex,
        ports,
        rx = rx.frames(),
        tx = tx.frames(),
        "af_packet open"
    );
    Ok(opened)
}

/// One `AF_PACKET` socket with its rings. See the module documentation.
#[derive(Debug)]
pub struct AfPacketPort {
    /// Declared before `fd`: unmapped before the socket closes.
    rings: Rings,
    fd: OwnedFd,
    sizes: RingSizes,
    /// Frames were queued since the last kick that succeeded.
    pending: bool,
    flushes: u32,
    stats: PortStats,
}

impl AfPacketPort {
    /// The ring sizes in use, after rounding: frames per ring.
    pub fn ring_sizes(&self) -> RingSizes {
        self.sizes
    }
}

impl Port for AfPacketPort {
    fn rx_burst<F>(&mut self, max: usize, mut f: F) -> usize
    where
        F: FnMut(&mut [u8], usize) -> Verdict,
    {
        let mut received = 0;
        while received < max {
            let Some((rx, mut tx)) = self.rings.next_rx() else {
                break;
            };
            received += 1;
            let tag = VlanTag::from_header(rx.status, rx.vlan_tci, rx.vlan_tpid);
            let (start, len) = frame::restore(&mut *rx.data, rx.mac, rx.snaplen, tag);
            let buf = &mut rx.data[start..];
            if let Verdict::Tx(n) = f(buf, len) {
                let n = n.min(buf.len());
                if tx.push(&buf[..n]) {
                    self.stats.tx += 1;
                    self.pending = true;
                } else {
                    self.stats.tx_full += 1;
                }
            }
            // `rx` drops here: the frame goes back to the kernel.
        }
        self.stats.rx += received as u64;
        received
    }

    fn send(&mut self, frame: &[u8]) -> bool {
        if self.rings.tx().push(frame) {
            self.stats.tx += 1;
            self.pending = true;
            true
        } else {
            self.stats.tx_full += 1;
            false
        }
    }

    fn flush(&mut self) {
        if self.pending {
            // On an error (EAGAIN or ENOBUFS when the device or socket buffer is busy, ENETDOWN
            // when the link is down) the unsent frames stay queued in the ring: kick again next
            // time rather than leave a full ring that nothing would ever kick.
            self.pending = socket::kick(self.fd.as_fd()).is_err();
        }
        self.flushes = self.flushes.wrapping_add(1);
        if self.flushes.is_multiple_of(STATS_EVERY)
            && let Ok(drops) = socket::take_drops(self.fd.as_fd())
        {
            self.stats.rx_dropped += drops;
        }
    }

    fn stats(&self) -> PortStats {
        self.stats
    }
}
