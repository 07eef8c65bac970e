//! The command line of `l4-testbed` (parsed by hand: the crate keeps to the dependencies it
//! already has).

const USAGE: &str =
    "usage: l4-testbed [--seconds N] [--warmup N] [--rounds N] [--xdp-mode M] [--nice N]
  --seconds N    seconds each run is measured (default 10)
  --warmup N     seconds of traffic before the measured window (default 2)
  --rounds N     rounds of kernel, af_xdp, af_packet (default 2)
  --xdp-mode M   XDP attach mode of the af_xdp runs (default generic): generic runs in the
                 node's RPS-steered receive path, on the core under test; native XDP on a veth
                 runs in the sender's NAPI context, on the generator's core
  --nice N       niceness of testpmd and the data plane (default -20): ahead of other work on
                 a shared machine, as the kernel's softirq is";

/// The options.
#[derive(Debug)]
pub struct Args {
    /// Seconds each run is measured.
    pub seconds: u64,
    /// Seconds of traffic before the measured window.
    pub warmup: u64,
    /// Rounds of kernel, af_xdp, af_packet.
    pub rounds: usize,
    /// XDP attach mode of the af_xdp runs: generic or native.
    pub xdp_mode: String,
    /// Niceness of testpmd and the data plane.
    pub nice: i32,
}

impl Args {
    /// Parses the process arguments; exits with the usage on a bad one.
    pub fn parse() -> Args {
        let mut args = Args {
            seconds: 10,
            warmup: 2,
            rounds: 2,
            xdp_mode: "generic".into(),
            nice: -20,
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
            let number = || {
                value
                    .parse::<u64>()
                    .ok()
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| {
                        usage(&format!("{flag}: {value:?} is not a positive number"))
                    })
            };
            match flag.as_str() {
                "--seconds" => args.seconds = number(),
                "--warmup" => args.warmup = number(),
                "--rounds" => args.rounds = number() as usize,
                "--nice" => {
                    args.nice = value
                        .parse()
                        .ok()
                        .filter(|n| (-20..=19).contains(n))
                        .unwrap_or_else(|| usage(&format!("--nice: {value:?} is not -20..=19")))
                }
                "--xdp-mode" if ["generic", "native"].contains(&value.as_str()) => {
                    args.xdp_mode = value
                }
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
