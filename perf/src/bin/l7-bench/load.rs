//! The load generators and what their output says: wrk (HTTP/1.1 and HTTPS keep-alive), oha
//! (one TLS handshake per request; latency at a fixed rate) and h2load (HTTP/2 over TLS, ALPN
//! `h2` only, many streams per connection).
//!
//! Each runs pinned to the load core (`taskset`), as a [`Proc`] whose output goes to a log
//! file, so an interrupt or an error stops it by PID; [`run`] waits through [`Stop::sleep`].
//! The parsers are plain functions over the text, tested below. A run whose requests failed
//! (more than 1 % errors or non-2xx answers) has no [`Load`]: a figure from a misconfigured
//! proxy must not become a ratio.

use std::{path::Path, process::Command, time::Duration};

use strait_e2e::Proc;
use strait_perf::interrupt::Stop;

/// What one load run measured.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Load {
    /// Completed requests (or handshakes) per second.
    pub rps: f64,
    /// Median latency, ms (h2load: the mean; it prints no percentiles).
    pub p50_ms: f64,
    /// 99th percentile latency, ms (h2load: the maximum).
    pub p99_ms: f64,
}

/// The generator command of one run; see [`Generator::command`].
#[derive(Clone, Debug)]
pub enum Generator {
    /// `wrk` with `connections` keep-alive connections (one thread) on `url`.
    Wrk { url: String, connections: u32 },
    /// `oha` without keep-alive over TLS: a full connection and handshake per request.
    Handshakes { url: String, connections: u32 },
    /// `oha` at a fixed offered rate, keep-alive, latency corrected for coordinated omission.
    Rate {
        url: String,
        connections: u32,
        rate: u64,
    },
    /// `h2load` on an `https://` URL offering ALPN `h2` only, with `streams` per connection.
    H2 {
        url: String,
        connections: u32,
        streams: u32,
    },
}

impl Generator {
    /// The program and its arguments for a run of `seconds`.
    pub fn command(&self, oha: &Path, seconds: u64) -> Vec<String> {
        let s = |v: &str| v.to_owned();
        let secs = format!("{seconds}s");
        let oha = oha.display().to_string();
        match self {
            Generator::Wrk { url, connections } => {
                let c = connections.to_string();
                vec![
                    s("wrk"),
                    s("-t1"),
                    s("-c"),
                    c,
                    s("-d"),
                    secs,
                    s("--latency"),
                    url.clone(),
                ]
            }
            Generator::Handshakes { url, connections } => vec![
                oha,
                s("--no-tui"),
                s("--output-format"),
                s("json"),
                s("--insecure"),
                s("--disable-keepalive"),
                s("--wait-ongoing-requests-after-deadline"),
                s("-c"),
                connections.to_string(),
                s("-z"),
                secs,
                url.clone(),
            ],
            Generator::Rate {
                url,
                connections,
                rate,
            } => vec![
                oha,
                s("--no-tui"),
                s("--output-format"),
                s("json"),
                s("--latency-correction"),
                s("--wait-ongoing-requests-after-deadline"),
                s("-q"),
                rate.to_string(),
                s("-c"),
                connections.to_string(),
                s("-z"),
                secs,
                url.clone(),
            ],
            Generator::H2 {
                url,
                connections,
                streams,
            } => vec![
                s("h2load"),
                s("-t1"),
                s("-c"),
                connections.to_string(),
                s("-m"),
                streams.to_string(),
                s("-D"),
                seconds.to_string(),
                s("--npn-list=h2"),
                url.clone(),
            ],
        }
    }

    /// Parses the generator's output.
    pub fn parse(&self, out: &str) -> Result<Load, String> {
        match self {
            Generator::Wrk { .. } => parse_wrk(out),
            Generator::Handshakes { .. } | Generator::Rate { .. } => parse_oha(out),
            Generator::H2 { .. } => parse_h2load(out),
        }
    }
}

/// Runs `generator` for `seconds` on `core`, logging to `log`; its figures, or why there are
/// none.
pub fn run(
    generator: &Generator,
    oha: &Path,
    seconds: u64,
    core: usize,
    log: &Path,
    stop: &Stop,
) -> Result<Load, String> {
    let argv = generator.command(oha, seconds);
    let mut cmd = Command::new("taskset");
    cmd.arg("-c").arg(core.to_string()).args(&argv);
    let mut proc = Proc::spawn(&argv[0], cmd, log.to_owned());
    // Generous: oha and h2load wait for the requests in flight at the end.
    let limit = Duration::from_secs(seconds + 30);
    let start = std::time::Instant::now();
    while proc.alive() {
        if start.elapsed() > limit {
            return Err(format!("{} did not finish in {limit:?}", argv[0]));
        }
        stop.sleep(Duration::from_millis(50));
    }
    let out = proc.log();
    generator
        .parse(&out)
        .map_err(|e| format!("{}: {e}; output:\n{}", argv.join(" "), tail(&out)))
}

