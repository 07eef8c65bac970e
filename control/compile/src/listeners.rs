//! Listeners with their certificates, virtual hosts and TCP/TLS routes.
//!
//! Virtual hosts of a listener come most specific first: exact hostnames, then wildcards
//! (longest suffix first), then the catch-all. Each holds, in order, the records of the routes
//! naming exactly that hostname, then of wildcard routes that cover it (longest first), then of
//! routes with no hostname, each group in [`crate::routes::Precedence`] order: the Gateway API
//! rule that the most specific hostname wins, falling back to less specific ones when none of
//! its rules match.

use std::collections::{HashMap, HashSet};

use strait_config::{Config, Hostname, kinds};
use strait_table::{
    Certificate, HostKind, ImageBuilder, Listener, ListenerProtocol, RouteBackend, TcpRoute,
    TlsMode, VirtualHost, encode_ip,
};

use crate::routes::{self, Compiled};

pub(crate) fn compile(b: &mut ImageBuilder, config: &Config) {
    let compiled: Vec<Vec<Compiled>> = config
        .http_routes
        .iter()
        .map(|r| routes::compile(b, r))
        .collect();
    for (li, l) in config.listeners.iter().enumerate() {
        let certificates = certificates(b, l);
        let virtual_hosts = virtual_hosts(b, config, &compiled, li);
        let tcp_routes = tcp_routes(b, config, li);
        let (addr, family) = encode_ip(l.addr.ip());
        let listener = Listener {
            name: b.string(l.name.as_str()),
            addr,
            certificates,
            virtual_hosts,
            tcp_routes,
            port: l.addr.port(),
            family,
            protocol: match l.protocol {
                kinds::ListenerProtocol::Http => ListenerProtocol::Http,
                kinds::ListenerProtocol::Https => ListenerProtocol::Https,
                kinds::ListenerProtocol::Tls => ListenerProtocol::Tls,
                kinds::ListenerProtocol::Tcp => ListenerProtocol::Tcp,
            }
            .code(),
            tls_mode: match l.tls.as_ref().map(|t| t.mode) {
                None => TlsMode::None,
                Some(kinds::TlsMode::Terminate) => TlsMode::Terminate,
                Some(kinds::TlsMode::Passthrough) => TlsMode::Passthrough,
            }
            .code(),
            ..Default::default()
        };
        b.push_listener(listener);
    }
}

fn certificates(b: &mut ImageBuilder, l: &strait_config::Listener) -> strait_table::Range {
    let first = b.count::<Certificate>();
    for c in l.tls.iter().flat_map(|t| &t.certificates) {
        let cert = Certificate {
            cert_path: b.string(&c.cert_file.to_string_lossy()),
            key_path: b.string(&c.key_file.to_string_lossy()),
            server_names: b.names(c.server_names.iter().map(Hostname::as_str)),
        };
        b.push_certificate(cert);
    }
    b.range_from::<Certificate>(first)
}

/// Does wildcard `w` (`*.suffix`) cover `h` (exact, or a longer wildcard)?
fn covers(w: &str, h: &str) -> bool {
    let suffix = &w[1..]; // ".suffix"
    w != h && h.len() > suffix.len() && h.ends_with(suffix)
}

fn virtual_hosts(
    b: &mut ImageBuilder,
    config: &Config,
    compiled: &[Vec<Compiled>],
    li: usize,
) -> strait_table::Range {
    let attached: Vec<usize> = (0..config.http_routes.len())
        .filter(|&r| config.http_routes[r].listeners.contains(&li))
        .collect();
    let mut exact: Vec<&str> = Vec::new();
    let mut wild: Vec<&str> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for &r in &attached {
        for h in &config.http_routes[r].hostnames {
            if seen.insert(h.as_str()) {
                let list = if h.is_wildcard() {
                    &mut wild
                } else {
                    &mut exact
                };
                list.push(h.as_str());
            }
        }
    }
    exact.sort_unstable();
    wild.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    let any: Vec<usize> = attached
        .iter()
        .copied()
        .filter(|&r| config.http_routes[r].hostnames.is_empty())
        .collect();
    let mut by_host: HashMap<&str, Vec<usize>> = HashMap::new();
    for &r in &attached {
        for h in &config.http_routes[r].hostnames {
            let routes = by_host.entry(h.as_str()).or_default();
            if routes.last() != Some(&r) {
                routes.push(r);
            }
        }
    }
    let named = |host: &str| by_host.get(host).cloned().unwrap_or_default();

    let first = b.count::<VirtualHost>();
    let hosts = exact
        .iter()
        .map(|h| (*h, HostKind::Exact))
        .chain(wild.iter().map(|h| (*h, HostKind::Wildcard)));
    for (host, kind) in hosts {
        let mut groups = vec![named(host)];
        groups.extend(wild.iter().filter(|w| covers(w, host)).map(|w| named(w)));
        groups.push(any.clone());
        let routes = push_groups(b, compiled, &groups);
        let hostname = b.string(if kind == HostKind::Wildcard {
            &host[1..]
        } else {
            host
        });
        b.push_virtual_host(VirtualHost {
            hostname,
            routes,
            listener: li as u32,
            kind: kind.code(),
            ..Default::default()
        });
    }
    if !any.is_empty() {
        let routes = push_groups(b, compiled, &[any]);
        let hostname = b.string("");
        b.push_virtual_host(VirtualHost {
            hostname,
            routes,
            listener: li as u32,
            kind: HostKind::Any.code(),
            ..Default::default()
        });
    }
    b.range_from::<VirtualHost>(first)
}

/// Pushes the records of each group of routes, each group sorted by precedence.
fn push_groups(
    b: &mut ImageBuilder,
    compiled: &[Vec<Compiled>],
    groups: &[Vec<usize>],
) -> strait_table::Range {
    let first = b.count::<strait_table::Route>();
    for group in groups {
        let mut records: Vec<&Compiled> = group.iter().flat_map(|&r| &compiled[r]).collect();
        records.sort_by_key(|c| c.key);
        for c in records {
            b.push_route(c.route);
        }
    }
    b.range_from::<strait_table::Route>(first)
}

fn tcp_routes(b: &mut ImageBuilder, config: &Config, li: usize) -> strait_table::Range {
    let first = b.count::<TcpRoute>();
    let tcp = config
        .tcp_routes
        .iter()
        .filter(|r| r.listeners.contains(&li))
        .map(|r| (&r.name, &[][..], &r.backends));
    let tls = config
        .tls_routes
        .iter()
        .filter(|r| r.listeners.contains(&li))
        .map(|r| (&r.name, &r.hostnames[..], &r.backends));
    for (name, hostnames, backends) in tcp.chain(tls) {
        let name = b.string(name.as_str());
        let sni = b.names(hostnames.iter().map(Hostname::as_str));
        let first_backend = b.count::<RouteBackend>();
        for be in backends {
            b.push_route_backend(RouteBackend {
                cluster: be.cluster as u32,
                weight: be.weight,
            });
        }
        let backends = b.range_from::<RouteBackend>(first_backend);
        b.push_tcp_route(TcpRoute {
            name,
            sni,
            backends,
        });
    }
    b.range_from::<TcpRoute>(first)
}
