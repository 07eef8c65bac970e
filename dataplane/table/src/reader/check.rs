//! Record checks: the rules each record kind must follow, run once over every record of every
//! known section. `MAGLEV` entries are checked through their owners (services and clusters),
//! since an entry is only meaningful relative to its owner's backend count.

use super::ctx::Ctx;
use super::{Span, records_in};
use crate::error::{At, ImageError};
use crate::format::{KNOWN_KINDS, SectionKind as K};
use crate::records::{
    Certificate, Cluster, Endpoint, HashOn, HeaderMod, HeaderOp, HostKind, L4Backend, L4Service,
    LbPolicy, Listener, ListenerProtocol, Match, MatchKind, MatchTarget, ModDirection, PathMatch,
    Record, Route, RouteAction, RouteBackend, StrRef, TcpRoute, TlsMode, UpstreamProtocol,
    VirtualHost, l4_flags, method, retry_flags, retry_on,
};

/// Checks STRINGS and every record; returns the validated string pool.
pub(super) fn validate(bytes: &[u8], spans: &[Span; KNOWN_KINDS]) -> Result<Box<str>, ImageError> {
    let pool = records_in::<u8>(bytes, spans[K::STRINGS.slot().unwrap_or_default()]);
    let strings = core::str::from_utf8(pool).map_err(|e| ImageError::StringsNotUtf8 {
        valid_up_to: e.valid_up_to(),
    })?;
    let cx = Ctx::new(bytes, spans, strings);
    let walk = Walk {
        bytes,
        spans,
        cx: &cx,
    };
    walk.all::<StrRef>()?;
    walk.all::<L4Service>()?;
    walk.all::<L4Backend>()?;
    walk.all::<Listener>()?;
    walk.all::<Certificate>()?;
    walk.all::<VirtualHost>()?;
    walk.all::<Route>()?;
    walk.all::<Match>()?;
    walk.all::<RouteBackend>()?;
    walk.all::<HeaderMod>()?;
    walk.all::<TcpRoute>()?;
    walk.all::<Cluster>()?;
    walk.all::<Endpoint>()?;
    Ok(strings.into())
}

struct Walk<'a> {
    bytes: &'a [u8],
    spans: &'a [Span; KNOWN_KINDS],
    cx: &'a Ctx<'a>,
}

impl Walk<'_> {
    fn all<R: Record + Check>(&self) -> Result<(), ImageError> {
        let span = R::KIND.slot().map(|s| self.spans[s]).unwrap_or_default();
        for (record, index) in records_in::<R>(self.bytes, span).iter().zip(0u32..) {
            let at = At {
                section: R::KIND,
                record: index,
            };
            record.check(self.cx, at)?;
        }
        Ok(())
    }
}

