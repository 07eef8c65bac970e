//! Helpers shared by this crate's tests and its fuzz target; not part of the supported API.

use crate::Image;
use core::hint::black_box;

/// Calls every accessor on every record of `image` (and every getter of every record) and
/// returns a number derived from what it saw, so nothing is optimised away. Used to show that
/// accessors never panic on an image that passed [`Image::parse`].
pub fn walk<B: AsRef<[u8]>>(image: &Image<B>) -> u64 {
    let mut n = image.generation() ^ image.policies().len() as u64;
    let mut see = |s: &str| n = n.wrapping_mul(31).wrapping_add(s.len() as u64);
    for name in image.names() {
        see(image.str(*name));
    }
    for svc in image.l4_services() {
        see(image.str(svc.name));
        black_box((svc.vip(), svc.protocol(), svc.mode(), svc.has_flag(1)));
        for b in image.l4_backends_of(svc) {
            black_box((b.addr(), b.mac(), b.port_for(svc.port)));
        }
        black_box(image.maglev_of(svc).len());
    }
    for listener in image.listeners() {
        see(image.str(listener.name));
        black_box((listener.addr(), listener.protocol(), listener.tls_mode()));
        for cert in image.certificates_of(listener) {
            see(image.str(cert.cert_path));
            see(image.str(cert.key_path));
            for name in image.server_names_of(cert) {
                see(image.str(*name));
            }
        }
        for host in image.virtual_hosts_of(listener) {
            see(image.str(host.hostname));
            black_box((host.kind(), image.listener_of(host)));
            for route in image.routes_of(host) {
                see(image.str(route.name));
            }
        }
        for route in image.tcp_routes_of(listener) {
            see(image.str(route.name));
        }
    }
    for route in image.routes() {
        for r in [
            route.name,
            route.path,
            route.redirect_scheme,
            route.redirect_host,
        ] {
            see(image.str(r));
        }
        see(image.str(route.redirect_path));
        see(image.str(route.direct_body));
        black_box((route.path_kind(), route.action(), route.allows_method(1)));
        black_box(route.retries_on(1));
        for m in image.matches_of(route) {
            see(image.str(m.name));
            see(image.str(m.value));
            black_box((m.target(), m.kind(), m.is_inverted()));
        }
        for b in image.route_backends_of(route) {
            black_box(image.cluster_of(b));
        }
        for h in image.header_mods_of(route) {
            see(image.str(h.name));
            see(image.str(h.value));
            black_box((h.direction(), h.op()));
        }
    }
    for route in image.tcp_routes() {
        for name in image.sni_of(route) {
            see(image.str(*name));
        }
        for b in image.tcp_route_backends_of(route) {
            black_box(image.cluster_of(b));
        }
    }
    for cluster in image.clusters() {
        see(image.str(cluster.name));
        see(image.str(cluster.hash_key));
        see(image.str(cluster.tls_sni));
        see(image.str(cluster.tls_ca));
        black_box((
            cluster.lb_policy(),
            cluster.hash_on(),
            cluster.upstream_protocol(),
        ));
        black_box(cluster.upstream_tls());
        for e in image.endpoints_of(cluster) {
            black_box(e.addr());
        }
        black_box(image.cluster_maglev_of(cluster).len());
    }
    for cert in image.certificates() {
        black_box(cert);
    }
    black_box((image.virtual_hosts().len(), image.route_backends().len()));
    black_box((
        image.l4_backends().len(),
        image.endpoints().len(),
        image.maglev().len(),
    ));
    black_box((image.matches().len(), image.header_mods().len()));
    black_box(format!("{image:?}"));
    n
}

