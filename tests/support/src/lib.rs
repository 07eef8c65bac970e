//! Test support shared by Strait's crates.
//!
//! [`Netns`] is a named network namespace that a test creates and that is deleted (with every
//! interface in it) when the value drops. Only root can create one: [`Netns::create`] returns
//! `None` for anyone else after saying so on stderr, unless `STRAIT_REQUIRE_NETNS=1` (CI), in
//! which case it panics, so a namespace test never passes by skipping.
#![forbid(unsafe_code)]

use std::{
    fs::File,
    process::{Command, Output},
    sync::atomic::{AtomicU32, Ordering},
};

/// Set to `1` to make namespace tests fail instead of skipping when they cannot run.
pub const REQUIRE_ENV: &str = "STRAIT_REQUIRE_NETNS";

/// A network namespace named `strait-t<pid>-<n>-<tag>`, deleted on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

fn required() -> bool {
    std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1")
}

/// Says why a namespace test cannot run: panics under `STRAIT_REQUIRE_NETNS=1`, otherwise
/// prints the reason and returns `None`.
pub fn cannot_run<T>(why: &str) -> Option<T> {
    assert!(!required(), "{REQUIRE_ENV}=1 but {why}");
    eprintln!("SKIPPED (not a failure unless {REQUIRE_ENV}=1): {why}");
    None
}

/// Runs a command, panicking with its output if it fails.
pub fn run(program: &str, args: &[&str]) -> Output {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {}: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl Netns {
    /// Creates a fresh namespace with `lo` up, or `None` (see the crate documentation).
    pub fn create(tag: &str) -> Option<Netns> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        if !rustix::process::geteuid().is_root() {
            return cannot_run("network namespace tests need root");
        }
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("strait-t{}-{n}-{tag}", std::process::id());
        let out = Command::new("ip").args(["netns", "add", &name]).output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                return cannot_run(&format!(
                    "ip netns add failed: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                ));
            }
            Err(e) => return cannot_run(&format!("cannot run ip (iproute2): {e}")),
        }
        let ns = Netns { name };
        ns.exec(&["ip", "link", "set", "lo", "up"]);
        Some(ns)
    }

    /// The namespace's name (for `ip netns exec`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs a command inside the namespace, panicking with its output if it fails.
    pub fn exec(&self, args: &[&str]) -> Output {
        let mut full = vec!["netns", "exec", &self.name];
        full.extend_from_slice(args);
        run("ip", &full)
    }

    /// A `Command` that runs `program` inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name, program]);
        cmd
    }

    /// Moves the calling thread into the namespace: sockets it creates afterwards live there.
    /// Use a dedicated thread; it stays in the namespace until it ends.
    pub fn enter(&self) {
        let file = File::open(format!("/run/netns/{}", self.name))
            .unwrap_or_else(|e| panic!("opening namespace {}: {e}", self.name));
        rustix::thread::move_into_link_name_space(
            std::os::fd::AsFd::as_fd(&file),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .unwrap_or_else(|e| panic!("entering namespace {}: {e}", self.name));
    }

    /// Creates a veth pair with `queues` rx/tx queues on each end: `a` in this namespace and
    /// `b` in `peer`, both up, with checksum and segmentation offloads off (so every frame on
    /// the wire carries a full checksum and fits the MTU).
    pub fn veth(&self, a: &str, peer: &Netns, b: &str, queues: u32) {
        let q = queues.to_string();
        self.exec(&[
            "ip",
            "link",
            "add",
            a,
            "numtxqueues",
            &q,
            "numrxqueues",
            &q,
            "type",
            "veth",
            "peer",
            "name",
            b,
            "numtxqueues",
            &q,
            "numrxqueues",
            &q,
            "netns",
            &peer.name,
        ]);
        for (ns, dev) in [(self, a), (peer, b)] {
            ns.exec(&["ip", "link", "set", dev, "up"]);
            ns.exec(&[
                "ethtool", "-K", dev, "tx", "off", "rx", "off", "tso", "off", "gso", "off", "gro",
                "off",
            ]);
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn veth_pair_across_two_namespaces_carries_a_ping() {
        let (Some(a), Some(b)) = (Netns::create("a"), Netns::create("b")) else {
            return;
        };
        a.veth("va", &b, "vb", 2);
        a.exec(&["ip", "addr", "add", "198.18.200.1/24", "dev", "va"]);
        b.exec(&["ip", "addr", "add", "198.18.200.2/24", "dev", "vb"]);
        a.exec(&["ping", "-c", "1", "-W", "2", "198.18.200.2"]);
        let name = a.name().to_owned();
        drop(a);
        let list = run("ip", &["netns", "list"]);
        assert!(!String::from_utf8_lossy(&list.stdout).contains(&name));
    }
}
