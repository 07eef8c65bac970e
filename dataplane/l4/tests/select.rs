//! Backend choice: Maglev plus health, and what moves when health changes.

mod common;

use common::{Svc, image};
use strait_l4::{Health, backend, backend_target, choose_backend, flow_hash, flow_hash_for};
use strait_packet::FlowKey;
use strait_packet::ip::protocol::TCP;
use strait_table::{Protocol, l4_flags};

const N: usize = 5;
const FLOWS: u16 = 20_000;

fn flow(i: u16) -> FlowKey {
    let [a, b] = i.to_be_bytes();
    FlowKey::v4([192, 0, a, b], [10, 0, 0, 100], TCP, 1024 + i, 80)
}

fn down(slots: &'static [u32]) -> impl Fn(u32) -> Health + Copy {
    move |slot| Health {
        unhealthy: slots.contains(&slot),
        draining: false,
    }
}

/// Chooses for every test flow of service 0 under `health`.
fn assign<B: AsRef<[u8]>>(
    img: &strait_table::Image<B>,
    health: impl Fn(u32) -> Health + Copy,
) -> Vec<Option<u32>> {
    (0..FLOWS)
        .map(|i| choose_backend(img, 0, flow_hash(&flow(i)), health))
        .collect()
}

#[test]
fn flow_hash_is_stable_and_uses_every_field() {
    let f = flow(7);
    assert_eq!(flow_hash(&f), flow_hash(&flow(7)));
    let variants = [
        FlowKey { src_port: 1, ..f },
        FlowKey { dst_port: 81, ..f },
        FlowKey { proto: 17, ..f },
        FlowKey { dst: [9; 16], ..f },
        f.reversed(),
    ];
    for v in variants {
        assert_ne!(flow_hash(&v), flow_hash(&f), "{v:?}");
    }
}

#[test]
fn all_healthy_spreads_over_all_backends() {
    let img = image(&[Svc::new("10.0.0.100", 80, Protocol::Tcp, N)]);
    let mut count = [0u32; N];
    for b in assign(&img, |_| Health::HEALTHY) {
        count[b.expect("a backend") as usize] += 1;
    }
    let fair = u32::from(FLOWS) / N as u32;
    assert!(
        count
            .iter()
            .all(|&c| c > fair * 8 / 10 && c < fair * 12 / 10),
        "{count:?}"
    );
}

#[test]
fn failed_backend_share_moves_and_nobody_else_moves() {
    let img = image(&[Svc::new("10.0.0.100", 80, Protocol::Tcp, N)]);
    let before = assign(&img, |_| Health::HEALTHY);
    for (name, health) in [
        (
            "unhealthy",
            Health {
                unhealthy: true,
                draining: false,
            },
        ),
        (
            "draining",
            Health {
                unhealthy: false,
                draining: true,
            },
        ),
    ] {
        let after = assign(
            &img,
            move |slot| if slot == 2 { health } else { Health::HEALTHY },
        );
        let mut moved_to = [0u32; N];
        for (b, a) in before.iter().zip(&after) {
            let (b, a) = (b.unwrap(), a.unwrap());
            assert_ne!(a, 2, "{name}: backend 2 takes no new flow");
            if b == 2 {
                moved_to[a as usize] += 1;
            } else {
                assert_eq!(a, b, "{name}: a flow of a healthy backend moved");
            }
        }
        // The failed backend's share spreads over every other backend.
        assert!(
            moved_to
                .iter()
                .enumerate()
                .all(|(i, &c)| (i == 2) == (c == 0)),
            "{name}: {moved_to:?}"
        );
    }
}

#[test]
fn all_unhealthy_gives_none_and_one_survivor_takes_everything() {
    let img = image(&[Svc::new("10.0.0.100", 80, Protocol::Tcp, 10)]);
    assert!(
        assign(&img, |_| Health {
            unhealthy: true,
            draining: false
        })
        .iter()
        .all(Option::is_none)
    );
    // Nine of ten down: the probes often miss, the fallback scan still finds backend 6.
    let survivor = assign(&img, |slot| Health {
        unhealthy: slot != 6,
        draining: false,
    });
    assert!(survivor.iter().all(|b| *b == Some(6)));
    assert_eq!(assign(&img, down(&[])), assign(&img, |_| Health::HEALTHY));
}

#[test]
fn zero_weight_backend_is_never_chosen() {
    let mut svc = Svc::new("10.0.0.100", 80, Protocol::Tcp, 3);
    svc.backends[0].1 = 0;
    let img = image(&[svc]);
    assert!(
        assign(&img, |_| Health::HEALTHY)
            .iter()
            .all(|b| b.is_some_and(|b| b != 0))
    );
    // Even in the fallback scan: with 1 and 2 down, backend 0 (weight 0) does not take flows.
    assert!(assign(&img, down(&[1, 2])).iter().all(Option::is_none));
}

#[test]
fn bad_service_index_gives_none() {
    let img = image(&[Svc::new("10.0.0.100", 80, Protocol::Tcp, 2)]);
    assert_eq!(choose_backend(&img, 1, 42, |_| Health::HEALTHY), None);
    assert_eq!(
        choose_backend(&img, u32::MAX, 42, |_| Health::HEALTHY),
        None
    );
    assert!(backend(&img, 1, 0).is_none() && backend(&img, 0, 2).is_none());
}

#[test]
fn no_src_port_hash_pins_a_client_and_targets_resolve() {
    let mut svc = Svc::new("10.0.0.100", 80, Protocol::Tcp, 4);
    svc.flags = l4_flags::NO_SRC_PORT_HASH;
    svc.backends[1].2 = 8080;
    let img = image(&[svc]);
    let s = &img.l4_services()[0];
    let pick = |sport| {
        let f = FlowKey::v4([192, 0, 2, 1], [10, 0, 0, 100], TCP, sport, 80);
        choose_backend(&img, 0, flow_hash_for(s, &f), |_| Health::HEALTHY)
    };
    let first = pick(1000);
    assert!((1001..1200).all(|p| pick(p) == first));

    let b0 = backend(&img, 0, 0).unwrap();
    let b1 = backend(&img, 0, 1).unwrap();
    assert_eq!(backend_target(s, b0), Some(common::sock("10.1.0.1:80")));
    assert_eq!(backend_target(s, b1), Some(common::sock("10.1.0.2:8080")));
}
