//! A small L2 segment for pipeline tests: a client, the node, backends; images with L4
//! services; frames built with etherparse (an independent implementation).
#![allow(dead_code)] // each test binary uses part of this module

use std::net::IpAddr;

use etherparse::{PacketBuilder, SlicedPacket};
use strait_fastpath::{Action, Exception, Neighbours, NodeConfig, Pipeline};
use strait_l4::Health;
use strait_table::{
    Image, ImageBuilder, ImageBytes, L4Backend, L4Mode, L4Service, Protocol, encode_ip,
};

pub const NODE_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0xaa];
pub const CLIENT_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0x01];
pub const VIP4: [u8; 4] = [198, 18, 0, 100];
pub const VIP6: &str = "2001:2::100";
pub const SNAT4: [u8; 4] = [198, 18, 0, 2];
pub const SNAT6: &str = "2001:2::2";
pub const CLIENT4: [u8; 4] = [198, 18, 0, 1];
pub const CLIENT6: &str = "2001:2::1";

/// The MAC of backend `i` (1-based).
pub fn backend_mac(i: u8) -> [u8; 6] {
    [2, 0, 0, 0, 0, 0x10 + i]
}

pub fn v6(s: &str) -> [u8; 16] {
    s.parse::<std::net::Ipv6Addr>().unwrap().octets()
}

/// One L4 service: `(address, weight)` backends on port 8080.
pub struct Svc {
    pub vip: IpAddr,
    pub port: u16,
    pub protocol: Protocol,
    pub mode: L4Mode,
    pub backends: Vec<(IpAddr, u32)>,
}

impl Svc {
    pub fn tcp(vip: &str, mode: L4Mode, backends: &[(&str, u32)]) -> Svc {
        Svc {
            vip: vip.parse().unwrap(),
            port: 80,
            protocol: Protocol::Tcp,
            mode,
            backends: backends
                .iter()
                .map(|(a, w)| (a.parse().unwrap(), *w))
                .collect(),
        }
    }

    pub fn udp(mut self) -> Svc {
        self.protocol = Protocol::Udp;
        self
    }
}

/// An image of generation `generation` with `services`; health slots count up from 0.
pub fn image(generation: u64, services: &[Svc]) -> Image<ImageBytes> {
    let mut b = ImageBuilder::new(generation);
    let mut slot = 0;
    for svc in services {
        let backends: Vec<L4Backend> = svc
            .backends
            .iter()
            .map(|&(addr, weight)| {
                let (addr, family) = encode_ip(addr);
                slot += 1;
                L4Backend {
                    addr,
                    family,
                    weight,
                    health_slot: slot - 1,
                    port: 8080,
                    ..Default::default()
                }
            })
            .collect();
        let (vip, family) = encode_ip(svc.vip);
        let name = b.string("svc");
        let service = L4Service {
            name,
            vip,
            family,
            port: svc.port,
            protocol: svc.protocol.code(),
            mode: svc.mode.code(),
            ..Default::default()
        };
        b.push_l4_service_with(service, &backends, 65537)
            .expect("maglev");
    }
    Image::parse(b.finish()).expect("valid image")
}

/// The node: SNAT addresses for both families, exception policy `kernel`.
pub fn node() -> NodeConfig {
    let mut n = NodeConfig::new(NODE_MAC);
    n.snat_v4 = vec![SNAT4.into()];
    n.snat_v6 = vec![SNAT6.parse().unwrap()];
    n.conntrack_capacity = 1 << 16;
    n.exception = Exception::Kernel;
    n
}

pub fn healthy(_: u32) -> Health {
    Health::HEALTHY
}

/// A pipeline with an image, fed one frame at a time.
pub struct Rig {
    pub pipeline: Pipeline,
    pub image: Image<ImageBytes>,
    pub now: u64,
}

impl Rig {
    pub fn new(image: Image<ImageBytes>) -> Rig {
        Rig::worker(image, 0, 1, Neighbours::new())
    }

    pub fn worker(
        image: Image<ImageBytes>,
        worker: usize,
        workers: usize,
        n: std::sync::Arc<Neighbours>,
    ) -> Rig {
        Rig::on(node(), image, worker, workers, n)
    }

    /// Worker `worker` of `workers` on node `node`.
    pub fn on(
        node: NodeConfig,
        image: Image<ImageBytes>,
        worker: usize,
        workers: usize,
        n: std::sync::Arc<Neighbours>,
    ) -> Rig {
        let pipeline = Pipeline::new(node, worker, workers, n, 42).expect("pipeline");
        Rig {
            pipeline,
            image,
            now: 1_000_000_000,
        }
    }

