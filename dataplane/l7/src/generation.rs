//! One generation as a worker uses it: the validated image, plus what the worker derives from
//! it once, when it first sees the image: listener addresses and kinds, virtual-host indexes,
//! SNI indexes of TCP routes, compiled regular expressions and the balancing state of every
//! cluster.
//!
//! Invariants: a [`Generation`] is built once per image per worker and never changes after
//! (balancing state is `Cell`s); requests hold it by `Rc`, so a request finishes on the
//! generation it started with while the next request takes the newest. The image is held by
//! `Arc`, so its mapping outlives the RCU's copy for as long as a request needs it. Regexes are
//! anchored (`^(?:…)$`) exactly as the agent validated them; one that fails to compile here
//! (a different regex engine limit) never matches and is logged once.

use std::{cmp::Ordering, collections::HashMap, net::SocketAddr, sync::Arc};

use regex::bytes::{Regex, RegexBuilder};
use strait_shm::MappedImage;
use strait_table::{HostKind, Image, ListenerProtocol, MatchKind, PathMatch, TlsMode};
use tracing::warn;

use crate::lb::ClusterState;
use crate::sni::NameTable;
use crate::tls::CertSpec;
use crate::tls::ClientConfigs;

/// The image type the data plane maps.
pub type TableImage = Image<MappedImage>;

/// Compiled-size cap of one regex, as the agent's.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A generation and the worker's indexes over it; see the module invariants.
#[derive(Debug)]
pub(crate) struct Generation {
    pub(crate) image: Arc<TableImage>,
    /// Which build of this worker it is (a new image always gets a new serial).
    pub(crate) serial: u64,
    /// Listeners the worker serves: bind address, listener index and kind.
    listeners: Vec<(SocketAddr, u32, Kind)>,
    /// Virtual-host index per listener index.
    hosts: Vec<Hosts>,
    /// TCP routes (global indexes into `TCP_ROUTES`) by SNI, per listener index.
    tcp_routes: Vec<NameTable<u32>>,
    /// Path regex per route record.
    path_regex: Vec<Option<Regex>>,
    /// Value regex per match record.
    match_regex: Vec<Option<Regex>>,
    /// Balancing state per cluster record.
    clusters: Vec<ClusterState>,
    /// TLS client configs for clusters that speak TLS to their endpoints, built on first use.
    pub(crate) upstream_tls: ClientConfigs,
}

/// What a listener serves, from its protocol and TLS mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// HTTP/1.1 in the clear.
    Http,
    /// HTTP/1.1 in TLS terminated here.
    Https,
    /// TLS terminated here, the plaintext copied to a TCP route.
    TlsTerminate,
    /// TLS copied as is to the TCP route its ClientHello's server name selects.
    TlsPassthrough,
    /// Bytes copied as is to a TCP route.
    Tcp,
}

impl Kind {
    fn of(l: &strait_table::Listener) -> Option<Kind> {
        match (l.protocol()?, l.tls_mode()?) {
            (ListenerProtocol::Http, TlsMode::None) => Some(Kind::Http),
            (ListenerProtocol::Https, TlsMode::Terminate) => Some(Kind::Https),
            (ListenerProtocol::Tls, TlsMode::Terminate) => Some(Kind::TlsTerminate),
            (ListenerProtocol::Tls, TlsMode::Passthrough) => Some(Kind::TlsPassthrough),
            (ListenerProtocol::Tcp, TlsMode::None) => Some(Kind::Tcp),
            _ => None,
        }
    }

    /// TLS is terminated on this listener.
    pub(crate) fn terminates_tls(self) -> bool {
        matches!(self, Kind::Https | Kind::TlsTerminate)
    }
}

/// The virtual hosts of one listener, as global indexes into `VIRTUAL_HOSTS`.
#[derive(Debug, Default)]
struct Hosts {
    /// Lower-case names, sorted.
    exact: Vec<(Box<[u8]>, u32)>,
    /// Lower-case suffixes with their leading dot, longest first.
    wildcard: Vec<(Box<[u8]>, u32)>,
    any: Option<u32>,
}

impl Generation {
    /// Derives the worker's indexes; `seed` varies the round-robin starting points per worker.
    pub(crate) fn build(image: Arc<TableImage>, serial: u64, seed: u64) -> Generation {
        let mut listeners = Vec::new();
        let mut hosts = Vec::new();
        let mut tcp_routes = Vec::new();
        for (index, l) in (0u32..).zip(image.listeners()) {
            if let (Some(kind), Some(ip)) = (Kind::of(l), l.addr()) {
                listeners.push((SocketAddr::new(ip, l.port), index, kind));
            }
            let mut routes = NameTable::default();
            for (route, r) in (l.tcp_routes.first..).zip(image.tcp_routes_of(l)) {
                routes.insert(image.sni_of(r).iter().map(|n| image.str(*n)), route);
            }
            tcp_routes.push(routes);
            hosts.push(index_hosts(
                &image,
                l.virtual_hosts.first,
                image.virtual_hosts_of(l),
            ));
        }
        let mut cache: HashMap<&str, Option<Regex>> = HashMap::new();
        let path_regex = image
            .routes()
            .iter()
            .map(|r| match r.path_kind() {
                Some(PathMatch::Regex) => cached(&mut cache, image.str(r.path)),
                _ => None,
            })
            .collect();
        let match_regex = image
            .matches()
            .iter()
            .map(|m| match m.kind() {
                Some(MatchKind::Regex) => cached(&mut cache, image.str(m.value)),
                _ => None,
            })
            .collect();
        let clusters = (0u64..)
            .zip(image.clusters())
            .map(|(i, c)| ClusterState::new(image.endpoints_of(c), (seed ^ i) as u32))
            .collect();
        Generation {
            serial,
            listeners,
            hosts,
            tcp_routes,
            path_regex,
            match_regex,
            clusters,
            upstream_tls: ClientConfigs::default(),
            image,
        }
    }

