//! `ServiceMap`: client → VIP packets find their service, nothing else does.

mod common;

use common::{Svc, image};
use strait_l4::ServiceMap;
use strait_packet::FlowKey;
use strait_packet::ip::protocol::{TCP, UDP};
use strait_table::Protocol;

const CLIENT4: [u8; 4] = [192, 0, 2, 9];
const VIP4: [u8; 4] = [10, 0, 0, 100];

fn v6(s: &str) -> [u8; 16] {
    s.parse::<core::net::Ipv6Addr>().unwrap().octets()
}

fn services() -> Vec<Svc> {
    vec![
        Svc::new("10.0.0.100", 80, Protocol::Tcp, 3),
        Svc::new("10.0.0.100", 80, Protocol::Udp, 2),
        Svc::new("10.0.0.100", 443, Protocol::Tcp, 2),
        Svc::new("2001:db8::100", 53, Protocol::Udp, 2),
    ]
}

#[test]
fn finds_each_service_by_vip_port_and_protocol() {
    let img = image(&services());
    let map = ServiceMap::new(&img);
    assert_eq!((map.len(), map.duplicates()), (4, 0));
    assert_eq!(map.generation(), img.generation());
    let v4 = |proto, port| FlowKey::v4(CLIENT4, VIP4, proto, 40000, port);
    assert_eq!(map.lookup(&v4(TCP, 80)), Some(0));
    assert_eq!(map.lookup(&v4(UDP, 80)), Some(1));
    assert_eq!(map.lookup(&v4(TCP, 443)), Some(2));
    let dns = FlowKey::v6(v6("2001:db8::9"), v6("2001:db8::100"), UDP, 5353, 53);
    assert_eq!(map.lookup(&dns), Some(3));
}

#[test]
fn misses_everything_else() {
    let map = ServiceMap::new(&image(&services()));
    let misses = [
        FlowKey::v4(CLIENT4, VIP4, UDP, 40000, 443), // wrong protocol
        FlowKey::v4(CLIENT4, VIP4, TCP, 40000, 81),  // wrong port
        FlowKey::v4(CLIENT4, [10, 0, 0, 101], TCP, 40000, 80), // wrong VIP
        FlowKey::v4(VIP4, CLIENT4, TCP, 80, 40000),  // a reply, not to a VIP
        // The IPv4 VIP written IPv4-mapped in an IPv6 packet is another family.
        FlowKey::v6(v6("2001:db8::9"), v6("::ffff:10.0.0.100"), TCP, 40000, 80),
        FlowKey::v6(v6("2001:db8::9"), v6("2001:db8::100"), TCP, 5353, 53),
    ];
    for flow in misses {
        assert_eq!(map.lookup(&flow), None, "{flow:?}");
    }
}

#[test]
fn first_duplicate_wins_and_empty_images_work() {
    let mut svcs = services();
    svcs.push(Svc::new("10.0.0.100", 80, Protocol::Tcp, 1));
    let map = ServiceMap::new(&image(&svcs));
    assert_eq!((map.len(), map.duplicates()), (4, 1));
    assert_eq!(map.lookup(&FlowKey::v4(CLIENT4, VIP4, TCP, 1, 80)), Some(0));
    let empty = ServiceMap::new(&image(&[]));
    assert!(empty.is_empty());
    assert_eq!(empty.lookup(&FlowKey::v4(CLIENT4, VIP4, TCP, 1, 80)), None);
}

#[test]
fn many_services_all_found() {
    let svcs: Vec<Svc> = (1..=200u16)
        .map(|p| Svc::new("10.0.0.100", p, Protocol::Tcp, 1))
        .collect();
    let map = ServiceMap::new(&image(&svcs));
    for p in 1..=200u16 {
        let flow = FlowKey::v4(CLIENT4, VIP4, TCP, 1, p);
        assert_eq!(map.lookup(&flow), Some(u32::from(p) - 1));
    }
    assert_eq!(map.lookup(&FlowKey::v4(CLIENT4, VIP4, TCP, 1, 201)), None);
}
