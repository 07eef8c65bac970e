//! TLS on the L7 path: termination with rustls (aws-lc-rs) for HTTPS and terminating TLS
//! listeners, and the ClientHello peek that SNI pass-through routes by.
//!
//! * [`config`]: a listener's certificates, chosen by SNI, reloaded when their files change;
//! * [`stream`]: a TLS session over a compio `TcpStream` that one task may read while another
//!   writes;
//! * [`hello`]: the server name of a ClientHello, without consuming it;
//! * [`client`]: TLS towards a cluster's endpoints (verified against its CA file or the system's
//!   roots).

mod client;
mod config;
pub(crate) mod hello;
mod stream;

pub(crate) use client::{Alpn, ClientConfigs, server_name};
pub(crate) use config::{CertSpec, CertStore, HTTP_ALPN, Resumption, Source};
pub(crate) use stream::TlsStream;
