//! TCP and TLS routes: listener kinds, SNI hostnames and weighted clusters.
//!
//! A TCP route attaches to a `TCP` listener or to a `TLS` listener in `Terminate` mode (the
//! decrypted stream is forwarded, as in Gateway API); a TLS route only to a `TLS` listener in
//! `Passthrough` mode.

use crate::error::{Errors, Loc};
use crate::kinds::{ListenerProtocol, TlsMode};
use crate::model::{BackendRef, TcpRoute, TlsRoute};
use crate::names::{Hostname, Name};
use crate::raw::{RawBackendRef, RawTcpRoute, RawTlsRoute};

use super::Refs;

fn tcp_parent(p: ListenerProtocol, mode: TlsMode) -> bool {
    p == ListenerProtocol::Tcp || (p == ListenerProtocol::Tls && mode == TlsMode::Terminate)
}

fn tls_parent(p: ListenerProtocol, mode: TlsMode) -> bool {
    p == ListenerProtocol::Tls && mode == TlsMode::Passthrough
}

/// Validates every TCP route.
pub(crate) fn tcp_routes(errs: &mut Errors, refs: &Refs<'_>, raw: &[RawTcpRoute]) -> Vec<TcpRoute> {
    let root = Loc::Root;
    let list = root.field("tcpRoutes");
    let mut out = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        let at = list.index(i);
        let need = "tcpRoutes need a TCP listener (or TLS in Terminate mode)";
        let listeners = refs.parents(
            errs,
            &at.field("parentRefs"),
            &r.parent_refs,
            tcp_parent,
            need,
        );
        let backends = backends(errs, refs, &at, &r.backend_refs);
        if let Ok(name) = Name::new(&r.name) {
            out.push(TcpRoute {
                name,
                listeners,
                backends,
            });
        }
    }
    out
}

/// Validates every TLS route.
pub(crate) fn tls_routes(errs: &mut Errors, refs: &Refs<'_>, raw: &[RawTlsRoute]) -> Vec<TlsRoute> {
    let root = Loc::Root;
    let list = root.field("tlsRoutes");
    let mut out = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        let at = list.index(i);
        let need = "tlsRoutes need a TLS listener in Passthrough mode";
        let listeners = refs.parents(
            errs,
            &at.field("parentRefs"),
            &r.parent_refs,
            tls_parent,
            need,
        );
        let hostnames = hostnames(errs, &at.field("hostnames"), &r.hostnames);
        let backends = backends(errs, refs, &at, &r.backend_refs);
        if let Ok(name) = Name::new(&r.name) {
            out.push(TlsRoute {
                name,
                listeners,
                hostnames,
                backends,
            });
        }
    }
    out
}

/// Checks each hostname (a leading `*.` is allowed).
pub(crate) fn hostnames(errs: &mut Errors, at: &Loc<'_>, raw: &[String]) -> Vec<Hostname> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, h) in raw.iter().enumerate() {
        match Hostname::new(h) {
            Ok(h) => out.push(h),
            Err(e) => errs.at(&at.index(i), e),
        }
    }
    out
}

fn backends(
    errs: &mut Errors,
    refs: &Refs<'_>,
    at: &Loc<'_>,
    raw: &[RawBackendRef],
) -> Vec<BackendRef> {
    let at = at.field("backendRefs");
    if raw.is_empty() {
        errs.at(&at, "must reference at least one cluster");
    }
    refs.backends(errs, &at, raw)
}
