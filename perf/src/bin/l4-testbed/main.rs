//! `perf/run.sh l4-testbed`: Strait's L4 full NAT against the kernel's, in packets per second
//! on the network-namespace testbed (`scripts/netns-testbed.sh`).
//!
//! One run, for one system: bring the testbed up (`--kernel-nat` for the kernel baseline,
//! plain for Strait); steer everything the node's kernel receives to the core under test (RPS
//! on the node's eth0); for Strait, start an agent (on the generator's core) and a data plane
//! with one worker on the core under test, over af_xdp or af_packet, apply
//! `configs/testbed.yaml` and wait until the worker runs it. Check that UDP to VIP:80 comes
//! back from the backends (strait-probe), then make each backend drop UDP to 8080 at its eth0
//! ingress, so no echo replies load the path (the drop comes after the frame is counted as
//! handed to the backend). Start testpmd on the generator's core, sending 64-byte UDP frames
//! from 256 source addresses to VIP:80 at the node's MAC; after a warm-up, count over a fixed
//! window what the client put on the segment and what the backends were handed. Stop
//! everything by PID and take the testbed down (guards do it on failure or Ctrl-C too).
//!
//! The runs go kernel, af_xdp, af_packet, `--rounds` times; each is printed on stderr. The
//! `RESULT` line has each system's median delivered rate, Strait's ratios to the kernel and the
//! loss, 1 − delivered/sent. Without AF_XDP support in the build, af_xdp is `na`.

mod args;

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use args::Args;
use strait_e2e::{Node, Proc, Testbed, bin, testbed::text, wait_until};
use strait_perf::{
    interrupt::{self, Stop},
    median, nice_prefix, result_line_opt,
    testbed::{BACKENDS, Counters, counters},
    txgen::{Generator, Traffic},
};

/// How long a process or the first frames get.
const START: Duration = Duration::from_secs(20);
/// Each backend drops UDP to strait-echo's port before any socket sees it.
const DROP_RULES: &str = "table netdev strait_bench {
    chain ingress {
        type filter hook ingress device eth0 priority 0; policy accept;
        udp dport 8080 drop
    }
}
";

/// A directory for the generator's logs, removed on drop.
#[derive(Debug)]
struct LogDir(PathBuf);

impl Drop for LogDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum System {
    Kernel,
    AfXdp,
    AfPacket,
}

impl System {
    const ALL: [System; 3] = [System::Kernel, System::AfXdp, System::AfPacket];

    fn name(self) -> &'static str {
        match self {
            System::Kernel => "kernel",
            System::AfXdp => "af_xdp",
            System::AfPacket => "af_packet",
        }
    }
}

/// The generator's core and the core under test.
#[derive(Clone, Copy, Debug)]
struct Cores {
    generator: usize,
    sut: usize,
}

/// One measured window.
#[derive(Clone, Copy, Debug)]
struct Run {
    count: Counters,
    secs: f64,
}

impl Run {
    fn kpps(&self) -> f64 {
        self.count.delivered as f64 / self.secs / 1e3
    }
    fn sent_kpps(&self) -> f64 {
        self.count.sent as f64 / self.secs / 1e3
    }
    /// 1 − delivered/sent; never below 0 (a few ARP and ND frames reach the backends too).
    fn loss(&self) -> f64 {
        (1.0 - self.count.delivered as f64 / self.count.sent as f64).max(0.0)
    }
}

/// A Strait node on the testbed. Fields drop in order: the data plane stops before the agent.
#[derive(Debug)]
struct Strait {
    dataplane: Proc,
    node: Node,
}

/// Everything one benchmark invocation shares.
struct Bench {
    args: Args,
    cores: Cores,
    testbed: Testbed,
    prefix: String,
    logs: LogDir,
    stop: Stop,
}

