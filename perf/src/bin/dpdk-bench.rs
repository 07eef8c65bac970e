//! `perf/run.sh dpdk`: the whole L4 pipeline on a DPDK device against `dpdk-testpmd` on the
//! same kind of device, one core.
//!
//! The device is DPDK's `net_ring` vdev (`net_ring0`): a loopback, whatever a port transmits
//! it receives back, through one ring of 1024 slots per queue. Both sides keep the same number
//! of 60-byte frames circulating (`--in-flight`, default 512, a multiple of the 32-frame
//! burst), in bursts of 32, on the same core (`--core`, default 0):
//!
//! * **Strait**, in this process: EAL without hugepages (`--huge` to use them), the ring opened
//!   through `strait_device::open` (`DeviceKind::Dpdk`, the data plane's own port), the real
//!   [`Pipeline`] with the `l4bench` image (full NAT, 16 backends). The ring is primed with
//!   `--in-flight` client frames; then each burst runs `begin_burst`, `rx_burst` (each frame
//!   through `Pipeline::process`, which must forward it; its buffer is then overwritten with
//!   the client frame of the next flow, round-robin over `--flows` (100k), and sent),
//!   `end_burst`, `flush`. So every frame the pipeline sees is a client frame of the next flow,
//!   as on the memory device in `l4-pipeline`. One pass over every flow first puts them all in
//!   the connection table. The pipeline's clock runs only while it does.
//! * **testpmd**, `--forward-mode=io` (receive, send back) and `macswap` (swap the MACs of each
//!   frame first), interactive: `--port-topology=loop --nb-cores=1 --burst=32 --txpkts=60`,
//!   `start tx_first N` sends N bursts of 32 first (N = in-flight / 32; the non-interactive
//!   `--tx-first` would send one), so the same number of frames circulates. Its forwarding
//!   lcore is on `--core`, its main lcore (the prompt) on the other core.
//!   After `--warmup` seconds, `show port stats all` twice, `--seconds` apart: the second's
//!   `Rx-pps` is testpmd's rate between the two (its own clock).
//!
//! Both sides run at nice -20 (as root). Each measurement waits `--warmup` seconds first
//! (Strait forwards them untimed). Rounds of (testpmd io, testpmd macswap, Strait) repeat
//! `--rounds` times; the `RESULT` line has the medians. testpmd is stopped by PID (a guard does
//! it on failure or Ctrl-C too) and the DPDK runtime directories of both sides are removed.

use std::{
    io::Write,
    path::PathBuf,
    process::{Child, ChildStdin, Command, Stdio},
    time::{Duration, Instant},
};

use rustix::{
    process::{Pid, Signal},
    thread::CpuSet,
};
use strait_device::{
    AnyPort, DeviceConfig, DeviceKind, DpdkOptions, Port, RingSizes, Verdict, open,
};
use strait_fastpath::{Action, Pipeline, counter};
use strait_perf::{
    interrupt::{self, Stop},
    l4bench::{self, FRAME_LEN, healthy},
    median, result_line,
};
use strait_table::{Image, ImageBytes};

/// Frames per burst, both sides.
const BURST: usize = 32;
/// Slots of `net_ring`'s ring: what circulates must fit (one slot stays free).
const RING: usize = 1024;
/// How long testpmd gets to start, or to print its statistics.
const START: Duration = Duration::from_secs(30);

const USAGE: &str = "usage: dpdk-bench [--rounds N] [--seconds N] [--warmup N] [--in-flight N]
                  [--flows N] [--core N] [--huge]
  --rounds N      rounds of testpmd io, testpmd macswap, Strait (default 3)
  --seconds N     seconds each measurement lasts (default 5)
  --warmup N      seconds of forwarding before each measurement (default 1)
  --in-flight N   frames circulating, a multiple of 32 below 1024 (default 512)
  --flows N       flows the Strait side cycles over (default 100000, or STRAIT_BENCH_FLOWS)
  --core N        the core both forward on (default 0)
  --huge          hugepages for both sides (default: none, --no-huge -m 512)";

