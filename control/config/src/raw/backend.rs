//! Raw upstreams: L7 clusters of endpoints and L4 virtual-IP services of backends.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use super::Parsed;

use crate::kinds::{ForwardMode, L4Protocol, LbPolicy, UpstreamProtocol};

/// A named group of upstream endpoints for the L7 proxy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RawCluster {
    /// Unique cluster name, referenced by routes' `backendRefs`.
    pub name: String,
    /// `RoundRobin` (default), `LeastRequest`, `RingHash`, `Maglev` or `Random`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lb_policy: Option<LbPolicy>,
    /// Request attribute to hash; required for `RingHash`/`Maglev`, rejected otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash_on: Option<RawHashOn>,
    /// Deadline for establishing an upstream connection; default `5s`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<String>,
    /// `HTTP1` (default) or `HTTP2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<UpstreamProtocol>,
    /// Speak TLS to the endpoints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<RawUpstreamTls>,
    /// Upstream addresses; at least one.
    pub endpoints: Vec<RawEndpoint>,
}

/// Hash key for consistent hashing; exactly one field must be set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RawHashOn {
    /// Hash the value of this request header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Hash the value of this cookie.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookie: Option<String>,
    /// Hash the client's source IP address (must be `true` if set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<bool>,
}

/// TLS towards a cluster's endpoints.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RawUpstreamTls {
    /// Server name to send and verify; absent sends no SNI and verifies the IP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// PEM bundle of trusted roots; absent uses the system roots.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
}

/// One upstream address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RawEndpoint {
    /// `ip:port` or `[v6]:port`.
    pub address: Parsed<SocketAddr>,
    /// Share of traffic, 0..=1000000; default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
}

/// A virtual IP load-balanced by the L4 data plane (Katran/Maglev style).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RawL4Service {
    /// Unique service name.
    pub name: String,
    /// The virtual IP (v4 or v6) clients connect to.
    pub vip: Parsed<IpAddr>,
    /// Service port, 1..=65535.
    pub port: u32,
    /// `TCP` (default) or `UDP`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<L4Protocol>,
    /// `FullNat` (default), `DSR`, `IPIP` or `GUE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<ForwardMode>,
    /// Forget an idle flow after this long; default `300s` for TCP, `30s` for UDP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<String>,
    /// Real servers behind the VIP; at least one.
    pub backends: Vec<RawL4Backend>,
}

/// One real server behind a VIP.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RawL4Backend {
    /// Backend IP; same family as the VIP in `FullNat` and `DSR` modes.
    pub address: Parsed<IpAddr>,
    /// Backend port; default the service port. Only `FullNat` may change it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// Share of flows, 0..=1000000; default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    /// Static next-hop MAC (`02:00:00:00:01:02`); absent resolves it by ARP/ND.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}
