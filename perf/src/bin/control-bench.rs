//! `perf/run.sh control`: push→live latency of the control plane.
//!
//! Starts a real agent and data plane (release builds), then applies configs of growing size
//! through the gRPC API with `wait`, timing each call from send until the agent answers that
//! every worker runs the new generation. Each size gets warm-up pushes and then `PUSHES` timed
//! ones, every one a new generation. The baseline is the same loop with a one-route config: the
//! fixed cost of a push (gRPC, fsync of the state file, the switch), so the ratios say what the
//! size itself costs.

use std::time::Instant;

use strait_e2e::{Node, test_cores};
use strait_perf::{quantile, result_line, stages, synth};
use strait_proto::v1::ApplyRequest;

const WARMUP: u32 = 3;
const PUSHES: u32 = 25;

struct Sizes {
    label: &'static str,
    routes: usize,
    endpoints: usize,
}

fn main() {
    let text = synth::config(10_000, 100_000, 0);
    let stages = stages::breakdown(&text, 5);
    let line: Vec<String> = stages
        .iter()
        .map(|(k, v)| format!("{k} {v:.2} ms"))
        .collect();
    println!(
        "10k/100k in-process stages (median of 5): {}",
        line.join(", ")
    );
    let (cores, workers) = test_cores();
    let mut node = Node::new();
    node.start_agent();
    node.start_dataplane(&cores);
    println!("control-plane push→live latency; data plane with {workers} workers on cores {cores}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let sizes = [
        Sizes {
            label: "base",
            routes: 1,
            endpoints: 1,
        },
        Sizes {
            label: "1k",
            routes: 1_000,
            endpoints: 100_000,
        },
        Sizes {
            label: "10k",
            routes: 10_000,
            endpoints: 100_000,
        },
    ];
    let mut pairs = Vec::new();
    let mut variant = 0;
    for size in &sizes {
        let texts: Vec<String> = (0..WARMUP + PUSHES)
            .map(|_| {
                variant += 1;
                synth::config(size.routes, size.endpoints, variant)
            })
            .collect();
        let (wall, live) = runtime.block_on(push_all(&node.api(), &texts));
        let (p50, p99) = (quantile(&wall, 0.5), quantile(&wall, 0.99));
        println!(
            "{:>5}: {:>6} routes {:>7} endpoints  config {:>5.1} MiB  push→live p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms  (agent-side p50 {:.2} ms)",
            size.label,
            size.routes,
            size.endpoints,
            texts[0].len() as f64 / (1 << 20) as f64,
            p50,
            p99,
            quantile(&wall, 1.0),
            quantile(&live, 0.5),
        );
        if size.label == "base" {
            pairs.push(("base_p50_ms", p50));
            pairs.push(("base_p99_ms", p99));
        } else {
            pairs.push((
                if size.label == "1k" {
                    "p50_ms_1k"
                } else {
                    "p50_ms_10k"
                },
                p50,
            ));
            pairs.push((
                if size.label == "1k" {
                    "p99_ms_1k"
                } else {
                    "p99_ms_10k"
                },
                p99,
            ));
        }
    }
    let base = pairs[0].1;
    let p50_10k = pairs
        .iter()
        .find(|(k, _)| *k == "p50_ms_10k")
        .map_or(0.0, |p| p.1);
    let mut ordered: Vec<(&str, f64)> = [
        "p50_ms_1k",
        "p99_ms_1k",
        "p50_ms_10k",
        "p99_ms_10k",
        "base_p50_ms",
        "base_p99_ms",
    ]
    .iter()
    .map(|k| (*k, pairs.iter().find(|(n, _)| n == k).expect("measured").1))
    .collect();
    ordered.push(("ratio_10k_vs_base", p50_10k / base));
    println!("{}", result_line("control", &ordered));
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
