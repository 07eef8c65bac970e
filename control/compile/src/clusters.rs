//! Clusters and their endpoints; Maglev tables for clusters hashed by RingHash or Maglev.
//!
//! Clusters are pushed in config order, so a cluster's record index is its config index, which
//! is what route backends refer to.

use strait_config::{Cluster as ConfigCluster, Config, FieldError, HashOn as ConfigHashOn, kinds};
use strait_table::{
    Cluster, Endpoint, HashOn, ImageBuilder, LbPolicy, Range, UpstreamProtocol, encode_ip,
    maglev::{MaglevBackend, backend_key},
};

use crate::maglev::{Build, table_size_for};

pub(crate) fn compile(
    b: &mut ImageBuilder,
    config: &Config,
    slots: &[u32],
    maglev: &mut Build<'_>,
    errors: &mut Vec<FieldError>,
) {
    b.reserve::<Cluster>(config.clusters.len());
    b.reserve::<Endpoint>(config.clusters.iter().map(|c| c.endpoints.len()).sum());
    let mut slots = slots.iter().copied();
    for (i, c) in config.clusters.iter().enumerate() {
        let first = b.count::<Endpoint>();
        for e in &c.endpoints {
            let (addr, family) = encode_ip(e.addr.ip());
            b.push_endpoint(Endpoint {
                addr,
                family,
                port: e.addr.port(),
                weight: e.weight,
                health_slot: slots.next().unwrap_or(u32::MAX),
                ..Default::default()
            });
        }
        let endpoints = b.range_from::<Endpoint>(first);
        let table = match hashed_table(b, c, maglev) {
            Ok(t) => t,
            Err(reason) => {
                errors.push(FieldError {
                    path: format!("clusters[{i}].endpoints"),
                    reason,
                });
                Range::EMPTY
            }
        };
        let (hash_on, hash_key) = match &c.hash_on {
            None => (HashOn::None, b.string("")),
            Some(ConfigHashOn::Header(h)) => (HashOn::Header, b.string(h.as_str())),
            Some(ConfigHashOn::Cookie(name)) => (HashOn::Cookie, b.string(name)),
            Some(ConfigHashOn::SourceIp) => (HashOn::SourceIp, b.string("")),
        };
        let tls_sni = c
            .tls
            .as_ref()
            .and_then(|t| t.sni.as_ref())
            .map_or("", |h| h.as_str());
        let tls_ca = c
            .tls
            .as_ref()
            .and_then(|t| t.ca_file.as_deref())
            .map_or(String::new(), |p| p.to_string_lossy().into_owned());
        let cluster = Cluster {
            name: b.string(c.name.as_str()),
            hash_key,
            tls_sni: b.string(tls_sni),
            tls_ca: b.string(&tls_ca),
            endpoints,
            maglev: table,
            connect_timeout_ms: saturating_ms(c.connect_timeout.as_millis()),
            lb_policy: lb_policy(c.lb_policy).code(),
            hash_on: hash_on.code(),
            upstream_protocol: match c.protocol {
                kinds::UpstreamProtocol::Http1 => UpstreamProtocol::Http1,
                kinds::UpstreamProtocol::Http2 => UpstreamProtocol::Http2,
            }
            .code(),
            upstream_tls: u8::from(c.tls.is_some()),
        };
        b.push_cluster(cluster);
    }
}

/// The Maglev table of a RingHash/Maglev cluster (both are served by Maglev: same consistency,
/// one array index per lookup); empty for other policies.
fn hashed_table(
    b: &mut ImageBuilder,
    c: &ConfigCluster,
    maglev: &mut Build<'_>,
) -> Result<Range, String> {
    if !matches!(
        c.lb_policy,
        kinds::LbPolicy::RingHash | kinds::LbPolicy::Maglev
    ) {
        return Ok(Range::EMPTY);
    }
    let backends: Vec<MaglevBackend> = c
        .endpoints
        .iter()
        .map(|e| {
            let (addr, family) = encode_ip(e.addr.ip());
            MaglevBackend {
                key: backend_key(&addr, family, e.addr.port()),
                weight: e.weight,
            }
        })
        .collect();
    // The same size as an L4 service's (65537 up to 655 endpoints, Envoy's default too):
    // 256 KiB per hashed cluster. Smaller tables keep the ≈1/N remap on average but not in
    // the tail: with 3 endpoints and 1021 slots, removing one moved up to 8% of the
    // survivors' slots over 200 random endpoint sets, against at most 0.7% at 65537.
    let table = maglev
        .table(&backends, table_size_for(backends.len()))
        .map_err(|e| e.to_string())?;
    Ok(b.maglev(&table))
}

fn lb_policy(p: kinds::LbPolicy) -> LbPolicy {
    match p {
        kinds::LbPolicy::RoundRobin => LbPolicy::RoundRobin,
        kinds::LbPolicy::LeastRequest => LbPolicy::LeastRequest,
        kinds::LbPolicy::RingHash => LbPolicy::RingHash,
        kinds::LbPolicy::Maglev => LbPolicy::Maglev,
        kinds::LbPolicy::Random => LbPolicy::Random,
    }
}

/// Milliseconds as the u32 the records hold (49 days at most).
pub(crate) fn saturating_ms(ms: u64) -> u32 {
    u32::try_from(ms).unwrap_or(u32::MAX)
}
