//! Endpoint states through the link: the operator's requests, and the overlay stores that
//! [`EndpointStates`](crate::endpoints::EndpointStates) works out, performed on the connected
//! data plane's health overlay.
//!
//! Every store happens under the session lock, so it lands in the overlay of the data plane
//! the states were worked out for; with no data plane connected there is nothing to store, and
//! the next one gets every state when it connects.

use std::{collections::BTreeMap, net::SocketAddr};

use strait_shm::EndpointState;
use tracing::{debug, warn};

use super::{LinkServer, Session};
use crate::endpoints::{NotAnEndpoint, Write};

/// One endpoint as the agent and the data plane see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EndpointView {
    /// Its address.
    pub(crate) address: SocketAddr,
    /// Its overlay slot.
    pub(crate) slot: u32,
    /// The state the operator set.
    pub(crate) state: EndpointState,
    /// The overlay word of its slot, read back; `None` without a data plane.
    pub(crate) dataplane: Option<EndpointState>,
}

/// What [`LinkServer::set_endpoint`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SetEndpoint {
    /// The endpoint after the change.
    pub(crate) endpoint: EndpointView,
    /// Its state before.
    pub(crate) previous: EndpointState,
}

impl LinkServer {
    /// Sets the state of the endpoint at `address` and stores it into the overlay.
    pub(crate) fn set_endpoint(
        &self,
        address: SocketAddr,
        state: EndpointState,
    ) -> Result<SetEndpoint, NotAnEndpoint> {
        let session = self.shared.session.lock().unwrap();
        let out = self.shared.endpoints.lock().unwrap().set(address, state)?;
        write(session.as_ref(), &out.writes);
        Ok(SetEndpoint {
            endpoint: EndpointView {
                address,
                slot: out.slot,
                state,
                dataplane: session.as_ref().map(|s| s.overlay.get(out.slot)),
            },
            previous: out.previous,
        })
    }

    /// Every endpoint of the published config, ordered by address, and its generation.
    pub(crate) fn endpoints(&self) -> (Vec<EndpointView>, u64) {
        let session = self.shared.session.lock().unwrap();
        let endpoints = self.shared.endpoints.lock().unwrap();
        let list = endpoints
            .list()
            .into_iter()
            .map(|(address, slot, state)| EndpointView {
                address,
                slot,
                state,
                dataplane: session.as_ref().map(|s| s.overlay.get(slot)),
            })
            .collect();
        (list, endpoints.generation())
    }

    /// The endpoint states other than active, by address: what survives an agent restart.
    pub(crate) fn endpoint_states(&self) -> BTreeMap<SocketAddr, EndpointState> {
        self.shared.endpoints.lock().unwrap().desired().clone()
    }

    /// The data plane runs `generation`: slots freed before it may be reset.
    pub(super) fn endpoints_live(&self, generation: u64) {
        let session = self.shared.session.lock().unwrap();
        let writes = self.shared.endpoints.lock().unwrap().live(generation);
        write(session.as_ref(), &writes);
    }
}

/// Performs `writes` on the overlay of `session`, if one is connected.
pub(super) fn write(session: Option<&Session>, writes: &[Write]) {
    let Some(session) = session else {
        return;
    };
    for &(slot, state) in writes {
        match session.overlay.set(slot, state) {
            Ok(()) => debug!(
                slot,
                unhealthy = state.unhealthy,
                draining = state.draining,
                "endpoint state stored"
            ),
            Err(e) => warn!(
                slot,
                error = %e,
                "the data plane's health overlay is too small for this endpoint; its state \
                 does not reach the workers (raise --health-slots)"
            ),
        }
    }
}