/// The options.
#[derive(Clone, Debug)]
struct Args {
    rounds: usize,
    seconds: u64,
    warmup: u64,
    in_flight: usize,
    flows: u32,
    core: usize,
    huge: bool,
}

impl Args {
    fn parse() -> Args {
        let mut args = Args {
            rounds: 3,
            seconds: 5,
            warmup: 1,
            in_flight: 512,
            flows: l4bench::flows_from_env(),
            core: 0,
            huge: false,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            match flag.as_str() {
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                "--huge" => {
                    args.huge = true;
                    continue;
                }
                _ => {}
            }
            let value = it
                .next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
            let n = value
                .parse::<u64>()
                .unwrap_or_else(|_| usage(&format!("{flag}: {value:?} is not a number")));
            match flag.as_str() {
                "--rounds" if n > 0 => args.rounds = n as usize,
                "--seconds" if n > 0 => args.seconds = n,
                "--warmup" => args.warmup = n,
                "--in-flight" if n > 0 && n % BURST as u64 == 0 && n < RING as u64 => {
                    args.in_flight = n as usize
                }
                "--flows" if n > 0 && n < 1 << 24 => args.flows = n as u32,
                "--core" => args.core = n as usize,
                _ => usage(&format!("bad option {flag} {value}")),
            }
        }
        args
    }
}

fn usage(why: &str) -> ! {
    eprintln!("{why}\n{USAGE}");
    std::process::exit(2)
}

fn main() {
    let args = Args::parse();
    // Everything the benchmark starts is owned inside `bench`: stopped however it ends.
    interrupt::run("dpdk-bench", || bench(args));
}

/// Pins the calling thread to `core`.
fn pin(core: usize) {
    let mut set = CpuSet::new();
    set.set(core);
    rustix::thread::sched_setaffinity(None, &set)
        .unwrap_or_else(|e| panic!("pinning to core {core}: {e}"));
}

/// A DPDK runtime directory (`--file-prefix`), removed on drop. EAL makes one even with
/// `--no-shconf`.
#[derive(Debug)]
struct RuntimeDir(PathBuf);

impl RuntimeDir {
    fn new(prefix: &str) -> RuntimeDir {
        let base = if rustix::process::geteuid().is_root() {
            PathBuf::from("/var/run")
        } else {
            std::env::var_os("XDG_RUNTIME_DIR").map_or_else(|| "/tmp".into(), PathBuf::from)
        };
        RuntimeDir(base.join("dpdk").join(prefix))
    }
}

impl Drop for RuntimeDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The Strait side. Fields drop in order: the port (and with it the EAL) before its runtime
/// directory is removed.
struct Strait {
    port: AnyPort,
    pipeline: Pipeline,
    image: Image<ImageBytes>,
    frames: Vec<[u8; FRAME_LEN]>,
    /// The flow whose client frame goes out next.
    next: usize,
    /// The pipeline's clock (ns); it runs only while the pipeline does.
    now: u64,
    /// Frames the pipeline did not forward (must stay 0).
    not_tx: u64,
    _runtime: RuntimeDir,
}

impl Strait {
    /// Opens `net_ring0` through the data plane's device layer, builds the pipeline and
    /// primes the ring with `in_flight` client frames.
    fn start(args: &Args, prefix: &str) -> Strait {
        let runtime = RuntimeDir::new(prefix);
        let config = DeviceConfig {
            kind: DeviceKind::Dpdk,
            interface: "net_ring0".into(),
            rings: RingSizes { rx: 1024, tx: 1024 },
            dpdk: DpdkOptions {
                vdevs: vec!["net_ring0".into()],
                no_huge: !args.huge,
                memory_mb: 512,
                main_core: args.core,
                mbufs: Some(16384),
                eal_args: vec![format!("--file-prefix={prefix}")],
                ..Default::default()
            },
            ..Default::default()
        };
        let mut port = open(&config, 1)
            .unwrap_or_else(|e| panic!("opening net_ring0: {e}"))
            .pop()
            .expect("one port");
        let frames: Vec<[u8; FRAME_LEN]> = (0..args.flows)
            .map(|i| l4bench::frame(i).try_into().expect("60-byte frame"))
            .collect();
        for f in frames.iter().cycle().take(args.in_flight) {
            assert!(port.send(f), "priming the ring: no room");
        }
        port.flush();
        assert_eq!(port.stats().tx, args.in_flight as u64, "primed");
        Strait {
            port,
            pipeline: l4bench::pipeline(),
            image: l4bench::image(),
            next: args.in_flight % frames.len(),
            frames,
            now: 1_000_000_000,
            not_tx: 0,
            _runtime: runtime,
        }
    }

