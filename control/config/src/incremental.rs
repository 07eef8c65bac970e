//! Parsing a config that is pushed again and again.
//!
//! Platforms push their whole state on every change, and most of a large config (clusters of
//! endpoints, route after route) is the same as in the last push. [`ParseCache::parse`] skims a
//! JSON document into its top-level sections and each HTTP route, and takes from the config of
//! the last push what is byte-for-byte unchanged instead of parsing and validating it again:
//! the `clusters` and `l4Services` sections whole (raw and validated), each HTTP route's raw
//! form, and its validated form too when the `listeners` and `clusters` sections (all a route
//! may refer to) are unchanged as well. Everything else is parsed and validated as
//! [`crate::parse`] does.
//!
//! Before skimming, a push whose only difference from the kept text lies within one HTTP route
//! (found by comparing the texts from both ends, see `splice`) is taken as the kept config
//! with that one route parsed and validated again: the rest of the document is compared, not parsed.
//!
//! Order: `parse` a push; when done with the config, hand it back with [`ParseCache::keep`]
//! so the next push can take its parts (moved, neither copied nor freed); drop the
//! [`Leftovers`] `keep` returns where a long free does no harm. A caller that never calls
//! `keep` gets plain parses.
//!
//! Invariants:
//! * The result, including every error and its path, is exactly what [`crate::parse`] returns
//!   for the same text: a push that does not validate, or that the skim cannot take apart, is
//!   parsed again by [`crate::parse`] (which also names the path of a syntax error).
//! * Only a config that validated is kept, with the key (xxh3 and length) of each section and
//!   route text it came from; a part is reused only under an equal key. A refused push leaves
//!   nothing kept: the next one is parsed whole. YAML is parsed whole.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use sonic_rs::LazyValue;
use xxhash_rust::xxh3::xxh3_64;

mod splice;

use splice::{Layout, Splice};

use crate::{
    Config, FieldError,
    parse::is_json,
    raw::{RawConfig, RawHttpRoute},
    validate::{Reuse, validate_with},
};

/// Keeps the last accepted JSON push's config, for the next one; see the module docs.
#[derive(Debug, Default)]
pub struct ParseCache {
    /// The config handed back by `keep`, with the keys of the text it came from.
    kept: Option<Kept>,
    /// The keys of the config the last `parse` returned, until it is kept.
    pending: Option<Keys>,
    /// What the last `parse` left of the kept config, to be given away by `keep`.
    husk: Option<Config>,
    hits: u64,
    /// Pushes that changed one route and were taken by splicing it in.
    splices: u64,
}

/// What a kept config left after the next push took its parts; drop it off the hot path.
#[derive(Debug)]
#[must_use = "dropping it is the point: do it where a long free does no harm"]
pub struct Leftovers(#[allow(dead_code)] Vec<Config>);

#[derive(Debug)]
struct Kept {
    keys: Keys,
    config: Config,
}

/// Identifies a piece of text: its xxh3 and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key(u64, usize);

impl Key {
    fn of(text: &str) -> Key {
        Key(xxh3_64(text.as_bytes()), text.len())
    }
}

/// The keys of the sections of one document.
#[derive(Debug)]
struct Keys {
    listeners: Key,
    clusters: Key,
    l4_services: Key,
    http_routes: Vec<Key>,
    /// The document itself and where its routes are, when known.
    layout: Option<Layout>,
}

/// The top level of a JSON config, each section left as raw text (HTTP routes one by one).
/// A section written as `null` is present (and refused later, as a whole parse refuses it).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Sections<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    listeners: Option<LazyValue<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    http_routes: Option<Vec<LazyValue<'a>>>,
    #[serde(borrow, default, deserialize_with = "present")]
    tcp_routes: Option<LazyValue<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    tls_routes: Option<LazyValue<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    clusters: Option<LazyValue<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    l4_services: Option<LazyValue<'a>>,
}

impl ParseCache {
    /// Parses and validates `text` as [`crate::parse`] does, reusing the unchanged parts of
    /// the config last handed to [`ParseCache::keep`].
    pub fn parse(&mut self, text: &str) -> Result<Config, Vec<FieldError>> {
        self.pending = None;
        if !is_json(text) {
            return crate::parse(text);
        }
        let text = text.trim_start_matches('\u{feff}');
        let kept = self.kept.take();
        let spliced = kept.as_ref().and_then(|k| {
            let splice = k.keys.layout.as_ref()?.splice(text)?;
            let route = sonic_rs::from_str::<RawHttpRoute>(splice.text).ok()?;
            Some((splice, route))
        });
        let mut husk = kept.as_ref().map(|_| Config::default());
        let parsed = match (kept, spliced, husk.as_mut()) {
            (Some(k), Some((splice, route)), Some(husk)) => {
                self.parse_spliced(text, k, &splice, route, husk)
            }
            (kept, _, husk) => self.parse_sections(text, kept, husk),
        };
        self.husk = husk;
        match parsed {
            Some((config, keys)) => {
                self.pending = Some(keys);
                Ok(config)
            }
            None => crate::parse(text),
        }
    }

    /// Takes back the config the last [`ParseCache::parse`] returned, for the next push to
    /// reuse; returns what is to be freed (see [`Leftovers`]). A config from anywhere else
    /// must not be given.
    pub fn keep(&mut self, config: Config) -> Leftovers {
        let mut out: Vec<Config> = self.husk.take().into_iter().collect();
        match self.pending.take() {
            Some(keys) if keys.http_routes.len() == config.raw.http_routes.len() => {
                out.extend(self.kept.replace(Kept { keys, config }).map(|k| k.config));
            }
            _ => out.push(config),
        }
        Leftovers(out)
    }

