//! The command line of `l7-bench` (parsed by hand: the crate keeps to the dependencies it
//! already has).

use std::path::PathBuf;

const USAGE: &str = "usage: l7-bench [--seconds N] [--warmup N] [--rounds N] [--connections N]
                [--streams N] [--quota-us N] [--period-us N] [--proxy-core N]
                [--load-core N] [--oha PATH] [--latency-rate N] [--latency-rounds N]
  --seconds N      seconds each load run is measured (default 10)
  --warmup N       seconds of the same load before each measured run, 0 for none (default 1)
  --rounds N       rounds of strait, haproxy, nginx, strait-epoll; medians are reported
                   (default 2)
  --latency-rounds N
                   rounds of strait, haproxy, nginx at the fixed rate: a p99 moves more
                   from run to run than a rate, so it gets more (default 5)
  --connections N  client connections of wrk and oha (default 64)
  --streams N      HTTP/2 streams per connection of h2load, on 8 connections (default 32)
  --quota-us N     CPU time each proxy may use per period, µs (default 50000: half a core)
  --period-us N    the budget's period, µs (default 100000)
  --proxy-core N   core of the proxy under test (default 0)
  --load-core N    core of the load generator, the upstreams and Strait's agent (default 1)
  --oha PATH       the oha binary (default: $OHA, else oha on PATH)
  --latency-rate N offer N req/s in the latency runs and run only those (rounds of strait,
                   haproxy, nginx), to compare tails quickly; by default the rate is half the
                   better peer's http req/s, measured first";

/// The options.
#[derive(Debug, Clone)]
pub struct Args {
    /// Seconds each load run is measured.
    pub seconds: u64,
    /// Seconds of warm-up load before each measured run.
    pub warmup: u64,
    /// Rounds of every system.
    pub rounds: usize,
    /// Rounds of the latency runs.
    pub latency_rounds: usize,
    /// Client connections of wrk and oha.
    pub connections: u32,
    /// HTTP/2 streams per connection.
    pub streams: u32,
    /// CPU time per period of each proxy, µs.
    pub quota_us: u64,
    /// The budget's period, µs.
    pub period_us: u64,
    /// Core of the proxy under test.
    pub proxy_core: usize,
    /// Core of the load generator, upstreams and agent.
    pub load_core: usize,
    /// The oha binary.
    pub oha: PathBuf,
    /// The latency runs' offered rate, given: only those runs are made.
    pub latency_rate: Option<u64>,
}

impl Args {
    /// Parses the process arguments; exits with the usage on a bad one.
    pub fn parse() -> Args {
        let mut args = Args {
            seconds: 10,
            warmup: 1,
            rounds: 2,
            latency_rounds: 5,
            connections: 64,
            streams: 32,
            quota_us: 50_000,
            period_us: 100_000,
            proxy_core: 0,
            load_core: 1,
            oha: std::env::var_os("OHA").map_or_else(|| "oha".into(), PathBuf::from),
            latency_rate: None,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            if flag == "-h" || flag == "--help" {
                println!("{USAGE}");
                std::process::exit(0);
            }
            let value = it
                .next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
            let number = |min: u64| {
                value
                    .parse::<u64>()
                    .ok()
                    .filter(|&n| n >= min)
                    .unwrap_or_else(|| {
                        usage(&format!("{flag}: {value:?} is not a number >= {min}"))
                    })
            };
            match flag.as_str() {
                "--seconds" => args.seconds = number(1),
                "--warmup" => args.warmup = number(0),
                "--rounds" => args.rounds = number(1) as usize,
                "--latency-rounds" => args.latency_rounds = number(1) as usize,
                "--connections" => args.connections = number(1) as u32,
                "--streams" => args.streams = number(1) as u32,
                "--quota-us" => args.quota_us = number(1000),
                "--period-us" => args.period_us = number(1000),
                "--proxy-core" => args.proxy_core = number(0) as usize,
                "--load-core" => args.load_core = number(0) as usize,
                "--oha" => args.oha = value.into(),
                "--latency-rate" => args.latency_rate = Some(number(1)),
                _ => usage(&format!("unknown option {flag} {value}")),
            }
        }
        args
    }
}

fn usage(why: &str) -> ! {
    eprintln!("{why}\n{USAGE}");
    std::process::exit(2)
}
