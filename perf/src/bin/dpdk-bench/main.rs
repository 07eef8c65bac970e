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
//!   `--in-flight` client frames; then each burst runs `begin_burst`, `rx_burst_ahead` (every
//!   frame shown to `Pipeline::ahead`, then each through `Pipeline::process`, which must
//!   forward it; its buffer is then overwritten with the client frame of the next flow,
//!   round-robin over `--flows` (100k), and sent),
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

mod strait;
mod testpmd;

use strait::Strait;
use testpmd::testpmd;

use std::{path::PathBuf, time::Duration};

use rustix::thread::CpuSet;
use strait_device::Port;
use strait_fastpath::counter;
use strait_perf::{
    interrupt::{self, Stop},
    l4bench, median, result_line,
};

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
        let cpu = l4bench::thread_cpu_time();
        let (frames, secs) = strait.run_for(Duration::from_secs(args.seconds));
        let cpu = (l4bench::thread_cpu_time() - cpu).as_secs_f64();
        pin(other);
        let mpps = frames as f64 / secs / 1e6;
        // Another process on the core takes time from the measurement: the rate over the
        // forwarding thread's own CPU time says how much.
        eprintln!(
            "round {round}/{}: strait on its own CPU time {:8.2} Mpps ({:.0} % of the core)",
            args.rounds,
            frames as f64 / cpu / 1e6,
            100.0 * cpu / secs
        );
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
