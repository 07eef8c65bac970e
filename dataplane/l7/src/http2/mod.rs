//! HTTP/2 on the L7 path: downstream (ALPN `h2` on HTTPS listeners, prior-knowledge h2c on
//! HTTP listeners) and upstream (clusters whose protocol is HTTP/2, as gRPC needs), with the
//! `h2` crate on the worker's compio runtime.
//!
//! Order, per connection ([`serve`]): the h2 handshake over a [`pipe::Duplex`] → each stream
//! accepted and served in the connection's task (`server`) → routed by the same code as
//! HTTP/1.1 through an HTTP/1.1 rendering of its head (`head`) → answered locally or forwarded
//! (`forward`): to an HTTP/2 cluster on the worker's one multiplexed connection per endpoint
//! (`to_h2`), to an HTTP/1.1 cluster as an HTTP/1.1 exchange over the worker's pool (`to_h1`).
//! HTTP/1.1 clients reach HTTP/2 clusters through [`forward_h1`] (`from_h1`), called by
//! `crate::forward` for those clusters.
//!
//! Invariants:
//! * No body is held whole: DATA frames are relayed as they come, and the receiving side's
//!   window is released only once the next hop has taken the bytes (`relay`), so a slow
//!   reader slows its writer down through h2 flow control (and through TCP at the ends).
//! * Trailers pass both ways (h2 ↔ h2 as they are; HTTP/1.1 chunked trailers become h2
//!   trailers and h2 request trailers a chunked request's trailer section).
//! * A stream is retried by its route's policy as an HTTP/1.1 request is (`forward`), but only
//!   a stream without a body is replayable: one with a body (every gRPC call) is sent twice
//!   only after a connect failure, when nothing of it left the proxy. An HTTP/1.1 request to
//!   an HTTP/2 cluster (`from_h1`) is retried by the HTTP/1.1 rules, its body held whole
//!   included.
//! * A gRPC request (`content-type: application/grpc…`) that the proxy cannot forward gets a
//!   trailers-only gRPC answer (`grpc-status`, `grpc-message`), never a bare HTTP error.
//! * Everything stays on the worker's thread: the `h2` crate spawns nothing, the adapter's
//!   socket operations run in the task that polls the connection (`pipe`), and the upstream
//!   connections' tasks are compio tasks of this worker.

mod forward;
mod from_h1;
mod head;
mod pipe;
mod record;
mod relay;
mod server;
mod to_h1;
mod to_h2;

pub(crate) use from_h1::forward as forward_h1;
pub(crate) use server::{Opening, opening, serve};
