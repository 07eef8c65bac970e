//! `strait-probe`: the testbed's client probes (`strait_e2e::probe`) from a shell.
//!
//! Run it inside the client namespace: `ip netns exec P-client strait-probe tcp --target
//! 198.18.0.100:80`. It prints the compact report (or JSON with `--json`) and exits 0 if nothing
//! failed, 1 otherwise. `hold` opens the connections, then checks them `--rounds` times,
//! `--interval` apart, printing one report per round: leave it running while backends change.
#![forbid(unsafe_code)]

use std::{net::SocketAddr, process::ExitCode, thread, time::Duration};

use clap::{Parser, ValueEnum};
use strait_e2e::probe;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Mode {
    /// Short TCP connections: name line, echo, close; counted per backend.
    Tcp,
    /// One datagram per UDP flow, each from its own source port; counted per backend.
    Udp,
    /// Long-lived TCP connections, checked for an echo every round.
    Hold,
}

#[derive(Debug, Parser)]
#[command(
    about = "Probe a Strait testbed target: how connections spread, whether held ones survive"
)]
struct Args {
    /// What to probe.
    mode: Mode,
    /// Address and port to probe, e.g. 198.18.0.100:80 or [2001:2::100]:80.
    #[arg(long)]
    target: SocketAddr,
    /// TCP connections, or UDP flows.
    #[arg(long, default_value_t = 100)]
    connections: usize,
    /// TCP connections opened at once (tcp mode).
    #[arg(long, default_value_t = 16)]
    parallel: usize,
    /// Timeout of each connect, read or UDP attempt, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    timeout: u64,
    /// Checks of the held connections (hold mode).
    #[arg(long, default_value_t = 1)]
    rounds: u32,
    /// Milliseconds between checks (hold mode).
    #[arg(long, default_value_t = 1000)]
    interval: u64,
    /// Print JSON (one object per line) instead of the compact report.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let timeout = Duration::from_millis(args.timeout);
    let clean = match args.mode {
        Mode::Tcp => {
            let spread = probe::tcp_spread(args.target, args.connections, args.parallel, timeout);
            print(args.json, &spread, || spread.to_json());
            spread.is_clean()
        }
        Mode::Udp => {
            let spread = probe::udp_spread(args.target, args.connections, timeout);
            print(args.json, &spread, || spread.to_json());
            spread.is_clean()
        }
        Mode::Hold => {
            let mut held = probe::hold(args.target, args.connections, timeout);
            let mut clean = true;
            for round in 1..=args.rounds.max(1) {
                if round > 1 {
                    thread::sleep(Duration::from_millis(args.interval));
                }
                let report = held.check();
                print(args.json, &format!("round {round}: {report}"), || {
                    let mut json = report.to_json();
                    json["round"] = round.into();
                    json
                });
                clean &= report.is_clean();
            }
            clean
        }
    };
    if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print(json: bool, text: &dyn std::fmt::Display, as_json: impl FnOnce() -> serde_json::Value) {
    if json {
        println!("{}", as_json());
    } else {
        println!("{text}");
    }
}
