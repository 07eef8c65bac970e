//! How an L7 worker runs: its I/O driver, timeouts, buffer and pool sizes, HTTP limits.
//!
//! Invariants: every value has a default that serves without configuration
//! ([`L7Options::default`]); the table image overrides per cluster what it carries (the connect
//! timeout) and per route (the request timeout). Buffers are bounded by these sizes whatever a
//! peer sends, so a worker's memory grows with its connections, never with a body.

use std::{path::PathBuf, time::Duration};

use strait_http1::Limits;

/// The completion driver under a worker's event loop.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Driver {
    /// io_uring when the kernel has every operation the worker uses, else epoll.
    #[default]
    Auto,
    /// io_uring only: the worker fails to start without it.
    IoUring,
    /// epoll (readiness, one syscall per operation): the baseline io_uring is measured against.
    Poll,
}

impl std::str::FromStr for Driver {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Driver::Auto),
            "io_uring" | "io-uring" => Ok(Driver::IoUring),
            "poll" | "epoll" => Ok(Driver::Poll),
            _ => Err(format!("{s:?} is not an L7 driver (auto, io_uring, poll)")),
        }
    }
}

/// Where a worker writes its access log (one JSON line per request, see `access`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AccessLog {
    /// No access log (the default: nothing is formatted or written).
    #[default]
    Off,
    /// The process's standard output.
    Stdout,
    /// The process's standard error.
    Stderr,
    /// A file, opened for appending (created if missing) by each worker.
    File(PathBuf),
}

impl std::str::FromStr for AccessLog {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "off" | "none" => Ok(AccessLog::Off),
            "stdout" | "-" => Ok(AccessLog::Stdout),
            "stderr" => Ok(AccessLog::Stderr),
            "" => Err("an access log target is off, stdout, stderr or a file path".into()),
            path => Ok(AccessLog::File(PathBuf::from(path))),
        }
    }
}

/// See the module documentation.
#[derive(Clone, Debug)]
pub struct L7Options {
    /// The completion driver.
    pub driver: Driver,
    /// From the first byte of a request head to its last.
    pub header_read_timeout: Duration,
    /// How long a client connection may wait for its next request.
    pub idle_timeout: Duration,
    /// Connect timeout when the cluster does not set one.
    pub connect_timeout: Duration,
    /// How long either peer may stay silent in the middle of a body or a tunnel.
    pub body_timeout: Duration,
    /// How long the upstream may take to start its response when the route sets no timeout.
    pub response_timeout: Duration,
    /// How long an idle upstream connection is kept in the pool.
    pub upstream_idle_timeout: Duration,
    /// Idle upstream connections kept per endpoint. At least the streams one HTTP/2 client
    /// may have in flight: fewer, and the HTTP/1.1 connections its fan-out needs are closed
    /// and opened again on every burst.
    pub max_idle_per_endpoint: usize,
    /// Bytes read from a socket at a time (and so the largest piece of a body in memory).
    pub read_chunk: usize,
    /// Request body bytes read and validated before anything is sent upstream (the whole body
    /// when it is smaller): a body that fails to decode within them never reaches an upstream.
    /// Also the largest body a retry can replay: a request with a longer body is never sent
    /// twice (only its connect failures are retried).
    pub hold_body_bytes: usize,
    /// How often an idle worker runs its housekeeping turn (heartbeat, access log flush, pool
    /// sweep). A new generation does not wait for it: the publisher wakes the worker
    /// ([`crate::Wakeup`]).
    pub tick: Duration,
    /// Head and body limits (431, 414, 413 and the like).
    pub limits: Limits,
    /// Where the access log goes.
    pub access_log: AccessLog,
    /// Whether TLS listeners let clients resume sessions (IDs and tickets). Off, every
    /// connection makes a full handshake (as a handshake benchmark needs).
    pub tls_resumption: bool,
}

impl Default for L7Options {
    fn default() -> Self {
        L7Options {
            driver: Driver::Auto,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(1),
            body_timeout: Duration::from_secs(60),
            response_timeout: Duration::from_secs(60),
            upstream_idle_timeout: Duration::from_secs(30),
            max_idle_per_endpoint: 256,
            read_chunk: 64 * 1024,
            hold_body_bytes: 64 * 1024,
            tick: Duration::from_millis(100),
            limits: Limits::default(),
            access_log: AccessLog::Off,
            tls_resumption: true,
        }
    }
}
