//! `perf/run.sh l7`: Strait's L7 proxy against HAProxy and nginx, each under the same CPU
//! budget, in requests per second and latency.
//!
//! Setup (once): a work directory, a self-signed ECDSA certificate, two nginx upstreams
//! answering a small fixed body over keep-alive on the load core. Then, `--rounds` times, for
//! strait (L7 worker on io_uring), haproxy, nginx and strait-epoll (`--l7-driver poll`): start
//! the system pinned to the proxy core inside its own cgroup capped at `--quota-us` per
//! `--period-us` (half a core by default), and measure from the load core, each run after a
//! warm-up of the same load:
//! * `http`: wrk, HTTP/1.1 keep-alive, `--connections`;
//! * `https`: the same over TLS;
//! * `handshake`: oha without keep-alive over TLS, one full handshake per request;
//! * `h2`: h2load, HTTP/2 over TLS (ALPN `h2`), 8 connections × `--streams` streams;
//!
//! (strait-epoll: `http` only). Then `--latency-rounds` rounds of strait, haproxy, nginx at a
//! fixed offered rate, half the better peer's `http` req/s, with oha (keep-alive, latency
//! corrected for coordinated omission): `latency`, whose p99 is compared (`--latency-rate N`:
//! only these rounds, at N req/s). Each system is stopped by PID and its cgroup removed after
//! its runs. A mode that does not work through Strait is `n/a`.
//!
//! Output: one line per run on stderr; the table of medians, the ratios, and last
//! `RESULT l7 http_ratio=… https_ratio=… handshake_ratio=… h2_ratio=… p99_ratio=…
//! uring_vs_epoll=…` followed by the medians.

mod args;
mod cgroup;
mod load;
mod proxies;
mod report;
mod setup;

use std::{process::Command, time::Duration};

use args::Args;
use load::Generator;
use proxies::{Env, Running, System};
use report::{Mode, Results, Run};
use strait_perf::interrupt::{self, Stop};

/// HTTP/2 client connections (each with `--streams` streams).
const H2_CONNECTIONS: u32 = 8;

fn main() {
    let args = Args::parse();
    interrupt::run("l7-bench", move || bench(&args));
}

