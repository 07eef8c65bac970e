//! Errors of the agent ↔ data-plane link: socket failures and malformed messages.

use std::io;
use std::path::PathBuf;

/// Why a link operation failed or a message was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// A socket system call failed; `op` says which.
    #[error("link {op} failed: {source}")]
    Io {
        /// The call, e.g. `"connect"`.
        op: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The peer closed its end (or shut it down): no more messages will come.
    #[error("the peer closed the link")]
    Closed,

    /// No message arrived within the read timeout.
    #[error("no message arrived within the read timeout")]
    TimedOut,

    /// Something already listens on the socket path; another data plane is probably running.
    #[error("{} is in use: another process is listening on it", path.display())]
    AddrInUse {
        /// The socket path.
        path: PathBuf,
    },

    /// The socket path exists and is not a socket; it is left alone rather than deleted.
    #[error("{} exists and is not a socket; refusing to replace it", path.display())]
    NotASocket {
        /// The path.
        path: PathBuf,
    },

    /// A received message was longer than the receive buffer; the rest was discarded by the
    /// kernel, so the message is dropped.
    #[error("received message longer than {max} bytes was truncated and dropped")]
    Truncated {
        /// The buffer size.
        max: usize,
    },

    /// A received message carried more descriptors than fit; all of them were closed.
    #[error("received message carried more than {max} file descriptors; dropped and closed them")]
    ControlTruncated {
        /// The most descriptors one message may carry.
        max: usize,
    },

    /// A message carried the wrong number of file descriptors for its kind.
    #[error("{kind} message must carry {expected} file descriptor(s), got {got}")]
    FdCount {
        /// The message kind.
        kind: &'static str,
        /// Descriptors the kind requires.
        expected: usize,
        /// Descriptors present.
        got: usize,
    },

    /// An encoded message would exceed the size limit.
    #[error("encoded {kind} message is {len} bytes, over the {max}-byte limit")]
    TooLong {
        /// The message kind.
        kind: &'static str,
        /// Its encoded size.
        len: usize,
        /// The limit.
        max: usize,
    },

    /// A message does not start with `SLNK`: the peer does not speak this protocol.
    #[error("message does not start with magic \"SLNK\" (found {found:02x?})")]
    BadMagic {
        /// The first bytes found (fewer than 4 if the message is shorter).
        found: Vec<u8>,
    },

    /// A message uses a protocol version this build does not speak.
    #[error("message has link version {found}, this build speaks {expected}")]
    BadVersion {
        /// The version found.
        found: u16,
        /// The version this build speaks.
        expected: u16,
    },

    /// A message kind this build does not know.
    #[error("unknown message kind {0}")]
    UnknownKind(u16),

    /// A message ends before all its fields.
    #[error(
        "message ends early: field `{field}` needs {need} bytes at offset {offset}, {left} left"
    )]
    Short {
        /// The field being read.
        field: &'static str,
        /// Bytes it needs.
        need: usize,
        /// Where it starts.
        offset: usize,
        /// Bytes left.
        left: usize,
    },

    /// A message has bytes after its last field.
    #[error("{extra} unexpected byte(s) after the end of a {kind} message")]
    TrailingBytes {
        /// The message kind.
        kind: &'static str,
        /// How many bytes were left over.
        extra: usize,
    },

    /// A string field is longer than the cap.
    #[error("string field `{field}` is {len} bytes, over the {max}-byte cap")]
    StringTooLong {
        /// The field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The cap.
        max: usize,
    },

    /// A string field is not UTF-8.
    #[error("string field `{field}` is not valid UTF-8")]
    InvalidUtf8 {
        /// The field.
        field: &'static str,
    },
}

impl LinkError {
    /// Wraps a rustix or std error from call `op`.
    pub(crate) fn io(op: &'static str, source: impl Into<io::Error>) -> Self {
        LinkError::Io {
            op,
            source: source.into(),
        }
    }
}
