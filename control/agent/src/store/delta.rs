//! The state delta: a persisted state written as the bytes that differ from the base state
//! file, so a push that changes one route costs a small write and fsync, not the whole config.
//!
//! # Format
//! One JSON line ([`Header`]), a newline, then the new config's middle bytes: the new config is
//! `base[..prefix] + middle + base[base_len - suffix..]`.
//!
//! # Invariants
//! * A delta names its base by generation *and* by an xxh3 of the base config; it is applied
//!   only to that base, and the result must have the announced length. Any other base (a
//!   delta left behind when a crash came between a new base's rename and the delta's removal)
//!   makes it stale: ignored, never half-applied.
//! * Health slots are carried only when they differ from the base's.

use serde::{Deserialize, Serialize};
use strait_config::diff::{common_prefix, common_suffix};
use xxhash_rust::xxh3::xxh3_64;

use super::Persisted;

/// A delta is written only while its middle is at most this fraction of the config; past
/// it the whole state is written and becomes the new base.
const MAX_SHARE: usize = 8;

/// What the state file holds, kept in memory to write deltas against.
#[derive(Debug, Clone)]
pub(super) struct Base {
    generation: u64,
    hash: u64,
    config: String,
    health_slots: Vec<u32>,
}

impl Base {
    pub(super) fn of(state: &Persisted) -> Base {
        Base {
            generation: state.generation,
            hash: xxh3_64(state.config.as_bytes()),
            config: state.config.clone(),
            health_slots: state.health_slots.clone(),
        }
    }
}

/// The first line of a delta file.
#[derive(Serialize, Deserialize)]
struct Header {
    generation: u64,
    base_generation: u64,
    base_hash: u64,
    prefix: usize,
    suffix: usize,
    len: usize,
    health_slots: Option<Vec<u32>>,
}

/// `state` as a delta file against `base`, or `None` if too much of it differs.
pub(super) fn encode(base: &Base, state: &Persisted) -> Option<Vec<u8>> {
    let (old, new) = (base.config.as_bytes(), state.config.as_bytes());
    let prefix = common_prefix(old, new);
    let suffix = common_suffix(&old[prefix..], &new[prefix..]);
    let middle = &new[prefix..new.len() - suffix];
    if middle.len() > new.len() / MAX_SHARE {
        return None;
    }
    let header = Header {
        generation: state.generation,
        base_generation: base.generation,
        base_hash: base.hash,
        prefix,
        suffix,
        len: new.len(),
        health_slots: (state.health_slots != base.health_slots).then(|| state.health_slots.clone()),
    };
    let mut out = serde_json::to_vec(&header).expect("header serialises");
    out.push(b'\n');
    out.extend_from_slice(middle);
    Some(out)
}

/// The state `bytes` (a delta file) makes of `base`: `Ok(None)` if the delta belongs to another
/// base, an error if it is not a valid delta.
pub(super) fn apply(base: &Persisted, bytes: &[u8]) -> Result<Option<Persisted>, String> {
    let (h, middle) = super::split_header::<Header>(bytes)?;
    let old = base.config.as_bytes();
    if h.base_generation != base.generation || h.base_hash != xxh3_64(old) {
        return Ok(None);
    }
    if h.prefix.checked_add(h.suffix).is_none_or(|n| n > old.len())
        || h.prefix + middle.len() + h.suffix != h.len
    {
        return Err(format!(
            "prefix {} + {} bytes + suffix {} does not make {} bytes from a base of {}",
            h.prefix,
            middle.len(),
            h.suffix,
            h.len,
            old.len()
        ));
    }
    let mut config = Vec::with_capacity(h.len);
    config.extend_from_slice(&old[..h.prefix]);
    config.extend_from_slice(middle);
    config.extend_from_slice(&old[old.len() - h.suffix..]);
    let config = String::from_utf8(config).map_err(|_| "config is not UTF-8")?;
    Ok(Some(Persisted {
        generation: h.generation,
        config,
        health_slots: h.health_slots.unwrap_or_else(|| base.health_slots.clone()),
    }))
}
