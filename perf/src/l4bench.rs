//! The L4 workload the pipeline benchmarks share (`l4-pipeline` on the memory device,
//! `dpdk-bench` on a DPDK ring): one full-NAT TCP service, client frames, the node.
//!
//! * [`image`]: VIP 198.18.0.100:80/TCP, full NAT, [`BACKENDS`] backends 198.18.1.10+i:8080
//!   whose MACs are in the image (no neighbour lookups), Maglev table of 65537 entries.
//! * [`frame`]: a 60-byte TCP ACK (64 bytes on the wire with the FCS) from client `i` to the
//!   VIP, to [`NODE_MAC`]; the client address and source port vary with `i`, so every `i`
//!   below 2^24 is its own flow. An ACK without a SYN makes a connection all the same.
//! * [`pipeline`]: the one-worker pipeline of a node with MAC [`NODE_MAC`], two full-NAT
//!   source addresses (one gives 64512 ports, fewer than [`FLOWS`]) and room for 2^18
//!   connections, so every flow stays in the table.

use strait_fastpath::{Neighbours, NodeConfig, Pipeline};
use strait_l4::Health;
use strait_table::{
    Image, ImageBuilder, ImageBytes, L4Backend, L4Mode, L4Service, Protocol, encode_ip,
};

/// CPU time the calling thread has used: a rate over it leaves out the time another process
/// had the core, which the wall clock does not.
///
/// Read from `/proc/thread-self/schedstat` (nanoseconds on the CPU), not the vDSO clock, so
/// the benchmarks also run under valgrind (whose vDSO image rustix refuses to parse).
pub fn thread_cpu_time() -> std::time::Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns = text
        .split_ascii_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    std::time::Duration::from_nanos(ns)
}

/// Flows by default (`STRAIT_BENCH_FLOWS` overrides, see [`flows_from_env`]).
pub const FLOWS: u32 = 100_000;
/// Backends of the service.
pub const BACKENDS: u8 = 16;
/// The node's MAC: the destination of every client frame.
pub const NODE_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0xaa];
/// The clients' MAC.
pub const CLIENT_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
/// Bytes of a client frame (without the FCS).
pub const FRAME_LEN: usize = 60;

/// The number of flows: `STRAIT_BENCH_FLOWS`, or [`FLOWS`] (fewer keep the connection table
/// in cache, which separates the per-packet work from memory stalls).
pub fn flows_from_env() -> u32 {
    std::env::var("STRAIT_BENCH_FLOWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(FLOWS)
}

/// The table image: one full-NAT TCP service (see the module documentation).
pub fn image() -> Image<ImageBytes> {
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
pub fn frame(i: u32) -> Vec<u8> {
    let src = [198, 19, (i >> 8) as u8, i as u8];
    let sport = 1024 + (i >> 16) as u16;
    let mut f = Vec::with_capacity(FRAME_LEN);
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

/// The node: [`NODE_MAC`], two full-NAT source addresses, 2^18 connections.
pub fn node_config() -> NodeConfig {
    let mut node = NodeConfig::new(NODE_MAC);
    // Two source addresses: one gives 64512 ports, fewer than FLOWS.
    node.snat_v4 = vec![[198, 18, 0, 2].into(), [198, 18, 0, 3].into()];
    node.conntrack_capacity = 1 << 18;
    node
}

/// The pipeline of the node's only worker.
pub fn pipeline() -> Pipeline {
    Pipeline::new(node_config(), 0, 1, Neighbours::new(), 7).expect("pipeline")
}

/// Every backend is healthy.
pub fn healthy(_: u32) -> Health {
    Health::HEALTHY
}

#[cfg(test)]
mod tests {
    use strait_fastpath::{Action, counter};

    use super::*;

    #[test]
    fn every_frame_is_a_new_flow_and_forwarded() {
        let image = image();
        let mut pipeline = pipeline();
        pipeline.begin_burst(Some(&image), 1_000_000_000);
        for i in 0..100 {
            let mut buf = frame(i);
            assert_eq!(buf.len(), FRAME_LEN);
            buf.resize(2048, 0);
            let action = pipeline.process(Some(&image), &mut buf, FRAME_LEN, false, &healthy);
            assert!(matches!(action, Action::Tx(FRAME_LEN)), "{action:?}");
        }
        pipeline.end_burst();
        assert_eq!(pipeline.counters().get(counter::NEW_FLOWS), 100);
    }
}