fn bench(args: &Args) {
    let stop = Stop::install();
    check_tools(args);
    let cores = strait_dataplane::allowed_cores();
    for core in [args.proxy_core, args.load_core] {
        assert!(
            cores.contains(&core),
            "core {core} is not among the allowed cores {cores:?}"
        );
    }
    if args.proxy_core == args.load_core {
        eprintln!(
            "warning: the proxy and the load generator share core {}",
            args.load_core
        );
    }
    let dir = setup::Workdir::create();
    let cert = setup::cert(&dir);
    let upstreams = setup::Upstreams::start(&dir, args.load_core);
    let env = Env {
        dir: &dir,
        cert: &cert,
        upstreams: &upstreams.addrs,
        proxy_core: args.proxy_core,
        load_core: args.load_core,
        quota_us: args.quota_us,
        period_us: args.period_us,
    };
    println!(
        "L7 proxies, each capped at {} of {} µs of CPU ({:.2} core) on core {}; load generator, upstreams {} and {}, Strait's agent on core {}; {} s runs after {} s warm-up, {} rounds ({} at the fixed rate)",
        args.quota_us,
        args.period_us,
        args.quota_us as f64 / args.period_us as f64,
        args.proxy_core,
        upstreams.addrs[0],
        upstreams.addrs[1],
        args.load_core,
        args.seconds,
        args.warmup,
        args.rounds,
        args.latency_rounds,
    );
    let throughput = [Mode::Http, Mode::Https, Mode::Handshake, Mode::H2];
    let mut session = Session {
        args,
        env: &env,
        stop: &stop,
        results: Results::default(),
        started: 0,
    };
    let throughput_rounds = if args.latency_rate.is_some() {
        0
    } else {
        args.rounds
    };
    for round in 1..=throughput_rounds {
        for system in [
            System::Strait,
            System::Haproxy,
            System::Nginx,
            System::StraitEpoll,
        ] {
            let running = session.start(system);
            let modes: &[Mode] = if system == System::StraitEpoll {
                &[Mode::Http]
            } else {
                &throughput
            };
            for &mode in modes {
                session.measure(&running, mode, round, None);
            }
        }
    }
    let rate = args.latency_rate.or_else(|| {
        session
            .results
            .best_peer(Mode::Http)
            .map(|(_, m)| (m.rps / 2.0).round().max(1.0) as u64)
    });
    match rate {
        Some(rate) => {
            let why = match args.latency_rate {
                Some(_) => "--latency-rate",
                None => "half the better peer's http",
            };
            eprintln!("latency at a fixed rate of {rate} req/s ({why})");
            for round in 1..=args.latency_rounds {
                for system in [System::Strait, System::Haproxy, System::Nginx] {
                    let running = session.start(system);
                    session.measure(&running, Mode::Latency, round, Some(rate));
                }
            }
        }
        None => eprintln!("no peer http figure: the latency mode is skipped"),
    }
    let results = session.results;
    let all = [System::Strait, System::Haproxy, System::Nginx];
    let modes: Vec<(Mode, &[System])> = vec![
        (
            Mode::Http,
            &[
                System::Strait,
                System::StraitEpoll,
                System::Haproxy,
                System::Nginx,
            ],
        ),
        (Mode::Https, &all),
        (Mode::Handshake, &all),
        (Mode::H2, &all),
        (Mode::Latency, &all),
    ];
    print!("{}", results.table(&modes));
    println!("{}", results.result_line(rate.map(|r| r as f64)));
}

/// What every run needs, and the results so far.
struct Session<'a> {
    args: &'a Args,
    env: &'a Env<'a>,
    stop: &'a Stop,
    results: Results,
    /// Systems started so far (numbers their files and cgroups).
    started: usize,
}

