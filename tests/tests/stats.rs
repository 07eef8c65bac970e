//! `straitctl stats` end to end: real agent, real data plane (no packet device), real straitctl.
//!
//! Story: with only an agent, stats says the data plane is not connected and still exits 0;
//! start a data plane and every worker appears with every pipeline counter, all zero since no
//! packet has been seen; without `--all` the zeros are left out. Without an agent, stats exits 3
//! with the one-line hint; a bad flag exits 2.

use std::time::Duration;

use serde_json::Value;
use strait_e2e::{Node, assert_agent_unreachable, test_cores, wait_until};

/// Counters that must be there: the first and last pipeline counters, some in between, and
/// parse-drop reasons (the agent's unit test checks every name of `counters::NAMES`).
const EXPECTED: &[&str] = &[
    "rx",
    "tx",
    "steered_out",
    "new_flows",
    "drop_not_for_us",
    "drop_no_backend",
    "drop_tx_full",
    "too_short",
    "bad_ip_checksum",
    "bad_arp",
];

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `straitctl stats ARGS`, which must succeed.
fn stats(node: &Node, args: &[&str]) -> String {
    let out = node.ctl(&[&["stats"], args].concat());
    assert_eq!(
        out.status.code(),
        Some(0),
        "straitctl stats {args:?}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn stats_json(node: &Node, args: &[&str]) -> Value {
    let stdout = stats(node, &[&["--json"], args].concat());
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("stats --json: {e}:\n{stdout}"))
}

fn names(counters: &Value) -> Vec<&str> {
    let map = counters.as_object().expect("counters are a JSON object");
    map.keys().map(String::as_str).collect()
}

#[test]
fn stats_lists_every_worker_with_every_counter() {
    let (cores, workers) = test_cores();
    let mut node = Node::new();
    node.start_agent();

    let alone = stats_json(&node, &["--all"]);
    assert_eq!(alone["dataplane_connected"], false, "{alone}");
    assert_eq!(alone["workers"], serde_json::json!([]), "{alone}");
    assert_eq!(alone["total"], serde_json::json!({}), "{alone}");
    assert_eq!(stats(&node, &[]), "data plane: not connected\n");

    node.start_dataplane(&cores);
    // Every worker has started (and written its core) once it reports generation 0 running.
    node.wait_workers_on(0, workers);
    let all = wait_until(Duration::from_secs(20), "the data plane's workers", || {
        let s = stats_json(&node, &["--all"]);
        let listed = s["workers"].as_array().map_or(0, Vec::len);
        (s["dataplane_connected"] == true && listed == workers).then_some(s)
    });

    let total = names(&all["total"]);
    for name in EXPECTED {
        assert!(
            total.contains(name),
            "{name} missing from the totals: {all}"
        );
    }
    let expected_cores: Vec<u64> = cores.split(',').map(|c| c.parse().unwrap()).collect();
    for (i, w) in all["workers"].as_array().unwrap().iter().enumerate() {
        assert_eq!(w["index"], i, "{w}");
        assert_eq!(w["core"], expected_cores[i], "{w}");
        assert_eq!(
            names(&w["counters"]),
            total,
            "worker {i} has the same counters as the totals"
        );
    }
    let values = all["workers"]
        .as_array()
        .unwrap()
        .iter()
        .chain([&all])
        .flat_map(|w| {
            let counters = w.get("counters").unwrap_or(&w["total"]);
            counters.as_object().unwrap().values()
        });
    for v in values {
        assert_eq!(v, 0, "no packet device, so no counter moves: {all}");
    }

    // Without --all the zeros are left out.
    let nonzero = stats_json(&node, &[]);
    assert_eq!(nonzero["dataplane_connected"], true);
    assert_eq!(nonzero["total"], serde_json::json!({}), "{nonzero}");
    let listed = nonzero["workers"].as_array().unwrap();
    assert_eq!(listed.len(), workers);
    assert!(
        listed
            .iter()
            .all(|w| w["counters"] == serde_json::json!({}))
    );

    let out = stats(&node, &[]);
    assert!(out.starts_with("every counter is zero\n"), "{out}");
    assert!(
        out.contains(&format!(
            "worker 0 (core {}): all zero\n",
            expected_cores[0]
        )),
        "{out}"
    );
    let out = stats(&node, &["--all"]);
    let rx = out.lines().find(|l| l.starts_with("rx ")).expect(&out);
    assert!(rx.ends_with(" 0"), "{out}");
    assert!(out.contains(" too_short=0"), "{out}");
}

#[test]
fn stats_without_an_agent_or_with_a_bad_flag_exits_as_the_other_commands() {
    let node = Node::new();
    assert_agent_unreachable(&node.ctl(&["stats"]));
    let out = node.ctl(&["stats", "--bogus"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}
