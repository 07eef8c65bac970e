//! The endpoint states file: the states the operator set (draining, down), so that a
//! restarted agent writes them into the health overlay again.
//!
//! One JSON object from endpoint address to `"draining"` or `"down"`; active endpoints are
//! not listed. Written whole (temp file, fsync, rename) at every change: it holds a handful
//! of entries. States of addresses the restored config no longer has are dropped when read.

use std::{collections::BTreeMap, net::SocketAddr};

use strait_shm::EndpointState;

use super::{Store, StoreError, read, write};

/// Name of the endpoint states file inside the state directory.
pub const ENDPOINTS_FILE: &str = "endpoints";

const DRAINING: &str = "draining";
const DOWN: &str = "down";

impl Store {
    /// Reads the endpoint states: empty when there is no file; an unreadable one is moved
    /// aside (to `endpoints.corrupt`) and reported in the second value.
    pub fn load_endpoints(&self) -> (BTreeMap<SocketAddr, EndpointState>, Option<String>) {
        match read(&self.endpoints, decode) {
            Ok(states) => (states.unwrap_or_default(), None),
            Err(e) => (BTreeMap::new(), Some(e)),
        }
    }

    /// Durably replaces the endpoint states.
    pub fn save_endpoints(
        &self,
        states: &BTreeMap<SocketAddr, EndpointState>,
    ) -> Result<(), StoreError> {
        let named: BTreeMap<String, &str> = states
            .iter()
            .map(|(addr, state)| {
                let name = if state.unhealthy { DOWN } else { DRAINING };
                (addr.to_string(), name)
            })
            .collect();
        let mut bytes = serde_json::to_vec_pretty(&named).expect("a map of strings serialises");
        bytes.push(b'\n');
        write(&self.endpoints, &bytes)
    }
}

fn decode(bytes: Vec<u8>) -> Result<BTreeMap<SocketAddr, EndpointState>, String> {
    let named: BTreeMap<String, String> =
        serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    named
        .into_iter()
        .map(|(addr, name)| {
            let addr: SocketAddr = addr
                .parse()
                .map_err(|e| format!("{addr:?} is no endpoint address: {e}"))?;
            let state = match name.as_str() {
                DRAINING => EndpointState {
                    unhealthy: false,
                    draining: true,
                },
                DOWN => EndpointState {
                    unhealthy: true,
                    draining: false,
                },
                other => return Err(format!("{addr}: unknown state {other:?}")),
            };
            Ok((addr, state))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    #[test]
    fn states_round_trip_and_a_broken_file_is_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.load_endpoints(), (BTreeMap::new(), None));
        let states = BTreeMap::from([
            (
                "198.18.0.13:8080".parse().unwrap(),
                EndpointState {
                    unhealthy: false,
                    draining: true,
                },
            ),
            (
                "[2001:2::13]:8080".parse().unwrap(),
                EndpointState {
                    unhealthy: true,
                    draining: false,
                },
            ),
        ]);
        store.save_endpoints(&states).unwrap();
        let text = fs::read_to_string(dir.path().join(ENDPOINTS_FILE)).unwrap();
        assert!(
            text.contains("\"198.18.0.13:8080\": \"draining\""),
            "{text}"
        );
        assert_eq!(store.load_endpoints(), (states, None));

        fs::write(
            dir.path().join(ENDPOINTS_FILE),
            "{\"10.0.0.1:80\": \"sleepy\"}",
        )
        .unwrap();
        let (states, error) = store.load_endpoints();
        assert!(states.is_empty());
        assert!(error.unwrap().contains("unknown state \"sleepy\""));
        assert!(dir.path().join("endpoints.corrupt").exists());
    }
}
