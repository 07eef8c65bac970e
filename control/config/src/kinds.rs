//! Closed sets of keywords shared by the raw (serde) model and the validated model.
//!
//! Each enum is a plain serde enum: an unknown keyword is a parse error whose path points at the
//! offending field (`listeners[0].protocol: unknown variant "HTTPX", expected one of …`). They are
//! `Copy` so the validated model can take them straight from the raw one.

use serde::{Deserialize, Serialize};

/// Protocol a listener accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ListenerProtocol {
    /// Plain-text HTTP/1.1 (and h2c); serves `httpRoutes`.
    Http,
    /// TLS-terminated HTTP; serves `httpRoutes`, needs certificates.
    Https,
    /// TLS by SNI: pass-through (serves `tlsRoutes`) or terminated (serves `tcpRoutes`).
    Tls,
    /// Opaque TCP; serves `tcpRoutes`.
    Tcp,
}

/// What a TLS-capable listener does with the TLS session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TlsMode {
    /// Decrypt at the listener with the configured certificates.
    Terminate,
    /// Route by SNI and forward the encrypted bytes untouched.
    #[default]
    Passthrough,
}

/// How an HTTP path is matched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PathMatchType {
    /// The whole path equals the value.
    Exact,
    /// The path starts with the value on a `/` segment boundary.
    #[default]
    PathPrefix,
    /// The whole path matches the regular expression.
    RegularExpression,
}

/// How a header or query parameter value is matched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ValueMatchType {
    /// The value equals the given value.
    #[default]
    Exact,
    /// The whole value matches the regular expression.
    RegularExpression,
    /// The value starts with the given value.
    Prefix,
    /// The header or parameter is present, whatever its value.
    Present,
}

/// HTTP request method (RFC 9110 §9 and PATCH), written in upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `CONNECT`
    Connect,
    /// `OPTIONS`
    Options,
    /// `TRACE`
    Trace,
    /// `PATCH`
    Patch,
}

/// Kind of an HTTP route filter (Gateway API `HTTPRouteFilter.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FilterType {
    /// Edit request headers before forwarding.
    RequestHeaderModifier,
    /// Edit response headers before returning them.
    ResponseHeaderModifier,
    /// Answer with a redirect instead of forwarding.
    RequestRedirect,
}

/// Scheme of a redirect target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// `http`
    Http,
    /// `https`
    Https,
}

/// Condition under which a request is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RetryOn {
    /// The upstream connection could not be established.
    ConnectFailure,
    /// The upstream refused the HTTP/2 stream (`REFUSED_STREAM`); always safe to retry.
    RefusedStream,
    /// The upstream reset the connection or stream before a response.
    Reset,
    /// The upstream answered with a 5xx status.
    #[serde(rename = "5xx")]
    Status5xx,
    /// The upstream answered 502, 503 or 504.
    GatewayError,
    /// A single try exceeded `perTryTimeout`.
    PerTryTimeout,
}

/// Load-balancing policy of a cluster.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LbPolicy {
    /// Weighted round robin.
    #[default]
    RoundRobin,
    /// Power-of-two-choices on outstanding requests, weighted.
    LeastRequest,
    /// Consistent hashing on a ring (Ketama); needs `hashOn`.
    RingHash,
    /// Maglev consistent hashing; needs `hashOn`.
    Maglev,
    /// Weighted random.
    Random,
}

impl LbPolicy {
    /// Whether the policy hashes a request attribute (and so needs `hashOn`).
    pub fn is_hashing(self) -> bool {
        matches!(self, LbPolicy::RingHash | LbPolicy::Maglev)
    }
}

/// Application protocol spoken to a cluster's endpoints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum UpstreamProtocol {
    /// HTTP/1.1 with keep-alive.
    #[default]
    Http1,
    /// HTTP/2 (prior knowledge, or ALPN `h2` over TLS).
    Http2,
}

/// Transport protocol of an L4 service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum L4Protocol {
    /// TCP.
    #[default]
    Tcp,
    /// UDP.
    Udp,
}

/// How an L4 service forwards packets to a backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ForwardMode {
    /// Source and destination NAT; replies return through the balancer.
    #[default]
    FullNat,
    /// Direct server return: rewrite the MAC only; backends own the VIP.
    #[serde(rename = "DSR")]
    Dsr,
    /// Encapsulate in IP-in-IP; backends decapsulate and reply directly.
    #[serde(rename = "IPIP")]
    Ipip,
    /// Encapsulate in Generic UDP Encapsulation; backends reply directly.
    #[serde(rename = "GUE")]
    Gue,
}

impl ForwardMode {
    /// Whether the balancer rewrites addresses (and so may change family and port).
    pub fn translates(self) -> bool {
        matches!(self, ForwardMode::FullNat)
    }
}