    /// Processes one frame in a burst of its own; returns the action and the frame after.
    pub fn send(&mut self, frame: &[u8]) -> (Action, Vec<u8>) {
        self.send_with(frame, false, &healthy)
    }

    pub fn send_with(
        &mut self,
        frame: &[u8],
        steered: bool,
        health: &dyn Fn(u32) -> Health,
    ) -> (Action, Vec<u8>) {
        let mut buf = vec![0u8; 2048];
        buf[..frame.len()].copy_from_slice(frame);
        self.pipeline.begin_burst(Some(&self.image), self.now);
        let action =
            self.pipeline
                .process(Some(&self.image), &mut buf, frame.len(), steered, &|s| {
                    health(s)
                });
        self.pipeline.end_burst();
        let out = match action {
            Action::Tx(n) => buf[..n].to_vec(),
            _ => frame.to_vec(),
        };
        (action, out)
    }

    /// Frames the pipeline asked to send (ARP/ND requests).
    pub fn outbox(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        self.pipeline.drain_outbox(|f| out.push(f.to_vec()));
        out
    }

    /// Teaches the node the MACs of the client and of backends `1..=n` (IPv4 and IPv6).
    pub fn learn_all(&mut self, n: u8) {
        self.send(&arp_request(CLIENT_MAC, CLIENT4, SNAT4));
        self.send(&neighbour_advert(CLIENT_MAC, &v6(CLIENT6)));
        for i in 1..=n {
            self.send(&arp_request(backend_mac(i), backend4(i), SNAT4));
            self.send(&neighbour_advert(backend_mac(i), &backend6(i)));
        }
    }
}

pub fn backend4(i: u8) -> [u8; 4] {
    [198, 18, 0, 10 + i]
}

pub fn backend6(i: u8) -> [u8; 16] {
    v6(&format!("2001:2::{}", 10 + i))
}

pub fn tcp4(
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    syn: bool,
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
) -> Vec<u8> {
    let mut out = Vec::new();
    let b = PacketBuilder::ethernet2(src_mac, dst_mac)
        .ipv4(src, dst, 64)
        .tcp(sport, dport, 1000, 64240);
    let b = if syn { b.syn() } else { b.ack(1) };
    b.write(&mut out, b"hello").unwrap();
    out
}

pub fn tcp6(
    src: [u8; 16],
    sport: u16,
    dst: [u8; 16],
    dport: u16,
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(src_mac, dst_mac)
        .ipv6(src, dst, 64)
        .tcp(sport, dport, 1000, 64240)
        .syn()
        .write(&mut out, b"hello")
        .unwrap();
    out
}

pub fn udp4(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(CLIENT_MAC, NODE_MAC)
        .ipv4(src, dst, 64)
        .udp(sport, dport)
        .write(&mut out, b"ping")
        .unwrap();
    out
}

/// Backend `b`'s SYN-ACK to the node's IPv4 SNAT address and port `snat_port`.
pub fn backend_reply(b: u8, snat_port: u16) -> Vec<u8> {
    tcp4(
        backend4(b),
        8080,
        SNAT4,
        snat_port,
        true,
        backend_mac(b),
        NODE_MAC,
    )
}

/// A client SYN to the IPv6 VIP from source port `sport`.
pub fn syn6(sport: u16) -> Vec<u8> {
    tcp6(v6(CLIENT6), sport, v6(VIP6), 80, CLIENT_MAC, NODE_MAC)
}

/// A client SYN to the IPv4 VIP from source port `sport`.
pub fn syn(sport: u16) -> Vec<u8> {
    tcp4(CLIENT4, sport, VIP4, 80, true, CLIENT_MAC, NODE_MAC)
}

pub fn arp_request(sender_mac: [u8; 6], sender: [u8; 4], target: [u8; 4]) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&sender_mac);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&sender_mac);
    f.extend_from_slice(&sender);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&target);
    f.resize(60, 0);
    f
}

fn icmpv6_nd(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: [u8; 16],
    dst: [u8; 16],
    body: &[u8],
) -> Vec<u8> {
    use etherparse::{Icmpv6Header, Icmpv6Type};
    let mut out = Vec::new();
    let ty = Icmpv6Type::Unknown {
        type_u8: body[0],
        code_u8: 0,
        bytes5to8: body[4..8].try_into().unwrap(),
    };
    let header = Icmpv6Header::with_checksum(ty, src, dst, &body[8..]).unwrap();
    PacketBuilder::ethernet2(src_mac, dst_mac)
        .ipv6(src, dst, 255)
        .icmpv6(header.icmp_type)
        .write(&mut out, &body[8..])
        .unwrap();
    out
}

