//! Collecting the rounds and printing them: a table of medians per mode and system, the
//! ratios, and the `RESULT l7 …` line.
//!
//! A ratio compares Strait with the better peer of that mode: the one with more requests per
//! second, or, for p99 at the fixed rate, the one with the lower p99. A mode Strait cannot
//! serve (its HTTPS listener refused or not answering, HTTP/2 not negotiated) has no Strait
//! figure: its figure and ratio print as `n/a`, with the reason once below the table.

use std::{collections::BTreeMap, fmt::Write};

use strait_perf::median;

use crate::{load::Load, proxies::System};

/// What a load run measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    /// HTTP/1.1 keep-alive, wrk: req/s.
    Http,
    /// HTTPS keep-alive, wrk: req/s.
    Https,
    /// HTTPS without keep-alive, oha: full handshakes (= requests) per second.
    Handshake,
    /// HTTP/2 over TLS (ALPN `h2`), h2load: req/s.
    H2,
    /// HTTP/1.1 keep-alive at a fixed rate, oha: the latency.
    Latency,
}

impl Mode {
    /// Its name in the table and the `RESULT` keys.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Http => "http",
            Mode::Https => "https",
            Mode::Handshake => "handshake",
            Mode::H2 => "h2",
            Mode::Latency => "latency",
        }
    }
}

/// One measured run.
#[derive(Clone, Copy, Debug)]
pub struct Run {
    /// What the generator saw.
    pub load: Load,
    /// Cores the system's budget used on average.
    pub cores: f64,
    /// Share of the budget's periods that were throttled.
    pub throttled: f64,
}

/// Every round's runs, and why a system has none for a mode.
#[derive(Debug, Default)]
pub struct Results {
    runs: BTreeMap<(Mode, String), Vec<Run>>,
    missing: BTreeMap<(Mode, String), String>,
}

/// Medians of a system's rounds in one mode.
#[derive(Clone, Copy, Debug)]
pub struct Medians {
    /// Requests per second.
    pub rps: f64,
    /// Median latency, ms.
    pub p50: f64,
    /// p99 latency, ms.
    pub p99: f64,
    /// Cores used.
    pub cores: f64,
    /// Throttled share.
    pub throttled: f64,
}

impl Results {
    /// Records a run.
    pub fn add(&mut self, mode: Mode, system: System, run: Run) {
        let key = (mode, system.to_string());
        self.runs.entry(key).or_default().push(run);
    }

    /// Records that `system` cannot run `mode`, and why.
    pub fn missing(&mut self, mode: Mode, system: System, why: String) {
        self.missing.insert((mode, system.to_string()), why);
    }

    /// The medians of `system` in `mode`, if it ran.
    pub fn get(&self, mode: Mode, system: System) -> Option<Medians> {
        let runs = self.runs.get(&(mode, system.to_string()))?;
        let m = |f: fn(&Run) -> f64| median(&runs.iter().map(f).collect::<Vec<_>>());
        Some(Medians {
            rps: m(|r| r.load.rps),
            p50: m(|r| r.load.p50_ms),
            p99: m(|r| r.load.p99_ms),
            cores: m(|r| r.cores),
            throttled: m(|r| r.throttled),
        })
    }

    /// The better peer in `mode`: more req/s, or for [`Mode::Latency`] the lower p99.
    pub fn best_peer(&self, mode: Mode) -> Option<(System, Medians)> {
        let peers = [System::Haproxy, System::Nginx];
        let mut found = peers.iter().filter_map(|&s| Some((s, self.get(mode, s)?)));
        let first = found.next()?;
        Some(found.fold(first, |best, next| {
            let better = if mode == Mode::Latency {
                next.1.p99 < best.1.p99
            } else {
                next.1.rps > best.1.rps
            };
            if better { next } else { best }
        }))
    }

    /// Strait ÷ the better peer, in `mode`.
    pub fn ratio(&self, mode: Mode) -> Option<f64> {
        let strait = self.get(mode, System::Strait)?;
        let (_, peer) = self.best_peer(mode)?;
        Some(if mode == Mode::Latency {
            strait.p99 / peer.p99
        } else {
            strait.rps / peer.rps
        })
    }

