//! Compiler tests: the image a config becomes, read back through the table reader.

use strait_config::parse;
use strait_table::{HostKind, Image, L4Mode, PathMatch, RouteAction};

use super::*;

fn demo() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../configs/demo.yaml"
    ))
    .unwrap()
}

fn image(yaml: &str) -> Image<ImageBytes> {
    let config = parse(yaml).unwrap_or_else(|e| panic!("{e:?}"));
    Image::parse(compile(&config, 7, &mut HealthSlots::default()).unwrap()).unwrap()
}

#[test]
fn every_example_config_compiles() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../configs");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue; // configs/systemd holds unit files
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let config = parse(&text).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        let img = compile(&config, 1, &mut HealthSlots::default())
            .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        assert!(Image::parse(img).is_ok());
    }
}

#[test]
fn demo_compiles_to_its_listener_routes_clusters_and_vip() {
    let img = image(&demo());
    assert_eq!(img.generation(), 7);
    let l = &img.listeners()[0];
    assert_eq!(img.str(l.name), "web");
    assert_eq!(l.port, 8080);
    let clusters: Vec<_> = img.clusters().iter().map(|c| img.str(c.name)).collect();
    assert_eq!(clusters, ["web-a", "web-b"]);
    let svc = &img.l4_services()[0];
    assert_eq!(svc.mode(), Some(L4Mode::FullNat));
    let backends = img.l4_backends_of(svc);
    assert_eq!(backends.len(), 3);
    let table = img.maglev_of(svc);
    assert_eq!(table.len(), 65537);
    // Weights 1:1:2: the third backend holds half of the table.
    let third = table.iter().filter(|&&i| i == 2).count() as f64 / table.len() as f64;
    assert!((third - 0.5).abs() < 0.01, "{third}");
    // Every endpoint and backend has its own health slot.
    let mut slots: Vec<u32> = img.endpoints().iter().map(|e| e.health_slot).collect();
    slots.extend(backends.iter().map(|b| b.health_slot));
    slots.sort_unstable();
    slots.dedup();
    assert_eq!(slots.len(), img.endpoints().len() + backends.len());
}

const PRECEDENCE: &str = r#"
listeners: [{ name: web, address: 127.0.0.1, port: 8080, protocol: HTTP }]
clusters: [{ name: c, endpoints: [{ address: "127.0.0.1:9000" }] }]
httpRoutes:
  - name: any
    parentRefs: [web]
    rules:
      - backendRefs: [{ name: c }]
      - matches: [{ path: { type: PathPrefix, value: /a } }]
        backendRefs: [{ name: c }]
      - matches: [{ path: { type: PathPrefix, value: /a/b } }]
        backendRefs: [{ name: c }]
      - matches: [{ path: { type: RegularExpression, value: "/r/[0-9]+" } }]
        backendRefs: [{ name: c }]
      - matches: [{ path: { type: Exact, value: /a } }]
        directResponse: { status: 200, body: exact }
      - matches:
          - path: { type: PathPrefix, value: /a }
            headers: [{ name: X-Canary, value: "1" }]
        backendRefs: [{ name: c }]
  - name: wild
    parentRefs: [web]
    hostnames: ["*.example"]
    rules: [{ matches: [{ path: { type: PathPrefix, value: /w } }], backendRefs: [{ name: c }] }]
  - name: exact
    parentRefs: [web]
    hostnames: ["shop.example"]
    rules: [{ matches: [{ path: { type: PathPrefix, value: /s } }], backendRefs: [{ name: c }] }]
"#;

#[test]
fn routes_are_in_gateway_api_precedence_and_hosts_fall_back() {
    let img = image(PRECEDENCE);
    let vhosts = img.virtual_hosts_of(&img.listeners()[0]);
    let hosts: Vec<_> = vhosts
        .iter()
        .map(|v| (img.str(v.hostname), v.kind()))
        .collect();
    assert_eq!(
        hosts,
        [
            ("shop.example", Some(HostKind::Exact)),
            (".example", Some(HostKind::Wildcard)),
            ("", Some(HostKind::Any))
        ]
    );
    let paths = |v| -> Vec<(String, Option<PathMatch>, usize)> {
        img.routes_of(v)
            .iter()
            .map(|r| {
                (
                    img.str(r.path).to_owned(),
                    PathMatch::from_code(r.path_kind),
                    img.matches_of(r).len(),
                )
            })
            .collect()
    };
    // The catch-all host: exact, regex, longest prefix, prefix with a header, prefix, any.
    assert_eq!(
        paths(&vhosts[2]),
        [
            ("/a".into(), Some(PathMatch::Exact), 0),
            ("/r/[0-9]+".into(), Some(PathMatch::Regex), 0),
            ("/a/b".into(), Some(PathMatch::Prefix), 0),
            ("/a".into(), Some(PathMatch::Prefix), 1),
            ("/a".into(), Some(PathMatch::Prefix), 0),
            ("".into(), Some(PathMatch::Any), 0),
        ]
    );
    assert_eq!(
        img.routes_of(&vhosts[2])[0].action,
        RouteAction::Direct.code()
    );
    // shop.example: its own route, then the wildcard's, then the catch-all's.
    let shop: Vec<_> = paths(&vhosts[0]).into_iter().map(|p| p.0).take(3).collect();
    assert_eq!(shop, ["/s", "/w", "/a"]);
    assert_eq!(img.routes_of(&vhosts[0]).len(), 2 + 6);
    assert_eq!(img.routes_of(&vhosts[1]).len(), 1 + 6);
    // Header names are stored lower-case.
    let header = img
        .routes_of(&vhosts[2])
        .iter()
        .flat_map(|r| img.matches_of(r))
        .next()
        .unwrap();
    assert_eq!(img.str(header.name), "x-canary");
}

#[test]
fn slots_stay_stable_and_maglev_tables_are_reused() {
    let config = parse(&demo()).unwrap();
    let mut compiler = Compiler::default();
    let mut slots = HealthSlots::default();
    let assigned = slots.assign(endpoints(&config));
    let a = compiler.compile(&config, 1, &assigned).unwrap();
    // The demo's three L4 services have two distinct backend sets (IPv4 TCP and UDP share one).
    assert_eq!(compiler.maglev.len(), 2);
    let assigned = slots.assign(endpoints(&config));
    let b = compiler.compile(&config, 2, &assigned).unwrap();
    let (a, b) = (Image::parse(a).unwrap(), Image::parse(b).unwrap());
    assert_eq!(a.maglev(), b.maglev());
    let slot_of = |img: &Image<ImageBytes>| {
        img.endpoints()
            .iter()
            .map(|e| e.health_slot)
            .collect::<Vec<_>>()
    };
    assert_eq!(slot_of(&a), slot_of(&b));
}

#[test]
fn upstream_tls_carries_its_server_name_and_roots() {
    let img = image(
        "clusters:
  - name: secure
    tls: { sni: api.internal, caFile: /etc/strait/upstream-ca.pem }
    endpoints: [{ address: 198.18.0.10:443 }]
  - name: plain
    endpoints: [{ address: 198.18.0.11:80 }]
",
    );
    let [secure, plain] = img.clusters() else {
        panic!("two clusters")
    };
    assert!(secure.upstream_tls());
    assert_eq!(img.str(secure.tls_sni), "api.internal");
    assert_eq!(img.str(secure.tls_ca), "/etc/strait/upstream-ca.pem");
    assert!(!plain.upstream_tls());
    assert_eq!(img.str(plain.tls_ca), "");
}