/// An unsolicited neighbour advertisement "`ip` is at `mac`".
pub fn neighbour_advert(mac: [u8; 6], ip: &[u8; 16]) -> Vec<u8> {
    let mut body = vec![136, 0, 0, 0, 0x20, 0, 0, 0];
    body.extend_from_slice(ip);
    body.extend_from_slice(&[2, 1]);
    body.extend_from_slice(&mac);
    icmpv6_nd(mac, [0x33, 0x33, 0, 0, 0, 1], *ip, v6("ff02::1"), &body)
}

/// A neighbour solicitation for `target` from `src` (with its source link-layer option).
pub fn neighbour_solicit(mac: [u8; 6], src: &[u8; 16], target: &[u8; 16]) -> Vec<u8> {
    let mut body = vec![135, 0, 0, 0, 0, 0, 0, 0];
    body.extend_from_slice(target);
    body.extend_from_slice(&[1, 1]);
    body.extend_from_slice(&mac);
    let mut group = v6("ff02::1:ff00:0");
    group[13..].copy_from_slice(&target[13..]);
    icmpv6_nd(
        mac,
        [0x33, 0x33, 0xff, target[13], target[14], target[15]],
        *src,
        group,
        &body,
    )
}

/// Ethernet destination, IP source/destination and ports of a TCP/UDP frame.
pub struct Seen {
    pub dst_mac: [u8; 6],
    pub src_mac: [u8; 6],
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub ttl: u8,
}

/// Checksum of an L4 segment with its pseudo-header (0 when valid).
type Pseudo = dyn Fn(&[u8], u8) -> u16;

/// Decodes a frame with etherparse, checking the IPv4 header and TCP/UDP checksums.
pub fn seen(frame: &[u8]) -> Seen {
    use etherparse::{InternetSlice, LinkSlice, TransportSlice};
    let p = SlicedPacket::from_ethernet(frame).expect("etherparse parses the output");
    let Some(LinkSlice::Ethernet2(eth)) = &p.link else {
        panic!("not ethernet")
    };
    let (src, dst, ttl, pseudo): (IpAddr, IpAddr, u8, Box<Pseudo>) = match p.net.as_ref().unwrap() {
        InternetSlice::Ipv4(ip) => {
            let h = ip.header().to_header();
            assert_eq!(
                h.calc_header_checksum(),
                h.header_checksum,
                "IPv4 header checksum"
            );
            let (s, d) = (h.source, h.destination);
            (
                s.into(),
                d.into(),
                h.time_to_live,
                Box::new(move |l4: &[u8], proto| {
                    etherparse::checksum::Sum16BitWords::new()
                        .add_4bytes(s)
                        .add_4bytes(d)
                        .add_2bytes([0, proto])
                        .add_2bytes((l4.len() as u16).to_be_bytes())
                        .add_slice(l4)
                        .ones_complement()
                        .to_be()
                }),
            )
        }
        InternetSlice::Ipv6(ip) => {
            let h = ip.header().to_header();
            let (s, d) = (h.source, h.destination);
            (
                s.into(),
                d.into(),
                h.hop_limit,
                Box::new(move |l4: &[u8], proto| {
                    etherparse::checksum::Sum16BitWords::new()
                        .add_16bytes(s)
                        .add_16bytes(d)
                        .add_4bytes((l4.len() as u32).to_be_bytes())
                        .add_2bytes([0, proto])
                        .add_slice(l4)
                        .ones_complement()
                        .to_be()
                }),
            )
        }
        _ => panic!("not IP"),
    };
    let (sport, dport) = match p.transport.as_ref().unwrap() {
        TransportSlice::Tcp(t) => {
            assert_eq!(pseudo(t.slice(), 6), 0, "TCP checksum");
            (t.source_port(), t.destination_port())
        }
        TransportSlice::Udp(u) => (u.source_port(), u.destination_port()),
        _ => (0, 0),
    };
    Seen {
        dst_mac: eth.destination(),
        src_mac: eth.source(),
        src,
        dst,
        sport,
        dport,
        ttl,
    }
}

/// The backend (1-based) a forwarded frame went to, by its destination MAC.
pub fn backend_of(frame: &[u8]) -> u8 {
    let mac = seen(frame).dst_mac;
    (1..=9)
        .find(|&i| backend_mac(i) == mac)
        .expect("frame goes to a known backend")
}
