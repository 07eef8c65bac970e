//! `AF_PACKET` ports on a veth pair between two fresh network namespaces: the port under test
//! on one end (`sd` in the `dut` namespace), another port as the far end of the wire (`sp` in
//! `peer`). Frames carry our own MAC addresses, so the IPv6 chatter of a new link is told
//! apart. Needs root; run with `STRAIT_REQUIRE_NETNS=1` so nothing skips.

use std::{
    collections::{HashMap, HashSet},
    net::UdpSocket,
    thread,
    time::{Duration, Instant},
};

use strait_device::{
    DeviceError, Port, RingSizes, Verdict,
    af_packet::{self, AfPacketPort},
};
use strait_testsupport::Netns;

const DUT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0d];
const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0e];
/// How long a frame may take to cross the veth pair.
const PATIENCE: Duration = Duration::from_secs(3);
/// How long to keep listening for frames that should not come.
const GRACE: Duration = Duration::from_millis(100);

/// Two namespaces joined by a veth pair `sd` (in the first) – `sp` (in the second).
fn link(tag: &str, queues: u32) -> Option<(Netns, Netns)> {
    let dut = Netns::create(&format!("{tag}-dut"))?;
    let peer = Netns::create(&format!("{tag}-peer"))?;
    dut.veth("sd", &peer, "sp", queues);
    Some((dut, peer))
}

/// Opens ports in `ns` from a thread that entered it, and moves them out of that thread.
fn open_in(
    ns: &Netns,
    interface: &str,
    ports: usize,
    rings: RingSizes,
) -> Result<Vec<AfPacketPort>, DeviceError> {
    thread::scope(|s| {
        s.spawn(|| {
            ns.enter();
            af_packet::open(interface, ports, rings)
        })
        .join()
        .expect("opening thread panicked")
    })
}

fn open_one(ns: &Netns, interface: &str, frames: u32) -> AfPacketPort {
    let rings = RingSizes {
        rx: frames,
        tx: frames,
    };
    let mut ports = open_in(ns, interface, 1, rings).expect("opening a port");
    ports.pop().expect("one port")
}

/// An IPv4/UDP frame from the peer to the port under test, 198.18.0.2:`src_port` to
/// 198.18.0.1:7777, numbered `seq` in its payload.
fn udp_frame(src_port: u16, seq: u32) -> Vec<u8> {
    let mut f = Vec::with_capacity(64);
    f.extend_from_slice(&DUT_MAC);
    f.extend_from_slice(&PEER_MAC);
    f.extend_from_slice(&[0x08, 0x00]);
    let payload = [&b"strait-afp"[..], &seq.to_be_bytes(), &[0; 8]].concat();
    let total = (20 + 8 + payload.len()) as u16;
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[4..6].copy_from_slice(&(seq as u16).to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&[198, 18, 0, 2]);
    ip[16..20].copy_from_slice(&[198, 18, 0, 1]);
    let sum = ip
        .chunks(2)
        .fold(0u32, |s, w| s + u32::from(u16::from_be_bytes([w[0], w[1]])));
    let sum = (sum & 0xffff) + (sum >> 16);
    ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&src_port.to_be_bytes());
    f.extend_from_slice(&7777u16.to_be_bytes());
    f.extend_from_slice(&(total - 20).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&payload);
    f
}

/// `frame` with an 802.1Q/802.1ad tag in front of its EtherType.
fn tagged(frame: &[u8], tpid: u16, tci: u16) -> Vec<u8> {
    [
        &frame[..12],
        &tpid.to_be_bytes(),
        &tci.to_be_bytes(),
        &frame[12..],
    ]
    .concat()
}

fn swap_macs(frame: &mut [u8]) {
    let (dst, src) = frame[..12].split_at_mut(6);
    dst.swap_with_slice(src);
}

fn swapped(frame: &[u8]) -> Vec<u8> {
    let mut f = frame.to_vec();
    swap_macs(&mut f);
    f
}

/// A frame this test sent (by its source MAC), not the link's own chatter.
fn is_ours(frame: &[u8]) -> bool {
    frame.len() >= 14 && (frame[6..12] == PEER_MAC || frame[6..12] == DUT_MAC)
}

/// The UDP source port and sequence number of an untagged frame from [`udp_frame`].
fn flow_and_seq(frame: &[u8]) -> Option<(u16, u32)> {
    if !is_ours(frame) || frame.len() < 56 || &frame[42..52] != b"strait-afp" {
        return None;
    }
    let port = u16::from_be_bytes([frame[34], frame[35]]);
    let seq = u32::from_be_bytes([frame[52], frame[53], frame[54], frame[55]]);
    Some((port, seq))
}

