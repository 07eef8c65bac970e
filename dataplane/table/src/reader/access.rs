//! Accessors of a parsed [`Image`]: whole sections, the children of a record, and strings.
//!
//! Each is a lookup of a stored span plus `get` and `try_cast_slice`: no validation is repeated
//! and nothing can panic. A reference that does not resolve (possible only for a record that
//! did not come from this image) yields an empty slice, `""` or `None`.

use super::{Image, records_in};
use crate::format::SectionKind;
use crate::records::{
    Certificate, Cluster, Endpoint, HeaderMod, L4Backend, L4Service, Listener, Match, Range,
    Record, Route, RouteBackend, StrRef, TcpRoute, VirtualHost,
};

impl<B: AsRef<[u8]>> Image<B> {
    fn bytes_of(&self, kind: SectionKind) -> &[u8] {
        let span = kind.slot().map(|s| self.spans[s]).unwrap_or_default();
        records_in(self.buf.as_ref(), span)
    }

    /// Every record of type `R`.
    pub fn records<R: Record>(&self) -> &[R] {
        bytemuck::try_cast_slice(self.bytes_of(R::KIND)).unwrap_or_default()
    }

    /// The records of type `R` in `range`.
    pub fn slice<R: Record>(&self, range: Range) -> &[R] {
        range
            .bounds()
            .and_then(|b| self.records::<R>().get(b))
            .unwrap_or_default()
    }

    /// Record `index` of type `R`.
    pub fn record<R: Record>(&self, index: u32) -> Option<&R> {
        self.records::<R>().get(usize::try_from(index).ok()?)
    }

    /// The string `r` names (`""` if it does not resolve).
    pub fn str(&self, r: StrRef) -> &str {
        let start = r.off as usize;
        start
            .checked_add(r.len as usize)
            .and_then(|end| self.strings.get(start..end))
            .unwrap_or_default()
    }

    /// The whole `MAGLEV` section.
    pub fn maglev(&self) -> &[u32] {
        bytemuck::try_cast_slice(self.bytes_of(SectionKind::MAGLEV)).unwrap_or_default()
    }

    /// The Maglev entries in `range`.
    pub fn maglev_range(&self, range: Range) -> &[u32] {
        range
            .bounds()
            .and_then(|b| self.maglev().get(b))
            .unwrap_or_default()
    }

    /// The opaque bytes of the optional `POLICIES` section (empty if absent).
    pub fn policies(&self) -> &[u8] {
        self.bytes_of(SectionKind::POLICIES)
    }

    /// All L4 services.
    pub fn l4_services(&self) -> &[L4Service] {
        self.records()
    }

    /// All L4 backends.
    pub fn l4_backends(&self) -> &[L4Backend] {
        self.records()
    }

    /// The backends of a service.
    pub fn l4_backends_of(&self, service: &L4Service) -> &[L4Backend] {
        self.slice(service.backends)
    }

    /// The Maglev table of a service (entries index [`Self::l4_backends_of`]).
    pub fn maglev_of(&self, service: &L4Service) -> &[u32] {
        self.maglev_range(service.maglev)
    }

    /// All listeners.
    pub fn listeners(&self) -> &[Listener] {
        self.records()
    }

    /// The certificates of a listener.
    pub fn certificates_of(&self, listener: &Listener) -> &[Certificate] {
        self.slice(listener.certificates)
    }

    /// The virtual hosts of a listener.
    pub fn virtual_hosts_of(&self, listener: &Listener) -> &[VirtualHost] {
        self.slice(listener.virtual_hosts)
    }

    /// The TCP routes of a listener.
    pub fn tcp_routes_of(&self, listener: &Listener) -> &[TcpRoute] {
        self.slice(listener.tcp_routes)
    }

    /// All certificates.
    pub fn certificates(&self) -> &[Certificate] {
        self.records()
    }

    /// The server names of a certificate.
    pub fn server_names_of(&self, certificate: &Certificate) -> &[StrRef] {
        self.slice(certificate.server_names)
    }

    /// All virtual hosts.
    pub fn virtual_hosts(&self) -> &[VirtualHost] {
        self.records()
    }

    /// The routes of a virtual host, in match order.
    pub fn routes_of(&self, host: &VirtualHost) -> &[Route] {
        self.slice(host.routes)
    }

    /// The listener a virtual host belongs to.
    pub fn listener_of(&self, host: &VirtualHost) -> Option<&Listener> {
        self.record(host.listener)
    }

    /// All routes.
    pub fn routes(&self) -> &[Route] {
        self.records()
    }

    /// The header and query matches of a route.
    pub fn matches_of(&self, route: &Route) -> &[Match] {
        self.slice(route.matches)
    }

    /// The weighted clusters of a route.
    pub fn route_backends_of(&self, route: &Route) -> &[RouteBackend] {
        self.slice(route.backends)
    }

    /// The header modifications of a route.
    pub fn header_mods_of(&self, route: &Route) -> &[HeaderMod] {
        self.slice(route.header_mods)
    }

    /// All header and query matches.
    pub fn matches(&self) -> &[Match] {
        self.records()
    }

    /// All header modifications.
    pub fn header_mods(&self) -> &[HeaderMod] {
        self.records()
    }

    /// All TCP routes.
    pub fn tcp_routes(&self) -> &[TcpRoute] {
        self.records()
    }

    /// The SNI names of a TCP route (empty = any).
    pub fn sni_of(&self, route: &TcpRoute) -> &[StrRef] {
        self.slice(route.sni)
    }

    /// The weighted clusters of a TCP route.
    pub fn tcp_route_backends_of(&self, route: &TcpRoute) -> &[RouteBackend] {
        self.slice(route.backends)
    }

    /// All weighted cluster references.
    pub fn route_backends(&self) -> &[RouteBackend] {
        self.records()
    }

    /// The cluster a weighted reference names.
    pub fn cluster_of(&self, backend: &RouteBackend) -> Option<&Cluster> {
        self.record(backend.cluster)
    }

    /// All clusters.
    pub fn clusters(&self) -> &[Cluster] {
        self.records()
    }

    /// The endpoints of a cluster.
    pub fn endpoints_of(&self, cluster: &Cluster) -> &[Endpoint] {
        self.slice(cluster.endpoints)
    }

    /// The Maglev table of a cluster (entries index [`Self::endpoints_of`]).
    pub fn cluster_maglev_of(&self, cluster: &Cluster) -> &[u32] {
        self.maglev_range(cluster.maglev)
    }

    /// All endpoints.
    pub fn endpoints(&self) -> &[Endpoint] {
        self.records()
    }

    /// All entries of `NAMES`.
    pub fn names(&self) -> &[StrRef] {
        self.records()
    }
}
