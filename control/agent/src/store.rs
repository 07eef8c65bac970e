//! The agent's persisted state: the last good config and the generation it was published as.
//!
//! Written after every accepted apply (temp file, fsync, rename, fsync of the directory), read
//! once at start. A file that cannot be read back is moved aside and reported, and the agent
//! starts empty: the data plane then keeps the tables it runs until a config is applied.

use std::{
    collections::BTreeMap,
    fs, io,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

/// Name of the state file inside the state directory.
pub const STATE_FILE: &str = "state.json";

/// What survives an agent restart.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Persisted {
    /// Generation the config was published as.
    pub generation: u64,
    /// The config text as the operator sent it.
    pub config: String,
    /// Health-overlay slot of every endpoint, so slots stay stable across restarts.
    #[serde(default)]
    pub health_slots: BTreeMap<String, u32>,
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
        })
    }

    /// Reads the persisted state. A missing file is `None`; an unreadable one is moved aside to
    /// `state.json.corrupt` and reported as `Err` text while the agent starts empty.
    pub fn load(&self) -> (Option<Persisted>, Option<String>) {
        let bytes = match fs::read(&self.file) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return (None, None),
            Err(e) => return (None, Some(format!("reading {}: {e}", self.file.display()))),
        };
        match serde_json::from_slice::<Persisted>(&bytes) {
            Ok(p) => (Some(p), None),
            Err(e) => {
                let aside = self.file.with_extension("json.corrupt");
                let moved = fs::rename(&self.file, &aside);
                let msg = format!(
                    "{} is not a valid state file ({e}); moved to {} ({})",
                    self.file.display(),
                    aside.display(),
                    if moved.is_ok() { "ok" } else { "move failed" }
                );
                (None, Some(msg))
            }
        }
    }

    /// Durably replaces the persisted state.
    pub fn save(&self, state: &Persisted) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(state).expect("state serialises");
        strait_shm::write_atomic(&self.file, &bytes).map_err(|source| StoreError::Write {
            path: self.file.clone(),
            source,
        })
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

        fs::write(dir.path().join("agent").join(STATE_FILE), b"{not json").unwrap();
        let (state, err) = store.load();
        assert!(state.is_none());
        assert!(err.unwrap().contains("not a valid state file"));
        assert!(dir.path().join("agent/state.json.corrupt").exists());
        assert_eq!(store.load(), (None, None));
    }
}
