//! Clusters: LB policy and hash key consistency, upstream TLS, and endpoints.
//!
//! Endpoints are the bulk of a large config (100k of them), so the loop over them does no
//! allocation unless it finds a mistake.

use crate::duration::Duration;
use crate::error::{Errors, Loc};
use crate::model::{Cluster, Endpoint, HashOn, UpstreamTls};
use crate::names::{HeaderName, Hostname, Name};
use crate::raw::{RawCluster, RawHashOn, RawUpstreamTls};

use super::{duration_or, file, require_nonzero, socket_addr, weight};

/// Connect timeout when none is given (as Envoy's).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = match Duration::from_millis(5_000) {
    Some(d) => d,
    None => unreachable!(),
};

/// Validates every cluster.
pub(crate) fn clusters(errs: &mut Errors, raw: &[RawCluster]) -> Vec<Cluster> {
    let root = Loc::Root;
    let list = root.field("clusters");
    let mut out = Vec::with_capacity(raw.len());
    for (i, c) in raw.iter().enumerate() {
        if let Some(cluster) = cluster(errs, &list.index(i), c) {
            out.push(cluster);
        }
    }
    out
}

fn cluster(errs: &mut Errors, at: &Loc<'_>, c: &RawCluster) -> Option<Cluster> {
    let lb_policy = c.lb_policy.unwrap_or_default();
    let hash_at = at.field("hashOn");
    let hash_on = match (&c.hash_on, lb_policy.is_hashing()) {
        (Some(h), true) => hash_on(errs, &hash_at, h),
        (None, false) => None,
        (None, true) => errs.fail(&hash_at, format!("required for lbPolicy {lb_policy:?}")),
        (Some(_), false) => errs.fail(
            &hash_at,
            format!("only allowed with lbPolicy RingHash or Maglev, not {lb_policy:?}"),
        ),
    };
    let connect_timeout = duration_or(
        errs,
        &at.field("connectTimeout"),
        c.connect_timeout.as_deref(),
        Some(DEFAULT_CONNECT_TIMEOUT),
    );
    let tls = c
        .tls
        .as_ref()
        .map(|t| upstream_tls(errs, &at.field("tls"), t));

    let eps_at = at.field("endpoints");
    if c.endpoints.is_empty() {
        errs.at(&eps_at, "must have at least one endpoint");
    }
    let mut endpoints = Vec::with_capacity(c.endpoints.len());
    for (j, e) in c.endpoints.iter().enumerate() {
        let here = eps_at.index(j);
        let weight = weight(errs, &here, e.weight);
        if let Some(addr) = socket_addr(errs, &here.field("address"), &e.address) {
            endpoints.push(Endpoint { addr, weight });
        }
    }
    let weights = c.endpoints.iter().map(|e| e.weight.unwrap_or(1));
    require_nonzero(errs, &eps_at, weights, "endpoint");

    Some(Cluster {
        name: Name::new(&c.name).ok()?,
        lb_policy,
        hash_on,
        connect_timeout: connect_timeout?,
        protocol: c.protocol.unwrap_or_default(),
        tls,
        endpoints,
    })
}

fn hash_on(errs: &mut Errors, at: &Loc<'_>, h: &RawHashOn) -> Option<HashOn> {
    match (&h.header, &h.cookie, h.source_ip) {
        (Some(name), None, None) => HeaderName::new(name)
            .map(HashOn::Header)
            .map_err(|e| errs.at(&at.field("header"), e))
            .ok(),
        (None, Some(cookie), None) => {
            if cookie.is_empty() {
                errs.at(&at.field("cookie"), "must not be empty");
            }
            Some(HashOn::Cookie(cookie.clone()))
        }
        (None, None, Some(true)) => Some(HashOn::SourceIp),
        (None, None, Some(false)) => errs.fail(&at.field("sourceIp"), "must be true when set"),
        _ => errs.fail(at, "set exactly one of header, cookie or sourceIp"),
    }
}

fn upstream_tls(errs: &mut Errors, at: &Loc<'_>, t: &RawUpstreamTls) -> UpstreamTls {
    let sni = t.sni.as_deref().and_then(|s| {
        Hostname::new_exact(s)
            .map_err(|e| errs.at(&at.field("sni"), e))
            .ok()
    });
    let ca_file = t
        .ca_file
        .as_deref()
        .map(|f| file(errs, &at.field("caFile"), f));
    UpstreamTls { sni, ca_file }
}
