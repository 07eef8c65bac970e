//! The validated model: typed values and references resolved to indices.
//!
//! Invariants, established by [`crate::validate`] and relied on by the compiler: every index
//! (`HttpRoute::listeners`, `BackendRef::cluster`, …) is in bounds of the matching `Config`
//! vector; names are unique per kind; every weight list has a non-zero entry; listener sockets do
//! not overlap. A `Config` also keeps the [`RawConfig`] it was built from, for printing back.

mod backend;
mod http;

pub use backend::{Cluster, Endpoint, HashOn, L4Backend, L4Service, UpstreamTls};
pub use http::{
    DirectResponse, Filter, Header, HeaderMatch, HeaderModifier, HttpRoute, PathMatch,
    QueryParamMatch, Redirect, RetryPolicy, RouteMatch, RouteRegex, Rule, RuleAction, StringMatch,
    Timeouts,
};

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::kinds::{ListenerProtocol, TlsMode};
use crate::names::{Hostname, Name};
use crate::raw::RawConfig;

/// A validated Strait config; build it with [`crate::parse`] or [`crate::validate()`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// Listening sockets.
    pub listeners: Vec<Listener>,
    /// HTTP routes.
    pub http_routes: Vec<HttpRoute>,
    /// TCP routes.
    pub tcp_routes: Vec<TcpRoute>,
    /// TLS pass-through routes.
    pub tls_routes: Vec<TlsRoute>,
    /// L7 upstream clusters.
    pub clusters: Vec<Cluster>,
    /// L4 virtual-IP services.
    pub l4_services: Vec<L4Service>,
    pub(crate) raw: RawConfig,
}

impl Config {
    /// The raw document this config was validated from (for `straitctl get -o yaml|json`).
    pub fn raw(&self) -> &RawConfig {
        &self.raw
    }

    /// Gives up the typed model and returns the raw document.
    pub fn into_raw(self) -> RawConfig {
        self.raw
    }

    /// Index of the listener called `name`.
    pub fn listener_index(&self, name: &str) -> Option<usize> {
        self.listeners.iter().position(|l| l.name == *name)
    }

    /// Index of the cluster called `name`.
    pub fn cluster_index(&self, name: &str) -> Option<usize> {
        self.clusters.iter().position(|c| c.name == *name)
    }
}

/// A listening socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// Unique name.
    pub name: Name,
    /// Address and port to bind.
    pub addr: SocketAddr,
    /// Protocol accepted.
    pub protocol: ListenerProtocol,
    /// TLS settings; `Some` exactly for `HTTPS` and `TLS` listeners.
    pub tls: Option<ListenerTls>,
}

/// TLS settings of a listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerTls {
    /// `Terminate` (always for HTTPS) or `Passthrough`.
    pub mode: TlsMode,
    /// Certificates; non-empty iff `mode` is `Terminate`. At most one has no server names (the
    /// default), and no server name appears twice.
    pub certificates: Vec<Certificate>,
}

/// A certificate chain and key to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// PEM certificate chain file.
    pub cert_file: PathBuf,
    /// PEM private key file.
    pub key_file: PathBuf,
    /// SNI names served with this certificate; empty for the default certificate.
    pub server_names: Vec<Hostname>,
}

/// A weighted reference to a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BackendRef {
    /// Index into [`Config::clusters`].
    pub cluster: usize,
    /// Share of traffic, 0..=1000000.
    pub weight: u32,
}

/// Opaque TCP forwarding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpRoute {
    /// Unique name.
    pub name: Name,
    /// Indices into [`Config::listeners`] (TCP, or TLS terminating).
    pub listeners: Vec<usize>,
    /// Weighted clusters, at least one with a non-zero weight.
    pub backends: Vec<BackendRef>,
}

/// SNI pass-through forwarding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsRoute {
    /// Unique name.
    pub name: Name,
    /// Indices into [`Config::listeners`] (TLS pass-through).
    pub listeners: Vec<usize>,
    /// SNI names to match; empty matches any.
    pub hostnames: Vec<Hostname>,
    /// Weighted clusters, at least one with a non-zero weight.
    pub backends: Vec<BackendRef>,
}
