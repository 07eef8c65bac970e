//! The agent's persisted state: the last good config and the generation it was published as.
//!
//! Written for every accepted apply (temp file, fsync, rename, fsync of the directory), read
//! once at start. The file is one JSON line (generation, health slots) followed by the config
//! text exactly as the operator sent it: no escaping of a config of several MiB. A file that
//! cannot be read back is moved aside and reported, and the agent starts empty: the data plane
//! then keeps the tables it runs until a config is applied.

use std::{
    fs, io,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

/// Name of the state file inside the state directory.
pub const STATE_FILE: &str = "state";

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
        let newline = bytes
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("no header line")?;
        let header: Header =
            serde_json::from_slice(&bytes[..newline]).map_err(|e| format!("header: {e}"))?;
        let config =
            String::from_utf8(bytes[newline + 1..].to_vec()).map_err(|_| "config is not UTF-8")?;
        Ok(Persisted {
            generation: header.generation,
            config,
            health_slots: header.health_slots,
        })
    }
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
    /// `state.corrupt` and reported in the second value while the agent starts empty.
    pub fn load(&self) -> (Option<Persisted>, Option<String>) {
        let bytes = match fs::read(&self.file) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return (None, None),
            Err(e) => return (None, Some(format!("reading {}: {e}", self.file.display()))),
        };
        match Persisted::decode(bytes) {
            Ok(p) => (Some(p), None),
            Err(e) => {
                let aside = self.file.with_extension("corrupt");
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

    /// Removes the persisted state (there was none before a failed first apply).
    pub fn clear(&self) -> Result<(), StoreError> {
        match fs::remove_file(&self.file) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(StoreError::Write {
                path: self.file.clone(),
                source: e,
            }),
            _ => Ok(()),
        }
    }

    /// Durably replaces the persisted state.
    pub fn save(&self, state: &Persisted) -> Result<(), StoreError> {
        strait_shm::write_atomic(&self.file, &state.encode()).map_err(|source| StoreError::Write {
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
}
