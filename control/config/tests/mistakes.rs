//! What an operator sees for a broken config: every mistake, each at its exact path; and one
//! located error for a document that does not even parse.

use strait_config::{FieldError, parse};

fn paths_and_reasons(errs: &[FieldError]) -> Vec<(&str, &str)> {
    errs.iter()
        .map(|e| (e.path.as_str(), e.reason.as_str()))
        .collect()
}

const BROKEN: &str = r#"
listeners:
  - { name: web, address: 127.0.0.1, port: 8080, protocol: HTTP }
  - { name: web, address: 127.0.0.1, port: 8081, protocol: HTTP }
  - { name: tls, address: 127.0.0.1, port: 8443, protocol: HTTPS, tls: { certificates: [] } }
httpRoutes:
  - name: shop
    parentRefs: [web]
    hostnames: ["shop.*.example"]
    rules:
      - matches: [{ path: { type: PathPrefix, value: api } }]
        backendRefs: [{ name: shop-v1, weight: 90 }, { name: shop-v3, weight: 10 }]
      - matches: [{ headers: [{ name: x-v, type: RegularExpression, value: "(" }] }]
        directResponse: { status: 200 }
        backendRefs: [{ name: shop-v1 }]
clusters:
  - name: shop-v1
    lbPolicy: RingHash
    endpoints:
      - { address: 127.0.0.1:9001 }
      - { address: 127.0.0.1:9002, weight: 2000000 }
l4Services:
  - name: vip
    vip: 198.18.0.300
    port: 80
    idleTimeout: 0s
    backends: [{ address: 198.18.1.2 }]
  - name: vip6
    vip: "2001:2::10"
    port: 80
    backends: [{ address: 198.18.1.3, mac: "zz:00:00:00:00:01" }]
"#;

#[test]
fn every_mistake_is_reported_at_its_path() {
    let errs = parse(BROKEN).expect_err("broken config");
    let got = paths_and_reasons(&errs);
    let expected = [
        (
            "listeners[1].name",
            "duplicate listener name \"web\" (first at listeners[0])",
        ),
        (
            "listeners[2].tls.certificates",
            "at least one certificate is required to terminate TLS",
        ),
        (
            "httpRoutes[0].hostnames[0]",
            "invalid hostname \"shop.*.example\": '*' is only allowed as a leading \"*.\"",
        ),
        (
            "httpRoutes[0].rules[0].matches[0].path.value",
            "path \"api\" must start with '/'",
        ),
        (
            "httpRoutes[0].rules[0].backendRefs[1].name",
            "no cluster named \"shop-v3\"",
        ),
        (
            "httpRoutes[0].rules[1].matches[0].headers[0].value",
            "regex does not compile: unclosed group",
        ),
        (
            "httpRoutes[0].rules[1]",
            "backendRefs and directResponse are exclusive; keep one",
        ),
        ("clusters[0].hashOn", "required for lbPolicy RingHash"),
        (
            "clusters[0].endpoints[1].weight",
            "weight 2000000 out of range 0..=1000000",
        ),
        ("l4Services[0].vip", "invalid IP address \"198.18.0.300\""),
        (
            "l4Services[0].idleTimeout",
            "duration must be greater than 0",
        ),
        (
            "l4Services[1].backends[0].address",
            "IPv4 backend 198.18.1.3 for IPv6 VIP 2001:2::10 in FullNat mode (only IPIP/GUE cross families)",
        ),
        (
            "l4Services[1].backends[0].mac",
            "invalid MAC address \"zz:00:00:00:00:01\"",
        ),
    ];
    for want in expected {
        assert!(
            got.contains(&want),
            "missing {want:?}\nall errors: {got:#?}"
        );
    }
    assert_eq!(
        got.len(),
        expected.len(),
        "unexpected extra errors: {got:#?}"
    );
    // Display is `path: reason`.
    assert_eq!(
        errs[0].to_string(),
        "listeners[1].name: duplicate listener name \"web\" (first at listeners[0])"
    );
}

#[test]
fn json_gets_the_same_validation() {
    let raw = strait_config::parse_raw(BROKEN).expect("parses as YAML");
    let json = strait_config::to_json(&raw);
    assert!(strait_config::is_json(&json));
    assert_eq!(
        parse(&json).expect_err("broken"),
        parse(BROKEN).expect_err("broken")
    );
}

#[test]
fn a_typo_is_one_error_at_its_path() {
    let yaml = "clusters:\n  - name: c\n    endpoints:\n      - address: 127.0.0.1:1\n      - address: 127.0.0.1:2\n        wieght: 3\n";
    let errs = parse(yaml).expect_err("typo");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].path, "clusters[0].endpoints[1].wieght");
    assert!(
        errs[0].reason.starts_with("unknown field `wieght`"),
        "{}",
        errs[0].reason
    );
    assert!(errs[0].reason.contains("line 6"), "{}", errs[0].reason);

    let json = r#"{"clusters": [{"name": "c", "endpoints": [{"address": "127.0.0.1:1"}, {"wieght": 3}]}]}"#;
    let errs = parse(json).expect_err("typo");
    assert_eq!(errs[0].path, "clusters[0].endpoints[1].wieght");
    assert!(
        errs[0].reason.contains("line 1 column"),
        "{}",
        errs[0].reason
    );
}

#[test]
fn wrong_types_and_keywords_are_located() {
    let errs = parse("listeners:\n  - name: web\n    protocol: HTTPX\n").expect_err("bad enum");
    assert_eq!(errs[0].path, "listeners[0].protocol");
    assert!(
        errs[0].reason.contains("unknown variant `HTTPX`"),
        "{}",
        errs[0].reason
    );

    let errs = parse(r#"{"l4Services": [{"name": "v", "port": "eighty"}]}"#).expect_err("bad type");
    assert_eq!(errs[0].path, "l4Services[0].port");

    let errs = parse("listeners: [\n").expect_err("syntax");
    assert_eq!(errs.len(), 1);
    assert!(errs[0].reason.contains("line 1"), "{}", errs[0].reason);

    let errs = parse("{\"listeners\": []} trailing").expect_err("trailing");
    assert_eq!(errs[0].path, "");
}

#[test]
fn empty_documents_are_empty_configs() {
    for text in ["", "  \n", "# nothing yet\n", "{}"] {
        let config = parse(text).expect("empty is valid");
        assert!(config.listeners.is_empty() && config.clusters.is_empty());
    }
}

mod mutations {
    use proptest::prelude::*;

    const MESH: &str = include_str!("../../../configs/mesh-example.yaml");

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Corrupting a valid config anywhere never panics; whatever still validates prints
        /// back to the same config.
        #[test]
        fn corrupted_configs_fail_cleanly(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), "[a-z0-9:./\\[\\]{}\\-\"* ]{0,3}"), 1..4)
        ) {
            let mut text = MESH.to_owned();
            for (at, with) in edits {
                let mut i = at.index(text.len());
                while !text.is_char_boundary(i) {
                    i -= 1;
                }
                let end = (i + 1..=text.len()).find(|&e| text.is_char_boundary(e)).unwrap_or(i);
                text.replace_range(i..end, &with);
            }
            match strait_config::parse(&text) {
                Err(errs) => prop_assert!(!errs.is_empty()),
                Ok(config) => {
                    let yaml = strait_config::to_yaml(config.raw());
                    let back = strait_config::parse(&yaml);
                    prop_assert_eq!(back.as_ref().ok(), Some(&config), "{}", yaml);
                }
            }
        }
    }
}
