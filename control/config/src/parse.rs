//! Text to [`RawConfig`]: JSON if the first non-blank character is `{`, YAML otherwise.
//!
//! A syntax, type or unknown-field error stops parsing and yields one [`FieldError`] whose path is
//! the serde path of the value (`clusters[0].endpoints[1].wieght`). Tracking that path costs an
//! allocation per mapping key, so the happy path parses without it and only a failed document is
//! parsed a second time with `serde_path_to_error` to locate the error. Parsing is
//! deterministic, so the second run fails at the same place.

use serde::Deserialize;
use serde_path_to_error::{Segment, Track};

use crate::error::FieldError;
use crate::raw::RawConfig;

/// Whether `text` is to be read as JSON (first non-whitespace character is `{`).
pub fn is_json(text: &str) -> bool {
    text.trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('{')
}

/// Parses a document into the raw model, without validating it.
pub fn parse_raw(text: &str) -> Result<RawConfig, FieldError> {
    if is_json(text) {
        parse_json(text.trim_start_matches('\u{feff}'))
    } else {
        parse_yaml(text)
    }
}

fn parse_json(text: &str) -> Result<RawConfig, FieldError> {
    // sonic-rs (SIMD) on the happy path; serde_json locates the error of a document it refuses.
    if let Ok(raw) = sonic_rs::from_str(text) {
        return Ok(raw);
    }
    let mut track = Track::new();
    let mut de = serde_json::Deserializer::from_str(text);
    let result =
        RawConfig::deserialize(serde_path_to_error::Deserializer::new(&mut de, &mut track))
            .and_then(|raw| de.end().map(|()| raw));
    match result {
        Ok(raw) => Ok(raw),
        Err(e) => Err(located(track, e.to_string())),
    }
}

/// YAML options: the defaults (duplicate keys rejected, alias-expansion limits kept) with a
/// node budget large enough for 100k endpoints, and no source snippet in messages.
fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = 20_000_000;
    budget.max_events = 50_000_000;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.with_snippet = false;
    options
}

fn parse_yaml(text: &str) -> Result<RawConfig, FieldError> {
    if text.trim().is_empty() {
        return Ok(RawConfig::default());
    }
    if let Ok(raw) = serde_saphyr::from_str_with_options(text, yaml_options()) {
        return Ok(raw);
    }
    let mut track = Track::new();
    let result =
        serde_saphyr::with_deserializer_from_str_with_options(text, yaml_options(), |de| {
            RawConfig::deserialize(serde_path_to_error::Deserializer::new(de, &mut track))
        });
    match result {
        Ok(raw) => Ok(raw),
        Err(e) => {
            // The user formatter drops library hints ("set DuplicateKeyPolicy in Options") and
            // ends the message with the line and column.
            let reason = e.render_with_formatter(&serde_saphyr::UserMessageFormatter);
            Err(located(track, reason))
        }
    }
}

/// Builds the error from the tracked path (which ends at an unknown key itself). A segment the
/// tracker could not name (a key being read when a duplicate was found) is left out; the
/// reason names the key.
fn located(track: Track, reason: String) -> FieldError {
    let mut path = String::new();
    for segment in &track.path() {
        match segment {
            Segment::Seq { index } => path.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => push_key(&mut path, key),
            Segment::Unknown => {}
        }
    }
    FieldError {
        path,
        reason: reason.trim().to_owned(),
    }
}

fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
}
