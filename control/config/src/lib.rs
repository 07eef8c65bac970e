//! Strait configuration model, YAML/JSON parsing and validation with field paths.
//!
//! The model follows Kubernetes Gateway API: listeners, HTTP/TCP/TLS routes with weighted
//! `backendRefs`, plus clusters (endpoints and LB policy) and L4 virtual-IP services.
//!
//! Call order: [`parse`] text (JSON if it starts with `{`, YAML otherwise) into a
//! [`RawConfig`] — one [`FieldError`] for a syntax, type or unknown-field error — then
//! [`validate()`] it into a typed [`Config`] whose references are indices, collecting every
//! mistake with its path (`httpRoutes[0].rules[1].backendRefs[0].name: no cluster named
//! "shop-v3"`). [`parse`] does both. [`Config::raw`] keeps the document for [`to_yaml`] /
//! [`to_json`].
//!
//! Cost: a JSON push of 10k routes and 100k endpoints is parsed without any per-key path
//! tracking (the path of a parse error is found by a second pass over the failed document) and
//! without an allocation per endpoint address (see [`raw::Parsed`]); validation builds each
//! name → index map once. `tests/scale.rs` prints the timings.
//!
//! Nothing here does I/O: reading files and certificates is the agent's job.
#![forbid(unsafe_code)]

pub mod diff;
mod duration;
mod error;
mod incremental;
pub mod kinds;
mod model;
mod names;
mod parse;
pub mod raw;
mod validate;

pub use duration::{Duration, DurationError};
pub use error::FieldError;
pub use incremental::ParseCache;
pub use model::{
    BackendRef, Certificate, Cluster, Config, DirectResponse, Endpoint, Filter, HashOn, Header,
    HeaderMatch, HeaderModifier, HttpRoute, L4Backend, L4Service, Listener, ListenerTls, PathMatch,
    QueryParamMatch, Redirect, RetryPolicy, RouteMatch, RouteRegex, Rule, RuleAction, StringMatch,
    TcpRoute, Timeouts, TlsRoute, UpstreamTls,
};
pub use names::{HeaderName, Hostname, MAX_NAME_LEN, Name, NameError};
pub use parse::{is_json, parse_raw};
pub use raw::RawConfig;
pub use validate::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_RETRY_BUDGET_PERCENT, DEFAULT_TCP_IDLE, DEFAULT_UDP_IDLE,
    MAX_RETRY_ATTEMPTS, MAX_WEIGHT, REDIRECT_CODES, validate,
};

/// Parses a YAML or JSON document and validates it.
///
/// A syntax, type or unknown-field error yields exactly one error; otherwise every validation
/// error is returned (name checks of every kind first, then listeners, routes, clusters and L4
/// services, each in document order).
pub fn parse(text: &str) -> Result<Config, Vec<FieldError>> {
    parse_raw(text).map_err(|e| vec![e]).and_then(validate)
}

/// Prints a raw config as YAML (camelCase keys, unset optional fields left out).
pub fn to_yaml(raw: &RawConfig) -> String {
    // Only strings, integers, booleans, enums, sequences and maps with string keys: the YAML
    // serializer has no failure mode for these.
    serde_saphyr::to_string(raw).unwrap_or_else(|e| unreachable!("YAML output of RawConfig: {e}"))
}

/// Prints a raw config as pretty JSON.
pub fn to_json(raw: &RawConfig) -> String {
    // As above: plain data with string keys cannot fail to serialize.
    serde_json::to_string_pretty(raw)
        .unwrap_or_else(|e| unreachable!("JSON output of RawConfig: {e}"))
}
