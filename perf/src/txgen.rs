//! The packet generator of the testbed benchmarks: `dpdk-testpmd` in txonly mode.
//!
//! testpmd runs in the client's namespace over `net_af_packet` on its eth0, pinned to one core
//! with `taskset` (both EAL lcores, the idle main one and the forwarding one, on that core),
//! without hugepages. It sends 60-byte frames (64 on the wire with the FCS) of UDP from
//! `SRC:PORT` to `DST:PORT` to a given MAC; with `--txonly-multi-flow` the source address
//! varies per frame over 256 values (`DST | n << 8` plus the forwarding lcore's id, so
//! `198.18.n.101` for a VIP of 198.18.0.100): 256 flows.
//!
//! Each generator has its own `--file-prefix`; dropping it stops testpmd by PID and removes
//! the runtime directory EAL leaves in `/var/run/dpdk` (and that directory if this generator
//! made it and it is empty). Without hugepages nothing goes to hugetlbfs.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use strait_e2e::Proc;

/// Where EAL keeps runtime files (one directory per `--file-prefix`).
const DPDK_RUN_DIR: &str = "/var/run/dpdk";

/// What to send.
#[derive(Clone, Debug)]
pub struct Traffic {
    /// Namespace to run in (its eth0 is the port).
    pub netns: String,
    /// Core to pin testpmd to.
    pub core: usize,
    /// Niceness to run testpmd at.
    pub nice: i32,
    /// Destination MAC (the node's eth0).
    pub peer_mac: String,
    /// Source address (varied by multi-flow) and destination address.
    pub ips: (String, String),
    /// UDP source and destination ports.
    pub ports: (u16, u16),
}

/// A running testpmd; stopped and cleaned up on drop.
#[derive(Debug)]
pub struct Generator {
    proc: Option<Proc>,
    runtime_dir: PathBuf,
    made_run_dir: bool,
}

impl Generator {
    /// Starts testpmd sending `traffic`; `prefix` must be unique on the machine, `log` gets
    /// its output.
    pub fn start(traffic: &Traffic, prefix: &str, log: PathBuf) -> Generator {
        let made_run_dir = !Path::new(DPDK_RUN_DIR).exists();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &traffic.netns])
            .args(crate::nice_prefix(traffic.nice))
            .args(["taskset", "-c"])
            .arg(traffic.core.to_string())
            .args([
                "dpdk-testpmd",
                "--no-huge",
                "-m",
                "512",
                "--no-pci",
                "--no-shconf",
            ])
            .arg(format!("--file-prefix={prefix}"))
            .arg(format!("--lcores=0@{0},1@{0}", traffic.core))
            .arg("--vdev=net_af_packet0,iface=eth0")
            .arg("--")
            .args([
                "--forward-mode=txonly",
                "--txonly-multi-flow",
                "--txpkts=60",
            ])
            .arg(format!("--tx-ip={},{}", traffic.ips.0, traffic.ips.1))
            .arg(format!("--tx-udp={},{}", traffic.ports.0, traffic.ports.1))
            .arg(format!("--eth-peer=0,{}", traffic.peer_mac))
            .args([
                "--total-num-mbufs=16384",
                "--nb-cores=1",
                "--stats-period=5",
            ]);
        // `ip netns exec`, `nice` and `taskset` all exec, so the PID is testpmd's own.
        let proc = Proc::spawn("dpdk-testpmd", cmd, log);
        Generator {
            proc: Some(proc),
            runtime_dir: Path::new(DPDK_RUN_DIR).join(prefix),
            made_run_dir,
        }
    }

    /// True while testpmd runs.
    pub fn alive(&mut self) -> bool {
        self.proc.as_mut().is_some_and(Proc::alive)
    }

    /// What testpmd printed so far.
    pub fn log(&self) -> String {
        self.proc.as_ref().map(Proc::log).unwrap_or_default()
    }
}

impl Drop for Generator {
    fn drop(&mut self) {
        // Proc's drop: SIGTERM (testpmd stops its port and exits), SIGKILL after 3 s, reap.
        drop(self.proc.take());
        let _ = std::fs::remove_dir_all(&self.runtime_dir);
        if self.made_run_dir {
            // Fails, harmlessly, if another DPDK process has its files there by now.
            let _ = std::fs::remove_dir(DPDK_RUN_DIR);
        }
    }
}
