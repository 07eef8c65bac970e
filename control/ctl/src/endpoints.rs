//! `straitctl endpoint`: drain an endpoint, mark it down, bring it back, list them all.
//!
//! An endpoint is named by its address as the config lists it (`IP:PORT`, IPv6 as
//! `[ADDR]:PORT`); it may serve several clusters or L4 services and has one state for all.

use std::{fmt::Write as _, net::SocketAddr};

use clap::Subcommand;
use serde_json::json;
use strait_proto::v1::{
    Endpoint, EndpointState, ListEndpointsRequest, ListEndpointsResponse, SetEndpointRequest,
    control_client::ControlClient,
};
use tonic::{Code, transport::Channel};

use crate::commands::{REFUSED, rpc};

/// What to do with endpoints.
#[derive(Debug, Subcommand)]
pub(crate) enum EndpointCommand {
    /// List every endpoint of the published config with its slot and state.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Drain an endpoint: its existing flows and requests finish, new ones go elsewhere.
    Drain {
        /// The endpoint, e.g. 198.18.0.11:8080 or [2001:2::11]:8080.
        #[arg(value_parser = parse_address)]
        address: SocketAddr,
    },
    /// Take an endpoint out of drain: back to active, it takes new flows again.
    Undrain {
        /// The endpoint, e.g. 198.18.0.11:8080 or [2001:2::11]:8080.
        #[arg(value_parser = parse_address)]
        address: SocketAddr,
    },
    /// Mark an endpoint down: it takes no new flows or requests.
    Down {
        /// The endpoint, e.g. 198.18.0.11:8080 or [2001:2::11]:8080.
        #[arg(value_parser = parse_address)]
        address: SocketAddr,
    },
    /// Mark an endpoint up: back to active (the same as `undrain`).
    Up {
        /// The endpoint, e.g. 198.18.0.11:8080 or [2001:2::11]:8080.
        #[arg(value_parser = parse_address)]
        address: SocketAddr,
    },
}

/// Parses `IP:PORT` or `[IPv6]:PORT`, with a hint on failure.
pub(crate) fn parse_address(s: &str) -> Result<SocketAddr, String> {
    s.parse().map_err(|_| {
        format!("{s:?} is not IP:PORT (e.g. 198.18.0.11:8080, or [2001:2::11]:8080 for IPv6)")
    })
}

/// Runs an endpoint command; returns the exit status.
pub(crate) async fn run(
    client: &mut ControlClient<Channel>,
    command: EndpointCommand,
) -> Result<i32, String> {
    let (address, state) = match command {
        EndpointCommand::List { json } => {
            let list = client
                .list_endpoints(ListEndpointsRequest {})
                .await
                .map_err(rpc)?
                .into_inner();
            print!("{}", if json { list_json(&list) } else { table(&list) });
            return Ok(0);
        }
        EndpointCommand::Drain { address } => (address, EndpointState::Draining),
        EndpointCommand::Down { address } => (address, EndpointState::Down),
        EndpointCommand::Undrain { address } | EndpointCommand::Up { address } => {
            (address, EndpointState::Active)
        }
    };
    let req = SetEndpointRequest {
        address: address.to_string(),
        state: state.into(),
    };
    let resp = match client.set_endpoint(req).await {
        Ok(resp) => resp.into_inner(),
        Err(e) if matches!(e.code(), Code::NotFound | Code::InvalidArgument) => {
            eprintln!("straitctl: {}", e.message());
            return Ok(REFUSED);
        }
        Err(e) => return Err(rpc(e)),
    };
    let endpoint = resp.endpoint.unwrap_or_default();
    let (previous, now) = (name(resp.previous), name(endpoint.state));
    if previous == now {
        println!(
            "{} (slot {}): already {now}",
            endpoint.address, endpoint.slot
        );
    } else {
        println!(
            "{} (slot {}): {previous} -> {now}",
            endpoint.address, endpoint.slot
        );
    }
    if !resp.dataplane_connected {
        eprintln!("straitctl: no data plane is connected; it gets the state when it connects");
    }
    if !resp.warning.is_empty() {
        eprintln!("straitctl: warning: {}", resp.warning);
        return Ok(REFUSED);
    }
    Ok(0)
}

