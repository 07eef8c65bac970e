//! Upstream cluster and endpoint records.
//!
//! A cluster owns `endpoints` (a range of `ENDPOINTS`) and, for `RingHash` and `Maglev`
//! policies, a `maglev` range of `MAGLEV` whose entries index `endpoints` relative to its first
//! record (the reader checks every entry is smaller than `endpoints.count`).

use super::codes::{HashOn, LbPolicy, UpstreamProtocol};
use super::{Range, StrRef, decode_ip};
use bytemuck::{Pod, Zeroable};
use core::net::IpAddr;

/// A group of endpoints that L7 routes forward to.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Cluster {
    /// Cluster name.
    pub name: StrRef,
    /// Header or cookie name hashed when `hash_on` is `Header` or `Cookie`.
    pub hash_key: StrRef,
    /// SNI sent to endpoints when `upstream_tls` is 1 (empty = none).
    pub tls_sni: StrRef,
    /// PEM bundle of the roots trusted for endpoints' certificates when `upstream_tls` is 1
    /// (empty = the system's roots).
    pub tls_ca: StrRef,
    /// Endpoints in `ENDPOINTS`.
    pub endpoints: Range,
    /// Maglev table in `MAGLEV` (empty unless the policy hashes).
    pub maglev: Range,
    /// Connect timeout in milliseconds (0 = data-plane default).
    pub connect_timeout_ms: u32,
    /// [`LbPolicy`] code.
    pub lb_policy: u8,
    /// [`HashOn`] code.
    pub hash_on: u8,
    /// [`UpstreamProtocol`] code.
    pub upstream_protocol: u8,
    /// 1 to speak TLS to endpoints, else 0.
    pub upstream_tls: u8,
}

impl Cluster {
    /// The balancing policy.
    pub fn lb_policy(&self) -> Option<LbPolicy> {
        LbPolicy::from_code(self.lb_policy)
    }

    /// What a hashing policy hashes.
    pub fn hash_on(&self) -> Option<HashOn> {
        HashOn::from_code(self.hash_on)
    }

    /// The upstream protocol.
    pub fn upstream_protocol(&self) -> Option<UpstreamProtocol> {
        UpstreamProtocol::from_code(self.upstream_protocol)
    }

    /// True if endpoints are reached over TLS.
    pub fn upstream_tls(&self) -> bool {
        self.upstream_tls == 1
    }
}

/// One endpoint of a cluster.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Endpoint {
    /// Endpoint address (see `family`).
    pub addr: [u8; 16],
    /// Relative weight (0 = drained).
    pub weight: u32,
    /// Index of this endpoint's slot in the shared health overlay (bounds-checked by the overlay).
    pub health_slot: u32,
    /// Endpoint port.
    pub port: u16,
    /// [`crate::Family`] code of `addr`.
    pub family: u8,
    /// Zero.
    pub _pad: u8,
}

impl Endpoint {
    /// The endpoint address.
    pub fn addr(&self) -> Option<IpAddr> {
        decode_ip(&self.addr, self.family)
    }
}
