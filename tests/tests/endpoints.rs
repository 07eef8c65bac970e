//! Endpoint states end to end: real agent, real data plane, real straitctl.
//!
//! Story: start an agent and a data plane running `configs/demo.yaml`; drain an L4 backend and
//! mark an L7 endpoint down with `straitctl endpoint`, and read both back from the data plane's
//! health overlay (`endpoint list` shows the overlay word of each slot). A wrong address is
//! refused by name. The states survive an apply that keeps the endpoints, a restarted data
//! plane (a fresh, all-active overlay) and a restarted agent; an apply that removes an endpoint
//! forgets its state, and the endpoint comes back active.

use std::{path::PathBuf, process::Output, time::Duration};

use serde_json::Value;
use strait_e2e::{Node, test_cores, wait_until};

const B3: &str = "198.18.0.13:8080";
const WEB_B: &str = "127.0.0.1:9102";

fn demo() -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join("configs/demo.yaml")).expect("configs/demo.yaml")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs straitctl and asserts it exited with `code`.
fn ctl(node: &Node, args: &[&str], code: i32) -> Output {
    let out = node.ctl(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "straitctl {args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// `straitctl endpoint list --json`.
fn list(node: &Node) -> Value {
    let out = ctl(node, &["endpoint", "list", "--json"], 0);
    serde_json::from_slice(&out.stdout).expect("endpoint list --json is JSON")
}

/// The listed endpoint at `address`, if listed.
fn endpoint(node: &Node, address: &str) -> Option<Value> {
    list(node)["endpoints"]
        .as_array()?
        .iter()
        .find(|e| e["address"] == address)
        .cloned()
}

/// Waits until the endpoint at `address` is `state` as set and as the data plane sees it;
/// returns its slot.
fn wait_state(node: &Node, address: &str, state: &str) -> u64 {
    wait_until(
        Duration::from_secs(10),
        &format!("{address} {state} in the overlay"),
        || {
            let e = endpoint(node, address)?;
            (e["state"] == state && e["dataplane_state"] == state).then(|| e["slot"].as_u64())?
        },
    )
}

#[test]
fn drain_and_down_reach_the_overlay_and_follow_the_address() {
    let (cores, workers) = test_cores();
    let mut node = Node::new();
    node.start_agent();
    node.start_dataplane(&cores);
    node.apply_yaml(&demo());
    node.wait_workers_on(1, workers);

    let all = list(&node);
    assert_eq!(all["generation"], 1);
    let endpoints = all["endpoints"].as_array().unwrap();
    assert_eq!(
        endpoints.len(),
        8,
        "2 L7 endpoints, 3 + 3 L4 backends: {all}"
    );
    assert!(
        endpoints
            .iter()
            .all(|e| e["state"] == "active" && e["dataplane_state"] == "active"),
        "{all}"
    );

    // Set, and read back from the overlay.
    let out = ctl(&node, &["endpoint", "drain", B3], 0);
    assert!(
        text(&out.stdout).contains("active -> draining"),
        "{}",
        text(&out.stdout)
    );
    let slot = wait_state(&node, B3, "draining");
    ctl(&node, &["endpoint", "down", WEB_B], 0);
    wait_state(&node, WEB_B, "down");
    let out = ctl(&node, &["endpoint", "drain", B3], 0);
    assert!(text(&out.stdout).contains("already draining"));
    let table = text(&ctl(&node, &["endpoint", "list"], 0).stdout);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with(B3) && l.contains("draining")),
        "{table}"
    );

    // Wrong addresses are refused by name.
    let out = ctl(&node, &["endpoint", "drain", "198.18.0.99:8080"], 1);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("198.18.0.99:8080 is not an endpoint of the current config"),
        "{stderr}"
    );
    let out = ctl(&node, &["endpoint", "drain", "198.18.0.13"], 2);
    assert!(
        text(&out.stderr).contains("is not IP:PORT"),
        "{}",
        text(&out.stderr)
    );
    ctl(&node, &["endpoint", "pause", B3], 2);

    // An apply that keeps the endpoints keeps their states and slots.
    let changed = demo().replace("{ name: web-a, weight: 70 }", "{ name: web-a, weight: 65 }");
    node.apply_yaml(&changed);
    node.wait_workers_on(2, workers);
    assert_eq!(wait_state(&node, B3, "draining"), slot);
    wait_state(&node, WEB_B, "down");

    // A new data plane brings an all-active overlay: the agent writes the states again.
    node.dataplane.take().unwrap().kill9();
    node.start_dataplane(&cores);
    node.wait_workers_on(2, workers);
    wait_state(&node, B3, "draining");
    wait_state(&node, WEB_B, "down");

    // A restarted agent restores them from its state directory.
    node.agent.take().unwrap().kill9();
    node.start_agent();
    node.wait_workers_on(2, workers);
    wait_state(&node, B3, "draining");
    wait_state(&node, WEB_B, "down");
    ctl(&node, &["endpoint", "up", WEB_B], 0);
    wait_state(&node, WEB_B, "active");

    // An apply without b3 forgets its state; b3 comes back active.
    let without = changed.replace(
        "      - { address: 198.18.0.13, port: 8080, weight: 2 }\n",
        "",
    );
    assert_ne!(without, changed);
    node.apply_yaml(&without);
    node.wait_workers_on(3, workers);
    assert!(endpoint(&node, B3).is_none(), "{}", list(&node));
    ctl(&node, &["endpoint", "drain", B3], 1);
    let persisted = std::fs::read_to_string(node.path("agent-state/endpoints")).unwrap();
    assert!(!persisted.contains(B3), "{persisted}");
    node.apply_yaml(&changed);
    node.wait_workers_on(4, workers);
    wait_state(&node, B3, "active");
}

#[test]
fn without_a_config_there_is_no_endpoint() {
    let mut node = Node::new();
    node.start_agent();
    let out = ctl(&node, &["endpoint", "list"], 0);
    assert_eq!(text(&out.stdout), "no config applied\n");
    let out = ctl(&node, &["endpoint", "down", "[2001:2::13]:8080"], 1);
    assert!(
        text(&out.stderr).contains("[2001:2::13]:8080 is not an endpoint"),
        "{}",
        text(&out.stderr)
    );
}
