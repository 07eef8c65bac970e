//! `perf/run.sh l4-pipeline`: the whole L4 pipeline on the memory device, one core.
//!
//! 100k TCP flows of 64-byte frames (60 bytes without the FCS) to one full-NAT VIP with 16
//! backends. After one warm-up pass (every flow in conntrack), the pipeline (parse →
//! conntrack → rewrite → next-hop MAC → tx) and the baseline (swap MACs, forward) each run
//! over the same port and frames, alternately, ROUNDS times each; the median of each is
//! reported. Pin it with `taskset` (run.sh does).
#![forbid(unsafe_code)]

use std::time::Instant;

use strait_device::{Port, Verdict, memory::MemoryPort};
use strait_fastpath::{Action, Neighbours, NodeConfig, Pipeline, counter};
use strait_l4::Health;
use strait_table::{
    Image, ImageBuilder, ImageBytes, L4Backend, L4Mode, L4Service, Protocol, encode_ip,
};

/// Flows (`STRAIT_BENCH_FLOWS` overrides, to separate memory stalls from work).
const FLOWS: u32 = 100_000;
const BACKENDS: u8 = 16;
const BURST: usize = 32;
const PACKETS: u64 = 20_000_000;
const ROUNDS: usize = 5;
const NODE_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0xaa];
const CLIENT_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];

fn image() -> Image<ImageBytes> {
    let mut b = ImageBuilder::new(1);
    let backends: Vec<L4Backend> = (0..BACKENDS)
        .map(|i| {
            let (addr, family) = encode_ip([198, 18, 1, 10 + i].into());
            L4Backend {
                addr,
                family,
                weight: 1,
                health_slot: u32::from(i),
                port: 8080,
                mac: [2, 0, 0, 0, 1, i],
                has_mac: 1,
                ..Default::default()
            }
        })
        .collect();
    let (vip, family) = encode_ip([198, 18, 0, 100].into());
    let name = b.string("bench");
    let service = L4Service {
        name,
        vip,
        family,
        port: 80,
        protocol: Protocol::Tcp.code(),
        mode: L4Mode::FullNat.code(),
        ..Default::default()
    };
    b.push_l4_service_with(service, &backends, 65537)
        .expect("maglev table");
    Image::parse(b.finish()).expect("valid image")
}

/// A 60-byte TCP ACK from client `i` (address and port vary) to the VIP.
fn frame(i: u32) -> Vec<u8> {
    let src = [198, 19, (i >> 8) as u8, i as u8];
    let sport = 1024 + (i >> 16) as u16;
    let mut f = Vec::with_capacity(60);
    f.extend_from_slice(&NODE_MAC);
    f.extend_from_slice(&CLIENT_MAC);
    f.extend_from_slice(&[0x08, 0x00]);
    let mut ip = [
        0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 6, 0, 0, 0, 0, 0, 0, 198, 18, 0, 100,
    ];
    ip[12..16].copy_from_slice(&src);
    let sum = strait_packet::checksum::checksum(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    f.extend_from_slice(&ip);
    let mut tcp = [0u8; 26];
    tcp[0..2].copy_from_slice(&sport.to_be_bytes());
    tcp[2..4].copy_from_slice(&80u16.to_be_bytes());
    tcp[12] = 0x50;
    tcp[13] = 0x10; // ACK
    tcp[14..16].copy_from_slice(&64240u16.to_be_bytes());
    let pseudo = strait_packet::checksum::pseudo_header_v4(&src, &[198, 18, 0, 100], 6, 26);
    let csum = !strait_packet::checksum::combine(&[pseudo, strait_packet::checksum::sum(&tcp)]);
    tcp[16..18].copy_from_slice(&csum.to_be_bytes());
    f.extend_from_slice(&tcp);
    f
}

fn healthy(_: u32) -> Health {
    Health::HEALTHY
}

/// Runs `PACKETS` frames through `f`, returning Mpps.
fn run(
    port: &mut MemoryPort,
    packets: u64,
    mut burst: impl FnMut(&mut MemoryPort) -> usize,
) -> f64 {
    let start = Instant::now();
    let mut done = 0u64;
    while done < packets {
        done += burst(port) as u64;
    }
    done as f64 / start.elapsed().as_secs_f64() / 1e6
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let flows: u32 = std::env::var("STRAIT_BENCH_FLOWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(FLOWS);
    // `STRAIT_BENCH_PACKETS` shortens the timed runs (e.g. under an instruction counter).
    let packets: u64 = std::env::var("STRAIT_BENCH_PACKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(PACKETS);
    let image = image();
    let mut node = NodeConfig::new(NODE_MAC);
    // Two source addresses: one gives 64512 ports, fewer than FLOWS.
    node.snat_v4 = vec![[198, 18, 0, 2].into(), [198, 18, 0, 3].into()];
    node.conntrack_capacity = 1 << 18;
    let mut pipeline = Pipeline::new(node, 0, 1, Neighbours::new(), 7).expect("pipeline");
    let mut port = MemoryPort::new();
    port.set_capture(false);
    port.replay((0..flows).map(frame));
    let mut now = 1_000_000_000u64;
    let mut pipeline_burst = |port: &mut MemoryPort| {
        now += 1_000;
        pipeline.begin_burst(Some(&image), now);
        let n = port.rx_burst(BURST, |buf, len| {
            match pipeline.process(Some(&image), buf, len, false, &healthy) {
                Action::Tx(n) => Verdict::Tx(n),
                _ => Verdict::Drop,
            }
        });
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
        base.push(run(&mut port, packets, baseline_burst));
        pipe.push(run(&mut port, packets, &mut pipeline_burst));
        eprintln!(
            "round {round}: baseline {:.2} Mpps, pipeline {:.2} Mpps",
            base[round], pipe[round]
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
