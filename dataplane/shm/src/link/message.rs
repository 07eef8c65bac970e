//! Link messages and their hand-written wire encoding.
//!
//! Every message is one `SOCK_SEQPACKET` datagram, little-endian:
//! `b"SLNK"`, `u16` kind, `u16` version ([`LINK_VERSION`]), then the kind's fields in
//! declaration order (`u32`/`u64` integers; strings as `u32` length + UTF-8 bytes, at most
//! [`MAX_STRING_BYTES`]). A whole message is at most [`MAX_MESSAGE_BYTES`]. Descriptors travel
//! with their message (SCM_RIGHTS); [`Message::expected_fds`] says how many each kind carries.
//!
//! [`Message::decode`] never panics: bad magic, another version, an unknown kind, a short
//! message, an over-long or non-UTF-8 string, and trailing bytes are all a [`LinkError`].

use crate::link::LinkError;

/// First four bytes of every message.
pub const LINK_MAGIC: [u8; 4] = *b"SLNK";
/// Wire version of the messages.
pub const LINK_VERSION: u16 = 1;
/// Largest message, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 8192;
/// Largest string field, in bytes.
pub const MAX_STRING_BYTES: usize = 4096;

const HELLO: u16 = 1;
const PUBLISH: u16 = 2;
const INSTALLED: u16 = 3;
const REJECTED: u16 = 4;
const LIVE: u16 = 5;
const PING: u16 = 6;
const PONG: u16 = 7;

/// A message on the agent ↔ data-plane link.
///
/// Wire form (little-endian, one datagram): `b"SLNK"`, `u16` kind, `u16` [`LINK_VERSION`], then
/// the fields in declaration order; strings are a `u32` length and at most [`MAX_STRING_BYTES`]
/// UTF-8 bytes; the whole message is at most [`MAX_MESSAGE_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// DP → agent, first message on every connection; carries 2 fds: the stats region, then
    /// the health overlay.
    Hello {
        /// The data plane's process id.
        pid: u32,
        /// Number of workers (records in the stats region).
        workers: u32,
        /// Generation currently served (0 = none).
        generation: u64,
        /// Table image ABI version the data plane accepts.
        abi_version: u32,
    },
    /// Agent → DP: a new generation; carries 1 fd, the sealed image.
    Publish {
        /// Generation number of the image.
        generation: u64,
        /// Image length in bytes.
        len: u64,
    },
    /// DP → agent: the image was validated and handed to the workers.
    Installed {
        /// The generation.
        generation: u64,
    },
    /// DP → agent: the image was refused; the previous generation keeps serving.
    Rejected {
        /// The generation.
        generation: u64,
        /// Why, for the operator.
        reason: String,
    },
    /// DP → agent: every worker runs the generation.
    Live {
        /// The generation.
        generation: u64,
        /// Microseconds from `Publish` received to the last worker switching.
        switch_us: u64,
    },
    /// Liveness probe, either direction.
    Ping,
    /// Answer to [`Message::Ping`].
    Pong,
}

impl Message {
    /// A `Rejected` message whose reason is cut (at a character boundary) to fit the cap.
    pub fn rejected(generation: u64, reason: impl Into<String>) -> Message {
        let mut reason = reason.into();
        if reason.len() > MAX_STRING_BYTES {
            let mut end = MAX_STRING_BYTES;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason.truncate(end);
        }
        Message::Rejected { generation, reason }
    }

