//! The raw model: exactly what an operator writes, as serde sees it.
//!
//! Every struct is `#[serde(default, deny_unknown_fields)]` with camelCase keys, so a typo is a
//! parse error with its path while a missing value is left empty for [`crate::validate`] to
//! report alongside every other mistake. Values with rules (durations, names, hostnames) are
//! kept as strings here; addresses, which are most of a large config, are [`Parsed`] on the fly
//! (keeping the text if it does not parse); keywords are the enums of [`crate::kinds`]. Optional
//! scalars are `Option`s and empty lists are skipped on output, so [`crate::to_yaml`] prints back
//! what was written.

mod backend;
mod http;
mod parsed;

pub use backend::{RawCluster, RawEndpoint, RawHashOn, RawL4Backend, RawL4Service, RawUpstreamTls};
pub use http::{
    RawDirectResponse, RawFilter, RawHeader, RawHeaderModifier, RawHttpRoute, RawMatch,
    RawPathMatch, RawRedirect, RawRetry, RawRule, RawTimeouts, RawValueMatch,
};
pub use parsed::{FromText, Parsed};

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::kinds::{ListenerProtocol, TlsMode};

/// A whole Strait config document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RawConfig {
    /// Addresses the proxy accepts connections on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub listeners: Vec<RawListener>,
    /// HTTP routing rules, attached to HTTP/HTTPS listeners.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub http_routes: Vec<RawHttpRoute>,
    /// Opaque TCP forwarding, attached to TCP (or TLS-terminating) listeners.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tcp_routes: Vec<RawTcpRoute>,
    /// SNI pass-through forwarding, attached to TLS pass-through listeners.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tls_routes: Vec<RawTlsRoute>,
    /// Named groups of upstream endpoints that routes forward to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<RawCluster>,
    /// Virtual-IP load-balanced services handled by the L4 data plane.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub l4_services: Vec<RawL4Service>,
}

/// A listening socket (Gateway API `Listener`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RawListener {
    /// Unique listener name, referenced by routes' `parentRefs`.
    pub name: String,
    /// IPv4 or IPv6 address to bind, e.g. `127.0.0.1` or `::`.
    pub address: Parsed<IpAddr>,
    /// TCP port to bind, 1..=65535.
    pub port: u32,
    /// What the listener speaks: `HTTP`, `HTTPS`, `TLS` or `TCP`. Required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<ListenerProtocol>,
    /// TLS settings; required for `HTTPS`, optional for `TLS`, rejected otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<RawListenerTls>,
}

/// TLS settings of a listener.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RawListenerTls {
    /// `Terminate` or `Passthrough`; defaults to `Terminate` on HTTPS and `Passthrough` on TLS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<TlsMode>,
    /// Certificates to serve when terminating; chosen by SNI against `serverNames`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<RawCertificate>,
}

/// A certificate chain and its private key, both PEM files.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RawCertificate {
    /// Path of the PEM certificate chain.
    pub cert_file: String,
    /// Path of the PEM private key.
    pub key_file: String,
    /// SNI names this certificate serves; empty makes it the listener's default certificate.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub server_names: Vec<String>,
}

/// A weighted reference to a cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RawBackendRef {
    /// Name of the cluster to forward to.
    pub name: String,
    /// Share of traffic, 0..=1000000; defaults to 1. Zero drains the backend.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
}

/// Opaque TCP forwarding from listeners to weighted clusters (Gateway API `TCPRoute`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RawTcpRoute {
    /// Unique TCP route name.
    pub name: String,
    /// Names of the `TCP` (or `TLS` terminating) listeners this route serves.
    pub parent_refs: Vec<String>,
    /// Clusters to forward connections to, by weight.
    pub backend_refs: Vec<RawBackendRef>,
}

/// SNI-based pass-through from TLS listeners to weighted clusters (Gateway API `TLSRoute`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RawTlsRoute {
    /// Unique TLS route name.
    pub name: String,
    /// Names of the `TLS` pass-through listeners this route serves.
    pub parent_refs: Vec<String>,
    /// SNI names to match; empty matches any SNI.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hostnames: Vec<String>,
    /// Clusters to forward connections to, by weight.
    pub backend_refs: Vec<RawBackendRef>,
}
