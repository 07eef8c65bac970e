//! [`validate`]: [`RawConfig`] to [`Config`], collecting every error rather than stopping at the
//! first.
//!
//! Order: listeners and clusters first, building name → index maps once; then the routes, which
//! resolve their references through those maps; then L4 services. Each step keeps going after a
//! mistake (a bad item yields `None` and is left out of the typed result), so one run reports
//! everything, and the typed `Config` is returned only if no error was found.

mod cluster;
mod http;
mod l4;
mod listener;
mod matches;
mod stream;

pub use cluster::DEFAULT_CONNECT_TIMEOUT;
pub use http::{DEFAULT_RETRY_BUDGET_PERCENT, MAX_RETRY_ATTEMPTS, REDIRECT_CODES};
pub use l4::{DEFAULT_TCP_IDLE, DEFAULT_UDP_IDLE};

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use crate::duration::Duration;
use crate::error::{Errors, FieldError, Loc};
use crate::kinds::{ListenerProtocol, TlsMode};
use crate::model::{BackendRef, Config};
use crate::names::Name;
use crate::raw::{Parsed, RawBackendRef, RawConfig};

/// Largest weight of a backend, endpoint or L4 backend.
pub const MAX_WEIGHT: u32 = 1_000_000;

/// Checks `raw` and builds the typed model, or returns every mistake found.
pub fn validate(raw: RawConfig) -> Result<Config, Vec<FieldError>> {
    validate_with(raw, Reuse::default())
}

/// Parts already validated from identical raw parts (see [`crate::ParseCache`]), taken instead
/// of validating those parts again. Each is exactly what validating them would give: clusters
/// and L4 services depend on nothing outside their own section, and an HTTP route on nothing
/// but itself and the listeners and clusters (names, order, kinds) it may refer to.
#[derive(Debug, Default)]
pub(crate) struct Reuse {
    /// The validated `clusters` section.
    pub(crate) clusters: Option<Vec<crate::Cluster>>,
    /// The validated `l4Services` section.
    pub(crate) l4_services: Option<Vec<crate::L4Service>>,
    /// Empty, or one entry per raw HTTP route: its validated form, if known.
    pub(crate) http_routes: Vec<Option<crate::HttpRoute>>,
}

/// [`validate`], taking what `reuse` holds instead of validating it again.
pub(crate) fn validate_with(raw: RawConfig, reuse: Reuse) -> Result<Config, Vec<FieldError>> {
    let mut errs = Errors::default();
    let mut config = build(&mut errs, &raw, reuse);
    if !errs.is_empty() {
        return Err(errs.into_vec());
    }
    config.raw = raw;
    Ok(config)
}

/// Runs every check; the result is complete (and its indices valid) only if `errs` stays empty.
fn build(e: &mut Errors, raw: &RawConfig, reuse: Reuse) -> Config {
    let listener_names = unique_names(e, "listeners", "listener", &raw.listeners, |l| &l.name);
    let cluster_names = unique_names(e, "clusters", "cluster", &raw.clusters, |c| &c.name);
    unique_names(e, "httpRoutes", "HTTP route", &raw.http_routes, |r| &r.name);
    unique_names(e, "tcpRoutes", "TCP route", &raw.tcp_routes, |r| &r.name);
    unique_names(e, "tlsRoutes", "TLS route", &raw.tls_routes, |r| &r.name);
    unique_names(e, "l4Services", "L4 service", &raw.l4_services, |s| &s.name);

    let (listeners, kinds) = listener::listeners(e, &raw.listeners);
    let refs = Refs {
        listeners: &listener_names,
        listener_kinds: &kinds,
        clusters: &cluster_names,
    };
    Config {
        listeners,
        http_routes: http::routes(e, &refs, &raw.http_routes, reuse.http_routes),
        tcp_routes: stream::tcp_routes(e, &refs, &raw.tcp_routes),
        tls_routes: stream::tls_routes(e, &refs, &raw.tls_routes),
        clusters: reuse
            .clusters
            .unwrap_or_else(|| cluster::clusters(e, &raw.clusters)),
        l4_services: reuse
            .l4_services
            .unwrap_or_else(|| l4::services(e, &raw.l4_services)),
        raw: RawConfig::default(),
    }
}

/// Name → index maps and listener kinds, for resolving references.
pub(crate) struct Refs<'r> {
    listeners: &'r HashMap<&'r str, usize>,
    /// Protocol and effective TLS mode of each listener (`None` if its protocol is missing).
    listener_kinds: &'r [Option<(ListenerProtocol, TlsMode)>],
    clusters: &'r HashMap<&'r str, usize>,
}