/// Receives on `port` until `want` of our frames came (then listens a little longer for extra
/// ones) or patience runs out. `answer` decides the fate of ours (after they are copied);
/// others are dropped. Returns our frames as received, and how many frames came in all.
fn collect(
    port: &mut AfPacketPort,
    want: usize,
    mut answer: impl FnMut(&mut [u8], usize) -> Verdict,
) -> (Vec<Vec<u8>>, usize) {
    let mut ours = Vec::new();
    let mut total = 0;
    let deadline = Instant::now() + PATIENCE;
    let mut until = deadline;
    while Instant::now() < until {
        let n = port.rx_burst(64, |buf, len| {
            if !is_ours(&buf[..len]) {
                return Verdict::Drop;
            }
            ours.push(buf[..len].to_vec());
            answer(buf, len)
        });
        total += n;
        if ours.len() >= want && until == deadline {
            until = Instant::now() + GRACE;
        }
        if n == 0 {
            thread::sleep(Duration::from_millis(1));
        }
    }
    (ours, total)
}

#[test]
fn frames_arrive_byte_exact_and_go_back_out_rewritten() {
    let Some((dut_ns, peer_ns)) = link("echo", 1) else {
        return;
    };
    let mut dut = open_one(&dut_ns, "sd", 256);
    let mut peer = open_one(&peer_ns, "sp", 256);

    let sent: Vec<_> = (0..8).map(|i| udp_frame(5000 + i as u16, i)).collect();
    for frame in &sent {
        assert!(peer.send(frame));
    }
    peer.flush();

    let (received, total) = collect(&mut dut, sent.len(), |buf, len| {
        swap_macs(buf);
        Verdict::Tx(len)
    });
    assert_eq!(
        received, sent,
        "the port under test sees the frames as sent"
    );
    dut.flush();

    let (echoed, _) = collect(&mut peer, sent.len(), |_, _| Verdict::Drop);
    let expected: Vec<_> = sent.iter().map(|f| swapped(f)).collect();
    assert_eq!(
        echoed, expected,
        "the peer sees the rewritten frames, not its own"
    );

    let extra = swapped(&udp_frame(6000, 99));
    assert!(dut.send(&extra));
    dut.flush();
    let (got, _) = collect(&mut peer, 1, |_, _| Verdict::Drop);
    assert_eq!(got, vec![extra]);

    let stats = dut.stats();
    assert_eq!(stats.rx, total as u64);
    assert_eq!((stats.tx, stats.tx_full), (9, 0));
    assert_eq!(peer.stats().tx, 8);
}

