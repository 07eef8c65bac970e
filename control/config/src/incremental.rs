//! Parsing a config that is pushed again and again.
//!
//! Platforms push their whole state on every change, and most of a large config is its
//! clusters' endpoints, which rarely change. [`ParseCache::parse`] skims a JSON document into its
//! top-level sections and, when the `clusters` section is byte-for-byte the one of the last
//! accepted push, reuses its parsed and validated form instead of parsing and validating it
//! again. Everything else is parsed and validated as [`crate::parse`] does.
//!
//! Invariant: the result, including every error and its path, is exactly what [`crate::parse`]
//! returns for the same text. The cache only holds clusters of a config that validated, and
//! cluster validation depends on nothing outside the cluster; a document the skim cannot take
//! apart goes through [`crate::parse`], which also names the path of a syntax error. YAML is
//! parsed whole.

use serde::de::DeserializeOwned;
use sonic_rs::LazyValue;
use xxhash_rust::xxh3::xxh3_64;

use crate::{
    Cluster, Config, FieldError,
    parse::is_json,
    raw::{RawCluster, RawConfig},
    validate::validate_with,
};

/// Keeps what the last accepted JSON push parsed, for the next one.
#[derive(Debug, Default)]
pub struct ParseCache {
    clusters: Option<CachedClusters>,
    hits: u64,
}

#[derive(Debug)]
struct CachedClusters {
    hash: u64,
    len: usize,
    raw: Vec<RawCluster>,
    validated: Vec<Cluster>,
}

/// The top level of a JSON config, each section left as raw text.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Sections<'a> {
    #[serde(borrow, default)]
    listeners: Option<LazyValue<'a>>,
    #[serde(borrow, default)]
    http_routes: Option<LazyValue<'a>>,
    #[serde(borrow, default)]
    tcp_routes: Option<LazyValue<'a>>,
    #[serde(borrow, default)]
    tls_routes: Option<LazyValue<'a>>,
    #[serde(borrow, default)]
    clusters: Option<LazyValue<'a>>,
    #[serde(borrow, default)]
    l4_services: Option<LazyValue<'a>>,
}

impl ParseCache {
    /// Parses and validates `text` as [`crate::parse`] does, reusing unchanged clusters.
    pub fn parse(&mut self, text: &str) -> Result<Config, Vec<FieldError>> {
        if !is_json(text) {
            return crate::parse(text);
        }
        let text = text.trim_start_matches('\u{feff}');
        match self.parse_sections(text) {
            Some(result) => result,
            None => crate::parse(text),
        }
    }

    /// How many pushes reused the cached clusters.
    pub fn hits(&self) -> u64 {
        self.hits
    }

    fn parse_sections(&mut self, text: &str) -> Option<Result<Config, Vec<FieldError>>> {
        let sections: Sections<'_> = sonic_rs::from_str(text).ok()?;
        let clusters_text = sections.clusters.as_ref().map_or("", LazyValue::as_raw_str);
        let hash = xxh3_64(clusters_text.as_bytes());
        let cached = self
            .clusters
            .as_ref()
            .filter(|c| c.hash == hash && c.len == clusters_text.len());
        let (clusters, validated) = match cached {
            Some(c) => (c.raw.clone(), Some(c.validated.clone())),
            None => (section(&sections.clusters)?, None),
        };
        let reused = validated.is_some();
        let raw = RawConfig {
            listeners: section(&sections.listeners)?,
            http_routes: section(&sections.http_routes)?,
            tcp_routes: section(&sections.tcp_routes)?,
            tls_routes: section(&sections.tls_routes)?,
            clusters,
            l4_services: section(&sections.l4_services)?,
        };
        let result = validate_with(raw, validated);
        match (&result, reused) {
            (Ok(_), true) => self.hits += 1,
            (Ok(config), false) => {
                self.clusters = Some(CachedClusters {
                    hash,
                    len: clusters_text.len(),
                    raw: config.raw().clusters.clone(),
                    validated: config.clusters.clone(),
                })
            }
            (Err(_), _) => {}
        }
        Some(result)
    }
}

/// One section as a list; an absent one is empty, one that does not parse is `None`.
fn section<T: DeserializeOwned>(value: &Option<LazyValue<'_>>) -> Option<Vec<T>> {
    match value {
        None => Some(Vec::new()),
        Some(v) => sonic_rs::from_str(v.as_raw_str()).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(weight: u32, port: u16) -> String {
        format!(
            r#"{{"listeners":[{{"name":"web","address":"127.0.0.1","port":8080,"protocol":"HTTP"}}],
              "httpRoutes":[{{"name":"r","parentRefs":["web"],"rules":[{{"backendRefs":[{{"name":"c","weight":{weight}}}]}}]}}],
              "clusters":[{{"name":"c","endpoints":[{{"address":"127.0.0.1:{port}"}},{{"address":"127.0.0.1:9001"}}]}}]}}"#
        )
    }

    #[test]
    fn unchanged_clusters_are_reused_and_the_result_is_the_same() {
        let mut cache = ParseCache::default();
        for (text, hits) in [
            (config(1, 9000), 0),
            (config(2, 9000), 1),
            (config(3, 9000), 2),
            (config(3, 9100), 2),
        ] {
            let got = cache.parse(&text).expect("valid");
            assert_eq!(got, crate::parse(&text).expect("valid"));
            assert_eq!(cache.hits(), hits, "{text}");
        }
        assert_eq!(
            cache.parse(&config(3, 9100)).unwrap().clusters[0].endpoints[0]
                .addr
                .port(),
            9100
        );
    }

    #[test]
    fn errors_are_those_of_a_full_parse() {
        let mut cache = ParseCache::default();
        cache.parse(&config(1, 9000)).expect("valid");
        for text in [
            config(2_000_000, 9000), // bad weight, clusters reused
            config(1, 0),            // bad port in the clusters
            config(1, 9000).replace("\"port\":8080", "\"prot\":8080"), // unknown field
            config(1, 9000)[..40].to_owned(), // truncated JSON
            config(1, 9000).replace("\"clusters\"", "\"clusterz\""), // unknown section
        ] {
            assert_eq!(cache.parse(&text), crate::parse(&text), "{text}");
            assert!(cache.parse(&text).is_err(), "{text}");
        }
        // A refused push does not disturb the cache.
        assert_eq!(
            cache.parse(&config(5, 9000)),
            crate::parse(&config(5, 9000))
        );
    }

    #[test]
    fn yaml_is_parsed_whole() {
        let mut cache = ParseCache::default();
        let yaml = "clusters:\n  - name: c\n    endpoints: [{ address: \"127.0.0.1:9000\" }]\n";
        assert_eq!(cache.parse(yaml), crate::parse(yaml));
        assert_eq!(cache.hits(), 0);
    }
}
