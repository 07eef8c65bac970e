//! Shared fixtures: table images with L4 services, and frames built with etherparse.
#![allow(dead_code)] // each test binary uses part of this module

use core::net::{IpAddr, SocketAddr};
use etherparse::{IpHeaders, PacketBuilderStep};
use strait_packet::{Parsed, parse_frame};
use strait_table::{Image, ImageBuilder, ImageBytes, L4Backend, L4Mode, L4Service, Protocol};
use strait_table::{encode_ip, l4_flags};

/// Maglev table size for tests: prime and > 100 × the largest backend count used.
pub const TABLE_SIZE: u32 = 4099;

/// One service to put in an image.
pub struct Svc {
    pub vip: &'static str,
    pub port: u16,
    pub protocol: Protocol,
    pub mode: L4Mode,
    pub flags: u8,
    /// `(address, weight, port)`; backend `i` gets health slot `i` of this service + `slot_base`.
    pub backends: Vec<(String, u32, u16)>,
    pub slot_base: u32,
}

impl Svc {
    pub fn new(vip: &'static str, port: u16, protocol: Protocol, backends: usize) -> Self {
        let v6 = vip.contains(':');
        Svc {
            vip,
            port,
            protocol,
            mode: L4Mode::FullNat,
            flags: 0,
            backends: (1..=backends)
                .map(|i| {
                    let addr = if v6 {
                        format!("fd00::{i}")
                    } else {
                        format!("10.1.0.{i}")
                    };
                    (addr, 1, 0)
                })
                .collect(),
            slot_base: 0,
        }
    }
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

pub fn sock(s: &str) -> SocketAddr {
    s.parse().expect("test socket address")
}

/// A socket address from raw bytes (proptests): IPv6 from all 16, IPv4 from the first 4.
pub fn sock_from(v6: bool, a: [u8; 16], port: u16) -> SocketAddr {
    let ip: IpAddr = if v6 {
        core::net::Ipv6Addr::from(a).into()
    } else {
        core::net::Ipv4Addr::new(a[0], a[1], a[2], a[3]).into()
    };
    SocketAddr::new(ip, port)
}

/// Builds and parses an image holding `services`, in order.
pub fn image(services: &[Svc]) -> Image<ImageBytes> {
    let mut b = ImageBuilder::new(7);
    for svc in services {
        let backends: Vec<L4Backend> = svc
            .backends
            .iter()
            .zip(0u32..)
            .map(|((addr, weight, port), i)| {
                let (addr, family) = encode_ip(ip(addr));
                L4Backend {
                    addr,
                    family,
                    weight: *weight,
                    health_slot: svc.slot_base + i,
                    port: *port,
                    mac: [2, 0, 0, 0, 0, i as u8 + 1],
                    has_mac: 1,
                    ..Default::default()
                }
            })
            .collect();
        let (vip, family) = encode_ip(ip(svc.vip));
        let name = b.string(svc.vip);
        let service = L4Service {
            name,
            vip,
            family,
            port: svc.port,
            protocol: svc.protocol.code(),
            mode: svc.mode.code(),
            flags: svc.flags & l4_flags::ALL,
            ..Default::default()
        };
        b.push_l4_service_with(service, &backends, TABLE_SIZE)
            .expect("maglev");
    }
    Image::parse(b.finish()).expect("valid image")
}

/// Parses a frame the test built, panicking on a drop.
pub fn parsed(frame: &[u8]) -> Parsed {
    parse_frame(frame).expect("test frame parses")
}

/// MACs of the frames the rewrite tests build.
pub const CLIENT_MAC: [u8; 6] = [0x02, 0xaa, 0, 0, 0, 1];
/// MACs of the frames the rewrite tests build.
pub const NODE_MAC: [u8; 6] = [0x02, 0xbb, 0, 0, 0, 2];

/// The transport of a test frame.
#[derive(Clone, Copy, Debug)]
pub enum L4 {
    Tcp,
    Udp,
}

/// Finishes a frame built up to its IP header with a TCP ACK or a UDP datagram from `src`'s
/// port to `dst`'s carrying `payload`; etherparse fills in every length and checksum.
pub fn finish(
    ip: PacketBuilderStep<IpHeaders>,
    l4: L4,
    src: SocketAddr,
    dst: SocketAddr,
    payload: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    match l4 {
        L4::Tcp => ip
            .tcp(src.port(), dst.port(), 0x1234_5678, 4096)
            .ack(0x0bad_f00d)
            .write(&mut out, payload),
        L4::Udp => ip.udp(src.port(), dst.port()).write(&mut out, payload),
    }
    .expect("build frame");
    out
}
