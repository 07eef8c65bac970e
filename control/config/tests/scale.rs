//! Parse + validate time for a large machine-pushed config: 10k HTTP routes, 10k clusters and
//! 100k endpoints, as JSON (the agent's push format) and as YAML.
//!
//! This prints timings and asserts only correctness; run it optimised to see real numbers:
//! `cargo test -p strait-config --release --test scale -- --nocapture`.

use std::time::{Duration, Instant};

use strait_config::kinds::{ListenerProtocol, PathMatchType};
use strait_config::raw::{
    Parsed, RawBackendRef, RawCluster, RawEndpoint, RawHttpRoute, RawListener, RawMatch,
    RawPathMatch, RawRule, RawValueMatch,
};
use strait_config::{RawConfig, parse, parse_raw, to_json, to_yaml, validate};

const ROUTES: usize = 10_000;
const ENDPOINTS_PER_CLUSTER: usize = 10;

fn big_config(routes: usize) -> RawConfig {
    let listener = RawListener {
        name: "web".into(),
        address: Parsed::new("127.0.0.1"),
        port: 8080,
        protocol: Some(ListenerProtocol::Http),
        tls: None,
    };
    let clusters = (0..routes)
        .map(|i| RawCluster {
            name: format!("svc-{i}"),
            endpoints: (0..ENDPOINTS_PER_CLUSTER)
                .map(|j| RawEndpoint {
                    address: Parsed::new(&format!(
                        "127.{}.{}.{}:{}",
                        (i >> 8) & 255,
                        i & 255,
                        j + 1,
                        9000 + j
                    )),
                    weight: Some(1 + j as u32 % 3),
                })
                .collect(),
            ..RawCluster::default()
        })
        .collect();
    let http_routes = (0..routes)
        .map(|i| RawHttpRoute {
            name: format!("route-{i}"),
            parent_refs: vec!["web".into()],
            hostnames: vec![format!("svc-{i}.example")],
            rules: vec![RawRule {
                matches: vec![RawMatch {
                    path: Some(RawPathMatch {
                        kind: Some(PathMatchType::PathPrefix),
                        value: format!("/api/{i}"),
                    }),
                    headers: vec![RawValueMatch {
                        name: "x-tenant".into(),
                        value: Some(format!("t{}", i % 100)),
                        kind: None,
                    }],
                    ..RawMatch::default()
                }],
                backend_refs: vec![
                    RawBackendRef {
                        name: format!("svc-{i}"),
                        weight: Some(90),
                    },
                    RawBackendRef {
                        name: format!("svc-{}", (i + 1) % routes),
                        weight: Some(10),
                    },
                ],
                ..RawRule::default()
            }],
        })
        .collect();
    RawConfig {
        listeners: vec![listener],
        http_routes,
        clusters,
        ..RawConfig::default()
    }
}

/// Runs `f` `runs` times; returns its last result and the shortest time.
fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (T, Duration) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = f();
        best = best.min(start.elapsed());
        out = Some(value);
    }
    (out.expect("runs > 0"), best)
}

fn check(config: &strait_config::Config, routes: usize) {
    assert_eq!(config.http_routes.len(), routes);
    let endpoints: usize = config.clusters.iter().map(|c| c.endpoints.len()).sum();
    assert_eq!(endpoints, routes * ENDPOINTS_PER_CLUSTER);
}

#[test]
fn ten_thousand_routes_hundred_thousand_endpoints() {
    // Unoptimised YAML parsing of the full size takes ~10 s, so debug runs use a tenth of it.
    let (routes, runs, mode) = if cfg!(debug_assertions) {
        (ROUTES / 10, 1, "debug, 1/10 size")
    } else {
        (ROUTES, 5, "release")
    };
    let raw = big_config(routes);
    let json = serde_json::to_string(&raw).expect("serializes");
    let pretty = to_json(&raw);
    let yaml = to_yaml(&raw);

    let (config, json_total) = best_of(runs, || parse(&json).expect("valid JSON"));
    check(&config, routes);
    let (_, pretty_total) = best_of(runs, || parse(&pretty).expect("valid JSON"));
    let (raw_again, json_parse) = best_of(runs, || parse_raw(&json).expect("parses"));
    let mut copies: Vec<RawConfig> = (0..runs).map(|_| raw_again.clone()).collect();
    let (_, json_validate) = best_of(runs, || {
        validate(copies.pop().expect("one per run")).expect("valid")
    });
    let (config, yaml_total) = best_of(1, || parse(&yaml).expect("valid YAML"));
    check(&config, routes);

    let mb = |s: &str| s.len() as f64 / 1e6;
    println!(
        "[{mode}] {routes} routes, {} endpoints, best of {runs}:",
        routes * ENDPOINTS_PER_CLUSTER
    );
    println!(
        "  JSON compact {:.1} MB: parse+validate {json_total:.2?} (parse {json_parse:.2?}, validate {json_validate:.2?})",
        mb(&json)
    );
    println!(
        "  JSON pretty  {:.1} MB: parse+validate {pretty_total:.2?}",
        mb(&pretty)
    );
    println!(
        "  YAML         {:.1} MB: parse+validate {yaml_total:.2?}",
        mb(&yaml)
    );
}
