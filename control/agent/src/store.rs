//! The agent's persisted state: the last good config and the generation it was published as.
//!
//! Written for every accepted apply (temp file, fsync, rename, fsync of the directory), read
//! once at start. The state file is one JSON line (generation, health slots) followed by the
//! config text exactly as the operator sent it: no escaping of a config of several MiB. A file
//! that cannot be read back is moved aside and reported, and the agent starts empty: the data
//! plane then keeps the tables it runs until a config is applied.
//!
//! A push that changes a small part of the config (one route of thousands, the common case) is
//! written as a [`delta`] file against the state file instead: a write and fsync of a few
//! hundred bytes rather than of megabytes. A state that differs too much is written whole and
//! becomes the new base; the delta is then removed (a leftover one names an older base and is
//! ignored).
//!
//! The endpoint states the operator set live in a file of their own ([`endpoints`]).

mod delta;
mod endpoints;

pub use endpoints::ENDPOINTS_FILE;

use std::{
    fs, io,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use serde::{Deserialize, Serialize};

/// Name of the state file inside the state directory.
pub const STATE_FILE: &str = "state";

/// Name of the delta file (the last state, as a difference from the state file).
pub const DELTA_FILE: &str = "state.delta";

/// What survives an agent restart.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Persisted {
    /// Generation the config was published as.
    pub generation: u64,
    /// The config text as the operator sent it.
    pub config: String,
    /// Health-overlay slot of every endpoint, in `strait_compile::endpoints` order, so slots
    /// stay stable across restarts.
    pub health_slots: Vec<u32>,
}

/// The first line of the state file.
#[derive(Serialize, Deserialize)]
struct Header {
    generation: u64,
    health_slots: Vec<u32>,
}

impl Persisted {
    fn encode(&self) -> Vec<u8> {
        let header = Header {
            generation: self.generation,
            health_slots: self.health_slots.clone(),
        };
        let mut out = serde_json::to_vec(&header).expect("header serialises");
        out.reserve(self.config.len() + 1);
        out.push(b'\n');
        out.extend_from_slice(self.config.as_bytes());
        out
    }

    fn decode(bytes: Vec<u8>) -> Result<Persisted, String> {
        let (header, rest) = split_header::<Header>(&bytes)?;
        let config = String::from_utf8(rest.to_vec()).map_err(|_| "config is not UTF-8")?;
        Ok(Persisted {
            generation: header.generation,
            config,
            health_slots: header.health_slots,
        })
    }
}

/// The JSON header line at the start of a state or delta file, and the bytes after it.
fn split_header<H: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<(H, &[u8]), String> {
    let newline = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("no header line")?;
    let header = serde_json::from_slice(&bytes[..newline]).map_err(|e| format!("header: {e}"))?;
    Ok((header, &bytes[newline + 1..]))
}

/// Errors of the state store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The state directory could not be created or opened.
    #[error("state directory {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The state file could not be written.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// The state directory.
#[derive(Debug, Clone)]
pub struct Store {
    file: PathBuf,
    delta: PathBuf,
    endpoints: PathBuf,
    /// What the state file holds; `None` until it is known (then the next save is whole).
    base: Arc<Mutex<Option<delta::Base>>>,
}

impl Store {
    /// Opens (creating, mode 0700) the state directory.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|source| StoreError::Dir {
                path: dir.to_owned(),
                source,
            })?;
        Ok(Store {
            file: dir.join(STATE_FILE),
            delta: dir.join(DELTA_FILE),
            endpoints: dir.join(ENDPOINTS_FILE),
            base: Arc::default(),
        })
    }

    /// Reads the persisted state: the state file, with the delta applied if there is one for
    /// it. A missing file is `None`; an unreadable one is moved aside (to `state.corrupt` or
    /// `state.delta.corrupt`) and reported in the second value, and the agent starts with what
    /// is left (nothing, or the state file without the delta).
    pub fn load(&self) -> (Option<Persisted>, Option<String>) {
        let base = match read(&self.file, Persisted::decode) {
            Ok(Some(base)) => base,
            Ok(None) => return (None, None),
            Err(e) => return (None, Some(e)),
        };
        *self.base.lock().unwrap() = Some(delta::Base::of(&base));
        match read(&self.delta, |bytes| delta::apply(&base, &bytes)) {
            Ok(Some(Some(state))) => (Some(state), None),
            // No delta, or one left behind for an older base.
            Ok(Some(None) | None) => (Some(base), None),
            Err(e) => (Some(base), Some(e)),
        }
    }

    /// Removes the persisted state (there was none before a failed first apply).
    pub fn clear(&self) -> Result<(), StoreError> {
        *self.base.lock().unwrap() = None;
        for file in [&self.delta, &self.file] {
            remove(file)?;
        }
        Ok(())
    }

    /// Durably replaces the persisted state: as a delta against the state file when little
    /// changed, else whole.
    pub fn save(&self, state: &Persisted) -> Result<(), StoreError> {
        let mut base = self.base.lock().unwrap();
        if let Some(bytes) = base.as_ref().and_then(|b| delta::encode(b, state)) {
            return write(&self.delta, &bytes);
        }
        // From the rename on, the state file is no longer the base a delta on disk was made
        // against: forget it, so a failure below leaves the next save writing whole.
        *base = None;
        write(&self.file, &state.encode())?;
        remove(&self.delta)?;
        *base = Some(delta::Base::of(state));
        Ok(())
    }
}