    /// The kind's name, for errors and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Message::Hello { .. } => "Hello",
            Message::Publish { .. } => "Publish",
            Message::Installed { .. } => "Installed",
            Message::Rejected { .. } => "Rejected",
            Message::Live { .. } => "Live",
            Message::Ping => "Ping",
            Message::Pong => "Pong",
        }
    }

    /// How many file descriptors a message of this kind carries.
    pub fn expected_fds(&self) -> usize {
        match self {
            Message::Hello { .. } => 2,
            Message::Publish { .. } => 1,
            _ => 0,
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Message::Hello { .. } => HELLO,
            Message::Publish { .. } => PUBLISH,
            Message::Installed { .. } => INSTALLED,
            Message::Rejected { .. } => REJECTED,
            Message::Live { .. } => LIVE,
            Message::Ping => PING,
            Message::Pong => PONG,
        }
    }

    /// The wire form; an error if a string or the whole message is over its cap.
    pub fn encode(&self) -> Result<Vec<u8>, LinkError> {
        let mut out = Vec::with_capacity(32);
        out.extend_from_slice(&LINK_MAGIC);
        out.extend_from_slice(&self.kind().to_le_bytes());
        out.extend_from_slice(&LINK_VERSION.to_le_bytes());
        match self {
            Message::Hello {
                pid,
                workers,
                generation,
                abi_version,
            } => {
                out.extend_from_slice(&pid.to_le_bytes());
                out.extend_from_slice(&workers.to_le_bytes());
                out.extend_from_slice(&generation.to_le_bytes());
                out.extend_from_slice(&abi_version.to_le_bytes());
            }
            Message::Publish { generation, len } => {
                out.extend_from_slice(&generation.to_le_bytes());
                out.extend_from_slice(&len.to_le_bytes());
            }
            Message::Installed { generation } => out.extend_from_slice(&generation.to_le_bytes()),
            Message::Rejected { generation, reason } => {
                out.extend_from_slice(&generation.to_le_bytes());
                if reason.len() > MAX_STRING_BYTES {
                    return Err(LinkError::StringTooLong {
                        field: "reason",
                        len: reason.len(),
                        max: MAX_STRING_BYTES,
                    });
                }
                out.extend_from_slice(&(reason.len() as u32).to_le_bytes());
                out.extend_from_slice(reason.as_bytes());
            }
            Message::Live {
                generation,
                switch_us,
            } => {
                out.extend_from_slice(&generation.to_le_bytes());
                out.extend_from_slice(&switch_us.to_le_bytes());
            }
            Message::Ping | Message::Pong => {}
        }
        if out.len() > MAX_MESSAGE_BYTES {
            return Err(LinkError::TooLong {
                kind: self.name(),
                len: out.len(),
                max: MAX_MESSAGE_BYTES,
            });
        }
        Ok(out)
    }

    /// Parses one whole message. Never panics; refuses bad magic, another version, an unknown
    /// kind, a short message, an over-long or non-UTF-8 string, and trailing bytes.
    pub fn decode(bytes: &[u8]) -> Result<Message, LinkError> {
        if bytes.get(..4) != Some(&LINK_MAGIC[..]) {
            return Err(LinkError::BadMagic {
                found: bytes[..bytes.len().min(4)].to_vec(),
            });
        }
        let mut c = Cursor { buf: bytes, pos: 4 };
        let kind = c.u16("kind")?;
        let version = c.u16("version")?;
        if version != LINK_VERSION {
            return Err(LinkError::BadVersion {
                found: version,
                expected: LINK_VERSION,
            });
        }
        let msg = match kind {
            HELLO => Message::Hello {
                pid: c.u32("pid")?,
                workers: c.u32("workers")?,
                generation: c.u64("generation")?,
                abi_version: c.u32("abi_version")?,
            },
            PUBLISH => Message::Publish {
                generation: c.u64("generation")?,
                len: c.u64("len")?,
            },
            INSTALLED => Message::Installed {
                generation: c.u64("generation")?,
            },
            REJECTED => Message::Rejected {
                generation: c.u64("generation")?,
                reason: c.string("reason")?,
            },
            LIVE => Message::Live {
                generation: c.u64("generation")?,
                switch_us: c.u64("switch_us")?,
            },
            PING => Message::Ping,
            PONG => Message::Pong,
            other => return Err(LinkError::UnknownKind(other)),
        };
        let extra = bytes.len() - c.pos;
        if extra != 0 {
            return Err(LinkError::TrailingBytes {
                kind: msg.name(),
                extra,
            });
        }
        Ok(msg)
    }
}

/// Bounds-checked reads from a message.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], LinkError> {
        let bytes = self.bytes(field, N)?;
        let mut out = [0; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn bytes(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], LinkError> {
        let left = self.buf.len() - self.pos;
        if n > left {
            return Err(LinkError::Short {
                field,
                need: n,
                offset: self.pos,
                left,
            });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, LinkError> {
        self.take(field).map(u16::from_le_bytes)
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, LinkError> {
        self.take(field).map(u32::from_le_bytes)
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, LinkError> {
        self.take(field).map(u64::from_le_bytes)
    }

    fn string(&mut self, field: &'static str) -> Result<String, LinkError> {
        let len = self.u32(field)? as usize;
        if len > MAX_STRING_BYTES {
            return Err(LinkError::StringTooLong {
                field,
                len,
                max: MAX_STRING_BYTES,
            });
        }
        let bytes = self.bytes(field, len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| LinkError::InvalidUtf8 { field })
    }
}
