//! [`LinkListener`]: the listening end of the control link.
//!
//! `bind` replaces a stale socket file (one nobody listens on) but refuses to touch a live
//! socket or a non-socket file; it restricts the file to the owner (`0600`) before `listen`, so
//! no connection can be accepted while the mode is still the umask default (connecting to a
//! bound but not yet listening socket is refused). The socket file is **not** removed on drop:
//! a new listener may already have replaced it, and `bind` cleans up stale files anyway.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rustix::io::Errno;
use rustix::net::{SocketAddrUnix, SocketFlags};

use super::LinkError;
use super::socket::{Link, retry, seqpacket_socket};

/// Pending connections the kernel queues before `accept`.
const BACKLOG: i32 = 16;

/// A listening control socket.
#[derive(Debug)]
pub struct LinkListener {
    fd: OwnedFd,
    path: PathBuf,
}

impl LinkListener {
    /// Removes a stale socket at `path`, binds, restricts the file to mode `0600`, and listens.
    pub fn bind(path: &Path) -> Result<LinkListener, LinkError> {
        remove_stale(path)?;
        let addr = SocketAddrUnix::new(path).map_err(|e| LinkError::io("socket address", e))?;
        let fd = seqpacket_socket()?;
        rustix::net::bind(&fd, &addr).map_err(|e| match e {
            Errno::ADDRINUSE => LinkError::AddrInUse {
                path: path.to_owned(),
            },
            e => LinkError::io("bind", e),
        })?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| LinkError::io("chmod", e))?;
        rustix::net::listen(&fd, BACKLOG).map_err(|e| LinkError::io("listen", e))?;
        Ok(LinkListener {
            fd,
            path: path.to_owned(),
        })
    }

    /// Waits for the next peer to connect.
    pub fn accept(&self) -> Result<Link, LinkError> {
        let fd = retry(|| rustix::net::accept_with(&self.fd, SocketFlags::CLOEXEC))
            .map_err(|e| LinkError::io("accept", e))?;
        Ok(Link::from_fd(fd))
    }

    /// The socket path this listener was bound to.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl AsFd for LinkListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Deletes `path` if it is a socket nobody listens on; errors if it is live or not a socket.
fn remove_stale(path: &Path) -> Result<(), LinkError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(LinkError::io("stat socket path", e)),
    };
    if !meta.file_type().is_socket() {
        return Err(LinkError::NotASocket {
            path: path.to_owned(),
        });
    }
    let addr = SocketAddrUnix::new(path).map_err(|e| LinkError::io("socket address", e))?;
    let probe = seqpacket_socket()?;
    match retry(|| rustix::net::connect(&probe, &addr)) {
        Ok(()) => Err(LinkError::AddrInUse {
            path: path.to_owned(),
        }),
        // Nobody listens: a leftover of a process that is gone.
        Err(Errno::CONNREFUSED) => match std::fs::remove_file(path) {
            Ok(()) => {
                tracing::info!(path = %path.display(), "removed stale link socket");
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(LinkError::io("remove stale socket", e)),
        },
        Err(e) => Err(LinkError::io("probe existing socket", e)),
    }
}
