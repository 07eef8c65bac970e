//! Opening ports: ring sizes, the order in which attach modes are tried, one socket per queue.

use std::{io, num::NonZeroU32, time::Duration};

use tracing::{debug, info};
use xsk_rs::{
    Umem,
    config::{BindFlags, FrameSize, Interface, QueueSize, SocketConfig, UmemConfig, XdpFlags},
    socket::Socket,
};

use super::{
    link,
    port::{AfXdpPort, Rings},
};
use crate::{DeviceError, MIN_BUFFER, RingSizes, XdpMode};

/// The device name in errors.
pub(super) const DEVICE: &str = "af_xdp";

/// Bytes per UMEM frame.
pub const FRAME_SIZE: u32 = 4096;

/// Headroom we reserve at the start of each frame, ahead of the kernel's.
const FRAME_HEADROOM: u32 = 0;

/// `XDP_PACKET_HEADROOM`: the kernel keeps this much in front of every packet.
const XDP_PACKET_HEADROOM: u32 = 256;

const _: () = assert!((FRAME_SIZE - FRAME_HEADROOM - XDP_PACKET_HEADROOM) as usize >= MIN_BUFFER);

/// One way to attach the XDP program and bind the socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Attempt {
    /// `Native` or `Generic`.
    pub mode: XdpMode,
    /// Bind with `XDP_ZEROCOPY` (else `XDP_COPY`).
    pub zero_copy: bool,
    /// The step, for errors.
    pub what: &'static str,
}

const NATIVE_ZERO_COPY: Attempt = Attempt {
    mode: XdpMode::Native,
    zero_copy: true,
    what: "binding an XSK socket in native zero-copy mode",
};
const NATIVE_COPY: Attempt = Attempt {
    mode: XdpMode::Native,
    zero_copy: false,
    what: "binding an XSK socket in native (driver) mode",
};
const GENERIC: Attempt = Attempt {
    mode: XdpMode::Generic,
    zero_copy: false,
    what: "binding an XSK socket in generic (SKB) mode",
};

/// What to try, in order, for `mode`. Zero-copy is tried first because the kernel only says
/// which one it chose when asked, and copy mode needs a `sendto` on every flush.
pub(super) fn attempts(mode: XdpMode) -> &'static [Attempt] {
    match mode {
        XdpMode::Native => &[NATIVE_ZERO_COPY, NATIVE_COPY],
        XdpMode::Generic => &[GENERIC],
        XdpMode::Auto => &[NATIVE_ZERO_COPY, NATIVE_COPY, GENERIC],
    }
}

impl Attempt {
    fn socket_config(self, sizes: &Sizes) -> SocketConfig {
        let xdp = match self.mode {
            XdpMode::Generic => XdpFlags::XDP_FLAGS_SKB_MODE,
            _ => XdpFlags::XDP_FLAGS_DRV_MODE,
        };
        let copy = if self.zero_copy {
            BindFlags::XDP_ZEROCOPY
        } else {
            BindFlags::XDP_COPY
        };
        SocketConfig::builder()
            .rx_queue_size(sizes.rx)
            .tx_queue_size(sizes.tx)
            .xdp_flags(xdp)
            .bind_flags(copy | BindFlags::XDP_USE_NEED_WAKEUP)
            .build()
    }
}

/// Checked ring and UMEM sizes of one port.
#[derive(Clone, Copy, Debug)]
pub(super) struct Sizes {
    pub rx: QueueSize,
    pub tx: QueueSize,
    pub umem: UmemConfig,
    pub frames: NonZeroU32,
}

impl Sizes {
    /// The fill ring matches the rx ring, the completion ring the tx ring, and there is a
    /// frame for every slot of the fill and tx rings.
    pub fn new(rings: RingSizes) -> io::Result<Sizes> {
        let invalid = |e: &dyn std::fmt::Display| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("ring sizes: {e}"))
        };
        let rx = QueueSize::new(rings.rx).map_err(|e| invalid(&e))?;
        let tx = QueueSize::new(rings.tx).map_err(|e| invalid(&e))?;
        let frame_size = FrameSize::new(FRAME_SIZE).map_err(|e| invalid(&e))?;
        let umem = UmemConfig::builder()
            .frame_size(frame_size)
            .frame_headroom(FRAME_HEADROOM)
            .fill_queue_size(rx)
            .comp_queue_size(tx)
            .build()
            .map_err(|e| invalid(&e))?;
        let frames = rings
            .rx
            .checked_add(rings.tx)
            .and_then(NonZeroU32::new)
            .ok_or_else(|| invalid(&"too many frames"))?;
        debug_assert!(umem.mtu() as usize >= MIN_BUFFER);
        Ok(Sizes {
            rx,
            tx,
            umem,
            frames,
        })
    }
}