impl Refs<'_> {
    /// Resolves each of `parent_refs` to a listener index; `accept` says whether a listener's
    /// kind may carry this route kind, and `need` describes what is needed.
    pub(crate) fn parents(
        &self,
        errs: &mut Errors,
        at: &Loc<'_>,
        parent_refs: &[String],
        accept: fn(ListenerProtocol, TlsMode) -> bool,
        need: &str,
    ) -> Vec<usize> {
        if parent_refs.is_empty() {
            errs.at(at, "must reference at least one listener");
        }
        let mut out = Vec::with_capacity(parent_refs.len());
        for (i, name) in parent_refs.iter().enumerate() {
            let Some(&idx) = self.listeners.get(name.as_str()) else {
                errs.at(&at.index(i), no_such("listener", name));
                continue;
            };
            match self.listener_kinds[idx] {
                Some((proto, mode)) if !accept(proto, mode) => {
                    let kind = match (proto, mode) {
                        (ListenerProtocol::Tls, TlsMode::Terminate) => "TLS (Terminate)".into(),
                        (ListenerProtocol::Tls, TlsMode::Passthrough) => "TLS (Passthrough)".into(),
                        (p, _) => protocol_name(p).to_owned(),
                    };
                    errs.at(&at.index(i), format!("listener {name:?} is {kind}; {need}"));
                }
                _ => out.push(idx),
            }
        }
        out
    }

    /// Resolves weighted cluster references at `at` (the `backendRefs` list); requires at least
    /// one reference with a non-zero weight.
    pub(crate) fn backends(
        &self,
        errs: &mut Errors,
        at: &Loc<'_>,
        refs: &[RawBackendRef],
    ) -> Vec<BackendRef> {
        let mut out = Vec::with_capacity(refs.len());
        for (i, r) in refs.iter().enumerate() {
            let here = at.index(i);
            let weight = weight(errs, &here, r.weight);
            match self.clusters.get(r.name.as_str()) {
                Some(&cluster) => out.push(BackendRef { cluster, weight }),
                None => errs.at(&here.field("name"), no_such("cluster", &r.name)),
            }
        }
        require_nonzero(
            errs,
            at,
            refs.iter().map(|r| r.weight.unwrap_or(1)),
            "backend",
        );
        out
    }
}

/// Checks the `name` of every item of the top-level list `list` and returns name → index.
/// Invalid names are reported here; item validators then just call `Name::new(..).ok()`.
fn unique_names<'r, T>(
    errs: &mut Errors,
    list: &'static str,
    kind: &str,
    items: &'r [T],
    name_of: fn(&T) -> &String,
) -> HashMap<&'r str, usize> {
    let root = Loc::Root;
    let at = root.field(list);
    let mut map = HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let name = name_of(item);
        if let Err(e) = Name::check(name) {
            errs.at(&at.index(i).field("name"), e);
        } else if let Some(first) = map.insert(name.as_str(), i) {
            map.insert(name.as_str(), first);
            errs.at(
                &at.index(i).field("name"),
                format!("duplicate {kind} name {name:?} (first at {list}[{first}])"),
            );
        }
    }
    map
}

fn no_such(kind: &str, name: &str) -> String {
    if name.is_empty() {
        "must not be empty".to_owned()
    } else {
        format!("no {kind} named {name:?}")
    }
}

fn protocol_name(p: ListenerProtocol) -> &'static str {
    match p {
        ListenerProtocol::Http => "HTTP",
        ListenerProtocol::Https => "HTTPS",
        ListenerProtocol::Tls => "TLS",
        ListenerProtocol::Tcp => "TCP",
    }
}

/// A weight (default 1) in `0..=MAX_WEIGHT`, reported at `at.weight`.
pub(crate) fn weight(errs: &mut Errors, at: &Loc<'_>, w: Option<u32>) -> u32 {
    let w = w.unwrap_or(1);
    if w > MAX_WEIGHT {
        errs.at(
            &at.field("weight"),
            format!("weight {w} out of range 0..=1000000"),
        );
    }
    w
}

/// Reports at `at` unless some weight is non-zero (an empty list is reported by the caller).
pub(crate) fn require_nonzero(
    errs: &mut Errors,
    at: &Loc<'_>,
    mut weights: impl ExactSizeIterator<Item = u32>,
    what: &str,
) {
    if weights.len() > 0 && !weights.any(|w| w > 0) {
        errs.at(at, format!("at least one {what} needs a non-zero weight"));
    }
}

/// A port in `1..=65535`.
pub(crate) fn port(errs: &mut Errors, at: &Loc<'_>, p: u32) -> Option<u16> {
    match u16::try_from(p) {
        Ok(p) if p > 0 => Some(p),
        _ => errs.fail(at, format!("port {p} out of range 1..=65535")),
    }
}

/// An `ip:port` / `[v6]:port` with a non-zero port.
pub(crate) fn socket_addr(
    errs: &mut Errors,
    at: &Loc<'_>,
    a: &Parsed<SocketAddr>,
) -> Option<SocketAddr> {
    match a.get() {
        Ok(a) if a.port() > 0 => Some(*a),
        Ok(a) => errs.fail(at, format!("port 0 out of range 1..=65535 in \"{a}\"")),
        Err("") => errs.fail(at, "must not be empty"),
        Err(s) => errs.fail(
            at,
            format!("invalid address {s:?}: expected ip:port or [ipv6]:port"),
        ),
    }
}

/// An IP address.
pub(crate) fn ip(errs: &mut Errors, at: &Loc<'_>, a: &Parsed<IpAddr>) -> Option<IpAddr> {
    match a.get() {
        Ok(a) => Some(*a),
        Err("") => errs.fail(at, "must not be empty"),
        Err(s) => errs.fail(at, format!("invalid IP address {s:?}")),
    }
}

/// An optional duration, or `default` when absent.
pub(crate) fn duration_or(
    errs: &mut Errors,
    at: &Loc<'_>,
    s: Option<&str>,
    default: Option<Duration>,
) -> Option<Duration> {
    match s {
        None => default,
        Some(s) => Duration::parse(s).map_err(|e| errs.at(at, e)).ok(),
    }
}

/// A path of a file to read; only emptiness is checked (the agent reports unreadable files).
pub(crate) fn file(errs: &mut Errors, at: &Loc<'_>, s: &str) -> std::path::PathBuf {
    if s.is_empty() {
        errs.at(at, "must not be empty");
    }
    s.into()
}

#[cfg(test)]
mod tests;