    /// One burst: receive, process, write the next flow's frame, send. Returns the frames.
    #[inline]
    fn burst(&mut self) -> usize {
        let Strait {
            port,
            pipeline,
            image,
            frames,
            next,
            now,
            not_tx,
            ..
        } = self;
        pipeline.begin_burst(Some(&*image), *now);
        let n = port.rx_burst(BURST, |buf, len| {
            if !matches!(
                pipeline.process(Some(&*image), buf, len, false, &healthy),
                Action::Tx(_)
            ) {
                *not_tx += 1;
            }
            buf[..FRAME_LEN].copy_from_slice(&frames[*next]);
            *next += 1;
            if *next == frames.len() {
                *next = 0;
            }
            Verdict::Tx(FRAME_LEN)
        });
        pipeline.end_burst();
        port.flush();
        n
    }

    /// Forwards for `d`; returns the frames and the seconds it took.
    fn run_for(&mut self, d: Duration) -> (u64, f64) {
        let (start, base) = (Instant::now(), self.now);
        let mut frames = 0u64;
        loop {
            let elapsed = start.elapsed();
            self.now = base + elapsed.as_nanos() as u64;
            if elapsed >= d {
                return (frames, elapsed.as_secs_f64());
            }
            frames += self.burst() as u64;
        }
    }

    /// Forwards until `frames` more frames went through.
    fn run_frames(&mut self, frames: u64) {
        let (start, base) = (Instant::now(), self.now);
        let mut done = 0u64;
        while done < frames {
            self.now = base + start.elapsed().as_nanos() as u64;
            done += self.burst() as u64;
        }
    }

    /// Frames in the ring: sent minus received, by the device's counters.
    fn circulating(&self) -> u64 {
        match &self.port {
            AnyPort::Dpdk(p) => {
                let s = p.device().stats();
                s.opackets - s.ipackets
            }
            _ => unreachable!("a DPDK port"),
        }
    }
}

/// Numbers from one `show port stats all`.
#[derive(Clone, Copy, Debug, Default)]
struct TestpmdStats {
    rx: u64,
    tx: u64,
    rx_pps: u64,
}

/// The value after `key` in `text` (`RX-packets: 123`).
fn field(text: &str, key: &str) -> Option<u64> {
    let at = text.find(key)? + key.len();
    text[at..].split_whitespace().next()?.parse().ok()
}

/// A testpmd forwarding on its own `net_ring0`, driven through its prompt on stdin. Dropping
/// it stops testpmd (`quit`, then SIGTERM and SIGKILL by PID, 3 s apart) and removes its log
/// and runtime directory.
struct Testpmd {
    child: Child,
    stdin: Option<ChildStdin>,
    log: PathBuf,
    _runtime: RuntimeDir,
}

