//! Every shipped example in `configs/` parses, validates, and survives a YAML and a JSON round
//! trip unchanged.

use std::fs;
use std::path::PathBuf;

fn configs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../configs")
}

fn example_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(configs_dir())
        .expect("configs/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_shipped_config_validates() {
    let files = example_files();
    assert!(
        files.iter().any(|f| f.ends_with("demo.yaml")),
        "configs/demo.yaml is missing: {files:?}"
    );
    for file in files {
        let text = fs::read_to_string(&file).expect("readable");
        let config = strait_config::parse(&text).unwrap_or_else(|errs| {
            let errs: Vec<String> = errs.iter().map(ToString::to_string).collect();
            panic!("{} does not validate:\n{}", file.display(), errs.join("\n"))
        });
        let raw = config.raw();
        let from_yaml =
            strait_config::parse(&strait_config::to_yaml(raw)).expect("YAML round trip");
        let from_json =
            strait_config::parse(&strait_config::to_json(raw)).expect("JSON round trip");
        assert_eq!(from_yaml, config, "{}: YAML round trip", file.display());
        assert_eq!(from_json, config, "{}: JSON round trip", file.display());
    }
}

#[test]
fn demo_has_the_documented_shape() {
    let text = fs::read_to_string(configs_dir().join("demo.yaml")).expect("readable");
    let config = strait_config::parse(&text).expect("valid");
    assert_eq!(config.listeners[0].addr.to_string(), "127.0.0.1:8080");

    let web = config
        .http_routes
        .iter()
        .find(|r| r.name == *"web")
        .expect("route web");
    let strait_config::RuleAction::Forward(backends) = &web.rules[0].action else {
        panic!("web forwards")
    };
    let split: Vec<(&str, u32)> = backends
        .iter()
        .map(|b| (config.clusters[b.cluster].name.as_str(), b.weight))
        .collect();
    assert_eq!(split, [("web-a", 70), ("web-b", 30)]);
    let endpoint = |name: &str| {
        let c = config.cluster_index(name).expect("cluster");
        config.clusters[c].endpoints[0].addr.to_string()
    };
    assert_eq!(endpoint("web-a"), "127.0.0.1:9101");
    assert_eq!(endpoint("web-b"), "127.0.0.1:9102");

    let health = config
        .http_routes
        .iter()
        .find(|r| r.name == *"healthz")
        .expect("healthz");
    assert!(matches!(
        &health.rules[0].action,
        strait_config::RuleAction::DirectResponse(d) if d.status == 200
    ));

    let vip = &config.l4_services[0];
    assert_eq!(
        (vip.name.as_str(), vip.vip.to_string(), vip.port),
        ("web-vip", "198.18.0.100".to_owned(), 80)
    );
    let backends: Vec<(String, u16, u32)> = vip
        .backends
        .iter()
        .map(|b| (b.addr.to_string(), b.port, b.weight))
        .collect();
    assert_eq!(
        backends,
        [
            ("198.18.0.11".to_owned(), 8080, 1),
            ("198.18.0.12".to_owned(), 8080, 1),
            ("198.18.0.13".to_owned(), 8080, 2)
        ]
    );
}
