//! Routing, sans-IO: from a parsed request head and a generation to what to do with it.
//!
//! Order: [`Request::new`] (host, path, query taken from the head once) → [`decide`] (virtual
//! host, first matching route, its action, a weighted cluster) → for a forward,
//! [`choose_endpoint`] (the cluster's policy over usable endpoints).
//!
//! Invariants: a route matches only if its path, its method mask and every one of its header and
//! query matches hold (each possibly inverted); routes are tried in image order, which the agent
//! sorted by precedence. The host comes from an absolute-form target's authority when there is
//! one, else from `Host` (RFC 9112 §3.2.2). Nothing here allocates except a redirect's
//! `Location`.

use std::net::{IpAddr, SocketAddr};

use strait_http1::RequestHead;
use strait_table::{Cluster, HashOn, LbPolicy, MatchTarget, PathMatch, Route, RouteAction, method};
use xxhash_rust::xxh3::xxh3_64;

use crate::generation::Generation;
use crate::lb::{self, NoEndpoint, Rng};
use crate::matching::{self, Target};
use crate::retry::Tries;

/// What routing reads from one request.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    pub(crate) head: &'a RequestHead,
    pub(crate) buf: &'a [u8],
    pub(crate) target: Target<'a>,
    /// Host name without port, as received.
    pub(crate) host: Option<&'a [u8]>,
    /// The port of the host, if given.
    pub(crate) port: Option<u16>,
    pub(crate) peer: IpAddr,
}

impl<'a> Request<'a> {
    pub(crate) fn new(head: &'a RequestHead, buf: &'a [u8], peer: IpAddr) -> Request<'a> {
        let target = matching::split_target(head.target.get(buf));
        let (host, port) = match (target.authority, head.host) {
            (Some(authority), _) => {
                let name = matching::host_name(authority);
                let port = authority
                    .get(name.len() + 1..)
                    .and_then(|p| std::str::from_utf8(p).ok()?.parse().ok());
                (Some(name), port)
            }
            (None, Some(h)) => (Some(matching::host_name(h.name.get(buf))), h.port),
            (None, None) => (None, None),
        };
        Request {
            head,
            buf,
            target,
            host,
            port,
            peer,
        }
    }
}

/// What to do with a request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decision<'g> {
    /// No virtual host or no route matched: 404.
    NotFound,
    /// Answer with a redirect.
    Redirect { status: u16, location: Vec<u8> },
    /// Answer with the route's status and body.
    Direct { status: u16, body: &'g str },
    /// Forward to cluster record `cluster` with route record `route`'s policies.
    Forward { route: usize, cluster: u32 },
    /// The route forwards, but every backend has weight 0: 503.
    NoBackend { route: &'g str },
}

/// Finds the route and decides; see the module documentation.
pub(crate) fn decide<'g>(
    g: &'g Generation,
    listener: u32,
    req: &Request<'_>,
    rng: &Rng,
) -> Decision<'g> {
    let image = &*g.image;
    let Some(vhost) = g
        .virtual_host(listener, req.host)
        .and_then(|v| image.virtual_hosts().get(v as usize))
    else {
        return Decision::NotFound;
    };
    let first = vhost.routes.first as usize;
    let found = (first..)
        .zip(image.routes_of(vhost))
        .find(|(index, route)| route_matches(g, *index, route, req));
    let Some((index, route)) = found else {
        return Decision::NotFound;
    };
    match route.action() {
        Some(RouteAction::Redirect) => Decision::Redirect {
            status: route.redirect_status,
            location: redirect_location(g, route, req),
        },
        Some(RouteAction::Direct) => Decision::Direct {
            status: route.direct_status,
            body: image.str(route.direct_body),
        },
        Some(RouteAction::Forward) => match lb::pick_backend(image.route_backends_of(route), rng) {
            Some(b) => Decision::Forward {
                route: index,
                cluster: b.cluster,
            },
            None => Decision::NoBackend {
                route: image.str(route.name),
            },
        },
        None => Decision::NotFound,
    }
}

fn route_matches(g: &Generation, index: usize, route: &Route, req: &Request<'_>) -> bool {
    let image = &*g.image;
    let path_kind = route.path_kind().unwrap_or(PathMatch::Any);
    if !matching::path_matches(
        path_kind,
        image.str(route.path),
        g.path_regex(index),
        req.target.path,
    ) {
        return false;
    }
    if route.method_mask != 0 {
        let bit = method::from_name(req.head.method_name.get(req.buf));
        if !bit.is_some_and(|b| route.allows_method(b)) {
            return false;
        }
    }
    let first = route.matches.first as usize;
    (first..).zip(image.matches_of(route)).all(|(mi, m)| {
        let (Some(kind), name, want) = (m.kind(), image.str(m.name), image.str(m.value)) else {
            return false;
        };
        let regex = g.match_regex(mi);
        let hit = match m.target() {
            Some(MatchTarget::Header) => {
                matching::header_matches(&req.head.fields, req.buf, name, kind, want, regex)
            }
            Some(MatchTarget::Query) => {
                matching::query_matches(req.target.query, name, kind, want, regex)
            }
            None => false,
        };
        hit != m.is_inverted()
    })
}