/// Checks what a successful parse promises: every string, range and index of every record
/// resolves in full, every getter decodes, and every Maglev entry names a backend. Returns the
/// first violation found.
pub fn check_resolved<B: AsRef<[u8]>>(image: &Image<B>) -> Result<(), String> {
    use crate::records::{Range, StrRef};
    let s = |r: StrRef| image.str(r).len() == r.len as usize;
    let n = |len: usize, r: Range| len == r.count as usize;
    let ensure = |ok: bool, what: &str, i: usize| match ok {
        true => Ok(()),
        false => Err(format!("{what} {i} does not resolve")),
    };
    for (i, r) in image.names().iter().enumerate() {
        ensure(s(*r), "name", i)?;
    }
    for (i, x) in image.l4_services().iter().enumerate() {
        let table = image.maglev_of(x);
        let ok = s(x.name) && x.vip().is_some() && x.protocol().is_some() && x.mode().is_some();
        let ok = ok && n(image.l4_backends_of(x).len(), x.backends) && n(table.len(), x.maglev);
        ensure(
            ok && table.iter().all(|&e| e < x.backends.count),
            "l4 service",
            i,
        )?;
    }
    for (i, x) in image.l4_backends().iter().enumerate() {
        ensure(x.addr().is_some() && x.has_mac <= 1, "l4 backend", i)?;
    }
    for (i, x) in image.listeners().iter().enumerate() {
        let ok = s(x.name) && x.addr().is_some() && x.protocol().is_some();
        let ok = ok && x.tls_mode().is_some();
        let ok = ok && n(image.certificates_of(x).len(), x.certificates);
        let ok = ok && n(image.virtual_hosts_of(x).len(), x.virtual_hosts);
        ensure(
            ok && n(image.tcp_routes_of(x).len(), x.tcp_routes),
            "listener",
            i,
        )?;
    }
    for (i, x) in image.certificates().iter().enumerate() {
        let ok = s(x.cert_path) && s(x.key_path);
        ensure(
            ok && n(image.server_names_of(x).len(), x.server_names),
            "certificate",
            i,
        )?;
    }
    for (i, x) in image.virtual_hosts().iter().enumerate() {
        let ok = s(x.hostname) && x.kind().is_some() && n(image.routes_of(x).len(), x.routes);
        ensure(ok && image.listener_of(x).is_some(), "virtual host", i)?;
    }
    for (i, x) in image.routes().iter().enumerate() {
        let strs = [
            x.name,
            x.path,
            x.redirect_scheme,
            x.redirect_host,
            x.redirect_path,
        ];
        let ok = strs.iter().all(|r| s(*r)) && s(x.direct_body);
        let ok = ok && x.path_kind().is_some() && x.action().is_some();
        let ok = ok && n(image.matches_of(x).len(), x.matches);
        let ok = ok && n(image.route_backends_of(x).len(), x.backends);
        ensure(
            ok && n(image.header_mods_of(x).len(), x.header_mods),
            "route",
            i,
        )?;
    }
    for (i, x) in image.matches().iter().enumerate() {
        let ok = s(x.name) && s(x.value) && x.target().is_some() && x.kind().is_some();
        ensure(ok, "match", i)?;
    }
    for (i, x) in image.route_backends().iter().enumerate() {
        ensure(image.cluster_of(x).is_some(), "route backend", i)?;
    }
    for (i, x) in image.header_mods().iter().enumerate() {
        let ok = s(x.name) && s(x.value) && x.direction().is_some() && x.op().is_some();
        ensure(ok, "header mod", i)?;
    }
    for (i, x) in image.tcp_routes().iter().enumerate() {
        let ok = s(x.name) && n(image.sni_of(x).len(), x.sni);
        ensure(
            ok && n(image.tcp_route_backends_of(x).len(), x.backends),
            "tcp route",
            i,
        )?;
    }
    for (i, x) in image.clusters().iter().enumerate() {
        let table = image.cluster_maglev_of(x);
        let ok =
            s(x.name) && s(x.hash_key) && s(x.tls_sni) && s(x.tls_ca) && x.lb_policy().is_some();
        let ok = ok && x.hash_on().is_some() && x.upstream_protocol().is_some();
        let ok = ok && n(image.endpoints_of(x).len(), x.endpoints) && n(table.len(), x.maglev);
        ensure(
            ok && table.iter().all(|&e| e < x.endpoints.count),
            "cluster",
            i,
        )?;
    }
    for (i, x) in image.endpoints().iter().enumerate() {
        ensure(x.addr().is_some(), "endpoint", i)?;
    }
    Ok(())
}