impl Testpmd {
    /// Starts testpmd in `mode` and waits for its prompt.
    fn start(mode: &str, args: &Args, other: usize, prefix: &str, stop: &Stop) -> Testpmd {
        let runtime = RuntimeDir::new(prefix);
        let log = std::env::temp_dir().join(format!("{prefix}.log"));
        let out = std::fs::File::create(&log).expect("testpmd log");
        let err = out.try_clone().expect("testpmd log");
        // stdbuf: testpmd prints statistics with stdio, block-buffered into a file otherwise.
        // stdbuf execs testpmd, so the PID is testpmd's own.
        let mut cmd = Command::new("stdbuf");
        cmd.args(["-oL", "dpdk-testpmd"])
            .arg(format!("--lcores=0@{other},1@{}", args.core))
            .args(if args.huge {
                &["--in-memory"][..]
            } else {
                &["--no-huge", "-m", "512", "--no-shconf"][..]
            })
            .args(["--no-pci", "--vdev=net_ring0"])
            .arg(format!("--file-prefix={prefix}"))
            .args(["--", "-i", "--port-topology=loop", "--nb-cores=1"])
            .arg(format!("--forward-mode={mode}"))
            .args(["--total-num-mbufs=16384", "--burst=32", "--txpkts=60"])
            .stdin(Stdio::piped())
            .stdout(out)
            .stderr(err);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting dpdk-testpmd: {e}"));
        let stdin = child.stdin.take();
        let mut t = Testpmd {
            child,
            stdin,
            log,
            _runtime: runtime,
        };
        t.wait_for("its prompt", stop, |log| log.contains("testpmd> "));
        t
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls the log until `ready`; fails if testpmd exits or `START` passes.
    fn wait_for(&mut self, what: &str, stop: &Stop, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + START;
        loop {
            let log = self.log();
            if ready(&log) {
                return log;
            }
            assert!(
                matches!(self.child.try_wait(), Ok(None)),
                "testpmd exited waiting for {what}:\n{log}"
            );
            assert!(
                Instant::now() < deadline,
                "testpmd: no {what} in {START:?}:\n{log}"
            );
            stop.sleep(Duration::from_millis(20));
        }
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("testpmd's stdin");
        writeln!(stdin, "{line}").expect("writing to testpmd");
        stdin.flush().expect("writing to testpmd");
    }

    /// `show port stats all`, the `n`th time: waits for the block and parses it.
    fn show(&mut self, n: usize, stop: &Stop) -> TestpmdStats {
        self.send("show port stats all");
        let complete = |log: &str| {
            log.split("NIC statistics for port")
                .nth(n)
                .is_some_and(|b| b.contains("Tx-bps"))
        };
        let log = self.wait_for("port statistics", stop, complete);
        let block = log.split("NIC statistics for port").nth(n).expect("block");
        let get = |key| field(block, key).unwrap_or_else(|| panic!("no {key} in:\n{block}"));
        TestpmdStats {
            rx: get("RX-packets:"),
            tx: get("TX-packets:"),
            rx_pps: get("Rx-pps:"),
        }
    }
}

impl Drop for Testpmd {
    fn drop(&mut self) {
        // Asked to quit first (it stops the port cleanly), then SIGTERM, then SIGKILL.
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"stop\nquit\n");
        }
        let pid = Pid::from_child(&self.child);
        for signal in [Some(Signal::TERM), None] {
            let deadline = Instant::now() + Duration::from_secs(3);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if !matches!(self.child.try_wait(), Ok(None)) {
                break;
            }
            match signal {
                Some(signal) => {
                    let _ = rustix::process::kill_process(pid, signal);
                }
                None => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                }
            }
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

/// One testpmd measurement in `mode`: Mpps.
fn testpmd(mode: &str, args: &Args, other: usize, prefix: &str, stop: &Stop) -> f64 {
    let mut t = Testpmd::start(mode, args, other, prefix, stop);
    t.send(&format!("start tx_first {}", args.in_flight / BURST));
    stop.sleep(Duration::from_secs(args.warmup));
    let first = t.show(1, stop);
    let t0 = Instant::now();
    stop.sleep(Duration::from_secs(args.seconds));
    let second = t.show(2, stop);
    let ours = (second.rx - first.rx) as f64 / t0.elapsed().as_secs_f64() / 1e6;
    let circulating = second.tx - second.rx;
    assert!(
        circulating <= args.in_flight as u64 && circulating + BURST as u64 >= args.in_flight as u64,
        "testpmd {mode}: {circulating} frames in flight, not {}:\n{}",
        args.in_flight,
        t.log()
    );
    let mpps = second.rx_pps as f64 / 1e6;
    if (mpps / ours - 1.0).abs() > 0.05 {
        eprintln!("warning: testpmd says {mpps:.2} Mpps, its counters over our clock {ours:.2}");
    }
    mpps
}

fn bench(args: Args) {
    let cores = strait_dataplane::allowed_cores();
    assert!(
        cores.contains(&args.core),
        "core {} is not allowed here",
        args.core
    );
    let other = cores
        .iter()
        .copied()
        .find(|&c| c != args.core)
        .unwrap_or_else(|| {
            eprintln!("only one core: testpmd's prompt shares it with the forwarding");
            args.core
        });
    // Both sides at nice -20 (testpmd inherits it): ahead of other work on a shared machine.
    if rustix::process::setpriority_process(None, -20).is_err() {
        eprintln!("warning: cannot run at nice -20 (not root?): other work may share the core");
    }
    let stop = Stop::install();
    // This thread waits on the other core while testpmd forwards.
    pin(other);
    let prefix = format!("dpdk-bench-{}", std::process::id());
    let mut strait = Strait::start(&args, &prefix);
    eprintln!(
        "dpdk-bench: net_ring0, {} frames in flight, bursts of {BURST}, {} flows, core {}, \
         {} s per measurement after {} s of warm-up, {}",
        args.in_flight,
        args.flows,
        args.core,
        args.seconds,
        args.warmup,
        if args.huge {
            "hugepages"
        } else {
            "no hugepages"
        }
    );
    pin(args.core);
    strait.run_frames(u64::from(args.flows));
    pin(other);
    let (mut io, mut macswap, mut ours) = (Vec::new(), Vec::new(), Vec::new());
    let tp_prefix = format!("{prefix}-testpmd");
    for round in 1..=args.rounds {
        for (mode, rates) in [("io", &mut io), ("macswap", &mut macswap)] {
            let mpps = testpmd(mode, &args, other, &tp_prefix, &stop);
            eprintln!(
                "round {round}/{}: testpmd {mode:<7} {mpps:8.2} Mpps",
                args.rounds
            );
            rates.push(mpps);
        }
        stop.sleep(Duration::ZERO);
        pin(args.core);
        strait.run_for(Duration::from_secs(args.warmup));
        let (frames, secs) = strait.run_for(Duration::from_secs(args.seconds));
        pin(other);
        let mpps = frames as f64 / secs / 1e6;
        assert_eq!(
            strait.circulating(),
            args.in_flight as u64,
            "frames in flight"
        );
        eprintln!(
            "round {round}/{}: strait          {mpps:8.2} Mpps",
            args.rounds
        );
        ours.push(mpps);
    }
    let c = strait.pipeline.counters();
    let (rx, tx, new_flows) = (
        c.get(counter::RX),
        c.get(counter::TX),
        c.get(counter::NEW_FLOWS),
    );
    let port = strait.port.stats();
    eprintln!(
        "pipeline: rx {rx} tx {tx} new flows {new_flows} dropped {} live connections {}; \
         port: rx {} tx {} tx_full {} rx_dropped {}",
        c.dropped(),
        strait.pipeline.conntrack().len(),
        port.rx,
        port.tx,
        port.tx_full,
        port.rx_dropped
    );
    assert_eq!(rx, tx, "every frame forwarded");
    assert_eq!(strait.not_tx, 0, "every frame forwarded");
    assert_eq!(new_flows, u64::from(args.flows), "flows stay in the table");
    assert_eq!(port.tx_full, 0, "the ring never overflows");
    let (m, io, ms) = (median(&ours), median(&io), median(&macswap));
    println!(
        "{} flows={} in_flight={}",
        result_line(
            "dpdk",
            &[
                ("mpps", m),
                ("testpmd_io_mpps", io),
                ("testpmd_macswap_mpps", ms),
                ("macswap_ratio", m / ms),
                ("io_ratio", m / io),
            ]
        ),
        args.flows,
        args.in_flight
    );
}