    /// The agent's generation number.
    pub(crate) fn number(&self) -> u64 {
        self.image.generation()
    }

    /// The listeners the worker serves: bind address, listener index and kind.
    pub(crate) fn listeners(&self) -> impl Iterator<Item = (SocketAddr, u32, Kind)> + '_ {
        self.listeners.iter().copied()
    }

    /// The listener bound to `addr`, if this generation still has it.
    pub(crate) fn listener(&self, addr: SocketAddr) -> Option<u32> {
        self.listeners
            .iter()
            .find(|&&(a, _, _)| a == addr)
            .map(|&(_, i, _)| i)
    }

    /// The certificates of listener `index`, as the table names them.
    pub(crate) fn certificates(&self, index: u32) -> Vec<CertSpec> {
        let image = &*self.image;
        let Some(l) = image.listeners().get(index as usize) else {
            return Vec::new();
        };
        image
            .certificates_of(l)
            .iter()
            .map(|c| CertSpec {
                cert_path: image.str(c.cert_path).to_owned(),
                key_path: image.str(c.key_path).to_owned(),
                names: image
                    .server_names_of(c)
                    .iter()
                    .map(|n| image.str(*n).to_owned())
                    .collect(),
            })
            .collect()
    }

    /// The name of listener `index`.
    pub(crate) fn listener_name(&self, index: u32) -> &str {
        let image = &*self.image;
        image
            .listeners()
            .get(index as usize)
            .map_or("", |l| image.str(l.name))
    }

    /// The TCP route (index into `TCP_ROUTES`) of listener `index` for server name `sni`:
    /// exact, wildcard, then the route without names.
    pub(crate) fn tcp_route(&self, index: u32, sni: Option<&str>) -> Option<u32> {
        self.tcp_routes.get(index as usize)?.get(sni).copied()
    }

    /// The virtual host of `listener` serving `host` (a host name without port, any case):
    /// exact name, else the longest wildcard suffix, else the catch-all.
    pub(crate) fn virtual_host(&self, listener: u32, host: Option<&[u8]>) -> Option<u32> {
        let hosts = self.hosts.get(listener as usize)?;
        if let Some(h) = host {
            let lower = |name: &[u8]| -> Ordering {
                name.iter()
                    .copied()
                    .cmp(h.iter().map(u8::to_ascii_lowercase))
            };
            if let Ok(i) = hosts.exact.binary_search_by(|(name, _)| lower(name)) {
                return Some(hosts.exact[i].1);
            }
            let wild = hosts.wildcard.iter().find(|(suffix, _)| {
                h.len() > suffix.len() && h[h.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
            });
            if let Some(&(_, index)) = wild {
                return Some(index);
            }
        }
        hosts.any
    }

    /// The compiled path regex of route record `index`.
    pub(crate) fn path_regex(&self, index: usize) -> Option<&Regex> {
        self.path_regex.get(index)?.as_ref()
    }

    /// The compiled value regex of match record `index`.
    pub(crate) fn match_regex(&self, index: usize) -> Option<&Regex> {
        self.match_regex.get(index)?.as_ref()
    }

    /// The balancing state of cluster record `index`.
    pub(crate) fn cluster_state(&self, index: u32) -> Option<&ClusterState> {
        self.clusters.get(index as usize)
    }
}

fn index_hosts(image: &TableImage, first: u32, vhosts: &[strait_table::VirtualHost]) -> Hosts {
    let mut hosts = Hosts::default();
    for (index, v) in (first..).zip(vhosts) {
        let name: Box<[u8]> = image
            .str(v.hostname)
            .to_ascii_lowercase()
            .into_bytes()
            .into();
        match v.kind() {
            Some(HostKind::Exact) => hosts.exact.push((name, index)),
            Some(HostKind::Wildcard) => hosts.wildcard.push((name, index)),
            Some(HostKind::Any) => {
                hosts.any.get_or_insert(index);
            }
            None => {}
        }
    }
    hosts.exact.sort_by(|a, b| a.0.cmp(&b.0));
    hosts.exact.dedup_by(|a, b| a.0 == b.0);
    hosts.wildcard.sort_by_key(|w| std::cmp::Reverse(w.0.len()));
    hosts
}

/// Each distinct pattern is compiled once per generation.
fn cached<'i>(cache: &mut HashMap<&'i str, Option<Regex>>, source: &'i str) -> Option<Regex> {
    cache
        .entry(source)
        .or_insert_with(|| compile_regex(source))
        .clone()
}

fn compile_regex(source: &str) -> Option<Regex> {
    match RegexBuilder::new(&format!("^(?:{source})$"))
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
    {
        Ok(re) => Some(re),
        Err(e) => {
            warn!(regex = source, error = %e, "route regex does not compile; it never matches");
            None
        }
    }
}
