//! The Strait L7 path: per-core HTTP/1.1 and HTTP/2 (gRPC included) proxy workers on io_uring,
//! routing from the tables the agent publishes; TLS termination (HTTPS, TLS listeners), SNI
//! pass-through and TCP routes. HTTP/2 streams are routed by the same code as HTTP/1.1
//! requests; see `http2`.
//!
//! A data plane runs one [`Worker`] per L7 core, each on its own pinned thread with its own
//! compio event loop (io_uring; epoll where io_uring is missing, and as the measured baseline),
//! its own `SO_REUSEPORT` socket per listener, its own upstream connection pool and balancing
//! state. Workers share nothing but the read-only table image, which they reach through the
//! data plane's RCU ([`TableSource`]) once per request and once per loop tick.
//!
//! A request, in order (`conn` → `route` → `forward` → `proxy`):
//! 1. its head is parsed by `strait-http1` (a refused head gets its status and the connection
//!    closes);
//! 2. it is routed on the current generation: listener, virtual host (exact, then wildcard,
//!    then catch-all), the first route whose path, method, header and query matches hold, and
//!    the route's action: redirect, direct response, or a weighted cluster;
//! 3. an endpoint is chosen by the cluster's policy; the body already read (up to
//!    [`L7Options::hold_body_bytes`]) is validated before anything goes upstream;
//! 4. head and body go up, the response comes down, both streamed through bounded buffers, and
//!    the upstream connection returns to the pool when the exchange was clean.
//!
//! No route: 404. No usable endpoint: 503 with a body saying why. Connect failure or bad
//! response: 502; no response in time: 504. Failed tries are retried by the route's policy and
//! the cluster's retry budget (`retry`). Each worker counts requests (HTTP/2 streams
//! included), responses and latency into its stats record (`metrics`) and may write an access
//! log line per request (`access`), both when the request ends (`account`).
#![forbid(unsafe_code)]

mod access;
mod account;
mod body;
mod conn;
mod download;
mod forward;
mod generation;
mod headers;
mod http2;
mod io;
mod lb;
mod listen;
mod matching;
mod metrics;
mod options;
mod pool;
mod proxy;
mod replay;
mod respond;
mod retry;
mod route;
mod sni;
mod stream;
mod tcp;
mod tls;
mod upstream;
mod wakeup;
mod worker;

pub use generation::TableImage;
pub use options::{AccessLog, Driver, L7Options};
pub use wakeup::Wakeup;
pub use worker::{Report, TableSource, Worker, WorkerError};
