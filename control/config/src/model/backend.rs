//! Validated upstreams: clusters of endpoints and L4 services of backends.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use crate::duration::Duration;
use crate::kinds::{ForwardMode, L4Protocol, LbPolicy, UpstreamProtocol};
use crate::names::{HeaderName, Hostname, Name};

/// A named group of upstream endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// Unique name.
    pub name: Name,
    /// Load-balancing policy.
    pub lb_policy: LbPolicy,
    /// Hash key; `Some` exactly when `lb_policy` is `RingHash` or `Maglev`.
    pub hash_on: Option<HashOn>,
    /// Deadline for connecting to an endpoint.
    pub connect_timeout: Duration,
    /// Protocol spoken to endpoints.
    pub protocol: UpstreamProtocol,
    /// Upstream TLS, if any.
    pub tls: Option<UpstreamTls>,
    /// Endpoints; non-empty, at least one with a non-zero weight.
    pub endpoints: Vec<Endpoint>,
}

/// What a consistent-hashing cluster hashes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HashOn {
    /// The value of a request header.
    Header(HeaderName),
    /// The value of a cookie.
    Cookie(String),
    /// The client's source IP.
    SourceIp,
}

/// TLS towards endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamTls {
    /// Server name to send and verify.
    pub sni: Option<Hostname>,
    /// Trusted roots; `None` for the system roots.
    pub ca_file: Option<PathBuf>,
}

/// One upstream address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// Address and port (port non-zero).
    pub addr: SocketAddr,
    /// Share of traffic, 0..=1000000.
    pub weight: u32,
}

/// A virtual-IP service of the L4 data plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L4Service {
    /// Unique name.
    pub name: Name,
    /// The virtual IP; `(vip, port, protocol)` is unique across services.
    pub vip: IpAddr,
    /// Service port (non-zero).
    pub port: u16,
    /// TCP or UDP.
    pub protocol: L4Protocol,
    /// Forwarding mode.
    pub mode: ForwardMode,
    /// Idle time after which a flow is forgotten.
    pub idle_timeout: Duration,
    /// Real servers; non-empty, at least one with a non-zero weight.
    pub backends: Vec<L4Backend>,
}

/// One real server behind a VIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct L4Backend {
    /// Backend IP; same family as the VIP unless the mode encapsulates.
    pub addr: IpAddr,
    /// Backend port; equals the service port unless the mode is `FullNat`.
    pub port: u16,
    /// Share of flows, 0..=1000000.
    pub weight: u32,
    /// Static next-hop MAC address.
    pub mac: Option<[u8; 6]>,
}