    /// How many pushes reused the kept clusters.
    pub fn hits(&self) -> u64 {
        self.hits
    }

    /// The config of `text`, which is the kept text with one route replaced by `route`, and
    /// its keys; `None` when it does not validate. What is left of `kept` goes to `husk`.
    fn parse_spliced(
        &mut self,
        text: &str,
        kept: Kept,
        splice: &Splice<'_>,
        route: RawHttpRoute,
        husk: &mut Config,
    ) -> Option<(Config, Keys)> {
        let Kept {
            mut keys,
            config: mut old,
        } = kept;
        let mut raw = std::mem::take(&mut old.raw);
        let mut reuse = Reuse {
            clusters: Some(std::mem::take(&mut old.clusters)),
            l4_services: Some(std::mem::take(&mut old.l4_services)),
            http_routes: std::mem::take(&mut old.http_routes)
                .into_iter()
                .map(Some)
                .collect(),
        };
        *husk = old;
        // The same number of raw routes, validated routes and keys: `keep` checked it.
        *raw.http_routes.get_mut(splice.index)? = route;
        *reuse.http_routes.get_mut(splice.index)? = None;
        *keys.http_routes.get_mut(splice.index)? = Key::of(splice.text);
        let config = validate_with(raw, reuse).ok()?;
        keys.layout = keys.layout.take().map(|l| l.apply(text, splice));
        self.hits += 1;
        self.splices += 1;
        Some((config, keys))
    }

    /// The config and its keys, or `None` when `text` is to be parsed whole. What is left of
    /// `kept` goes to `husk`.
    fn parse_sections(
        &mut self,
        text: &str,
        kept: Option<Kept>,
        husk: Option<&mut Config>,
    ) -> Option<(Config, Keys)> {
        let s: Sections<'_> = sonic_rs::from_str(text).ok()?;
        let routes: &[LazyValue<'_>] = s.http_routes.as_deref().unwrap_or_default();
        let (mut old_keys, mut old) = match kept {
            Some(k) => (Some(k.keys), k.config),
            None => (None, Config::default()),
        };
        let buffer = old_keys.as_mut().and_then(|k| k.layout.take());
        let keys = Keys {
            listeners: Key::of(raw_text(&s.listeners)),
            clusters: Key::of(raw_text(&s.clusters)),
            l4_services: Key::of(raw_text(&s.l4_services)),
            http_routes: routes.iter().map(|r| Key::of(r.as_raw_str())).collect(),
            layout: Layout::record(buffer, text, routes.iter().map(LazyValue::as_raw_str)),
        };
        let same = |f: fn(&Keys) -> Key| old_keys.as_ref().is_some_and(|k| f(k) == f(&keys));
        let mut reuse = Reuse::default();
        let clusters = if same(|k| k.clusters) {
            reuse.clusters = Some(std::mem::take(&mut old.clusters));
            std::mem::take(&mut old.raw.clusters)
        } else {
            section(&s.clusters)?
        };
        let l4_services = if same(|k| k.l4_services) {
            reuse.l4_services = Some(std::mem::take(&mut old.l4_services));
            std::mem::take(&mut old.raw.l4_services)
        } else {
            section(&s.l4_services)?
        };
        let refs_same = same(|k| k.listeners) && same(|k| k.clusters);
        let by_key: HashMap<Key, usize> = old_keys.as_ref().map_or_else(HashMap::new, |k| {
            k.http_routes
                .iter()
                .enumerate()
                .map(|(i, &key)| (key, i))
                .collect()
        });
        let mut old_raw: Vec<Option<RawHttpRoute>> = std::mem::take(&mut old.raw.http_routes)
            .into_iter()
            .map(Some)
            .collect();
        let mut old_valid: Vec<_> = std::mem::take(&mut old.http_routes)
            .into_iter()
            .map(Some)
            .collect();
        let mut http_routes = Vec::with_capacity(routes.len());
        reuse.http_routes.reserve(routes.len());
        for (item, key) in routes.iter().zip(&keys.http_routes) {
            let j = by_key.get(key).copied();
            match j.and_then(|j| old_raw.get_mut(j)?.take()) {
                Some(raw) => {
                    let valid = j.filter(|_| refs_same).and_then(|j| old_valid[j].take());
                    http_routes.push(raw);
                    reuse.http_routes.push(valid);
                }
                None => {
                    http_routes.push(sonic_rs::from_str(item.as_raw_str()).ok()?);
                    reuse.http_routes.push(None);
                }
            }
        }
        if let Some(h) = husk {
            *h = old;
        }
        let reused_clusters = reuse.clusters.is_some();
        let raw = RawConfig {
            listeners: section(&s.listeners)?,
            http_routes,
            tcp_routes: section(&s.tcp_routes)?,
            tls_routes: section(&s.tls_routes)?,
            clusters,
            l4_services,
        };
        let config = validate_with(raw, reuse).ok()?;
        self.hits += u64::from(reused_clusters);
        Some((config, keys))
    }
}

/// A present field, whatever its value (`Option`'s own impl would take `null` for absent).
fn present<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// The text of a section, empty when absent.
fn raw_text<'a>(value: &'a Option<LazyValue<'_>>) -> &'a str {
    value.as_ref().map_or("", LazyValue::as_raw_str)
}

/// One section as a list; an absent one is empty, one that does not parse is `None`.
fn section<T: DeserializeOwned>(value: &Option<LazyValue<'_>>) -> Option<Vec<T>> {
    match value {
        None => Some(Vec::new()),
        Some(v) => sonic_rs::from_str(v.as_raw_str()).ok(),
    }
}

#[cfg(test)]
mod tests;
