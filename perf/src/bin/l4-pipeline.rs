//! `perf/run.sh l4-pipeline`: the whole L4 pipeline on the memory device, one core.
//!
//! 100k TCP flows of 64-byte frames (60 bytes without the FCS) to one full-NAT VIP with 16
//! backends ([`strait_perf::l4bench`]). After one warm-up pass (every flow in conntrack), the
//! pipeline (parse → conntrack → rewrite → next-hop MAC → tx) and the baseline (swap MACs,
//! forward) each run over the same port and frames, alternately, ROUNDS times each; the
//! median of each is reported. Pin it with `taskset` (run.sh does).
#![forbid(unsafe_code)]

use std::time::Instant;

use strait_device::{Port, Verdict, memory::MemoryPort};
use strait_fastpath::{Action, counter};
use strait_perf::l4bench::{self, frame, healthy, thread_cpu_time};

const BURST: usize = 32;
const PACKETS: u64 = 20_000_000;
const ROUNDS: usize = 5;

/// Runs `PACKETS` frames through `f`, returning Mpps by the clock and by the thread's CPU
/// time (the same on a quiet core; the second leaves out the time the thread was not running).
fn run(
    port: &mut MemoryPort,
    packets: u64,
    mut burst: impl FnMut(&mut MemoryPort) -> usize,
) -> (f64, f64) {
    let (start, cpu) = (Instant::now(), thread_cpu_time());
    let mut done = 0u64;
    while done < packets {
        done += burst(port) as u64;
    }
    let mpps = |seconds: f64| done as f64 / seconds / 1e6;
    (
        mpps(start.elapsed().as_secs_f64()),
        mpps((thread_cpu_time() - cpu).as_secs_f64()),
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let flows = l4bench::flows_from_env();
    // `STRAIT_BENCH_PACKETS` shortens the timed runs (e.g. under an instruction counter).
    let packets: u64 = std::env::var("STRAIT_BENCH_PACKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(PACKETS);
    let image = l4bench::image();
    let mut pipeline = l4bench::pipeline();
    let mut port = MemoryPort::new();
    port.set_capture(false);
    port.replay((0..flows).map(frame));
    let mut now = 1_000_000_000u64;
    let mut pipeline_burst = |port: &mut MemoryPort| {
        now += 1_000;
        pipeline.begin_burst(Some(&image), now);
        let n = port.rx_burst_ahead(
            BURST,
            &mut pipeline,
            |pipeline, frame| pipeline.ahead(frame),
            |pipeline, buf, len| match pipeline.process(Some(&image), buf, len, false, &healthy) {
                Action::Tx(n) => Verdict::Tx(n),
                _ => Verdict::Drop,
            },
        );
        pipeline.end_burst();
        port.flush();
        n
    };
    // Warm-up: every flow enters the connection table.
    for _ in 0..(flows as usize).div_ceil(BURST) + 1 {
        pipeline_burst(&mut port);
    }
    let baseline_burst = |port: &mut MemoryPort| {
        let n = port.rx_burst(BURST, |buf, len| {
            let mut mac = [0u8; 6];
            mac.copy_from_slice(&buf[..6]);
            buf.copy_within(6..12, 0);
            buf[6..12].copy_from_slice(&mac);
            Verdict::Tx(len)
        });
        port.flush();
        n
    };
    let (mut base, mut pipe) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let (b, b_cpu) = run(&mut port, packets, baseline_burst);
        let (p, p_cpu) = run(&mut port, packets, &mut pipeline_burst);
        base.push(b);
        pipe.push(p);
        eprintln!(
            "round {round}: baseline {b:.2} Mpps, pipeline {p:.2} Mpps \
             (by CPU time: {b_cpu:.2}, {p_cpu:.2})"
        );
    }
    let tx = pipeline.counters().get(counter::TX);
    let rx = pipeline.counters().get(counter::RX);
    let new_flows = pipeline.counters().get(counter::NEW_FLOWS);
    eprintln!(
        "pipeline: rx {rx} tx {tx} new flows {new_flows} dropped {} live connections {}",
        pipeline.counters().dropped(),
        pipeline.conntrack().len()
    );
    assert_eq!(rx, tx, "every frame forwarded");
    assert_eq!(new_flows, u64::from(flows), "flows stay in the table");
    let (b, p) = (median(base), median(pipe));
    println!(
        "RESULT l4-pipeline mpps={p:.2} ns_per_pkt={:.1} baseline_mpps={b:.2} ratio={:.3} flows={flows} burst={BURST}",
        1e3 / p,
        p / b
    );
}
