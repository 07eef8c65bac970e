//! The control plane end to end: real agent, real data plane, real straitctl.
//!
//! Story: start an agent and a data plane; apply a config and see every worker run it; apply a
//! config with several mistakes and see each reported by path while the workers stay put; kill
//! either process with SIGKILL and see the other carry on and the restarted one catch up.

use std::{path::PathBuf, time::Duration};

use strait_e2e::{Node, assert_agent_unreachable, test_cores, wait_until};

fn config(name: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    root.join("configs").join(name).display().to_string()
}

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
        .display()
        .to_string()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// An agent and a data plane with every worker running `configs/demo.yaml` as generation 1;
/// returns the node, its number of workers and what `straitctl apply --wait` printed.
fn node_running_demo() -> (Node, usize, String) {
    let (cores, workers) = test_cores();
    let mut node = Node::new();
    node.start_agent();
    node.start_dataplane(&cores);
    let out = node.ctl(&["apply", "-f", &config("demo.yaml"), "--wait"]);
    assert!(out.status.success(), "apply failed: {}", text(&out.stderr));
    node.wait_workers_on(1, workers);
    (node, workers, text(&out.stdout))
}

#[test]
fn apply_reaches_every_worker_and_a_bad_config_changes_nothing() {
    let (node, workers, stdout) = node_running_demo();
    assert!(stdout.contains("applied: generation 1"), "{stdout}");
    assert!(
        stdout.contains("live: every worker runs generation 1"),
        "{stdout}"
    );

    // The same config again is not a new generation.
    let out = node.ctl(&["apply", "-f", &config("demo.yaml")]);
    assert!(text(&out.stdout).contains("unchanged: generation 1"));

    let out = node.ctl(&["apply", "-f", &fixture("three-mistakes.yaml"), "--wait"]);
    assert_eq!(out.status.code(), Some(1), "a bad config must exit 1");
    let stderr = text(&out.stderr);
    let lines: Vec<_> = stderr.lines().collect();
    for path in [
        "httpRoutes[0].rules[0].backendRefs[0].name",
        "clusters[0].endpoints[0].weight",
        "l4Services[0].vip",
        "l4Services[0].backends",
    ] {
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.starts_with(&format!("{path}: ")))
                .count(),
            1,
            "expected one line for {path} in:\n{stderr}"
        );
    }
    assert!(
        lines.iter().all(|l| l.contains(": ")),
        "every line is `path: reason`:\n{stderr}"
    );
    assert!(
        text(&out.stdout).is_empty(),
        "nothing on stdout for a rejected config"
    );

    let status = node.status();
    assert_eq!(
        status["generation"], 1,
        "the agent still publishes generation 1"
    );
    assert_eq!(
        node.worker_generations(),
        vec![1; workers],
        "every worker still runs generation 1"
    );

    // validate is a dry run with the same errors.
    let out = node.ctl(&["validate", "-f", &fixture("three-mistakes.yaml")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).lines().count() >= 4);
    let out = node.ctl(&["validate", "-f", &config("demo.yaml")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn agent_killed_the_data_plane_keeps_its_generation_and_reconnects() {
    let (mut node, workers, _) = node_running_demo();
    let dp_pid = node.dataplane.as_ref().unwrap().pid();

    node.agent.take().unwrap().kill9();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        node.dataplane.as_mut().unwrap().alive(),
        "the data plane outlives the agent"
    );

    node.start_agent();
    let status = node.wait_workers_on(1, workers);
    assert_eq!(
        status["generation"], 1,
        "the restarted agent restored the last good config"
    );
    assert_eq!(
        status["dataplane"]["pid"], dp_pid,
        "the same data plane process reconnected"
    );
    // It reconnected running generation 1, so the agent had nothing to resend: the data plane
    // installed one image in its life. (How many connects that took depends on how fast the
    // dead agent's listening socket went away.)
    let dp_log = node.dataplane.as_ref().unwrap().log();
    assert!(dp_log.contains("connected to the agent socket"), "{dp_log}");
    assert!(
        dp_log
            .lines()
            .last()
            .is_some_and(|l| l.contains("generation=1")),
        "{dp_log}"
    );
    assert_eq!(
        dp_log.matches("every worker runs the generation").count(),
        1,
        "{dp_log}"
    );
    assert!(
        !node
            .agent
            .as_ref()
            .unwrap()
            .log()
            .contains("sending the current image")
    );

    let out = node.ctl(&["get", "-o", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).expect("get -o json is JSON");
    assert_eq!(got["clusters"][0]["name"], "web-a");
}

#[test]
fn a_restarted_agent_restores_a_change_persisted_as_a_delta() {
    let (mut node, workers, _) = node_running_demo();
    let demo = std::fs::read_to_string(config("demo.yaml")).unwrap();
    let changed = demo
        .replace("{ name: web-a, weight: 70 }", "{ name: web-a, weight: 65 }")
        .replace("{ name: web-b, weight: 30 }", "{ name: web-b, weight: 35 }");
    assert_ne!(changed, demo);
    node.apply_yaml(&changed);
    node.wait_workers_on(2, workers);
    // A two-digit change of a config of kilobytes is persisted as a delta of the state file.
    let state = node.path("agent-state");
    let delta = std::fs::metadata(state.join("state.delta")).expect("a delta file");
    let whole = std::fs::metadata(state.join("state")).unwrap();
    assert!(
        delta.len() < whole.len() / 4,
        "{} vs {}",
        delta.len(),
        whole.len()
    );

    node.agent.take().unwrap().kill9();
    node.start_agent();
    let status = node.wait_workers_on(2, workers);
    assert_eq!(
        status["generation"], 2,
        "the restarted agent restored generation 2"
    );
    let out = node.ctl(&["get", "-o", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let refs = &got["httpRoutes"][1]["rules"][0]["backendRefs"];
    assert_eq!(
        (refs[0]["weight"].as_u64(), refs[1]["weight"].as_u64()),
        (Some(65), Some(35))
    );
}

#[test]
fn data_plane_killed_the_restarted_one_serves_the_last_good_image_at_once() {
    let (mut node, workers, _) = node_running_demo();
    let (cores, _) = test_cores();

    // The image is kept as the last good file right after it went live.
    let kept = node.path("dataplane-state/tables.img");
    wait_until(Duration::from_secs(10), "the last good image file", || {
        kept.exists().then_some(())
    });

    // With the agent down too, a restarted data plane has only its own last good image.
    node.agent.take().unwrap().kill9();
    node.dataplane.take().unwrap().kill9();
    node.start_dataplane(&cores);
    wait_until(
        Duration::from_secs(10),
        "the data plane serving its last good image",
        || {
            node.dataplane
                .as_ref()
                .unwrap()
                .log()
                .contains("serving the last good image generation=1")
                .then_some(())
        },
    );

    node.start_agent();
    node.wait_workers_on(1, workers);
    let agent_log = node.agent.as_ref().unwrap().log();
    assert!(
        !agent_log.contains("sending the current image"),
        "nothing was resent:\n{agent_log}"
    );
}

#[test]
fn straitctl_without_an_agent_gives_a_one_line_hint() {
    let node = Node::new();
    assert_agent_unreachable(&node.ctl(&["status"]));
}

#[test]
fn straitctl_reports_a_missing_file_and_bad_flags_clearly() {
    let node = Node::new();
    let out = node.ctl(&["apply", "-f", "/nonexistent/strait.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read /nonexistent/strait.yaml"));
    let out = node.ctl(&["apply", "--wait"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--file"),
        "{}",
        text(&out.stderr)
    );
    let out = node.ctl(&["get", "-o", "xml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("possible values"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn status_watch_streams_each_change() {
    let (cores, workers) = test_cores();
    let mut node = Node::new();
    node.start_agent();
    let mut cmd = std::process::Command::new(strait_e2e::bin("straitctl"));
    cmd.args(["--agent", &node.api(), "status", "--watch", "--json"]);
    let watch = strait_e2e::Proc::spawn("straitctl status --watch", cmd, node.path("watch.log"));
    let docs = |watch: &strait_e2e::Proc| -> Vec<serde_json::Value> {
        watch
            .log()
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON document per line"))
            .collect()
    };
    wait_until(Duration::from_secs(10), "the first status", || {
        (!docs(&watch).is_empty()).then_some(())
    });
    assert_eq!(docs(&watch)[0]["dataplane"]["connected"], false);

    node.start_dataplane(&cores);
    let out = node.ctl(&["apply", "-f", &config("demo.yaml"), "--wait"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let last = wait_until(
        Duration::from_secs(10),
        "a status with every worker on generation 1",
        || {
            docs(&watch).into_iter().find(|d| {
                d["generation"] == 1
                    && d["workers"].as_array().is_some_and(|w| {
                        w.len() == workers && w.iter().all(|w| w["generation"] == 1)
                    })
            })
        },
    );
    assert_eq!(last["dataplane"]["connected"], true);
    // Heartbeats alone are not changes: the stream stays quiet while nothing happens.
    let before = docs(&watch).len();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(docs(&watch).len(), before, "no status without a change");
}

#[test]
fn sigterm_stops_both_processes_cleanly() {
    let (mut node, _, _) = node_running_demo();
    let api_socket = node.path("agent.sock");
    assert!(api_socket.exists());
    let dataplane = node.dataplane.take().unwrap();
    assert!(
        dataplane.stop(Duration::from_secs(5)),
        "the data plane exits 0 on SIGTERM"
    );
    // Its workers handed their last image to the keeper, which wrote it before the exit.
    assert!(node.path("dataplane-state/tables.img").exists());
    let agent = node.agent.take().unwrap();
    assert!(
        agent.stop(Duration::from_secs(5)),
        "the agent exits 0 on SIGTERM"
    );
    assert!(!api_socket.exists(), "the agent removes its API socket");
}