/// Opens one `AF_XDP` port per worker on `interface`: port `i` on receive queue `i`.
///
/// Fails with [`DeviceError::NoInterface`] if the interface does not exist here,
/// [`DeviceError::Unsupported`] if it has fewer receive queues than `ports`, and
/// [`DeviceError::Setup`] naming the step that failed otherwise. See the module
/// documentation.
pub fn open(
    interface: &str,
    ports: usize,
    rings: RingSizes,
    mode: XdpMode,
) -> Result<Vec<AfXdpPort>, DeviceError> {
    let link = link::lookup(interface)?;
    if let Some(have) = link.rx_queues
        && ports > have
    {
        return Err(DeviceError::Unsupported {
            device: DEVICE,
            interface: interface.to_owned(),
            reason: link::queue_hint(interface, have, ports),
        });
    }
    let setup_error = |port, what, source| DeviceError::Setup {
        device: DEVICE,
        interface: interface.to_owned(),
        port,
        what,
        source,
    };
    let sizes = Sizes::new(rings).map_err(|e| setup_error(0, "checking ring sizes", e))?;
    let name: Interface = interface
        .parse()
        .map_err(|e| setup_error(0, "naming the interface", io::Error::other(e)))?;

    let mut opened: Vec<AfXdpPort> = Vec::with_capacity(ports);
    let mut chosen: Option<Attempt> = None;
    for port in 0..ports {
        let tries = match &chosen {
            Some(a) => std::slice::from_ref(a),
            None => attempts(mode),
        };
        let (p, attempt) = open_port(&name, interface, port, &sizes, tries)?;
        chosen = Some(attempt);
        opened.push(p);
    }
    if let Some(a) = chosen {
        info!(
            interface,
            ports,
            mode = if a.mode == XdpMode::Native {
                "native"
            } else {
                "generic"
            },
            zero_copy = a.zero_copy,
            "AF_XDP ports open"
        );
    }
    Ok(opened)
}

/// Binds one socket on queue `port`, trying `tries` in order.
///
/// `EBUSY` is retried for a while: the kernel releases a closed socket's hold on its queue
/// from a work queue, so a queue freed a moment ago (a restart) can still look taken.
fn open_port(
    name: &Interface,
    interface: &str,
    port: usize,
    sizes: &Sizes,
    tries: &[Attempt],
) -> Result<(AfXdpPort, Attempt), DeviceError> {
    let setup_error = |what, source| DeviceError::Setup {
        device: DEVICE,
        interface: interface.to_owned(),
        port,
        what,
        source,
    };
    let queue =
        u32::try_from(port).map_err(|e| setup_error("numbering the queue", io::Error::other(e)))?;
    let mut last = None;
    for (i, &attempt) in tries.iter().enumerate() {
        let mut busy = 0;
        let e = loop {
            match bind(name, queue, sizes, attempt) {
                Ok(p) => return Ok((p, attempt)),
                Err(Failure::Umem(e)) => return Err(setup_error("creating the UMEM", e)),
                Err(Failure::Bind(e))
                    if e.raw_os_error() == Some(libc::EBUSY) && busy < BUSY_TRIES =>
                {
                    busy += 1;
                    std::thread::sleep(BUSY_WAIT);
                }
                Err(Failure::Bind(e)) => break e,
            }
        };
        match tries.get(i + 1) {
            Some(next) if next.mode != attempt.mode => {
                info!(interface, error = %e, "native XDP unavailable; trying generic (SKB) mode");
            }
            _ => debug!(interface, port, what = attempt.what, error = %e, "AF_XDP bind failed"),
        }
        last = Some((attempt, e));
    }
    let (attempt, e) = last.expect("every mode has at least one attempt");
    Err(setup_error(attempt.what, e))
}

/// How many times, and how long apart, a bind that met `EBUSY` is tried again.
const BUSY_TRIES: u32 = 20;
const BUSY_WAIT: Duration = Duration::from_millis(50);

/// Why one [`bind`] failed.
enum Failure {
    Umem(io::Error),
    Bind(io::Error),
}

/// Creates a UMEM and binds a socket with it to `queue`, the way `attempt` says.
///
/// A fresh UMEM every time: its file descriptor becomes the socket's, and a bind that
/// succeeded before the XDP program failed to attach would leave that descriptor bound.
fn bind(
    name: &Interface,
    queue: u32,
    sizes: &Sizes,
    attempt: Attempt,
) -> Result<AfXdpPort, Failure> {
    let (umem, frames) =
        Umem::new(sizes.umem, sizes.frames, false).map_err(|e| Failure::Umem(io_error(&e)))?;
    // SAFETY: `Socket::new` requires the libxdp program-load inhibit flag when the UMEM is
    // shared with a socket already bound to this queue. This UMEM was created just above
    // and is used for this one socket only, so it is never shared.
    let created = unsafe { Socket::new(attempt.socket_config(sizes), &umem, name, queue) };
    match created {
        Ok((tx, rx, Some((fill, comp)))) => {
            let rings = Rings {
                umem,
                fill,
                comp,
                tx,
                rx,
            };
            Ok(AfXdpPort::new(rings, frames, sizes.tx.get(), attempt))
        }
        Ok((_, _, None)) => Err(Failure::Bind(io::Error::other(
            "libxdp gave a fresh UMEM no fill and completion rings",
        ))),
        Err(e) => Err(Failure::Bind(io_error(&e))),
    }
}

/// The OS error behind an xsk-rs error, or its message when there is none.
fn io_error(e: &(dyn std::error::Error + 'static)) -> io::Error {
    match e.source().and_then(|s| s.downcast_ref::<io::Error>()) {
        Some(inner) => match inner.raw_os_error() {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::new(inner.kind(), inner.to_string()),
        },
        None => io::Error::other(e.to_string()),
    }
}
