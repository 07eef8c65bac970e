//! The network-namespace testbed (`scripts/netns-testbed.sh`) as a guard for benchmarks.
//!
//! Make a [`Testbed`] first (it brings nothing up), then [`Testbed::up`] it, once per run:
//! the script's `up` tears down whatever the prefix held before. [`Testbed::down`] ends a run;
//! if a run fails or is interrupted, dropping the guard runs `down`, so no namespace and no
//! backend is left behind. Everything else a benchmark configures (RPS masks, drop rules)
//! lives inside the testbed's namespaces and goes with them.
//!
//! The benchmark's counters come from the switch namespace, where every host's veth peer is a
//! bridge port: one `ip -s link` dump reads them all at once. A veth's receive counters are
//! its peer's transmit counters, so `p-client`'s rx is what the client sent onto the segment and
//! `p-bK`'s tx is what was handed to backend K.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

use serde_json::Value;

/// The backends' names.
pub const BACKENDS: [&str; 3] = ["b1", "b2", "b3"];

/// A testbed under one prefix; `down` runs when it drops while up.
#[derive(Debug)]
pub struct Testbed {
    prefix: String,
    bin_dir: PathBuf,
    up: bool,
}

/// Frames counted on the segment (see the module doc).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Frames the client put on the segment.
    pub sent: u64,
    /// Frames handed to the three backends together.
    pub delivered: u64,
    /// Frames handed to the node.
    pub node_in: u64,
    /// Frames dropped on the way into the node (its receive backlog was full).
    pub node_in_drops: u64,
    /// Frames the node sent.
    pub node_out: u64,
}

impl Testbed {
    /// A guard for the testbed `prefix`, with strait-echo taken from `bin_dir`; nothing is up.
    pub fn new(prefix: &str, bin_dir: &Path) -> Testbed {
        Testbed {
            prefix: prefix.to_owned(),
            bin_dir: bin_dir.to_owned(),
            up: false,
        }
    }

    fn script(&self, args: &[&str]) -> Output {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/netns-testbed.sh");
        Command::new("bash")
            .arg(script)
            .args(args)
            .env("STRAIT_TESTBED", &self.prefix)
            .env("STRAIT_BIN_DIR", &self.bin_dir)
            // One queue on the node's link: a single worker's AF_XDP socket binds queue 0, and
            // the RPS mask of rx-0 then steers everything the node's kernel receives.
            .env("STRAIT_TESTBED_QUEUES", "1")
            .stdin(Stdio::null())
            .output()
            .expect("running scripts/netns-testbed.sh")
    }

    /// (Re)creates the testbed; with `kernel_nat` the node's kernel does the full NAT.
    pub fn up(&mut self, kernel_nat: bool) {
        // Marked up before the script runs, so a half-made testbed is torn down too.
        self.up = true;
        let args: &[&str] = if kernel_nat {
            &["up", "--kernel-nat"]
        } else {
            &["up"]
        };
        let out = self.script(args);
        assert!(out.status.success(), "testbed up failed:\n{}", text(&out));
    }

    /// Stops the backends and deletes the namespaces.
    pub fn down(&mut self) {
        if std::mem::take(&mut self.up) {
            let out = self.script(&["down"]);
            if !out.status.success() {
                eprintln!("testbed {} down failed:\n{}", self.prefix, text(&out));
            }
        }
    }

    /// The namespace of `host` (sw, client, node, b1…).
    pub fn ns(&self, host: &str) -> String {
        format!("{}-{host}", self.prefix)
    }

    /// `program` run inside `host`'s namespace (`ip netns exec` execs it: the PID is its own).
    pub fn command(&self, host: &str, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns(host)]).arg(program);
        cmd
    }

    /// Runs `args` in `host`'s namespace, with `stdin` as its input; panics if it fails.
    pub fn run(&self, host: &str, args: &[&str], stdin: &str) -> String {
        use std::io::Write;
        let mut cmd = self.command(host, args[0]);
        cmd.args(&args[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("ip netns exec");
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(stdin.as_bytes()).expect("writing stdin");
        drop(input);
        let out = child.wait_with_output().expect("ip netns exec");
        assert!(
            out.status.success(),
            "{args:?} in {} failed:\n{}",
            self.ns(host),
            text(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The links of `host`'s namespace with their statistics (`ip -j -s link`).
    fn links(&self, host: &str) -> Vec<Value> {
        let out = Command::new("ip")
            .args(["-n", &self.ns(host), "-j", "-s", "link", "show"])
            .output()
            .expect("ip link");
        assert!(out.status.success(), "ip link: {}", text(&out));
        serde_json::from_slice::<Vec<Value>>(&out.stdout).expect("ip -j link JSON")
    }

    /// The MAC address of `host`'s eth0.
    pub fn mac(&self, host: &str) -> String {
        let links = self.links(host);
        let eth0 = links.iter().find(|l| l["ifname"] == "eth0").expect("eth0");
        eth0["address"].as_str().expect("a MAC").to_owned()
    }

    /// The segment's counters, read in one dump.
    pub fn counters(&self) -> Counters {
        let links = self.links("sw");
        let count = |port: &str, dir: &str, what: &str| {
            let link = links
                .iter()
                .find(|l| l["ifname"] == port)
                .unwrap_or_else(|| panic!("bridge port {port} missing"));
            link["stats64"][dir][what].as_u64().expect("a counter")
        };
        Counters {
            sent: count("p-client", "rx", "packets"),
            delivered: BACKENDS
                .iter()
                .map(|b| count(&format!("p-{b}"), "tx", "packets"))
                .sum(),
            node_in: count("p-node", "tx", "packets"),
            node_in_drops: count("p-node", "tx", "dropped"),
            node_out: count("p-node", "rx", "packets"),
        }
    }
}

impl std::ops::Sub for Counters {
    type Output = Counters;

    /// What was counted between two readings (`later - earlier`).
    fn sub(self, earlier: Counters) -> Counters {
        Counters {
            sent: self.sent - earlier.sent,
            delivered: self.delivered - earlier.delivered,
            node_in: self.node_in - earlier.node_in,
            node_in_drops: self.node_in_drops - earlier.node_in_drops,
            node_out: self.node_out - earlier.node_out,
        }
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        self.down();
    }
}

/// A command's stdout and stderr, for error messages.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
