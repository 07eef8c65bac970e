//! The network-namespace testbed of `scripts/netns-testbed.sh`, as a guard for tests.
//!
//! [`Testbed::up`] brings one up under a prefix unique to the test process and call; dropping
//! it runs `down`, so a failing assertion leaves no namespace or backend behind. Namespace
//! membership is per thread: [`Testbed::in_client`] runs a closure on a thread inside the
//! client namespace, and threads it spawns inherit it.

use std::{
    collections::BTreeMap,
    fs::File,
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::atomic::{AtomicU32, Ordering},
    thread,
};

use strait_testsupport::cannot_run;

use crate::bin;

/// A testbed brought up by the script; `down` runs when it drops.
#[derive(Debug)]
pub struct Testbed {
    prefix: String,
    down: bool,
}

impl Testbed {
    pub fn up() -> Option<Testbed> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        if !rustix::process::geteuid().is_root() {
            return cannot_run("the network-namespace testbed needs root");
        }
        for (tool, package) in [("ip", "iproute2"), ("ethtool", "ethtool")] {
            if Command::new(tool).arg("-V").output().is_err() {
                return cannot_run(&format!("{tool} is missing (Debian package {package})"));
            }
        }
        let testbed = Testbed {
            prefix: format!(
                "stb{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ),
            down: false,
        };
        // The guard exists before `up`, so a half-made testbed is torn down too.
        let out = testbed.script("up");
        assert!(out.status.success(), "up failed:\n{}", text(&out));
        Some(testbed)
    }

    pub fn script(&self, cmd: &str) -> Output {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/netns-testbed.sh");
        let bin_dir = bin("strait-echo").parent().expect("bin dir").to_owned();
        Command::new("bash")
            .arg(script)
            .arg(cmd)
            .env("STRAIT_TESTBED", &self.prefix)
            .env("STRAIT_BIN_DIR", bin_dir)
            .output()
            .expect("running scripts/netns-testbed.sh")
    }

    /// The prefix of every namespace of this testbed.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The namespace of `host` (client, node, b1, b2, b3, sw).
    pub fn namespace(&self, host: &str) -> String {
        format!("{}-{host}", self.prefix)
    }

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

    /// The client's neighbour entry for `ip` (`ip neigh show to IP`).
    pub fn client_neighbour(&self, ip: &str) -> String {
        let out = Command::new("ip")
            .args(["-n", &self.namespace("client"), "neigh", "show", "to", ip])
            .output()
            .expect("ip neigh");
        text(&out)
    }

    pub fn down(mut self) -> Output {
        self.down = true;
        self.script("down")
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        if !self.down {
            let out = self.script("down");
            eprintln!(
                "testbed {} torn down by the guard:\n{}",
                self.prefix,
                text(&out)
            );
        }
    }
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