/// An API state as printed: `active`, `draining`, `down`, or `-` when unknown.
fn name(state: i32) -> &'static str {
    match EndpointState::try_from(state) {
        Ok(EndpointState::Active) => "active",
        Ok(EndpointState::Draining) => "draining",
        Ok(EndpointState::Down) => "down",
        Ok(EndpointState::Unspecified) | Err(_) => "-",
    }
}

/// A table for people: what the operator set, and what the data plane sees.
pub(crate) fn table(list: &ListEndpointsResponse) -> String {
    let mut out = String::new();
    if list.generation == 0 {
        out.push_str("no config applied\n");
        return out;
    }
    if !list.dataplane_connected {
        out.push_str("data plane: not connected\n");
    }
    let width = list
        .endpoints
        .iter()
        .map(|e| e.address.len())
        .max()
        .unwrap_or(0)
        .max("ADDRESS".len())
        + 2;
    writeln!(out, "{:<width$}SLOT    STATE     DATA PLANE", "ADDRESS").unwrap();
    for e in &list.endpoints {
        writeln!(
            out,
            "{:<width$}{:<8}{:<10}{}",
            e.address,
            e.slot,
            name(e.state),
            name(e.dataplane_state)
        )
        .unwrap();
    }
    out
}

fn endpoint_json(e: &Endpoint) -> serde_json::Value {
    let dataplane = match name(e.dataplane_state) {
        "-" => serde_json::Value::Null,
        s => s.into(),
    };
    json!({
        "address": e.address,
        "slot": e.slot,
        "state": name(e.state),
        "dataplane_state": dataplane,
    })
}

/// One JSON document.
pub(crate) fn list_json(list: &ListEndpointsResponse) -> String {
    let doc = json!({
        "generation": list.generation,
        "dataplane_connected": list.dataplane_connected,
        "endpoints": list.endpoints.iter().map(endpoint_json).collect::<Vec<_>>(),
    });
    doc.to_string() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(address: &str, slot: u32, state: EndpointState, dp: EndpointState) -> Endpoint {
        Endpoint {
            address: address.into(),
            slot,
            state: state.into(),
            dataplane_state: dp.into(),
        }
    }

    #[test]
    fn addresses_need_a_port_and_brackets_for_ipv6() {
        assert_eq!(
            parse_address("[2001:2::11]:8080"),
            Ok("[2001:2::11]:8080".parse().unwrap())
        );
        for bad in [
            "198.18.0.11",
            "2001:2::11:8080",
            "b1:8080",
            "198.18.0.11:99999",
        ] {
            let e = parse_address(bad).unwrap_err();
            assert!(e.contains("is not IP:PORT"), "{e}");
        }
    }

    #[test]
    fn list_as_table_and_json() {
        let list = ListEndpointsResponse {
            generation: 3,
            dataplane_connected: true,
            endpoints: vec![
                endpoint(
                    "198.18.0.11:8080",
                    0,
                    EndpointState::Active,
                    EndpointState::Active,
                ),
                endpoint(
                    "[2001:2::13]:8080",
                    5,
                    EndpointState::Draining,
                    EndpointState::Unspecified,
                ),
            ],
        };
        let t = table(&list);
        let lines: Vec<_> = t.lines().collect();
        assert_eq!(lines[0], "ADDRESS            SLOT    STATE     DATA PLANE");
        assert_eq!(lines[1], "198.18.0.11:8080   0       active    active");
        assert_eq!(lines[2], "[2001:2::13]:8080  5       draining  -");
        let v: serde_json::Value = serde_json::from_str(&list_json(&list)).unwrap();
        assert_eq!(v["endpoints"][1]["state"], "draining");
        assert_eq!(
            v["endpoints"][1]["dataplane_state"],
            serde_json::Value::Null
        );
        assert_eq!(v["endpoints"][0]["slot"], 0);
        let none = ListEndpointsResponse::default();
        assert_eq!(table(&none), "no config applied\n");
    }
}