/// Reads `path` and decodes it with `decode`: `Ok(None)` if it does not exist; if it cannot be
/// read or decoded, it is moved aside to `<path>.corrupt` and the error says so.
fn read<T>(
    path: &Path,
    decode: impl FnOnce(Vec<u8>) -> Result<T, String>,
) -> Result<Option<T>, String> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("reading {}: {e}", path.display())),
    };
    decode(bytes).map(Some).map_err(|e| {
        let mut aside = path.as_os_str().to_owned();
        aside.push(".corrupt");
        let aside = PathBuf::from(aside);
        let moved = fs::rename(path, &aside);
        format!(
            "{} is not a valid state file ({e}); moved to {} ({})",
            path.display(),
            aside.display(),
            if moved.is_ok() { "ok" } else { "move failed" }
        )
    })
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    strait_shm::write_atomic(path, bytes).map_err(|source| StoreError::Write {
        path: path.to_owned(),
        source,
    })
}

fn remove(path: &Path) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(StoreError::Write {
            path: path.to_owned(),
            source: e,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corrupt_file_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("agent")).unwrap();
        assert_eq!(store.load(), (None, None));
        let state = Persisted {
            generation: 7,
            config: "clusters: []\n".into(),
            ..Default::default()
        };
        store.save(&state).unwrap();
        assert_eq!(store.load(), (Some(state), None));

        fs::write(
            dir.path().join("agent").join(STATE_FILE),
            b"{not json\nclusters: []",
        )
        .unwrap();
        let (state, err) = store.load();
        assert!(state.is_none());
        assert!(err.unwrap().contains("not a valid state file"));
        assert!(dir.path().join("agent/state.corrupt").exists());
        assert_eq!(store.load(), (None, None));
    }

    fn state(generation: u64, routes: u32, weight: u32, slots: Vec<u32>) -> Persisted {
        let mut config = String::from("{\"httpRoutes\": [");
        for i in 0..routes {
            let w = if i == routes / 2 { weight } else { 1 };
            config.push_str(&format!("{{\"name\": \"r{i}\", \"weight\": {w}}},"));
        }
        config.push_str("]}");
        Persisted {
            generation,
            config,
            health_slots: slots,
        }
    }

    fn len(path: &Path) -> u64 {
        fs::metadata(path).map_or(0, |m| m.len())
    }

    #[test]
    fn a_small_change_is_written_as_a_delta_and_read_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (file, delta) = (dir.path().join(STATE_FILE), dir.path().join(DELTA_FILE));
        let first = state(1, 1000, 1, vec![0, 1, 2]);
        store.save(&first).unwrap();
        let base_len = len(&file);
        assert!(!delta.exists());

        let second = state(2, 1000, 7, vec![0, 1, 2]);
        store.save(&second).unwrap();
        assert_eq!(len(&file), base_len, "the state file is untouched");
        assert!(len(&delta) < 200, "{} bytes", len(&delta));
        // Another store, as after a restart; then a delta against the same base with new slots.
        let restarted = Store::open(dir.path()).unwrap();
        assert_eq!(restarted.load(), (Some(second), None));
        let third = state(3, 1000, 9, vec![0, 5, 2]);
        restarted.save(&third).unwrap();
        assert_eq!(len(&file), base_len);
        assert_eq!(Store::open(dir.path()).unwrap().load(), (Some(third), None));

        // Most of it changed: written whole, the delta goes.
        let other = Persisted {
            generation: 4,
            config: "clusters: []\n".into(),
            health_slots: vec![1],
        };
        restarted.save(&other).unwrap();
        assert!(!delta.exists());
        assert_eq!(Store::open(dir.path()).unwrap().load(), (Some(other), None));
    }

    #[test]
    fn a_delta_for_another_base_is_ignored_and_a_corrupt_one_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let delta = dir.path().join(DELTA_FILE);
        store.save(&state(1, 1000, 1, vec![])).unwrap();
        store.save(&state(2, 1000, 3, vec![])).unwrap();
        let leftover = fs::read(&delta).unwrap();
        // A new base whose delta removal did not happen (a crash in between).
        let base = state(3, 1000, 1, vec![]);
        Store::open(dir.path()).unwrap().save(&base).unwrap();
        fs::write(&delta, &leftover).unwrap();
        assert_eq!(
            Store::open(dir.path()).unwrap().load(),
            (Some(base.clone()), None)
        );

        // The right base, a broken delta: the base is restored, the delta moved aside.
        let fresh = Store::open(dir.path()).unwrap();
        fresh.load();
        fresh.save(&state(4, 1000, 5, vec![])).unwrap();
        let mut broken = fs::read(&delta).unwrap();
        broken.truncate(broken.len() - 3);
        fs::write(&delta, &broken).unwrap();
        let (loaded, error) = Store::open(dir.path()).unwrap().load();
        assert_eq!(loaded, Some(base));
        assert!(
            error
                .unwrap()
                .contains("state.delta is not a valid state file")
        );
        assert!(dir.path().join("state.delta.corrupt").exists());

        fresh.clear().unwrap();
        assert_eq!(Store::open(dir.path()).unwrap().load(), (None, None));
    }
}
