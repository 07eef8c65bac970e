//! One packet socket: set up step by step, then the two calls the hot path makes on it.
//!
//! The order of [`open`] matters, and the kernel enforces most of it: `PACKET_VERSION` before
//! the rings, the rings before `mmap`, `bind` after the rings, fanout after `bind` (a group
//! takes only running sockets). The socket is created with protocol 0, so it receives nothing
//! until `bind` names the interface and `ETH_P_ALL`: no frame from another interface slips into
//! the ring during setup. Every step that fails says which it was ([`Failed::what`]).

use std::{
    io,
    os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd},
    ptr,
};

use libc::{
    PACKET_FANOUT, PACKET_FANOUT_FLAG_UNIQUEID, PACKET_FANOUT_HASH, PACKET_IGNORE_OUTGOING,
    PACKET_LOSS, PACKET_QDISC_BYPASS, PACKET_RX_RING, PACKET_STATISTICS, PACKET_TX_RING,
    PACKET_VERSION, SOL_PACKET, c_int, socklen_t, tpacket_stats,
};
use rustix::net::{
    self, AddressFamily, SendFlags, SocketFlags, SocketType, netdevice::name_to_index,
};

use super::{layout::Geometry, ring::Rings};

/// A setup step that failed, and why.
#[derive(Debug)]
pub(super) struct Failed {
    /// The step, as the error message names it.
    pub(super) what: &'static str,
    /// The cause.
    pub(super) source: io::Error,
}

