//! The agent ↔ data-plane control link: a Unix `SOCK_SEQPACKET` socket.
//!
//! Sequenced packets keep message boundaries (one [`Message`] per datagram) and deliver the file
//! descriptors of a message together with it (SCM_RIGHTS), so an image fd can never be paired
//! with the wrong `Publish`. The API is blocking and thread-friendly: one thread may `recv`
//! while another `send`s on a [`Link::try_clone`].
//!
//! Conversation: one side [`LinkListener::bind`]s and [`accept`](LinkListener::accept)s, the
//! other [`Link::connect`]s (either way round; the messages do not depend on who listens). The
//! data plane speaks first with `Hello` (+ stats and overlay fds); the agent
//! sends `Publish` (+ image fd) per generation and gets `Installed` or `Rejected`, then `Live`.
//! Either side may `Ping`; the other answers `Pong`. [`Link::shutdown`] wakes a blocked `recv`
//! on the other side with [`LinkError::Closed`].

mod error;
mod listener;
mod message;
mod socket;

pub use error::LinkError;
pub use listener::LinkListener;
pub use message::{LINK_MAGIC, LINK_VERSION, MAX_MESSAGE_BYTES, MAX_STRING_BYTES, Message};
pub use socket::{Link, MAX_FDS};