impl Bench {
    /// Starts an agent and a data plane on the node; `Err` if the build lacks the device.
    fn start_strait(&self, device: &str) -> Result<Strait, String> {
        let mut node = Node::new();
        node.agent_cpus = Some(self.cores.generator.to_string());
        node.start_agent();
        let [nice, n, adjust] = nice_prefix(self.args.nice);
        let mut cmd = self.testbed.command("node", nice);
        cmd.args([n, adjust])
            .arg(bin("strait-dataplane"))
            .arg("--cores")
            .arg(self.cores.sut.to_string())
            .arg("--link-socket")
            .arg(node.path("link.sock"))
            .arg("--state-dir")
            .arg(node.path("dataplane-state"))
            .args(["--health-slots", "1024", "--interface", "eth0"])
            .args(["--node-v4", "198.18.0.2", "--node-v6", "2001:2::2"])
            .args(["--device", device]);
        if device == "af_xdp" {
            cmd.args(["--xdp-mode", &self.args.xdp_mode]);
        }
        let mut dataplane = Proc::spawn("strait-dataplane", cmd, node.path("dataplane.log"));
        let ready = wait_until(START, "the data plane's packet path", || {
            if dataplane.log().contains("packet path ready") {
                Some(true)
            } else {
                (!dataplane.alive()).then_some(false)
            }
        });
        if !ready {
            let log = dataplane.log();
            if log.contains("no AF_XDP support") {
                return Err(log.lines().last().unwrap_or_default().to_owned());
            }
            panic!("strait-dataplane exited:\n{log}");
        }
        let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/testbed.yaml");
        let out = node.ctl(&["apply", "-f", config.to_str().expect("path"), "--wait"]);
        assert!(
            out.status.success(),
            "straitctl apply failed:\n{}\ndata plane:\n{}",
            text(&out),
            dataplane.log()
        );
        Ok(Strait { dataplane, node })
    }

    /// UDP to VIP:80 comes back from the backends (a few tries: neighbours are learned first).
    fn check_path(&self) {
        let mut last = String::new();
        for _ in 0..5 {
            let out = self
                .testbed
                .command("client", bin("strait-probe"))
                .args(["udp", "--target", "198.18.0.100:80", "--connections", "30"])
                .args(["--timeout", "500"])
                .output()
                .expect("running strait-probe");
            if out.status.success() {
                return;
            }
            last = text(&out);
        }
        panic!("UDP to the VIP is not answered: {last}");
    }

    /// The segment's counters and when they were read: the middle of the read, which takes
    /// a few milliseconds (this process runs at nice -20, so a busy core does not delay it).
    fn read_counters(&self) -> (Counters, Instant) {
        let before = Instant::now();
        let counters = counters(&self.testbed);
        (counters, before + before.elapsed() / 2)
    }

    /// One run of `system`: `None` if the build cannot run it (the reason is printed).
    fn run(&mut self, system: System) -> Option<Run> {
        self.stop.sleep(Duration::ZERO);
        self.testbed.start(system == System::Kernel);
        let mask = format!("{:x}", 1u64 << self.cores.sut);
        let rps = format!("echo {mask} > /sys/class/net/eth0/queues/rx-0/rps_cpus");
        self.testbed.run("node", &["sh", "-c", &rps], "");
        let strait = match system {
            System::Kernel => None,
            System::AfXdp | System::AfPacket => match self.start_strait(system.name()) {
                Ok(s) => Some(s),
                Err(why) => {
                    eprintln!("{}: skipped, reported as na: {why}", system.name());
                    bench_down(&mut self.testbed);
                    return None;
                }
            },
        };
        self.check_path();
        for b in BACKENDS {
            self.testbed.run(b, &["nft", "-f", "-"], DROP_RULES);
        }
        let traffic = Traffic {
            netns: self.testbed.namespace("client"),
            core: self.cores.generator,
            nice: self.args.nice,
            peer_mac: self.testbed.mac("node"),
            ips: ("198.18.0.1".into(), "198.18.0.100".into()),
            ports: (9, 80),
        };
        let log = self.logs.0.join(format!("testpmd-{}.log", system.name()));
        let mut generator = Generator::start(&traffic, &format!("{}-gen", self.prefix), log);
        let before = counters(&self.testbed);
        wait_until(START, "the generator's first frames", || {
            assert!(generator.alive(), "testpmd exited:\n{}", generator.log());
            (counters(&self.testbed).sent > before.sent + 1000).then_some(())
        });
        self.stop.sleep(Duration::from_secs(self.args.warmup));
        let (c0, t0) = self.read_counters();
        self.stop.sleep(Duration::from_secs(self.args.seconds));
        let (c1, t1) = self.read_counters();
        assert!(generator.alive(), "testpmd exited:\n{}", generator.log());
        if let Some(mut s) = strait {
            // The worker's own counters (cumulative, since the data plane started).
            let stats = text(&s.node.ctl(&["stats"]));
            for line in stats.lines().filter(|l| l.starts_with("worker")) {
                eprintln!("{}: {line}", system.name());
            }
            assert!(
                s.dataplane.alive(),
                "the data plane exited:\n{}",
                s.dataplane.log()
            );
            drop(generator);
            if !s.dataplane.stop(Duration::from_secs(5)) {
                eprintln!("warning: the data plane did not exit cleanly on SIGTERM");
            }
            drop(s.node);
        } else {
            drop(generator);
        }
        bench_down(&mut self.testbed);
        let run = Run {
            count: c1 - c0,
            secs: (t1 - t0).as_secs_f64(),
        };
        assert!(
            run.count.delivered > 0,
            "nothing reached the backends: {run:?}"
        );
        Some(run)
    }
}