/// Names the step a system call belongs to.
trait During<T> {
    fn during(self, what: &'static str) -> Result<T, Failed>;
}

impl<T, E: Into<io::Error>> During<T> for Result<T, E> {
    fn during(self, what: &'static str) -> Result<T, Failed> {
        self.map_err(|e| Failed {
            what,
            source: e.into(),
        })
    }
}

/// The index of `interface` in the calling thread's network namespace (asked through a
/// throwaway UDP socket, so a missing interface is reported without needing `CAP_NET_RAW`).
pub(super) fn ifindex(interface: &str) -> io::Result<u32> {
    let probe = net::socket_with(
        AddressFamily::INET,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC,
        None,
    )?;
    Ok(name_to_index(&probe, interface)?)
}

/// A TPACKET_V2 socket on `ifindex` with mapped rings, receiving every protocol.
pub(super) fn open(ifindex: u32, rx: Geometry, tx: Geometry) -> Result<(OwnedFd, Rings), Failed> {
    let fd = net::socket_with(
        AddressFamily::PACKET,
        SocketType::RAW,
        SocketFlags::CLOEXEC,
        None,
    )
    .during("socket")?;
    let v2 = libc::tpacket_versions::TPACKET_V2 as c_int;
    set(fd.as_fd(), PACKET_VERSION, &v2).during("setsockopt PACKET_VERSION")?;
    // A TX frame the kernel cannot send (too long for the MTU, say) is skipped and marked
    // available instead of stopping the whole TX ring in TP_STATUS_WRONG_FORMAT.
    set(fd.as_fd(), PACKET_LOSS, &1).during("setsockopt PACKET_LOSS")?;
    set(fd.as_fd(), PACKET_QDISC_BYPASS, &1).during("setsockopt PACKET_QDISC_BYPASS")?;
    set(fd.as_fd(), PACKET_IGNORE_OUTGOING, &1).during("setsockopt PACKET_IGNORE_OUTGOING")?;
    set(fd.as_fd(), PACKET_RX_RING, &rx.request()).during("setsockopt PACKET_RX_RING")?;
    set(fd.as_fd(), PACKET_TX_RING, &tx.request()).during("setsockopt PACKET_TX_RING")?;
    let rings = Rings::map(fd.as_fd(), rx, tx).during("mmap")?;
    bind(fd.as_fd(), ifindex).during("bind")?;
    Ok((fd, rings))
}

/// Starts a `PACKET_FANOUT_HASH` group with `fd` as its first member and returns the group
/// id, which the kernel picks unused in this network namespace (`PACKET_FANOUT_FLAG_UNIQUEID`),
/// so two processes, or two interfaces, never share a group by accident.
pub(super) fn create_fanout(fd: BorrowedFd<'_>) -> Result<u16, Failed> {
    let arg = ((PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_UNIQUEID) << 16) as c_int;
    set(fd, PACKET_FANOUT, &arg).during("setsockopt PACKET_FANOUT (new group)")?;
    let value: u32 = get(fd, PACKET_FANOUT, 0).during("getsockopt PACKET_FANOUT")?;
    // The low 16 bits are the id; type and flags are above.
    Ok(value as u16)
}

/// Joins the `PACKET_FANOUT_HASH` group `id` made by [`create_fanout`].
pub(super) fn join_fanout(fd: BorrowedFd<'_>, id: u16) -> Result<(), Failed> {
    let arg = ((PACKET_FANOUT_HASH << 16) | u32::from(id)) as c_int;
    set(fd, PACKET_FANOUT, &arg).during("setsockopt PACKET_FANOUT (join)")
}

/// Asks the kernel to send every frame marked `TP_STATUS_SEND_REQUEST`, without waiting.
pub(super) fn kick(fd: BorrowedFd<'_>) -> io::Result<()> {
    // With a TX ring the kernel ignores the buffer: this is `sendto(fd, NULL, 0, ...)`.
    net::send(fd, &[], SendFlags::DONTWAIT)?;
    Ok(())
}

/// Frames the kernel dropped for want of a free RX frame since the last call (reading
/// `PACKET_STATISTICS` resets the kernel's counters).
pub(super) fn take_drops(fd: BorrowedFd<'_>) -> io::Result<u64> {
    let zero = tpacket_stats {
        tp_packets: 0,
        tp_drops: 0,
    };
    let stats = get(fd, PACKET_STATISTICS, zero)?;
    Ok(u64::from(stats.tp_drops))
}

fn bind(fd: BorrowedFd<'_>, ifindex: u32) -> io::Result<()> {
    let addr = libc::sockaddr_ll {
        sll_family: libc::AF_PACKET as u16,
        sll_protocol: (libc::ETH_P_ALL as u16).to_be(),
        sll_ifindex: c_int::try_from(ifindex).map_err(|_| io::Error::other("ifindex range"))?,
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 0,
        sll_addr: [0; 8],
    };
    let len = size_of::<libc::sockaddr_ll>() as socklen_t;
    // SAFETY: the pointer and length describe `addr`, a whole `sockaddr_ll` that lives across
    // the call; the kernel only copies it.
    let rc = unsafe { libc::bind(fd.as_raw_fd(), ptr::from_ref(&addr).cast(), len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `setsockopt(fd, SOL_PACKET, name, value)`. `T` is a C integer or a C struct without
/// padding (`tpacket_req`), as the option expects.
fn set<T>(fd: BorrowedFd<'_>, name: c_int, value: &T) -> io::Result<()> {
    let len = size_of::<T>() as socklen_t;
    let value = ptr::from_ref(value).cast();
    // SAFETY: the pointer and length describe `*value`, initialised and alive across the
    // call; the kernel only copies it in.
    let rc = unsafe { libc::setsockopt(fd.as_raw_fd(), SOL_PACKET, name, value, len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `getsockopt(fd, SOL_PACKET, name)` into a `T` that starts as `value`. `T` is a C integer or
/// a plain C struct of integers (`tpacket_stats`): any bytes the kernel writes are a valid `T`.
fn get<T: Copy>(fd: BorrowedFd<'_>, name: c_int, mut value: T) -> io::Result<T> {
    let mut len = size_of::<T>() as socklen_t;
    let out = ptr::from_mut(&mut value).cast();
    // SAFETY: `out` and `len` describe `value`, writable and alive across the call; the kernel
    // writes at most `len` bytes, and every bit pattern is a valid `T` (integers only).
    let rc = unsafe { libc::getsockopt(fd.as_raw_fd(), SOL_PACKET, name, out, &mut len) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    if len as usize != size_of::<T>() {
        return Err(io::Error::other("short getsockopt answer"));
    }
    Ok(value)
}