#[test]
fn a_fanout_group_spreads_flows_and_keeps_each_flow_on_one_port() {
    let Some((dut_ns, peer_ns)) = link("fanout", 2) else {
        return;
    };
    let rings = RingSizes { rx: 512, tx: 512 };
    let mut ports = open_in(&dut_ns, "sd", 2, rings).expect("opening two ports");
    let mut peer = open_one(&peer_ns, "sp", 512);

    const FLOWS: u16 = 64;
    const PER_FLOW: u32 = 4;
    let mut seq = 0;
    for _ in 0..PER_FLOW {
        for flow in 0..FLOWS {
            assert!(peer.send(&udp_frame(10_000 + flow, seq)));
            seq += 1;
        }
    }
    peer.flush();

    // seq -> (port, flow), and any seq seen twice.
    let mut seen = HashMap::new();
    let mut twice = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    let mut until = deadline;
    while Instant::now() < until {
        for (i, port) in ports.iter_mut().enumerate() {
            port.rx_burst(64, |buf, len| {
                if let Some((flow, seq)) = flow_and_seq(&buf[..len])
                    && seen.insert(seq, (i, flow)).is_some()
                {
                    twice.push(seq);
                }
                Verdict::Drop
            });
        }
        if seen.len() as u32 >= seq && until == deadline {
            until = Instant::now() + GRACE;
        }
        thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(twice, Vec::<u32>::new(), "frames received twice");
    assert_eq!(seen.len() as u32, seq, "every frame arrives once");

    let mut ports_of_flow: HashMap<u16, HashSet<usize>> = HashMap::new();
    for &(port, flow) in seen.values() {
        ports_of_flow.entry(flow).or_default().insert(port);
    }
    assert!(
        ports_of_flow.values().all(|p| p.len() == 1),
        "{ports_of_flow:?}"
    );
    let used: HashSet<usize> = seen.values().map(|&(port, _)| port).collect();
    assert_eq!(used.len(), 2, "{FLOWS} flows all hashed to one port");
}

#[test]
fn a_vlan_tagged_frame_arrives_with_its_tag() {
    let Some((dut_ns, peer_ns)) = link("vlan", 1) else {
        return;
    };
    let mut dut = open_one(&dut_ns, "sd", 64);
    let mut peer = open_one(&peer_ns, "sp", 64);

    let sent = vec![
        tagged(&udp_frame(5000, 1), 0x8100, 0xa064),
        tagged(&udp_frame(5001, 2), 0x88a8, 0x0123),
    ];
    for frame in &sent {
        assert!(peer.send(frame));
    }
    peer.flush();
    let (received, _) = collect(&mut dut, sent.len(), |_, _| Verdict::Drop);
    assert_eq!(received, sent);
}

#[test]
fn a_full_tx_ring_counts_tx_full_and_never_blocks() {
    let Some((dut_ns, peer_ns)) = link("txfull", 1) else {
        return;
    };
    let mut dut = open_one(&dut_ns, "sd", 16);
    let mut peer = open_one(&peer_ns, "sp", 64);
    let ring = dut.ring_sizes().tx as usize;
    assert_eq!(ring, 16);

    let frame = swapped(&udp_frame(5000, 1));
    let accepted = (0..ring + 10).filter(|_| dut.send(&frame)).count();
    assert_eq!(accepted, ring);
    assert!(
        !dut.send(&vec![0; 8192]),
        "a frame longer than a ring frame"
    );
    assert_eq!((dut.stats().tx, dut.stats().tx_full), (16, 11));

    // A Tx verdict with the ring still full is counted too.
    assert!(peer.send(&udp_frame(5001, 2)));
    peer.flush();
    let (received, _) = collect(&mut dut, 1, |_, len| Verdict::Tx(len));
    assert_eq!(received.len(), 1);
    assert_eq!(dut.stats().tx_full, 12);

    dut.flush();
    let (out, _) = collect(&mut peer, ring, |_, _| Verdict::Drop);
    assert_eq!(out, vec![frame.clone(); ring]);
    let deadline = Instant::now() + PATIENCE;
    while !dut.send(&frame) {
        assert!(Instant::now() < deadline, "the ring never drained");
        thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn ring_overruns_add_up_in_rx_dropped() {
    let Some((dut_ns, peer_ns)) = link("overrun", 1) else {
        return;
    };
    let mut dut = open_one(&dut_ns, "sd", 16);
    let mut peer = open_one(&peer_ns, "sp", 64);
    // Two rounds of 64 frames into a 16-frame ring that is drained only between rounds: at
    // least 48 drops each, and the second round's add to the first's.
    for round in 1..=2 {
        for seq in 0..64 {
            assert!(peer.send(&udp_frame(5000, seq)));
        }
        peer.flush();
        let deadline = Instant::now() + PATIENCE;
        while dut.stats().rx_dropped < 48 * round {
            assert!(
                Instant::now() < deadline,
                "round {round}: {:?}",
                dut.stats()
            );
            for _ in 0..1024 {
                dut.flush();
            }
        }
        assert_eq!(
            dut.rx_burst(5, |_, _| Verdict::Drop),
            5,
            "a burst stops at max"
        );
        let rest = dut.rx_burst(64, |_, _| Verdict::Drop);
        assert!(5 + rest <= 16, "more frames than the ring holds");
    }
}

#[test]
fn the_local_stacks_outgoing_frames_are_not_received() {
    let Some((dut_ns, peer_ns)) = link("outgoing", 1) else {
        return;
    };
    dut_ns.exec(&["ip", "addr", "add", "198.18.0.1/24", "dev", "sd"]);
    let peer_mac = "02:00:00:00:00:0e";
    dut_ns.exec(&[
        "ip",
        "neigh",
        "add",
        "198.18.0.2",
        "lladdr",
        peer_mac,
        "dev",
        "sd",
    ]);
    let mut dut = open_one(&dut_ns, "sd", 64);
    let mut peer = open_one(&peer_ns, "sp", 64);

    thread::scope(|s| {
        s.spawn(|| {
            dut_ns.enter();
            let udp = UdpSocket::bind("198.18.0.1:0").expect("binding a UDP socket");
            udp.send_to(b"strait-out", "198.18.0.2:7777")
                .expect("sending");
        });
    });
    let carries_marker = |frame: &[u8]| frame.windows(10).any(|w| w == b"strait-out");
    let mut on_the_wire = 0;
    let deadline = Instant::now() + PATIENCE;
    while on_the_wire == 0 && Instant::now() < deadline {
        peer.rx_burst(64, |buf, len| {
            on_the_wire += usize::from(carries_marker(&buf[..len]));
            Verdict::Drop
        });
        thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(on_the_wire, 1, "the datagram never reached the wire");
    let mut echoed = 0;
    dut.rx_burst(64, |buf, len| {
        echoed += usize::from(carries_marker(&buf[..len]));
        Verdict::Drop
    });
    assert_eq!(echoed, 0, "the port saw its own interface's outgoing frame");
}

#[test]
fn opening_a_missing_interface_names_it() {
    let Some(ns) = Netns::create("missing") else {
        return;
    };
    let err = open_in(&ns, "strait-nope0", 1, RingSizes::default()).expect_err("no interface");
    assert!(matches!(err, DeviceError::NoInterface { .. }), "{err:?}");
    assert!(err.to_string().contains("strait-nope0"), "{err}");
}
