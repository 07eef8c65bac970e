//! Off-segment peers through the gateway: a client behind a router gets its full-NAT replies
//! through the gateway's MAC, an off-segment backend is reached (and resolved) through it too,
//! and on-segment peers are sent to directly.

mod common;

use std::net::IpAddr;

use common::*;
use strait_fastpath::{Action, Neighbours, Routes, counter};
use strait_table::L4Mode;

const GATEWAY4: [u8; 4] = [198, 18, 0, 254];
const GATEWAY_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0xfe];
/// A client behind the gateway.
const FAR_CLIENT: [u8; 4] = [198, 19, 7, 7];

fn routed_rig(backends: &[(&str, u32)]) -> Rig {
    let mut node = node();
    node.routes = Routes::new(
        &[(IpAddr::from(SNAT4), 24)],
        Some(IpAddr::from(GATEWAY4)),
        None,
    )
    .expect("routes");
    let services = [Svc::tcp("198.18.0.100", L4Mode::FullNat, backends)];
    Rig::on(node, image(1, &services), 0, 1, Neighbours::new())
}

#[test]
fn a_client_behind_the_gateway_gets_its_replies_through_it() {
    let mut rig = routed_rig(&[("198.18.0.11", 1)]);
    rig.learn_all(1);
    // The gateway's MAC is not known yet: the reply is dropped and the gateway asked for.
    let (action, out) = rig.send(&tcp4(
        FAR_CLIENT,
        40000,
        VIP4,
        80,
        true,
        GATEWAY_MAC,
        NODE_MAC,
    ));
    assert!(matches!(action, Action::Tx(_)), "{action:?}");
    assert_eq!(&out[..6], &backend_mac(1), "the backend is on the segment");
    let sport = seen(&out).sport;
    let (action, _) = rig.send(&backend_reply(1, sport));
    assert_eq!(action, Action::Drop);
    let asked: Vec<Vec<u8>> = rig
        .outbox()
        .into_iter()
        .map(|f| f[38..42].to_vec())
        .collect();
    assert!(
        asked.contains(&GATEWAY4.to_vec()),
        "ARP for the gateway: {asked:?}"
    );
    assert!(
        !asked.contains(&FAR_CLIENT.to_vec()),
        "never for the far client"
    );
    // Once the gateway answers, replies to the far client go to its MAC.
    let mut answer = arp_request(GATEWAY_MAC, GATEWAY4, SNAT4);
    answer[21] = 2;
    rig.send(&answer);
    let (action, back) = rig.send(&backend_reply(1, sport));
    assert!(matches!(action, Action::Tx(_)), "{action:?}");
    let rev = seen(&back);
    assert_eq!(rev.dst_mac, GATEWAY_MAC);
    assert_eq!((rev.dst, rev.dport), (IpAddr::from(FAR_CLIENT), 40000));
    assert_eq!(rig.pipeline.counters().get(counter::DROP_NEIGHBOUR_MISS), 1);
}

#[test]
fn an_off_segment_backend_is_resolved_and_reached_through_the_gateway() {
    let mut rig = routed_rig(&[("198.18.5.11", 1)]);
    // Worker 0 resolves the backends' next hops as soon as it sees the generation.
    let (action, _) = rig.send(&syn(40000));
    assert_eq!(action, Action::Drop);
    let asked = rig.outbox();
    let targets: Vec<&[u8]> = asked.iter().map(|f| &f[38..42]).collect();
    assert_eq!(targets, [&GATEWAY4[..]], "only the gateway is asked for");
    let mut answer = arp_request(GATEWAY_MAC, GATEWAY4, SNAT4);
    answer[21] = 2;
    rig.send(&answer);
    let (action, out) = rig.send(&syn(40000));
    assert!(matches!(action, Action::Tx(_)), "{action:?}");
    let fwd = seen(&out);
    assert_eq!(fwd.dst_mac, GATEWAY_MAC);
    assert_eq!(fwd.dst, IpAddr::from([198, 18, 5, 11]));
}
