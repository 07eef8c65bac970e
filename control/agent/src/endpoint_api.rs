//! The `SetEndpoint` and `ListEndpoints` calls: checking the request, and the conversions
//! between the API's `EndpointState` and the overlay's state word.

use std::net::SocketAddr;

use strait_proto::v1::{
    Endpoint, EndpointState as Api, ListEndpointsResponse, SetEndpointRequest, SetEndpointResponse,
};
use strait_shm::EndpointState;
use tonic::Status;

use crate::{link::EndpointView, service::ControlService};

/// The overlay state of an API state; `None` for `UNSPECIFIED`.
fn to_overlay(state: Api) -> Option<EndpointState> {
    match state {
        Api::Unspecified => None,
        Api::Active => Some(EndpointState::HEALTHY),
        Api::Draining => Some(EndpointState {
            unhealthy: false,
            draining: true,
        }),
        Api::Down => Some(EndpointState {
            unhealthy: true,
            draining: false,
        }),
    }
}

/// The API state of an overlay state: down wins over draining (neither takes new traffic).
fn to_api(state: EndpointState) -> Api {
    match state {
        EndpointState {
            unhealthy: true, ..
        } => Api::Down,
        EndpointState { draining: true, .. } => Api::Draining,
        _ => Api::Active,
    }
}

fn to_proto(view: EndpointView) -> Endpoint {
    Endpoint {
        address: view.address.to_string(),
        slot: view.slot,
        state: to_api(view.state).into(),
        dataplane_state: view.dataplane.map_or(Api::Unspecified, to_api).into(),
    }
}

/// Parses the request, or says which field is wrong and why.
fn parse(req: &SetEndpointRequest) -> Result<(SocketAddr, EndpointState), Status> {
    let address: SocketAddr = req.address.trim().parse().map_err(|_| {
        Status::invalid_argument(format!(
            "address: {:?} is not IP:PORT (IPv6 as [ADDR]:PORT)",
            req.address
        ))
    })?;
    let state = Api::try_from(req.state)
        .ok()
        .and_then(to_overlay)
        .ok_or_else(|| {
            Status::invalid_argument(format!(
                "state: {} is not ACTIVE, DRAINING or DOWN",
                req.state
            ))
        })?;
    Ok((address, state))
}

impl ControlService {
    pub(crate) async fn set_endpoint_state(
        &self,
        req: SetEndpointRequest,
    ) -> Result<SetEndpointResponse, Status> {
        let (address, state) = parse(&req)?;
        let out = self.link.set_endpoint(address, state).map_err(|_| {
            Status::not_found(format!(
                "address: {address} is not an endpoint of the current config \
                 (`straitctl endpoint list` shows them)"
            ))
        })?;
        tracing::info!(
            %address,
            slot = out.endpoint.slot,
            state = to_api(state).as_str_name(),
            previous = to_api(out.previous).as_str_name(),
            "endpoint state set"
        );
        let warning = if out.previous == state {
            String::new()
        } else {
            self.publisher
                .save_endpoints()
                .await
                .err()
                .unwrap_or_default()
        };
        Ok(SetEndpointResponse {
            dataplane_connected: out.endpoint.dataplane.is_some(),
            endpoint: Some(to_proto(out.endpoint)),
            previous: to_api(out.previous).into(),
            warning,
        })
    }

    pub(crate) fn endpoint_list(&self) -> ListEndpointsResponse {
        let (endpoints, generation) = self.link.endpoints();
        ListEndpointsResponse {
            generation,
            dataplane_connected: self.dataplane.borrow().connected,
            endpoints: endpoints.into_iter().map(to_proto).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(address: &str, state: Api) -> SetEndpointRequest {
        SetEndpointRequest {
            address: address.into(),
            state: state.into(),
        }
    }

    #[test]
    fn addresses_and_states_are_checked_by_field() {
        let (addr, state) = parse(&request("[2001:2::13]:8080", Api::Draining)).unwrap();
        assert_eq!(addr, "[2001:2::13]:8080".parse().unwrap());
        assert_eq!(to_api(state), Api::Draining);
        for bad in ["198.18.0.13", "2001:2::13:8080", "web:80", ""] {
            let e = parse(&request(bad, Api::Down)).unwrap_err();
            assert_eq!(e.code(), tonic::Code::InvalidArgument);
            assert!(e.message().starts_with("address: "), "{}", e.message());
        }
        let e = parse(&request("198.18.0.13:80", Api::Unspecified)).unwrap_err();
        assert!(e.message().starts_with("state: "), "{}", e.message());
        let mut odd = request("198.18.0.13:80", Api::Active);
        odd.state = 42;
        assert_eq!(
            parse(&odd).unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
    }

    #[test]
    fn states_map_both_ways() {
        for api in [Api::Active, Api::Draining, Api::Down] {
            assert_eq!(to_api(to_overlay(api).unwrap()), api);
        }
        let both = EndpointState {
            unhealthy: true,
            draining: true,
        };
        assert_eq!(to_api(both), Api::Down);
    }
}