/// The rules of one record kind.
trait Check {
    fn check(&self, cx: &Ctx<'_>, at: At) -> Result<(), ImageError>;
}

impl Check for StrRef {
    fn check(&self, cx: &Ctx<'_>, at: At) -> Result<(), ImageError> {
        cx.str(at, "name", *self)
    }
}

impl Check for L4Service {
    fn check(&self, cx: &Ctx<'_>, at: At) -> Result<(), ImageError> {
        cx.str(at, "name", self.name)?;
        Ctx::addr(at, &self.vip, self.family)?;
        Ctx::code(at, "protocol", self.protocol, self.protocol().is_some())?;
        Ctx::code(at, "mode", self.mode, self.mode().is_some())?;
        Ctx::bits(at, "flags", self.flags.into(), l4_flags::ALL.into())?;
        cx.range(at, "backends", self.backends, K::L4_BACKENDS)?;
        cx.maglev(at, self.maglev, self.backends.count)
    }
}

impl Check for L4Backend {
    fn check(&self, _: &Ctx<'_>, at: At) -> Result<(), ImageError> {
        Ctx::addr(at, &self.addr, self.family)?;
        Ctx::flag(at, "has_mac", self.has_mac)
    }
}

impl Check for Listener {
    fn check(&self, cx: &Ctx<'_>, at: At) -> Result<(), ImageError> {
        cx.str(at, "name", self.name)?;
        Ctx::addr(at, &self.addr, self.family)?;
        let protocol = ListenerProtocol::from_code(self.protocol);
        Ctx::code(at, "protocol", self.protocol, protocol.is_some())?;
        let tls = TlsMode::from_code(self.tls_mode);
        Ctx::code(at, "tls_mode", self.tls_mode, tls.is_some())?;
        cx.range(at, "certificates", self.certificates, K::CERTIFICATES)?;
        cx.range(at, "virtual_hosts", self.virtual_hosts, K::VIRTUAL_HOSTS)?;
        cx.range(at, "tcp_routes", self.tcp_routes, K::TCP_ROUTES)
    }
}

impl Check for Certificate {
    fn check(&self, cx: &Ctx<'_>, at: At) -> Result<(), ImageError> {
        cx.str(at, "cert_path", self.cert_path)?;
        cx.str(at, "key_path", self.key_path)?;
        cx.range(at, "server_names", self.server_names, K::NAMES)
    }
}

impl Check for VirtualHost {
    fn check(&self, cx: &Ctx<'_>, at: At) -> Result<(), ImageError> {
        cx.str(at, "hostname", self.hostname)?;
        cx.range(at, "routes", self.routes, K::ROUTES)?;
        cx.index(at, "listener", self.listener, K::LISTENERS)?;
        let kind = HostKind::from_code(self.kind);
        Ctx::code(at, "kind", self.kind, kind.is_some())?;
        let hostname_ok = match kind {
            Some(HostKind::Wildcard) => cx.str_starts_with_dot(self.hostname),
            Some(HostKind::Any) => self.hostname.is_empty(),
            _ => true,
        };
        if !hostname_ok {
            return Err(ImageError::BadField {
                at,
                field: "hostname",
                problem: "a wildcard needs a suffix starting with '.'; Any needs an empty hostname",
            });
        }
        Ok(())
    }
}

impl Check for Route {
    fn check(&self, cx: &Ctx<'_>, at: At) -> Result<(), ImageError> {
        cx.str(at, "name", self.name)?;
        cx.str(at, "path", self.path)?;
        cx.str(at, "redirect_scheme", self.redirect_scheme)?;
        cx.str(at, "redirect_host", self.redirect_host)?;
        cx.str(at, "redirect_path", self.redirect_path)?;
        cx.str(at, "direct_body", self.direct_body)?;
        cx.range(at, "matches", self.matches, K::MATCHES)?;
        cx.range(at, "backends", self.backends, K::ROUTE_BACKENDS)?;
        cx.range(at, "header_mods", self.header_mods, K::HEADER_MODS)?;
        let path_kind = PathMatch::from_code(self.path_kind);
        Ctx::code(at, "path_kind", self.path_kind, path_kind.is_some())?;
        let action = RouteAction::from_code(self.action);
        Ctx::code(at, "action", self.action, action.is_some())?;
        Ctx::bits(
            at,
            "method_mask",
            self.method_mask.into(),
            method::ALL.into(),
        )?;
        Ctx::bits(at, "retry_on", self.retry_on.into(), retry_on::ALL.into())?;
        Ctx::bits(
            at,
            "retry_flags",
            self.retry_flags.into(),
            retry_flags::ALL.into(),
        )?;
        Ctx::code(
            at,
            "retry_budget_percent",
            self.retry_budget_percent,
            self.retry_budget_percent <= 100,
        )
    }
}

impl Check for Match {
    fn check(&self, cx: &Ctx<'_>, at: At) -> Result<(), ImageError> {
        cx.str(at, "name", self.name)?;
        cx.str(at, "value", self.value)?;
        let target = MatchTarget::from_code(self.target);
        Ctx::code(at, "target", self.target, target.is_some())?;
        Ctx::code(
            at,
            "kind",
            self.kind,
            MatchKind::from_code(self.kind).is_some(),
        )?;
        Ctx::flag(at, "invert", self.invert)
    }
}

impl Check for RouteBackend {
    fn check(&self, cx: &Ctx<'_>, at: At) -> Result<(), ImageError> {
        cx.index(at, "cluster", self.cluster, K::CLUSTERS)
    }
}

impl Check for HeaderMod {
    fn check(&self, cx: &Ctx<'_>, at: At) -> Result<(), ImageError> {
        cx.str(at, "name", self.name)?;
        cx.str(at, "value", self.value)?;
        let direction = ModDirection::from_code(self.direction);
        Ctx::code(at, "direction", self.direction, direction.is_some())?;
        Ctx::code(at, "op", self.op, HeaderOp::from_code(self.op).is_some())
    }
}

impl Check for TcpRoute {
    fn check(&self, cx: &Ctx<'_>, at: At) -> Result<(), ImageError> {
        cx.str(at, "name", self.name)?;
        cx.range(at, "sni", self.sni, K::NAMES)?;
        cx.range(at, "backends", self.backends, K::ROUTE_BACKENDS)
    }
}

impl Check for Cluster {
    fn check(&self, cx: &Ctx<'_>, at: At) -> Result<(), ImageError> {
        cx.str(at, "name", self.name)?;
        cx.str(at, "hash_key", self.hash_key)?;
        cx.str(at, "tls_sni", self.tls_sni)?;
        cx.str(at, "tls_ca", self.tls_ca)?;
        cx.range(at, "endpoints", self.endpoints, K::ENDPOINTS)?;
        cx.maglev(at, self.maglev, self.endpoints.count)?;
        let policy = LbPolicy::from_code(self.lb_policy);
        Ctx::code(at, "lb_policy", self.lb_policy, policy.is_some())?;
        Ctx::code(
            at,
            "hash_on",
            self.hash_on,
            HashOn::from_code(self.hash_on).is_some(),
        )?;
        let upstream = UpstreamProtocol::from_code(self.upstream_protocol);
        Ctx::code(
            at,
            "upstream_protocol",
            self.upstream_protocol,
            upstream.is_some(),
        )?;
        Ctx::flag(at, "upstream_tls", self.upstream_tls)
    }
}

impl Check for Endpoint {
    fn check(&self, _: &Ctx<'_>, at: At) -> Result<(), ImageError> {
        Ctx::addr(at, &self.addr, self.family)
    }
}
