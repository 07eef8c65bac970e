//! `AF_XDP` ports: one XSK socket per receive queue, each with its own UMEM and rings.
//!
//! Built only with the `af-xdp` feature (it links libxdp and libbpf through `xsk-rs`);
//! without it, [`open`] says how to get it and [`AfXdpPort`] has no values.
//!
//! # Opening
//! [`open`] looks the interface up, checks that it has at least one receive queue per port
//! (`ethtool -L IFACE combined N` gives it more; a veth needs `numrxqueues N numtxqueues N`
//! when it is created), then binds port `i` to queue `i`. The first socket loads libxdp's
//! default XDP program, which redirects each queue's frames to the socket bound to it; the
//! XDP attach mode is chosen by [`XdpMode`](crate::XdpMode): native (driver) mode, trying
//! zero-copy first, generic (SKB) mode, or native falling back to generic (`Auto`, logged).
//! [`AfXdpPort::mode`] says which one is in use.
//!
//! Open and drop the ports in the same network namespace: libxdp detaches the program by
//! interface index when the last port on the interface drops, from the namespace of the
//! thread that drops it.
//!
//! # Frames and who owns them
//! Each port's UMEM holds `rings.rx + rings.tx` frames of [`FRAME_SIZE`] bytes. The
//! packet starts after the kernel's 256-byte XDP headroom, so the buffer lent to the rx
//! closure (from the packet start to the end of its frame) is 3840 bytes, more than
//! [`MIN_BUFFER`](crate::MIN_BUFFER). At every moment each frame is in exactly one place:
//!
//! | where | owner | how it leaves |
//! |---|---|---|
//! | free stack (`free`) | the port, idle | refilled onto the fill ring, or taken by `send` |
//! | fill ring | the kernel, empty, waiting for a packet | comes back filled on the rx ring |
//! | rx ring | the port, holding a received packet | `rx_burst` takes it off |
//! | lent | the rx closure, for one call | `Verdict::Tx` → tx ring; `Drop` (or no room on the tx ring) → free stack |
//! | tx ring | the kernel, being sent | comes back on the completion ring |
//! | completion ring | the port, sent | `flush` (or an empty free stack in `send`) moves it to the free stack |
//!
//! A frame's memory is only read or written by the port while the frame is free or lent, so
//! the port never touches memory the kernel may be using. The `unsafe` blocks of `port.rs`
//! (frame access and ring hand-overs, which xsk-rs marks unsafe) rely on that rule; it holds
//! because a descriptor is moved, never copied, from one place to the next, and the rings
//! only hand back descriptors this port gave them. The one other `unsafe` block is the
//! `SIOCETHTOOL` ioctl in `link.rs` that reads the queue count.
//!
//! # libxdp
//! libxdp and libbpf print warnings to stderr while loading the program (for example
//! "No bpffs found at /sys/fs/bpf … falling back to loading single prog without
//! dispatcher"). Without bpffs, or where the kernel refuses the dispatcher, libxdp attaches
//! its program alone: the ports work, but no other XDP program can share the interface.
//!
//! # Calling order
//! A worker loops `rx_burst` (and `send`), then `flush`. `flush` reclaims completed frames,
//! hands queued ones to the kernel (`sendto`, needed on every flush in copy mode and when the
//! kernel asks for it in zero-copy mode), tops up the fill ring, and now and then reads the
//! kernel's drop counters into [`PortStats::rx_dropped`](crate::PortStats::rx_dropped).

#[cfg(feature = "af-xdp")]
mod link;
#[cfg(feature = "af-xdp")]
mod port;
#[cfg(feature = "af-xdp")]
mod setup;
#[cfg(all(test, feature = "af-xdp"))]
mod tests;

#[cfg(feature = "af-xdp")]
pub use port::AfXdpPort;
#[cfg(feature = "af-xdp")]
pub use setup::{FRAME_SIZE, open};

#[cfg(not(feature = "af-xdp"))]
mod disabled;
#[cfg(not(feature = "af-xdp"))]
pub use disabled::{AfXdpPort, FRAME_SIZE, open};