fn tail(out: &str) -> String {
    let lines: Vec<&str> = out.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// A wrk or h2load duration (`603.12us`, `1.57ms`, `2.00s`, `1.00m`) in ms.
fn duration_ms(v: &str) -> Option<f64> {
    let split = v.find(|c: char| c.is_ascii_alphabetic())?;
    let (n, unit) = v.split_at(split);
    let n: f64 = n.parse().ok()?;
    Some(match unit {
        "us" => n / 1e3,
        "ms" => n,
        "s" => n * 1e3,
        "m" => n * 60e3,
        _ => return None,
    })
}

/// wrk with `--latency`.
pub fn parse_wrk(out: &str) -> Result<Load, String> {
    let value = |prefix: &str| {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(str::trim))
    };
    let rps: f64 = value("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .ok_or("no Requests/sec")?;
    let p50 = value("50%").and_then(duration_ms).ok_or("no 50% latency")?;
    let p99 = value("99%").and_then(duration_ms).ok_or("no 99% latency")?;
    let total: f64 = out
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.parse().ok())
        .ok_or("no request count")?;
    let bad: f64 = value("Non-2xx or 3xx responses:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let errors: f64 = value("Socket errors:")
        .map(|v| {
            v.split(',')
                .filter_map(|kv| kv.split_whitespace().last()?.parse::<f64>().ok())
                .sum()
        })
        .unwrap_or(0.0);
    check(total, bad + errors)?;
    Ok(Load {
        rps,
        p50_ms: p50,
        p99_ms: p99,
    })
}

/// oha `--output-format json`.
pub fn parse_oha(out: &str) -> Result<Load, String> {
    let start = out.find('{').ok_or("no JSON")?;
    // The first JSON document; anything after it is not oha's report.
    let json: serde_json::Value = serde_json::Deserializer::from_str(&out[start..])
        .into_iter()
        .next()
        .ok_or("no JSON")?
        .map_err(|e| format!("bad JSON: {e}"))?;
    let num = |v: &serde_json::Value| v.as_f64();
    let rps = num(&json["summary"]["requestsPerSec"]).ok_or("no requestsPerSec")?;
    let p50 = num(&json["latencyPercentiles"]["p50"]).ok_or("no p50")?;
    let p99 = num(&json["latencyPercentiles"]["p99"]).ok_or("no p99")?;
    let ok: f64 = json["statusCodeDistribution"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(code, _)| code.starts_with('2'))
                .filter_map(|(_, n)| n.as_f64())
                .sum()
        })
        .unwrap_or(0.0);
    let other: f64 = json["statusCodeDistribution"]
        .as_object()
        .map(|m| m.values().filter_map(|n| n.as_f64()).sum::<f64>() - ok)
        .unwrap_or(0.0);
    let errors: f64 = json["errorDistribution"]
        .as_object()
        .map(|m| m.values().filter_map(|n| n.as_f64()).sum())
        .unwrap_or(0.0);
    check(ok + other + errors, other + errors)?;
    Ok(Load {
        rps,
        p50_ms: p50 * 1e3,
        p99_ms: p99 * 1e3,
    })
}

/// h2load: `Application protocol: h2` (so not HTTP/1.1, nor cleartext h2c), `finished in …, N
/// req/s`, the request counts and `time for request:` (min, max, mean, sd; no percentiles).
pub fn parse_h2load(out: &str) -> Result<Load, String> {
    let protocol = out
        .lines()
        .find_map(|l| l.strip_prefix("Application protocol: "))
        .map(str::trim);
    match protocol {
        Some("h2") => {}
        Some(p) => return Err(format!("application protocol {p}, not h2 (ALPN)")),
        None => return Err("no application protocol negotiated".into()),
    }
    let rps: f64 = out
        .lines()
        .find_map(|l| l.strip_prefix("finished in "))
        .and_then(|l| l.split(", ").nth(1))
        .and_then(|v| v.strip_suffix(" req/s"))
        .and_then(|v| v.parse().ok())
        .ok_or("no req/s")?;
    let counts = out
        .lines()
        .find_map(|l| l.strip_prefix("requests: "))
        .ok_or("no request counts")?;
    let count = |what: &str| -> f64 {
        counts
            .split(", ")
            .find_map(|kv| kv.strip_suffix(what)?.trim().parse().ok())
            .unwrap_or(0.0)
    };
    let bad = count(" failed") + count(" errored") + count(" timeout");
    let non2xx: f64 = out
        .lines()
        .find_map(|l| l.strip_prefix("status codes: "))
        .map(|l| {
            l.split(", ")
                .filter(|kv| !kv.ends_with(" 2xx"))
                .filter_map(|kv| kv.split_whitespace().next()?.parse::<f64>().ok())
                .sum()
        })
        .unwrap_or(0.0);
    check(count(" done"), bad + non2xx)?;
    let times: Vec<f64> = out
        .lines()
        .find_map(|l| l.strip_prefix("time for request:"))
        .map(|l| l.split_whitespace().filter_map(duration_ms).collect())
        .unwrap_or_default();
    let (max, mean) = match times.as_slice() {
        [_, max, mean, ..] => (*max, *mean),
        _ => return Err("no request times".into()),
    };
    Ok(Load {
        rps,
        p50_ms: mean,
        p99_ms: max,
    })
}

/// Fails a run with more than 1 % bad answers, or none at all.
fn check(total: f64, bad: f64) -> Result<(), String> {
    if total <= 0.0 {
        return Err("no requests completed".into());
    }
    if bad / total > 0.01 {
        return Err(format!("{bad} of {total} requests failed or were not 2xx"));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