impl Session<'_> {
    /// Starts `system`; a failure to start is fatal (with what the system logged). Prints
    /// what the system uses of its budget while idle (before any load), over one second.
    fn start(&mut self, system: System) -> Running {
        self.started += 1;
        let running = proxies::start(system, self.env, self.started)
            .unwrap_or_else(|e| panic!("starting {system}: {e}"));
        let before = running.budget.sample();
        self.stop.sleep(Duration::from_secs(1));
        let idle = running.budget.sample().cpu_s - before.cpu_s;
        let tls = match (&running.https, running.resumes) {
            (Err(_), _) => "no TLS listener",
            (Ok(()), false) => "TLS sessions not resumed",
            (Ok(()), true) => "TLS sessions RESUMED",
        };
        eprintln!("{system} started: {idle:.3} cores while idle; {tls}");
        running
    }

    /// One warm-up and one measured run of `mode` against `running` (`rate`: the offered rate
    /// of [`Mode::Latency`]). A mode Strait does not serve, or a failed Strait run other than
    /// `http`, is recorded as missing; any other failure is fatal.
    fn measure(&mut self, running: &Running, mode: Mode, round: usize, rate: Option<u64>) {
        let (args, env, system) = (self.args, self.env, running.system);
        let unsupported = match mode {
            Mode::Https | Mode::Handshake => running.https.as_ref().err(),
            Mode::H2 => running.h2.as_ref().err(),
            _ => None,
        };
        if let Some(why) = unsupported {
            eprintln!("round {round} {system} {}: n/a ({why})", mode.name());
            self.results.missing(mode, system, why.clone());
            return;
        }
        let generator = generator(running, mode, args, rate);
        let log = |what: &str| {
            let name = format!("{system}-{}-{round}-{what}.log", mode.name());
            env.dir.path(&name)
        };
        let oha = &args.oha;
        if args.warmup > 0 {
            let warmup = log("warmup");
            let _ = load::run(
                &generator,
                oha,
                args.warmup,
                env.load_core,
                &warmup,
                self.stop,
            );
        }
        let before = running.budget.sample();
        let measured = load::run(
            &generator,
            oha,
            args.seconds,
            env.load_core,
            &log("run"),
            self.stop,
        );
        let after = running.budget.sample();
        let load = match measured {
            Ok(load) => load,
            Err(e) if system == System::Strait && mode != Mode::Http => {
                eprintln!("round {round} {system} {}: n/a ({e})", mode.name());
                let first = e.lines().next().unwrap_or_default().to_owned();
                self.results.missing(mode, system, first);
                return;
            }
            Err(e) => panic!(
                "{system} {}: {e}\n--- {system}'s log ---\n{}",
                mode.name(),
                running.log()
            ),
        };
        let periods = after.periods.saturating_sub(before.periods).max(1);
        let run = Run {
            load,
            cores: (after.cpu_s - before.cpu_s) / args.seconds as f64,
            throttled: after.throttled.saturating_sub(before.throttled) as f64 / periods as f64,
        };
        // A run that neither used its budget nor reached its offered rate measured the load
        // core (or a busy machine), not the proxy.
        let budget = env.quota_us as f64 / env.period_us as f64;
        let mut flags = String::new();
        if rate.is_none() && run.cores < 0.9 * budget {
            flags.push_str("  (below the budget: not proxy-bound)");
        }
        if rate.is_some_and(|r| load.rps < 0.95 * r as f64) {
            flags.push_str("  (offered rate not reached)");
        }
        // How the proxy's threads were scheduled: slices run (wake-ups and preemptions) and
        // time spent runnable but waiting, per request: a tail's usual cause.
        let requests = (load.rps * args.seconds as f64).max(1.0);
        let slices = after.slices.saturating_sub(before.slices) as f64 / requests;
        let wait_us = (after.wait_s - before.wait_s) * 1e6 / requests;
        eprintln!(
            "round {round} {system:<12} {:<9} {:>9.0} req/s  p50 {:>7.3} ms  p99 {:>7.3} ms  {:.2} cores, {:.0}% of periods throttled, {slices:.2} slices and {wait_us:.1} µs waiting a request{flags}",
            mode.name(),
            load.rps,
            load.p50_ms,
            load.p99_ms,
            run.cores,
            run.throttled * 100.0
        );
        self.results.add(mode, system, run);
    }
}

/// The load of `mode` against `running`.
fn generator(running: &Running, mode: Mode, args: &Args, rate: Option<u64>) -> Generator {
    let ports = running.ports;
    let http = format!("http://127.0.0.1:{}/", ports.http);
    let https = format!("https://127.0.0.1:{}/", ports.https);
    let connections = args.connections;
    match mode {
        Mode::Http => Generator::Wrk {
            url: http,
            connections,
        },
        Mode::Https => Generator::Wrk {
            url: https,
            connections,
        },
        Mode::Handshake => Generator::Handshakes {
            url: https,
            connections,
        },
        Mode::H2 => Generator::H2 {
            url: https,
            connections: H2_CONNECTIONS,
            streams: args.streams,
        },
        Mode::Latency => Generator::Rate {
            url: http,
            connections,
            rate: rate.expect("a rate for the latency mode"),
        },
    }
}

/// Fails early, with a hint, when a tool is missing.
fn check_tools(args: &Args) {
    let oha = args.oha.display().to_string();
    for tool in [
        "wrk",
        "h2load",
        "haproxy",
        "nginx",
        "curl",
        "openssl",
        "taskset",
        oha.as_str(),
    ] {
        let found = Command::new("sh")
            .args(["-c", "command -v \"$1\" >/dev/null", "sh", tool])
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            found,
            "{tool} is missing: perf/run.sh l7 installs the load generators and peers"
        );
    }
}
