//! A Strait node for tests: agent and data plane processes sharing a private directory.

use std::{
    path::PathBuf,
    process::{Command, Output},
    time::Duration,
};

use serde_json::Value;

use crate::proc::{Proc, bin, straitctl, wait_until};

/// How long a process gets to come up.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// An agent and a data plane with their sockets, state and logs in one temporary directory.
#[derive(Debug)]
pub struct Node {
    dir: tempfile::TempDir,
    starts: u32,
    /// Cores the agent is confined to (`taskset -c`), for benchmarks.
    pub agent_cpus: Option<String>,
    /// The running agent, if any.
    pub agent: Option<Proc>,
    /// The running data plane, if any.
    pub dataplane: Option<Proc>,
}

impl Default for Node {
    fn default() -> Self {
        Self::new()
    }
}

impl Node {
    /// A node with nothing running yet.
    pub fn new() -> Node {
        Node {
            dir: tempfile::tempdir().expect("temp dir"),
            starts: 0,
            agent_cpus: None,
            agent: None,
            dataplane: None,
        }
    }

    /// A path inside the node's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The agent API address for straitctl.
    pub fn api(&self) -> String {
        format!("unix:{}", self.path("agent.sock").display())
    }

    fn log(&mut self, what: &str) -> PathBuf {
        self.starts += 1;
        self.path(&format!("{what}-{}.log", self.starts))
    }

    /// Starts the agent and waits until its API answers.
    pub fn start_agent(&mut self) {
        // taskset execs the agent, so the process id stays the agent's.
        let mut cmd = match &self.agent_cpus {
            Some(cpus) => {
                let mut c = Command::new("taskset");
                c.args(["-c", cpus]).arg(bin("strait-agent"));
                c
            }
            None => Command::new(bin("strait-agent")),
        };
        cmd.arg("--listen")
            .arg(self.api())
            .arg("--link-socket")
            .arg(self.path("link.sock"))
            .arg("--state-dir")
            .arg(self.path("agent-state"));
        let log = self.log("agent");
        self.agent = Some(Proc::spawn("strait-agent", cmd, log));
        wait_until(START_TIMEOUT, "the agent API", || self.try_status());
    }

    /// Starts the data plane with workers on `cores`; does not wait for the agent.
    pub fn start_dataplane(&mut self, cores: &str) {
        self.start_dataplane_with(cores, None, &[]);
    }

    /// Starts the data plane with workers on `cores`, inside network namespace `netns` if
    /// given, with `extra` arguments (e.g. a packet device); does not wait for the agent.
    pub fn start_dataplane_with(&mut self, cores: &str, netns: Option<&str>, extra: &[&str]) {
        let mut cmd = match netns {
            // `ip netns exec` execs the data plane, so the process id stays the data plane's.
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(bin("strait-dataplane"));
                c
            }
            None => Command::new(bin("strait-dataplane")),
        };
        cmd.args(extra);
        cmd.arg("--cores")
            .arg(cores)
            .arg("--link-socket")
            .arg(self.path("link.sock"))
            .arg("--state-dir")
            .arg(self.path("dataplane-state"))
            .arg("--health-slots")
            .arg("4096");
        let log = self.log("dataplane");
        self.dataplane = Some(Proc::spawn("strait-dataplane", cmd, log));
    }

    /// Runs straitctl against this node's agent.
    pub fn ctl(&self, args: &[&str]) -> Output {
        straitctl(&self.api(), args)
    }

    /// What the data plane logged (empty before it starts).
    pub fn dataplane_log(&self) -> String {
        self.dataplane.as_ref().map(Proc::log).unwrap_or_default()
    }

    /// Writes `yaml` into the node's directory and applies it with `straitctl apply --wait`;
    /// panics with straitctl's output and the data plane's log if that fails.
    pub fn apply_yaml(&self, yaml: &str) {
        let file = self.path("config.yaml");
        std::fs::write(&file, yaml).expect("writing the config");
        let out = self.ctl(&["apply", "-f", file.to_str().expect("utf-8 path"), "--wait"]);
        assert!(
            out.status.success(),
            "apply failed: {}{}\n--- data plane log ---\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.dataplane_log()
        );
    }

    /// `straitctl status --json`, or `None` while the agent does not answer.
    pub fn try_status(&self) -> Option<Value> {
        let out = self.ctl(&["status", "--json"]);
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).expect("status JSON"))
    }

    /// The status; panics if the agent does not answer.
    pub fn status(&self) -> Value {
        self.try_status().expect("agent answers status")
    }

    /// Waits until a connected data plane has `workers` workers all running `generation`.
    pub fn wait_workers_on(&self, generation: u64, workers: usize) -> Value {
        wait_until(
            START_TIMEOUT,
            &format!("{workers} workers on generation {generation}"),
            || {
                let s = self.try_status()?;
                let ws = s["workers"].as_array()?;
                let on = s["dataplane"]["connected"] == true
                    && ws.len() == workers
                    && ws
                        .iter()
                        .all(|w| w["generation"] == generation && w["state"] == "running");
                on.then_some(s)
            },
        )
    }

    /// The generation every worker reports, if they agree.
    pub fn worker_generations(&self) -> Vec<u64> {
        self.status()["workers"]
            .as_array()
            .map_or_else(Vec::new, |ws| {
                ws.iter()
                    .map(|w| w["generation"].as_u64().unwrap_or(u64::MAX))
                    .collect()
            })
    }
}

/// The cores a test may use: the first two this process may run on (one on a 1-core box).
pub fn test_cores() -> (String, usize) {
    let cores: Vec<_> = strait_dataplane::allowed_cores()
        .into_iter()
        .take(2)
        .collect();
    (
        cores
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(","),
        cores.len(),
    )
}
