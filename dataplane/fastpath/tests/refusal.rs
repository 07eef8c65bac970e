//! New flows for a service whose backends all refuse new flows: answered with a reset or an
//! ICMP port unreachable under the `refuse` policy (at a bounded rate), dropped under `drop`;
//! existing flows are untouched either way.

mod common;

use common::*;
use strait_fastpath::{Action, Neighbours, NoBackend, REFUSAL_BURST, REFUSALS_PER_SECOND, counter};
use strait_l4::Health;
use strait_table::L4Mode;

fn services() -> Vec<Svc> {
    vec![
        Svc::tcp("198.18.0.100", L4Mode::FullNat, &[("198.18.0.11", 1)]),
        Svc::tcp("2001:2::100", L4Mode::FullNat, &[("2001:2::11", 1)]),
        Svc::tcp("198.18.0.100", L4Mode::FullNat, &[("198.18.0.11", 1)]).udp(),
    ]
}

fn down(_: u32) -> Health {
    Health {
        unhealthy: true,
        draining: false,
    }
}

fn rig(policy: NoBackend) -> Rig {
    let mut node = node();
    node.no_backend = policy;
    let mut rig = Rig::on(node, image(1, &services()), 0, 1, Neighbours::new());
    rig.learn_all(1);
    rig
}

#[test]
fn a_syn_to_a_vip_without_backends_gets_a_reset_from_the_vip() {
    let mut rig = rig(NoBackend::Refuse);
    for (f, vip) in [(syn(40000), "198.18.0.100"), (syn6(40000), "2001:2::100")] {
        let (action, out) = rig.send_with(&f, false, &down);
        assert!(matches!(action, Action::Tx(_)), "{action:?}");
        let s = seen(&out);
        assert_eq!((s.src_mac, s.dst_mac), (NODE_MAC, CLIENT_MAC));
        assert_eq!(s.src, vip.parse::<std::net::IpAddr>().unwrap());
        assert_eq!((s.sport, s.dport), (80, 40000));
        let tcp = &out[out.len() - 20..];
        assert_eq!(tcp[13], 0x14, "RST|ACK");
    }
    let c = rig.pipeline.counters();
    assert_eq!(c.get(counter::REFUSED_NO_BACKEND), 2);
    assert_eq!(c.get(counter::DROP_NO_BACKEND), 0);
    assert_eq!(c.get(counter::NEW_FLOWS), 0, "nothing tracked");
}

#[test]
fn a_datagram_gets_a_port_unreachable() {
    let mut rig = rig(NoBackend::Refuse);
    let f = udp4(CLIENT4, 5353, VIP4, 80);
    let (action, out) = rig.send_with(&f, false, &down);
    let Action::Tx(n) = action else {
        panic!("{action:?}")
    };
    assert_eq!(n, 14 + 20 + 8 + (f.len() - 14));
    assert_eq!(
        (out[23], out[34], out[35]),
        (1, 3, 3),
        "ICMP port unreachable"
    );
    assert_eq!(&out[26..30], &VIP4, "from the VIP");
    assert_eq!(&out[42..], &f[14..], "quoting the datagram");
}

#[test]
fn under_the_drop_policy_nothing_is_answered() {
    let mut rig = rig(NoBackend::Drop);
    assert_eq!(rig.send_with(&syn(40000), false, &down).0, Action::Drop);
    let c = rig.pipeline.counters();
    assert_eq!(c.get(counter::DROP_NO_BACKEND), 1);
    assert_eq!(c.get(counter::REFUSED_NO_BACKEND), 0);
}

#[test]
fn refusals_are_rate_limited_and_resets_are_never_answered() {
    let mut rig = rig(NoBackend::Refuse);
    let answered = (0..REFUSAL_BURST * 3)
        .filter(|&i| {
            let f = syn(10000 + i as u16);
            matches!(rig.send_with(&f, false, &down).0, Action::Tx(_))
        })
        .count() as u64;
    assert_eq!(answered, REFUSAL_BURST);
    assert_eq!(
        rig.pipeline.counters().get(counter::DROP_NO_BACKEND),
        REFUSAL_BURST * 2
    );
    // A second later the rate allows more.
    rig.now += 1_000_000_000;
    let later = (0..REFUSALS_PER_SECOND)
        .filter(|&i| {
            matches!(
                rig.send_with(&syn(20000 + i as u16), false, &down).0,
                Action::Tx(_)
            )
        })
        .count() as u64;
    assert_eq!(later, REFUSAL_BURST);
    rig.now += 1_000_000_000;
    let mut rst = Vec::new();
    etherparse::PacketBuilder::ethernet2(CLIENT_MAC, NODE_MAC)
        .ipv4(CLIENT4, VIP4, 64)
        .tcp(30000, 80, 1, 1000)
        .rst()
        .write(&mut rst, &[])
        .unwrap();
    let before = rig.pipeline.counters().get(counter::DROP_NO_BACKEND);
    assert_eq!(rig.send_with(&rst, false, &down).0, Action::Drop);
    assert_eq!(
        rig.pipeline.counters().get(counter::DROP_NO_BACKEND),
        before + 1,
        "a reset to the VIP is dropped as a flow without a backend"
    );
    assert!(matches!(
        rig.send_with(&syn(30001), false, &down).0,
        Action::Tx(_)
    ));
}

#[test]
fn existing_flows_keep_their_backend_when_it_goes_down() {
    let mut rig = rig(NoBackend::Refuse);
    let f = syn(40000);
    let (_, first) = rig.send(&f);
    assert_eq!(backend_of(&first), 1);
    let (action, out) = rig.send_with(&f, false, &down);
    assert!(matches!(action, Action::Tx(_)));
    assert_eq!(backend_of(&out), 1, "forwarded, not refused");
    assert_eq!(rig.pipeline.counters().get(counter::REFUSED_NO_BACKEND), 0);
}
