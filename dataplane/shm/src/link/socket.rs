//! [`Link`]: one connected `SOCK_SEQPACKET` socket, sending and receiving whole messages with
//! their file descriptors.
//!
//! Invariants: every message sent carries exactly [`Message::expected_fds`] descriptors and
//! every message accepted on receive does too; every descriptor received is returned as an
//! `OwnedFd` or closed, including those of a message that is refused.

use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use rustix::io::Errno;
use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags,
    SendAncillaryBuffer, SendAncillaryMessage, SendFlags, Shutdown, SocketAddrUnix, SocketFlags,
    SocketType,
};

use super::message::MAX_MESSAGE_BYTES;
use super::{LinkError, Message};

/// Most descriptors one message may carry on receive; more are closed and the message refused.
pub const MAX_FDS: usize = 4;

/// One end of the control link.
#[derive(Debug)]
pub struct Link {
    fd: OwnedFd,
}

impl Link {
    /// Connects to a data plane listening on `path`.
    pub fn connect(path: &Path) -> Result<Link, LinkError> {
        let addr = SocketAddrUnix::new(path).map_err(|e| LinkError::io("socket address", e))?;
        let fd = seqpacket_socket()?;
        retry(|| rustix::net::connect(&fd, &addr)).map_err(|e| LinkError::io("connect", e))?;
        Ok(Link { fd })
    }

    /// Two connected ends (a socketpair), for tests and in-process use.
    pub fn pair() -> Result<(Link, Link), LinkError> {
        let (a, b) = rustix::net::socketpair(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )
        .map_err(|e| LinkError::io("socketpair", e))?;
        Ok((Link { fd: a }, Link { fd: b }))
    }

    pub(crate) fn from_fd(fd: OwnedFd) -> Link {
        Link { fd }
    }

    /// Sends `msg` with `fds` (exactly `msg.expected_fds()` of them) as one datagram.
    pub fn send(&self, msg: &Message, fds: &[BorrowedFd<'_>]) -> Result<(), LinkError> {
        if fds.len() != msg.expected_fds() {
            return Err(LinkError::FdCount {
                kind: msg.name(),
                expected: msg.expected_fds(),
                got: fds.len(),
            });
        }
        let bytes = msg.encode()?;
        let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        if !fds.is_empty() && !control.push(SendAncillaryMessage::ScmRights(fds)) {
            return Err(LinkError::ControlTruncated { max: MAX_FDS });
        }
        let iov = [IoSlice::new(&bytes)];
        let sent =
            retry(|| rustix::net::sendmsg(&self.fd, &iov, &mut control, SendFlags::NOSIGNAL))
                .map_err(|e| match e {
                    Errno::PIPE | Errno::CONNRESET | Errno::NOTCONN => LinkError::Closed,
                    Errno::AGAIN => LinkError::TimedOut,
                    e => LinkError::io("sendmsg", e),
                })?;
        if sent != bytes.len() {
            // SOCK_SEQPACKET sends all or nothing; anything else is a broken socket.
            return Err(LinkError::io(
                "sendmsg",
                std::io::Error::other("short send"),
            ));
        }
        Ok(())
    }

    /// Receives one message with its descriptors. Blocks (up to the read timeout, if set).
    pub fn recv(&self) -> Result<(Message, Vec<OwnedFd>), LinkError> {
        let mut buf = vec![0u8; MAX_MESSAGE_BYTES];
        let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
        let mut control = RecvAncillaryBuffer::new(&mut space);
        let got = {
            let mut iov = [IoSliceMut::new(&mut buf)];
            retry(|| {
                rustix::net::recvmsg(&self.fd, &mut iov, &mut control, RecvFlags::CMSG_CLOEXEC)
            })
        }
        .map_err(|e| match e {
            Errno::AGAIN => LinkError::TimedOut,
            Errno::CONNRESET => LinkError::Closed,
            e => LinkError::io("recvmsg", e),
        })?;
        // Take ownership of every descriptor first, so that each is closed on any error below.
        let mut fds = Vec::new();
        for msg in control.drain() {
            if let RecvAncillaryMessage::ScmRights(rights) = msg {
                fds.extend(rights);
            }
        }
        if got.flags.contains(ReturnFlags::CTRUNC) {
            return Err(LinkError::ControlTruncated { max: MAX_FDS });
        }
        if got.flags.contains(ReturnFlags::TRUNC) || got.bytes > buf.len() {
            return Err(LinkError::Truncated {
                max: MAX_MESSAGE_BYTES,
            });
        }
        if got.bytes == 0 {
            return Err(LinkError::Closed);
        }
        let msg = Message::decode(&buf[..got.bytes])?;
        if fds.len() != msg.expected_fds() {
            return Err(LinkError::FdCount {
                kind: msg.name(),
                expected: msg.expected_fds(),
                got: fds.len(),
            });
        }
        Ok((msg, fds))
    }

    /// Sets how long [`recv`](Self::recv) waits before [`LinkError::TimedOut`] (`None`: forever).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> Result<(), LinkError> {
        rustix::net::sockopt::set_socket_timeout(
            &self.fd,
            rustix::net::sockopt::Timeout::Recv,
            timeout,
        )
        .map_err(|e| LinkError::io("set SO_RCVTIMEO", e))
    }

    /// A second handle on the same socket (e.g. one thread receives, another sends).
    pub fn try_clone(&self) -> Result<Link, LinkError> {
        let fd =
            rustix::io::fcntl_dupfd_cloexec(&self.fd, 0).map_err(|e| LinkError::io("dup", e))?;
        Ok(Link { fd })
    }

    /// Shuts both directions down: the peer's `recv` returns [`LinkError::Closed`], and so do
    /// blocked `recv`s on clones of this end. Infallible in practice: on a connected socket the
    /// only error is "not connected" (already shut down by the peer), which needs no action.
    pub fn shutdown(&self) {
        if let Err(e) = rustix::net::shutdown(&self.fd, Shutdown::Both) {
            tracing::debug!(error = %e, "link shutdown");
        }
    }
}

impl AsFd for Link {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// A fresh close-on-exec Unix `SOCK_SEQPACKET` socket.
pub(crate) fn seqpacket_socket() -> Result<OwnedFd, LinkError> {
    rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )
    .map_err(|e| LinkError::io("socket", e))
}

/// Runs `f` again while it fails with `EINTR`.
pub(crate) fn retry<T>(mut f: impl FnMut() -> rustix::io::Result<T>) -> rustix::io::Result<T> {
    loop {
        match f() {
            Err(Errno::INTR) => continue,
            other => return other,
        }
    }
}
