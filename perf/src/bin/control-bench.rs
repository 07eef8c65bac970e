//! `perf/run.sh control`: push→live latency of the control plane.
//!
//! Starts a real agent and data plane (release builds), then applies configs of growing size
//! through the gRPC API with `wait`, timing each call from send until the agent answers that
//! every worker runs the new generation (push→live), and reading the agent's own measure of
//! the same (request received → every worker live, without the client's encoding and the
//! transfer). Each size gets warm-up pushes and then `PUSHES` timed ones, every one a new
//! generation (JSON, as a platform pushes). A push changes one route's weight, as a platform
//! sending its whole state usually does; the `cold` rows also change an endpoint, so nothing
//! the agent parsed before can be reused. The agent has a core of its own; the data plane's
//! worker and this generator share the other. The baseline is the same loop with a one-route
//! config: the fixed cost of a push (gRPC, fsync of the state file, the switch), so the ratio
//! says what the size itself costs. First it times each stage in-process, to show where a push
//! spends its time.

use std::time::Instant;

use strait_e2e::Node;
use strait_perf::{
    quantile, result_line, stages,
    synth::{self, Change},
};
use strait_proto::v1::ApplyRequest;

const WARMUP: u32 = 3;
const PUSHES: u32 = 25;

// The same allocator as strait-agent, so the in-process stages match what the agent does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let text = synth::config(10_000, 100_000, 0, Change::RouteAndEndpoint);
    let stages = stages::breakdown(&text, 5);
    let line: Vec<String> = stages
        .iter()
        .map(|(k, v)| format!("{k} {v:.2} ms"))
        .collect();
    println!(
        "10k/100k in-process stages (median of 5): {}",
        line.join(", ")
    );
    let texts: Vec<String> = (0..6)
        .map(|v| synth::config(10_000, 100_000, v, Change::Route))
        .collect();
    let warm = stages::warm_breakdown(&texts);
    let line: Vec<String> = warm.iter().map(|(k, v)| format!("{k} {v:.2} ms")).collect();
    println!(
        "10k/100k warm push, in-process stages (median of 5): {}",
        line.join(", ")
    );
    // The agent (the system under test) gets a core of its own; the data plane's one worker and
    // this load generator share the other.
    let cores = strait_dataplane::allowed_cores();
    let (generator, agent) = (cores[0], cores.get(1).copied());
    let mut set = rustix::thread::CpuSet::new();
    set.set(generator);
    rustix::thread::sched_setaffinity(None, &set).expect("pin the load generator");
    let mut node = Node::new();
    node.agent_cpus = agent.map(|c| c.to_string());
    node.start_agent();
    node.start_dataplane(&generator.to_string());
    println!(
        "control-plane push→live latency; agent on core {}, data plane worker and generator on core {generator}",
        agent.map_or("(shared)".into(), |c| c.to_string())
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let size = |label, routes, endpoints, change| Size {
        label,
        routes,
        endpoints,
        change,
    };
    let sizes = [
        size("base", 1, 1, Change::Route),
        size("1k", 1_000, 100_000, Change::Route),
        size("10k", 10_000, 100_000, Change::Route),
        size("10k cold", 10_000, 100_000, Change::RouteAndEndpoint),
    ];
    let mut variant = 0;
    let mut measured = Vec::new();
    for size in &sizes {
        let texts: Vec<String> = (0..WARMUP + PUSHES)
            .map(|_| {
                variant += 1;
                synth::config(size.routes, size.endpoints, variant, size.change)
            })
            .collect();
        let (wall, agent) = runtime.block_on(push_all(&node.api(), &texts));
        let m = Measured {
            p50: quantile(&wall, 0.5),
            p99: quantile(&wall, 0.99),
            agent_p50: quantile(&agent, 0.5),
            agent_p99: quantile(&agent, 0.99),
        };
        println!(
            "{:>8}: {:>6} routes {:>7} endpoints, {:>4.1} MiB  push→live p50 {:>6.2} ms  p99 {:>6.2} ms  (agent: request → every worker live p50 {:>6.2} ms  p99 {:>6.2} ms)",
            size.label,
            size.routes,
            size.endpoints,
            texts[0].len() as f64 / f64::from(1 << 20),
            m.p50,
            m.p99,
            m.agent_p50,
            m.agent_p99,
        );
        measured.push(m);
        let log = node.agent.as_ref().expect("agent").log();
        println!("          agent stages, median: {}", agent_medians(&log));
    }
    // Where the agent spent the slowest timed push of the last series, from its own log.
    let log = node.agent.as_ref().expect("agent").log();
    let total = |l: &&str| {
        ["parse_ms", "compile_ms", "persist_wait_ms"]
            .iter()
            .map(|k| field(l, k))
            .sum::<f64>()
    };
    let pushes: Vec<&str> = log.lines().filter(|l| l.contains(" published ")).collect();
    let last_series = &pushes[pushes.len().saturating_sub(PUSHES as usize)..];
    let slowest = last_series
        .iter()
        .copied()
        .max_by(|a, b| total(a).total_cmp(&total(b)));
    if let Some(line) = slowest {
        println!(
            "agent, slowest push: {}",
            line.split_once(" published ")
                .map_or(line, |(_, rest)| rest.trim())
        );
    }
    let [base, k1, k10, cold] = [&measured[0], &measured[1], &measured[2], &measured[3]];
    let pairs = [
        ("p50_ms_1k", k1.p50),
        ("p99_ms_1k", k1.p99),
        ("p50_ms_10k", k10.p50),
        ("p99_ms_10k", k10.p99),
        ("agent_p50_ms_10k", k10.agent_p50),
        ("agent_p99_ms_10k", k10.agent_p99),
        ("cold_p50_ms_10k", cold.p50),
        ("cold_p99_ms_10k", cold.p99),
        ("base_p50_ms", base.p50),
        ("ratio_10k_vs_base", k10.p50 / base.p50),
    ];
    println!("{}", result_line("control", &pairs));
}

