//! Shared memory between the agent and the data plane, and the control socket that carries it.
//!
//! * [`image`]: sealed, immutable table images (agent → data plane), mapped read-only.
//! * [`StatsRegion`] and [`HealthOverlay`]: fixed-size writable regions created by the data
//!   plane, accessed only through atomics; their layout (the [`RegionHeader`] and the constants)
//!   is an ABI shared by both processes.
//! * [`link`]: the agent ↔ data-plane Unix `SOCK_SEQPACKET` socket; messages carry the fds.
//! * [`fsutil::write_atomic`]: durable replacement of the last-good files.
//!
//! Lifecycle: the data plane creates its stats region and health overlay and, on every new link
//! connection, greets the agent with [`Message::Hello`] carrying both fds. The agent publishes each
//! generation as a sealed image ([`seal_image`]) with [`Message::Publish`]; the data plane maps
//! it ([`MappedImage::from_fd`]), validates it and answers `Installed`/`Rejected`, then `Live`
//! once every worker runs it.
//!
//! Safety: `unsafe` is confined to `map.rs` (creating mappings and viewing them). Images are
//! viewed as `&[u8]` only when sealed against writes and resizing; regions only as atomics and
//! only when sealed against resizing, so no mapping can change under a plain reference or fault.

#![deny(unsafe_code, unsafe_op_in_unsafe_fn)]

mod error;
pub mod fsutil;
pub mod image;
pub mod l7stats;
pub mod link;
mod map;
pub mod overlay;
pub mod region;
mod seal;
pub mod stats;

pub use error::ShmError;
pub use fsutil::write_atomic;
pub use image::{MAX_IMAGE_BYTES, MappedImage, seal_image};
pub use link::{Link, LinkError, LinkListener, Message};
pub use overlay::{
    DEFAULT_CAPACITY, EndpointState, HealthOverlay, MAX_CAPACITY, OVERLAY_MAGIC, OVERLAY_VERSION,
};
pub use region::{HEADER_BYTES, MAX_REGION_BYTES, RegionHeader};
pub use stats::{
    COUNTER_BASE, COUNTER_WORDS, MAX_WORKERS, RECORD_BYTES, RECORD_WORDS, STATE_NOT_STARTED,
    STATE_RUNNING, STATE_STOPPED, STATS_MAGIC, STATS_VERSION, StatsRegion, WORD_CORE,
    WORD_GENERATION, WORD_HEARTBEAT_MS, WORD_LOOPS, WORD_STATE, WorkerStats, monotonic_ms,
};
