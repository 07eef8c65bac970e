//! Strait packet ports: one burst interface over every way the data plane moves frames.
//!
//! A *port* is one queue of one device, owned by one worker: nothing in it is shared, so no
//! method takes a lock. A device with several queues gives one port per worker; the worker
//! loop never knows which kind it drives.
//!
//! | kind | what it is | where it runs |
//! |---|---|---|
//! | [`memory`] | frames in process memory | tests, the pipeline benchmark |
//! | [`af_packet`] | `AF_PACKET` sockets with TPACKET mmap rings, one per worker in a fanout group | anywhere: the software fallback |
//! | [`af_xdp`] | `AF_XDP` sockets, one per queue, native or generic XDP | nodes without DPDK |
//! | [`dpdk`] | a DPDK ethdev, one RX/TX queue pair per worker | NICs bound to DPDK; DPDK vdevs |
//!
//! # The burst contract
//! * [`Port::rx_burst`] receives up to `max` frames and lends each to a closure **in place**
//!   as `(buf, len)`: the frame is `buf[..len]`; `buf` is the whole buffer (at least
//!   [`MIN_BUFFER`] bytes), so a rewrite may grow the frame up to `buf.len()`. The closure's
//!   [`Verdict`] decides the frame's fate: [`Verdict::Tx`] sends `buf[..n]` back out of this
//!   port (zero-copy where the device allows), [`Verdict::Drop`] releases the buffer.
//! * [`Port::send`] queues a copy of a frame the worker built or took from another core.
//! * Nothing is guaranteed on the wire until [`Port::flush`]: one kick per burst, not per
//!   frame. A full transmit ring drops the frame and counts it in [`PortStats::tx_full`];
//!   a port never blocks.
//! * Every method is bounded work: no method waits for the device.

/// [`Port`] for a port type without values (a device left out of the build, an empty enum):
/// every method is `match *self {}`, so the type still fits [`AnyPort`].
#[cfg(not(all(feature = "af-xdp", feature = "dpdk")))]
macro_rules! port_without_values {
    ($ty:ty) => {
        impl $crate::Port for $ty {
            fn rx_burst<F>(&mut self, _max: usize, _f: F) -> usize
            where
                F: FnMut(&mut [u8], usize) -> $crate::Verdict,
            {
                match *self {}
            }

            fn send(&mut self, _frame: &[u8]) -> bool {
                match *self {}
            }

            fn flush(&mut self) {
                match *self {}
            }

            fn stats(&self) -> $crate::PortStats {
                match *self {}
            }
        }
    };
}

pub mod af_packet;
pub mod af_xdp;
mod any;
pub mod dpdk;
mod error;
pub mod memory;

pub use any::{AnyPort, DeviceConfig, DpdkOptions, interface_mac, open, parse_mac};
pub use error::DeviceError;

/// The smallest buffer a port lends to the rx closure: room for a 1518-byte VLAN frame plus
/// encapsulation headroom.
pub const MIN_BUFFER: usize = 2048;

/// The fate of a received frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send `buf[..n]` out of the port it came in on.
    Tx(usize),
    /// Release the buffer (dropped, or copied elsewhere first).
    Drop,
}

/// Counters of one port since it was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PortStats {
    /// Frames handed to the rx closure.
    pub rx: u64,
    /// Frames queued for transmission (by `Verdict::Tx` or `send`).
    pub tx: u64,
    /// Frames dropped because the transmit ring was full.
    pub tx_full: u64,
    /// Frames the kernel or device dropped before we saw them (ring overrun), where it says.
    pub rx_dropped: u64,
}

/// One queue of one device, owned by one worker. See the module documentation.
pub trait Port {
    /// Receives up to `max` frames, lending each to `f` in place; returns how many it received.
    fn rx_burst<F>(&mut self, max: usize, f: F) -> usize
    where
        F: FnMut(&mut [u8], usize) -> Verdict;

    /// [`Port::rx_burst`], first showing every received frame, read-only and in order, to
    /// `ahead` before any of them goes to `f`, both with `cx` (the state they share, typically
    /// the pipeline): the caller can start the cache misses of the whole burst (its table
    /// lookups) before it processes the first frame. A port that cannot see a burst before
    /// lending it out skips `ahead`, which then changes nothing but timing.
    fn rx_burst_ahead<C, A, F>(&mut self, max: usize, cx: &mut C, ahead: A, mut f: F) -> usize
    where
        A: FnMut(&mut C, &[u8]),
        F: FnMut(&mut C, &mut [u8], usize) -> Verdict,
    {
        let _ = ahead;
        self.rx_burst(max, |buf, len| f(cx, buf, len))
    }

    /// Queues a copy of `frame` for transmission. Returns false (and counts `tx_full`) if
    /// the transmit ring has no room, or the frame is larger than the port's buffers.
    fn send(&mut self, frame: &[u8]) -> bool;

    /// Hands queued frames to the device and reclaims completed ones.
    fn flush(&mut self);

    /// Counters since the port was opened.
    fn stats(&self) -> PortStats;
}

/// Which device a data plane drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    /// In-process memory ports (tests and benchmarks).
    Memory,
    /// `AF_PACKET` with TPACKET rings.
    AfPacket,
    /// `AF_XDP`.
    AfXdp,
    /// DPDK.
    Dpdk,
}

impl DeviceKind {
    /// The name used in flags and logs.
    pub fn name(self) -> &'static str {
        match self {
            DeviceKind::Memory => "memory",
            DeviceKind::AfPacket => "af_packet",
            DeviceKind::AfXdp => "af_xdp",
            DeviceKind::Dpdk => "dpdk",
        }
    }
}

impl std::str::FromStr for DeviceKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "memory" => Ok(DeviceKind::Memory),
            "af_packet" | "af-packet" => Ok(DeviceKind::AfPacket),
            "af_xdp" | "af-xdp" => Ok(DeviceKind::AfXdp),
            "dpdk" => Ok(DeviceKind::Dpdk),
            other => Err(format!(
                "unknown device {other:?}: expected memory, af_packet, af_xdp or dpdk"
            )),
        }
    }
}

/// XDP attach mode for [`af_xdp`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum XdpMode {
    /// Native (driver) mode if the driver has it, else generic.
    #[default]
    Auto,
    /// Driver mode only.
    Native,
    /// Generic (SKB) mode.
    Generic,
}

impl std::str::FromStr for XdpMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(XdpMode::Auto),
            "native" | "drv" => Ok(XdpMode::Native),
            "generic" | "skb" => Ok(XdpMode::Generic),
            other => Err(format!(
                "unknown XDP mode {other:?}: expected auto, native or generic"
            )),
        }
    }
}

/// Ring sizes for kernel-backed ports; powers of two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingSizes {
    /// Receive ring frames per port.
    pub rx: u32,
    /// Transmit ring frames per port.
    pub tx: u32,
}

impl Default for RingSizes {
    fn default() -> Self {
        RingSizes { rx: 4096, tx: 4096 }
    }
}
