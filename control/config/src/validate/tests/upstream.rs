//! Upstreams: cluster endpoints and hashing, L4 services, and address parsing.

use super::{BASE, errors, rejects};
use crate::parse;

pub(super) const L4: &str = "
l4Services:
  - name: vip
    vip: 198.18.0.10
    port: 80
    backends:
      - { address: 198.18.1.2 }
      - { address: 198.18.2.2, port: 8080, weight: 2, mac: \"02:00:00:00:01:02\" }
";

#[test]
fn l4_service_is_typed() {
    let config = parse(&format!("{BASE}{L4}")).expect("valid");
    let svc = &config.l4_services[0];
    assert_eq!(svc.idle_timeout.to_string(), "5m");
    assert_eq!((svc.backends[0].port, svc.backends[0].weight), (80, 1));
    assert_eq!(svc.backends[1].mac, Some([2, 0, 0, 0, 1, 2]));
}

#[test]
fn addresses_parse() {
    rejects(
        &BASE.replace("127.0.0.1:9001", "127.0.0.1"),
        &[
            "clusters[0].endpoints[0].address: invalid address \"127.0.0.1\": expected ip:port or [ipv6]:port",
        ],
    );
    rejects(
        &BASE.replace("127.0.0.1:9001", "127.0.0.1:0"),
        &["clusters[0].endpoints[0].address: port 0 out of range 1..=65535 in \"127.0.0.1:0\""],
    );
    assert!(errors(&BASE.replace("127.0.0.1:9001", "\"[2001:2::1]:9001\"")).is_empty());
    rejects(
        &BASE
            .replace("port: 8080", "port: 70000")
            .replace("address: 127.0.0.1,", "address: localhost,"),
        &[
            "listeners[0].address: invalid IP address \"localhost\"",
            "listeners[0].port: port 70000 out of range 1..=65535",
        ],
    );
    rejects(
        &format!("{BASE}{L4}").replace("198.18.0.10", "198.18.0.300"),
        &["l4Services[0].vip: invalid IP address \"198.18.0.300\""],
    );
}

#[test]
fn l4_services_are_unique_per_vip_port_protocol() {
    let svc =
        "  - { name: vip2, vip: 198.18.0.10, port: 80, backends: [{ address: 198.18.1.3 }] }\n";
    rejects(
        &format!("{BASE}{L4}{svc}"),
        &["l4Services[1].vip: TCP 198.18.0.10:80 already used by l4Services[0]"],
    );
    let udp = svc.replace("port: 80,", "port: 80, protocol: UDP,");
    assert!(errors(&format!("{BASE}{L4}{udp}")).is_empty());
}

#[test]
fn l4_modes_constrain_family_and_port() {
    let v6 = format!("{BASE}{L4}").replace("198.18.1.2", "\"2001:2::2\"");
    rejects(
        &v6,
        &[
            "l4Services[0].backends[0].address: IPv6 backend 2001:2::2 for IPv4 VIP 198.18.0.10 in FullNat mode (only IPIP/GUE cross families)",
        ],
    );
    let ipip = v6
        .replace("port: 80\n", "port: 80\n    mode: IPIP\n")
        .replace("198.18.2.2, port: 8080, ", "198.18.2.2, ");
    assert_eq!(errors(&ipip), Vec::<String>::new());
    rejects(
        &format!("{BASE}{L4}").replace("port: 80\n", "port: 80\n    mode: DSR\n"),
        &[
            "l4Services[0].backends[1].port: must equal the service port 80 in DSR mode (only FullNat translates ports)",
        ],
    );
    rejects(
        &format!("{BASE}{L4}").replace("02:00:00:00:01:02", "02:00:00:00:01"),
        &["l4Services[0].backends[1].mac: invalid MAC address \"02:00:00:00:01\""],
    );
}

#[test]
fn hash_on_exactly_for_hashing_policies() {
    rejects(
        &BASE.replace("  - name: c\n", "  - name: c\n    lbPolicy: RingHash\n"),
        &["clusters[0].hashOn: required for lbPolicy RingHash"],
    );
    rejects(
        &BASE.replace(
            "  - name: c\n",
            "  - name: c\n    hashOn: { header: x-user }\n",
        ),
        &["clusters[0].hashOn: only allowed with lbPolicy RingHash or Maglev, not RoundRobin"],
    );
    rejects(
        &BASE.replace(
            "  - name: c\n",
            "  - name: c\n    lbPolicy: Maglev\n    hashOn: { header: x-user, cookie: sid }\n",
        ),
        &["clusters[0].hashOn: set exactly one of header, cookie or sourceIp"],
    );
    let ok = parse(&BASE.replace(
        "  - name: c\n",
        "  - name: c\n    lbPolicy: Maglev\n    hashOn: { sourceIp: true }\n",
    ))
    .expect("valid");
    assert_eq!(ok.clusters[0].hash_on, Some(crate::HashOn::SourceIp));
}