/// Whether `program` is an executable on PATH.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

fn main() {
    let args = Args::parse();
    // Everything the benchmark starts is owned inside `bench`, so it is stopped by the time
    // `run` returns or exits, however the benchmark ends.
    interrupt::run("l4-testbed", || bench(args));
}

fn bench(args: Args) {
    assert!(
        rustix::process::geteuid().is_root(),
        "l4-testbed needs root (network namespaces)"
    );
    // Reading the counters must not wait for a core that testpmd or the worker keeps busy. The
    // children inherit it; testpmd and the data plane are set to --nice.
    rustix::process::setpriority_process(None, -20).expect("setpriority -20");
    for (tool, package) in [
        ("dpdk-testpmd", "dpdk-dev"),
        ("nft", "nftables"),
        ("ip", "iproute2"),
        ("ethtool", "ethtool"),
    ] {
        assert!(
            on_path(tool),
            "{tool} is missing: install the Debian package {package}"
        );
    }
    let allowed = strait_dataplane::allowed_cores();
    let cores = Cores {
        generator: allowed[0],
        sut: allowed.get(1).copied().unwrap_or_else(|| {
            eprintln!("only one core: the generator and the system under test share it");
            allowed[0]
        }),
    };
    let stop = Stop::install();
    let prefix = format!("lb{}", std::process::id());
    let logs = LogDir(std::env::temp_dir().join(format!("{prefix}-logs")));
    std::fs::create_dir_all(&logs.0).expect("log directory");
    let bin_dir: PathBuf = bin("strait-echo").parent().expect("bin dir").to_owned();
    let mut bench = Bench {
        // One queue on the node's link: a single worker's AF_XDP socket binds queue 0, and the
        // RPS mask of rx-0 then steers everything the node's kernel receives.
        testbed: Testbed::new(&prefix, &bin_dir).with_queues(1),
        args,
        cores,
        prefix,
        logs,
        stop,
    };
    eprintln!(
        "l4-testbed: testpmd on core {}, system under test on core {}, {} s per run after {} s \
         of warm-up, af_xdp in {} mode",
        cores.generator, cores.sut, bench.args.seconds, bench.args.warmup, bench.args.xdp_mode
    );
    let mut runs: Vec<(System, Run)> = Vec::new();
    let mut skipped = Vec::new();
    let total = bench.args.rounds * System::ALL.len();
    for round in 0..bench.args.rounds {
        for (i, system) in System::ALL.into_iter().enumerate() {
            if skipped.contains(&system) {
                continue;
            }
            let Some(run) = bench.run(system) else {
                skipped.push(system);
                continue;
            };
            eprintln!(
                "run {}/{total} {}: delivered {:.1} kpps, sent {:.1} kpps, loss {:.3} \
                 (in {:.2} s: sent {}, into the node {} + {} dropped at its backlog, \
                 out of the node {}, delivered {})",
                round * System::ALL.len() + i + 1,
                system.name(),
                run.kpps(),
                run.sent_kpps(),
                run.loss(),
                run.secs,
                run.count.sent,
                run.count.node_in,
                run.count.node_in_drops,
                run.count.node_out,
                run.count.delivered,
            );
            runs.push((system, run));
        }
    }
    let summary = |system: System, f: fn(&Run) -> f64| {
        let v: Vec<f64> = runs
            .iter()
            .filter(|r| r.0 == system)
            .map(|r| f(&r.1))
            .collect();
        (!v.is_empty()).then(|| median(&v))
    };
    let kpps = System::ALL.map(|s| summary(s, Run::kpps));
    let loss = System::ALL.map(|s| summary(s, Run::loss));
    let ratio = |k: Option<f64>| Some(k? / kpps[0]?);
    println!(
        "{}",
        result_line_opt(
            "l4-testbed",
            &[
                ("kernel_kpps", kpps[0]),
                ("af_xdp_kpps", kpps[1]),
                ("af_packet_kpps", kpps[2]),
                ("af_xdp_ratio", ratio(kpps[1])),
                ("af_packet_ratio", ratio(kpps[2])),
                ("kernel_loss", loss[0]),
                ("af_xdp_loss", loss[1]),
                ("af_packet_loss", loss[2]),
            ]
        )
    );
}

/// Takes the testbed down, saying so if the script failed.
fn bench_down(testbed: &mut Testbed) {
    if let Some(out) = testbed.down()
        && !out.status.success()
    {
        eprintln!("testbed {} down failed:\n{}", testbed.prefix(), text(&out));
    }
}