/// `scheme://host[:port]path[?query]`: each part the route's if it sets one, else the
/// request's. A port is kept only when the scheme is, and left out when it is the scheme's
/// default.
fn redirect_location(g: &Generation, route: &Route, req: &Request<'_>) -> Vec<u8> {
    let image = &*g.image;
    let scheme = match image.str(route.redirect_scheme) {
        "" => "http",
        s => s,
    };
    let host = match image.str(route.redirect_host) {
        "" => req.host.unwrap_or_default(),
        h => h.as_bytes(),
    };
    let port = match route.redirect_port {
        0 if route.redirect_scheme.is_empty() => req.port,
        0 => None,
        p => Some(p),
    };
    let path = match image.str(route.redirect_path) {
        "" => req.target.path,
        p => p.as_bytes(),
    };
    let mut out = Vec::with_capacity(scheme.len() + host.len() + path.len() + 16);
    out.extend_from_slice(scheme.as_bytes());
    out.extend_from_slice(b"://");
    out.extend_from_slice(host);
    let default = if scheme == "https" { 443 } else { 80 };
    if let Some(p) = port.filter(|&p| p != default) {
        out.extend_from_slice(format!(":{p}").as_bytes());
    }
    out.extend_from_slice(path);
    if !req.target.query.is_empty() {
        out.push(b'?');
        out.extend_from_slice(req.target.query);
    }
    out
}

/// An endpoint chosen for a request: its position in the cluster and its address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Chosen {
    pub(crate) pos: usize,
    pub(crate) addr: SocketAddr,
    /// The endpoint's health slot (which also names it across tries).
    pub(crate) slot: u32,
}

/// [`choose_endpoint`] for a retry: an endpoint `tries` did not try yet when the policy gives
/// one, else any usable one.
pub(crate) fn choose_again(
    g: &Generation,
    cluster: u32,
    req: &Request<'_>,
    usable: &dyn Fn(u32) -> bool,
    tries: &Tries<'_>,
    rng: &Rng,
) -> Result<Chosen, NoEndpoint> {
    let fresh = |slot: u32| usable(slot) && tries.untried(slot);
    choose_endpoint(g, cluster, req, &fresh, rng)
        .or_else(|_| choose_endpoint(g, cluster, req, usable, rng))
}

/// Chooses an endpoint of cluster record `cluster` by its policy; `usable` says whether an
/// endpoint's health slot lets it take new requests.
pub(crate) fn choose_endpoint(
    g: &Generation,
    cluster: u32,
    req: &Request<'_>,
    usable: &dyn Fn(u32) -> bool,
    rng: &Rng,
) -> Result<Chosen, NoEndpoint> {
    let image = &*g.image;
    let (Some(c), Some(state)) = (
        image.clusters().get(cluster as usize),
        g.cluster_state(cluster),
    ) else {
        return Err(NoEndpoint::Empty);
    };
    let endpoints = image.endpoints_of(c);
    let policy = c.lb_policy().unwrap_or(LbPolicy::RoundRobin);
    let hash = hash_key(g, c, req);
    let ok =
        |e: &strait_table::Endpoint| e.weight > 0 && e.addr().is_some() && usable(e.health_slot);
    let pos = lb::choose(
        policy,
        endpoints,
        state,
        image.cluster_maglev_of(c),
        hash,
        &ok,
        rng,
    )?;
    let e = &endpoints[pos];
    let ip = e.addr().ok_or(NoEndpoint::Unhealthy)?;
    Ok(Chosen {
        pos,
        addr: SocketAddr::new(ip, e.port),
        slot: e.health_slot,
    })
}

fn hash_key(g: &Generation, c: &Cluster, req: &Request<'_>) -> Option<u64> {
    let key = g.image.str(c.hash_key);
    match c.hash_on()? {
        HashOn::None => None,
        HashOn::Header => req.head.fields.get(req.buf, key.as_bytes()).map(xxh3_64),
        HashOn::Cookie => matching::cookie(&req.head.fields, req.buf, key).map(xxh3_64),
        // A v4 client of a dual-stack listener arrives as `::ffff:a.b.c.d`: it hashes as v4, so
        // the same client lands on the same endpoint whichever listener it used.
        HashOn::SourceIp => Some(match req.peer.to_canonical() {
            IpAddr::V4(a) => xxh3_64(&a.octets()),
            IpAddr::V6(a) => xxh3_64(&a.octets()),
        }),
    }
}

#[cfg(test)]
mod tests;
