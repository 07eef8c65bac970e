//! The network-namespace testbed of `scripts/netns-testbed.sh`, as a guard for tests and
//! benchmarks.
//!
//! [`Testbed::up`] brings one up for a test, under a prefix unique to the test process and call;
//! a benchmark makes a guard with [`Testbed::new`] and [`start`](Testbed::start)s and
//! [`down`](Testbed::down)s it once per run. Dropping a guard that is up runs `down`, so a
//! failing assertion leaves no namespace or backend behind. Namespace membership is per thread:
//! [`Testbed::in_client`] runs a closure on a thread inside the client namespace, and threads it
//! spawns inherit it.

use std::{
    collections::BTreeMap,
    ffi::OsStr,
    fs::File,
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    thread,
};

use serde_json::Value;
use strait_testsupport::cannot_run;

use crate::bin;

/// A testbed under one prefix; `down` runs when it drops while up.
#[derive(Debug)]
pub struct Testbed {
    prefix: String,
    bin_dir: PathBuf,
    queues: Option<u32>,
    up: bool,
}

impl Testbed {
    /// A testbed for a test, up: the binaries come from the test's own target directory. `None`
    /// (said on stderr) when it cannot run, unless `STRAIT_REQUIRE_NETNS=1` (then it panics).
    pub fn up() -> Option<Testbed> {
        Testbed::up_with_queues(None)
    }

    /// [`Testbed::up`] with `queues` rx/tx queues on the node's link (`None`: the script's
    /// default).
    pub fn up_with_queues(queues: Option<u32>) -> Option<Testbed> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        if !rustix::process::geteuid().is_root() {
            return cannot_run("the network-namespace testbed needs root");
        }
        for (tool, package) in [("ip", "iproute2"), ("ethtool", "ethtool")] {
            if Command::new(tool).arg("-V").output().is_err() {
                return cannot_run(&format!("{tool} is missing (Debian package {package})"));
            }
        }
        let prefix = format!(
            "stb{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let bin_dir = bin("strait-echo").parent().expect("bin dir").to_owned();
        let mut testbed = Testbed::new(&prefix, &bin_dir);
        testbed.queues = queues;
        testbed.start(false);
        Some(testbed)
    }

    /// A guard for the testbed `prefix`, with strait-echo taken from `bin_dir`; nothing is up.
    pub fn new(prefix: &str, bin_dir: &Path) -> Testbed {
        Testbed {
            prefix: prefix.to_owned(),
            bin_dir: bin_dir.to_owned(),
            queues: None,
            up: false,
        }
    }

    /// Rx/tx queues on the node's link (the script's default otherwise).
    pub fn with_queues(mut self, queues: u32) -> Testbed {
        self.queues = Some(queues);
        self
    }

    fn script(&self, args: &[&str]) -> Output {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/netns-testbed.sh");
        let mut cmd = Command::new("bash");
        cmd.arg(script)
            .args(args)
            .env("STRAIT_TESTBED", &self.prefix)
            .env("STRAIT_BIN_DIR", &self.bin_dir)
            .stdin(Stdio::null());
        if let Some(q) = self.queues {
            cmd.env("STRAIT_TESTBED_QUEUES", q.to_string());
        }
        cmd.output().expect("running scripts/netns-testbed.sh")
    }

    /// (Re)creates the testbed; with `kernel_nat` the node's kernel does the full NAT.
    pub fn start(&mut self, kernel_nat: bool) {
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

    /// Stops the backends and deletes the namespaces; the script's output, or `None` if the
    /// testbed was not up.
    pub fn down(&mut self) -> Option<Output> {
        std::mem::take(&mut self.up).then(|| self.script(&["down"]))
    }

    /// The prefix of every namespace of this testbed.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The namespace of `host` (client, node, b1, b2, b3, sw).
    pub fn namespace(&self, host: &str) -> String {
        format!("{}-{host}", self.prefix)
    }

    /// Where the script keeps the backends' PID files and logs.
    pub fn run_dir(&self) -> PathBuf {
        Path::new("/run/strait-testbed").join(&self.prefix)
    }

    /// Backend name → strait-echo PID, from the script's PID files.
    pub fn backend_pids(&self) -> BTreeMap<String, i32> {
        ["b1", "b2", "b3"]
            .into_iter()
            .map(|b| {
                let file = self.run_dir().join(format!("{b}.pid"));
                let pid = std::fs::read_to_string(&file)
                    .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                (b.to_owned(), pid.trim().parse().expect("a PID"))
            })
            .collect()
    }

    /// Runs `f` on a thread inside the client namespace; sockets it opens live there.
    pub fn in_client<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.namespace("client"));
        thread::scope(|s| {
            s.spawn(|| {
                let ns = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
                rustix::thread::move_into_link_name_space(
                    std::os::fd::AsFd::as_fd(&ns),
                    Some(rustix::thread::LinkNameSpaceType::Network),
                )
                .unwrap_or_else(|e| panic!("entering {path}: {e}"));
                f()
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// `program` run inside `host`'s namespace (`ip netns exec` execs it: the PID is its own).
    pub fn command(&self, host: &str, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.namespace(host)])
            .arg(program);
        cmd
    }

    /// Runs `args` in `host`'s namespace with `stdin` as its input; its stdout. Panics if it
    /// fails.
    pub fn run(&self, host: &str, args: &[&str], stdin: &str) -> String {
        let mut child = self
            .command(host, args[0])
            .args(&args[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ip netns exec");
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(stdin.as_bytes()).expect("writing stdin");
        drop(input);
        let out = child.wait_with_output().expect("ip netns exec");
        assert!(
            out.status.success(),
            "{args:?} in {} failed:\n{}",
            self.namespace(host),
            text(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The links of `host`'s namespace with their statistics (`ip -j -s link`).
    pub fn links(&self, host: &str) -> Vec<Value> {
        let out = Command::new("ip")
            .args(["-n", &self.namespace(host), "-j", "-s", "link", "show"])
            .output()
            .expect("ip link");
        assert!(out.status.success(), "ip link: {}", text(&out));
        serde_json::from_slice::<Vec<Value>>(&out.stdout).expect("ip -j link JSON")
    }

    /// The MAC address of `host`'s eth0, as `ip` prints it.
    pub fn mac(&self, host: &str) -> String {
        let links = self.links(host);
        let eth0 = links.iter().find(|l| l["ifname"] == "eth0").expect("eth0");
        eth0["address"].as_str().expect("a MAC").to_owned()
    }

    /// The client's neighbour entry for `ip` (`ip neigh show to IP`).
    pub fn client_neighbour(&self, ip: &str) -> String {
        let out = Command::new("ip")
            .args(["-n", &self.namespace("client"), "neigh", "show", "to", ip])
            .output()
            .expect("ip neigh");
        text(&out)
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        if let Some(out) = self.down() {
            eprintln!(
                "testbed {} torn down by the guard:\n{}",
                self.prefix,
                text(&out)
            );
        }
    }
}

/// A command's stdout and stderr, for messages.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