    /// Strait on io_uring ÷ Strait on epoll, HTTP/1.1 req/s.
    pub fn uring_vs_epoll(&self) -> Option<f64> {
        Some(
            self.get(Mode::Http, System::Strait)?.rps
                / self.get(Mode::Http, System::StraitEpoll)?.rps,
        )
    }

    /// The table, ratios and reasons, as printed before the `RESULT` line.
    pub fn table(&self, modes: &[(Mode, &[System])]) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<10} {:<13} {:>10} {:>9} {:>9} {:>6} {:>10}",
            "mode", "system", "req/s", "p50 ms", "p99 ms", "cores", "throttled"
        );
        for &(mode, systems) in modes {
            for &system in systems {
                let row = match self.get(mode, system) {
                    Some(m) => format!(
                        "{:>10.0} {:>9.3} {:>9.3} {:>6.2} {:>9.0}%",
                        m.rps,
                        m.p50,
                        m.p99,
                        m.cores,
                        m.throttled * 100.0
                    ),
                    None => format!(
                        "{:>10} {:>9} {:>9} {:>6} {:>10}",
                        "n/a", "n/a", "n/a", "", ""
                    ),
                };
                let _ = writeln!(out, "{:<10} {:<13} {row}", mode.name(), system.to_string());
            }
        }
        let _ = writeln!(
            out,
            "(h2: p50 is h2load's mean and p99 its maximum; it prints no percentiles)"
        );
        for &(mode, _) in modes {
            let peer = self
                .best_peer(mode)
                .map_or("none".to_owned(), |(s, _)| s.to_string());
            let what = if mode == Mode::Latency {
                "p99"
            } else {
                "req/s"
            };
            let _ = writeln!(
                out,
                "{:<10} strait ÷ {peer} ({what}): {}",
                mode.name(),
                show(self.ratio(mode))
            );
        }
        let _ = writeln!(
            out,
            "http       strait io_uring ÷ strait epoll: {}",
            show(self.uring_vs_epoll())
        );
        for ((mode, system), why) in &self.missing {
            let _ = writeln!(out, "n/a: {system} {}: {why}", mode.name());
        }
        out
    }

    /// `RESULT l7 …`: the ratios first, then the medians they come from.
    pub fn result_line(&self, rate: Option<f64>) -> String {
        let mut pairs: Vec<(String, Option<f64>)> = vec![
            ("http_ratio".into(), self.ratio(Mode::Http)),
            ("https_ratio".into(), self.ratio(Mode::Https)),
            ("handshake_ratio".into(), self.ratio(Mode::Handshake)),
            ("h2_ratio".into(), self.ratio(Mode::H2)),
            ("p99_ratio".into(), self.ratio(Mode::Latency)),
            ("uring_vs_epoll".into(), self.uring_vs_epoll()),
        ];
        for mode in [Mode::Http, Mode::Https, Mode::Handshake, Mode::H2] {
            for system in [System::Strait, System::Haproxy, System::Nginx] {
                let key = format!(
                    "{}_{}_rps",
                    system.to_string().replace('-', "_"),
                    mode.name()
                );
                pairs.push((key, self.get(mode, system).map(|m| m.rps)));
            }
        }
        pairs.push((
            "strait_epoll_http_rps".into(),
            self.get(Mode::Http, System::StraitEpoll).map(|m| m.rps),
        ));
        pairs.push(("latency_rate".into(), rate));
        for system in [System::Strait, System::Haproxy, System::Nginx] {
            pairs.push((
                format!("{system}_p99_ms"),
                self.get(Mode::Latency, system).map(|m| m.p99),
            ));
        }
        let mut line = "RESULT l7".to_owned();
        for (k, v) in pairs {
            let _ = write!(line, " {k}={}", show(v));
        }
        line
    }
}

/// A figure with three decimals, or `n/a`.
fn show(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.3}"))
}
