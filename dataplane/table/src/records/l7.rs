//! L7 proxy records around routes: listeners, certificates, virtual hosts, matches, weighted
//! backends, header modifications and TCP routes.
//!
//! Ownership goes downwards through ranges (listener → certificates, virtual hosts, TCP routes;
//! virtual host → routes; route → matches, backends, header mods). The only upward or sideways
//! references are plain indices (`VirtualHost::listener`, `RouteBackend::cluster`), which the
//! reader bounds-checks. Ranges of different owners may overlap (sharing is allowed).

use super::codes::{
    HeaderOp, HostKind, ListenerProtocol, MatchKind, MatchTarget, ModDirection, TlsMode,
};
use super::{Range, StrRef, decode_ip};
use bytemuck::{Pod, Zeroable};
use core::net::IpAddr;

/// An L7 listener: a socket address and what is served on it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Listener {
    /// Listener name.
    pub name: StrRef,
    /// Bind address (see `family`).
    pub addr: [u8; 16],
    /// Certificates in `CERTIFICATES` (for `TlsMode::Terminate`).
    pub certificates: Range,
    /// Virtual hosts in `VIRTUAL_HOSTS` (for HTTP and HTTPS).
    pub virtual_hosts: Range,
    /// TCP routes in `TCP_ROUTES` (for TLS and TCP).
    pub tcp_routes: Range,
    /// Bind port.
    pub port: u16,
    /// [`crate::Family`] code of `addr`.
    pub family: u8,
    /// [`ListenerProtocol`] code.
    pub protocol: u8,
    /// [`TlsMode`] code.
    pub tls_mode: u8,
    /// Zero.
    pub _pad: [u8; 3],
}

impl Listener {
    /// The bind address.
    pub fn addr(&self) -> Option<IpAddr> {
        decode_ip(&self.addr, self.family)
    }

    /// The protocol.
    pub fn protocol(&self) -> Option<ListenerProtocol> {
        ListenerProtocol::from_code(self.protocol)
    }

    /// The TLS mode.
    pub fn tls_mode(&self) -> Option<TlsMode> {
        TlsMode::from_code(self.tls_mode)
    }
}

/// A certificate and key (PEM files the data plane loads) and the server names it serves.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Certificate {
    /// Path of the certificate chain file.
    pub cert_path: StrRef,
    /// Path of the private key file.
    pub key_path: StrRef,
    /// Server names in `NAMES` (empty = default certificate).
    pub server_names: Range,
}

/// A virtual host of an HTTP(S) listener.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct VirtualHost {
    /// Lower-case hostname; for `Wildcard` the suffix including its leading `.`; empty for `Any`.
    pub hostname: StrRef,
    /// Routes in `ROUTES`, tried in order.
    pub routes: Range,
    /// Index of the owning listener in `LISTENERS`.
    pub listener: u32,
    /// [`HostKind`] code.
    pub kind: u8,
    /// Zero.
    pub _pad: [u8; 3],
}

impl VirtualHost {
    /// How the hostname matches.
    pub fn kind(&self) -> Option<HostKind> {
        HostKind::from_code(self.kind)
    }
}

/// A header or query-parameter condition of a route; all of a route's matches must hold.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Match {
    /// Header or parameter name.
    pub name: StrRef,
    /// Value to compare with (empty for `Present`).
    pub value: StrRef,
    /// [`MatchTarget`] code.
    pub target: u8,
    /// [`MatchKind`] code.
    pub kind: u8,
    /// 1 to negate the condition, else 0.
    pub invert: u8,
    /// Zero.
    pub _pad: u8,
}

impl Match {
    /// What is matched.
    pub fn target(&self) -> Option<MatchTarget> {
        MatchTarget::from_code(self.target)
    }

    /// How it is compared.
    pub fn kind(&self) -> Option<MatchKind> {
        MatchKind::from_code(self.kind)
    }

    /// True if the condition is negated.
    pub fn is_inverted(&self) -> bool {
        self.invert == 1
    }
}

/// A weighted reference to a cluster (from a route or a TCP route).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct RouteBackend {
    /// Index of the cluster in `CLUSTERS`.
    pub cluster: u32,
    /// Relative weight (0 = receives no traffic).
    pub weight: u32,
}

/// A header added, set or removed on the request or the response.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct HeaderMod {
    /// Header name.
    pub name: StrRef,
    /// Header value (empty for `Remove`).
    pub value: StrRef,
    /// [`ModDirection`] code.
    pub direction: u8,
    /// [`HeaderOp`] code.
    pub op: u8,
    /// Zero.
    pub _pad: [u8; 2],
}

impl HeaderMod {
    /// Request or response.
    pub fn direction(&self) -> Option<ModDirection> {
        ModDirection::from_code(self.direction)
    }

    /// The operation.
    pub fn op(&self) -> Option<HeaderOp> {
        HeaderOp::from_code(self.op)
    }
}

/// A route for TCP or TLS-passthrough streams.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct TcpRoute {
    /// Route name.
    pub name: StrRef,
    /// SNI hostnames in `NAMES` (empty = any stream).
    pub sni: Range,
    /// Weighted clusters in `ROUTE_BACKENDS`.
    pub backends: Range,
}