struct Size {
    label: &'static str,
    routes: usize,
    endpoints: usize,
    /// What each push changes.
    change: Change,
}

struct Measured {
    p50: f64,
    p99: f64,
    agent_p50: f64,
    agent_p99: f64,
}

/// Applies every text with `wait`; returns client-side and agent-side milliseconds of the timed
/// pushes (after the warm-up).
async fn push_all(api: &str, texts: &[String]) -> (Vec<f64>, Vec<f64>) {
    let mut client = strait_proto::connect(api)
        .await
        .expect("connect to the agent");
    let mut wall = Vec::new();
    let mut live = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let started = Instant::now();
        let resp = client
            .apply(ApplyRequest {
                config: text.clone(),
                wait: true,
                wait_timeout_ms: 30_000,
            })
            .await
            .expect("apply")
            .into_inner();
        let ms = started.elapsed().as_secs_f64() * 1e3;
        assert!(resp.accepted, "config rejected: {:?}", resp.errors.first());
        assert!(resp.live, "not live: {}", resp.dataplane_error);
        if i as u32 >= WARMUP {
            wall.push(ms);
            live.push(resp.live_after_us as f64 / 1e3);
        }
    }
    (wall, live)
}

/// The value of `key=…` in a log line, 0 if absent.
fn field(line: &str, key: &str) -> f64 {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
        .unwrap_or(0.0)
}

/// Median of each stage the agent logged for the last `PUSHES` pushes.
fn agent_medians(log: &str) -> String {
    let pushes: Vec<&str> = log.lines().filter(|l| l.contains(" published ")).collect();
    let series = &pushes[pushes.len().saturating_sub(PUSHES as usize)..];
    ["parse_ms", "compile_ms", "persist_wait_ms"]
        .iter()
        .map(|key| {
            let v: Vec<f64> = series.iter().map(|l| field(l, key)).collect();
            format!("{key}={:.1}", quantile(&v, 0.5))
        })
        .collect::<Vec<_>>()
        .join(" ")
}
