//! The testpmd side: `dpdk-testpmd` forwarding on its own `net_ring0`, driven through its
//! prompt.

use std::{
    io::Write,
    path::PathBuf,
    process::{Child, ChildStdin, Command, Stdio},
    time::{Duration, Instant},
};

use rustix::process::{Pid, Signal};
use strait_perf::interrupt::Stop;

use crate::{Args, BURST, RuntimeDir, START};

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
pub(crate) fn testpmd(mode: &str, args: &Args, other: usize, prefix: &str, stop: &Stop) -> f64 {
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
