//! The L4 fast path end to end, on the network-namespace testbed, for each packet device.
//!
//! Story, per device: bring a testbed up; start the agent and a data plane driving the node's
//! `eth0`; apply a config of three weighted backends (1:1:2); from the client namespace open
//! 2000 TCP connections and 2000 UDP flows to the VIP, IPv4 and IPv6, and see each backend get
//! its share within 5 points, in full NAT and in direct server return. Then hold connections,
//! remove a backend with `straitctl apply`, and see every connection to the others keep
//! echoing while the removed backend's flows move, and new flows spread over the rest. Hold
//! connections again and drain a backend with `straitctl endpoint drain`: every connection,
//! the drained backend's included, keeps echoing while new flows avoid it; undrained, it takes
//! its share again. Send malformed and truncated frames from the client and find each counted
//! under its reason in `straitctl stats`, with forwarding unaffected. A client behind a
//! router is answered through the node's gateway. The VIPs answer pings, and with every backend
//! down new TCP and UDP flows are refused at once (reset, ICMP port unreachable) rather than
//! left to time out.
//!
//! af_xdp runs once in each XDP mode: generic (full NAT, drain), native (DSR), auto (removal).
//! With the `dpdk` feature (a data plane built with DPDK, run without hugepages), the same
//! stories run on DPDK's `net_af_packet` and `net_af_xdp` vdevs over the node's `eth0`.
//!
//! Needs root (skips loudly otherwise; fails under `STRAIT_REQUIRE_NETNS=1`). Binaries come
//! from the target directory of the test's own profile (`scripts/test.sh` builds them).

use std::{
    net::SocketAddr,
    sync::{Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use strait_e2e::{Node, Testbed, probe, test_cores};

/// Flows per spread. A share's standard deviation over n flows is `100·√(p(1−p)/n)` points: with
/// 2000 flows, 1.1 points at 50% and 1.0 at 25%, so the 5-point tolerance is more than 4.5σ for
/// every one of the ~70 shares a run checks (with 1000 it was 3.2σ: a few runs in a hundred
/// failed on chance alone).
const CONNECTIONS: usize = 2000;
const TIMEOUT: Duration = Duration::from_secs(3);
/// Allowed distance of a backend's share from its weight's, in percentage points.
const TOLERANCE: f64 = 5.0;

/// Full NAT or direct server return, for every service.
#[derive(Clone, Copy, Debug)]
enum Mode {
    FullNat,
    Dsr,
}

/// The testbed's services: TCP and UDP on port 80 of both VIPs, three backends 1:1:2, or the
/// backends listed (by number).
fn config(mode: Mode, backends: &[u8]) -> String {
    let mode = match mode {
        Mode::FullNat => "FullNat",
        Mode::Dsr => "DSR",
    };
    let mut out = String::from("l4Services:\n");
    for (family, vip, prefix) in [
        ("v4", "198.18.0.100", "198.18.0.1"),
        ("v6", "2001:2::100", "2001:2::1"),
    ] {
        for proto in ["TCP", "UDP"] {
            out += &format!(
                "  - name: {}-{family}\n    vip: \"{vip}\"\n    port: 80\n    protocol: {proto}\n    mode: {mode}\n    backends:\n",
                proto.to_lowercase()
            );
            for &b in backends {
                let weight = if b == 3 { 2 } else { 1 };
                // DSR keeps the destination port: the backends listen on 8080 behind port 80 only
                // with full NAT, so DSR services use port 8080 end to end.
                out += &format!(
                    "      - {{ address: \"{prefix}{b}\", port: 8080, weight: {weight} }}\n"
                );
            }
        }
    }
    if mode == "DSR" {
        out = out.replace("port: 80\n", "port: 8080\n");
    }
    out
}

/// One testbed at a time: each test loads both cores with a thousand connections.
static SERIAL: Mutex<()> = Mutex::new(());

/// A testbed with a Strait node on it; drops the node's processes before the testbed.
struct Bed {
    node: Node,
    testbed: Testbed,
    port: u16,
    _serial: MutexGuard<'static, ()>,
}

/// The data plane's device flags for a test's device name: `af_packet`, `af_xdp`, or
/// `dpdk-<vdev driver>` (DPDK without hugepages on a `net_af_packet` or `net_af_xdp` vdev of
/// the node's `eth0`, one queue pair per worker).
fn device_args(device: &str, workers: usize, xdp_mode: &str) -> Vec<String> {
    let args: Vec<String> = match device.strip_prefix("dpdk-") {
        Some(driver) => {
            let vdev = match driver {
                "net_af_packet" => format!("net_af_packet0,iface=eth0,qpairs={workers}"),
                "net_af_xdp" => {
                    format!("net_af_xdp0,iface=eth0,start_queue=0,queue_count={workers}")
                }
                other => panic!("no DPDK vdev {other} in these tests"),
            };
            let name = vdev.split(',').next().expect("a name").to_owned();
            [
                "--device",
                "dpdk",
                "--dpdk-no-huge",
                "--dpdk-vdev",
                &vdev,
                "--interface",
                &name,
            ]
            .map(str::to_owned)
            .into()
        }
        None => {
            let mut args = vec!["--device", device, "--interface", "eth0"];
            if device == "af_xdp" {
                args.extend(["--xdp-mode", xdp_mode]);
            }
            args.into_iter().map(str::to_owned).collect()
        }
    };
    args
}

/// The node's addresses on the flat segment: every peer on-link.
const FLAT: [&str; 4] = ["--node-v4", "198.18.0.2", "--node-v6", "2001:2::2"];

impl Bed {
    /// `xdp_mode` is used with `af_xdp` only.
    fn start(device: &str, mode: Mode, xdp_mode: &str) -> Option<Bed> {
        Bed::start_with(device, mode, xdp_mode, &FLAT)
    }

    /// [`Bed::start`] with `node_args` for the node's address flags.
    fn start_with(device: &str, mode: Mode, xdp_mode: &str, node_args: &[&str]) -> Option<Bed> {
        let serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
        // DPDK's af_xdp driver counts only "combined" channels as queues, and a veth has
        // none (only rx and tx): it drives one queue, so the node's link gets one queue (or
        // the other queue's frames would bypass it) and the data plane one worker.
        let one_queue = device == "dpdk-net_af_xdp";
        let testbed = Testbed::up_with_queues(one_queue.then_some(1))?;
        let mut node = Node::new();
        node.start_agent();
        let (mut cores, mut workers) = test_cores();
        if one_queue {
            cores.truncate(cores.find(',').unwrap_or(cores.len()));
            workers = 1;
        }
        let ns = testbed.namespace("node");
        let mut args = device_args(device, workers, xdp_mode);
        args.extend(node_args.iter().map(|&a| a.to_owned()));
        args.extend(["--conntrack-capacity", "65536", "--ring", "1024"].map(str::to_owned));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        node.start_dataplane_with(&cores, Some(&ns), &args);
        let bed = Bed {
            node,
            testbed,
            port: match mode {
                Mode::FullNat => 80,
                Mode::Dsr => 8080,
            },
            _serial: serial,
        };
        bed.apply(&config(mode, &[1, 2, 3]));
        bed.node.wait_workers_on(1, workers);
        Some(bed)
    }

    fn apply(&self, yaml: &str) {
        self.node.apply_yaml(yaml);
    }

    fn dataplane_log(&self) -> String {
        self.node.dataplane_log()
    }

    fn vip4(&self) -> SocketAddr {
        SocketAddr::from(([198, 18, 0, 100], self.port))
    }

    fn vip6(&self) -> SocketAddr {
        format!("[2001:2::100]:{}", self.port)
            .parse()
            .expect("address")
    }
}

/// Asserts every backend got its weight's share (percent) within [`TOLERANCE`], and no errors.
fn assert_spread(what: &str, spread: &probe::Spread, want: &[(&str, f64)], log: &str) {
    assert!(
        spread.is_clean(),
        "{what}: {spread}\n--- data plane log ---\n{log}"
    );
    let total = spread.ok() as f64;
    for &(backend, percent) in want {
        let got = 100.0 * spread.count(backend) as f64 / total;
        assert!(
            (got - percent).abs() <= TOLERANCE,
            "{what}: {backend} got {got:.1}% (want {percent}% ± {TOLERANCE}): {spread}"
        );
    }
}

const WEIGHTED: [(&str, f64); 3] = [("b1", 25.0), ("b2", 25.0), ("b3", 50.0)];

fn spreads_tcp_and_udp_by_weight(device: &str, mode: Mode, xdp_mode: &str) {
    let Some(bed) = Bed::start(device, mode, xdp_mode) else {
        return;
    };
    let (v4, v6) = (bed.vip4(), bed.vip6());
    let spreads = bed.testbed.in_client(|| {
        [
            ("tcp v4", probe::tcp_spread(v4, CONNECTIONS, 64, TIMEOUT)),
            ("udp v4", probe::udp_spread(v4, CONNECTIONS, TIMEOUT)),
            ("tcp v6", probe::tcp_spread(v6, CONNECTIONS, 64, TIMEOUT)),
            ("udp v6", probe::udp_spread(v6, CONNECTIONS, TIMEOUT)),
        ]
    });
    for (what, spread) in &spreads {
        eprintln!("{device} {mode:?} {what}: {spread}");
        assert_spread(
            &format!("{device} {mode:?} {what}"),
            spread,
            &WEIGHTED,
            &bed.dataplane_log(),
        );
    }
}

/// Holds 300 connections to the IPv4 VIP, all opened, b3 holding its share of them.
fn hold_some_on_b3(bed: &Bed) -> probe::Held {
    let v4 = bed.vip4();
    let held = bed.testbed.in_client(|| probe::hold(v4, 300, TIMEOUT));
    assert!(
        held.unopened().is_empty(),
        "connections not opened: {:?}",
        held.unopened()
    );
    let before = held.backends();
    assert!(
        before.get("b3").copied().unwrap_or(0) > 50,
        "b3 holds its share: {before:?}"
    );
    held
}

fn removing_a_backend_moves_only_its_flows(device: &str, xdp_mode: &str) {
    let Some(bed) = Bed::start(device, Mode::FullNat, xdp_mode) else {
        return;
    };
    let v4 = bed.vip4();
    let mut held = hold_some_on_b3(&bed);
    bed.apply(&config(Mode::FullNat, &[1, 2]));
    let report = bed.testbed.in_client(|| held.check());
    eprintln!("{device}: after removing b3: {report}");
    for b in ["b1", "b2"] {
        let c = &report.backends[b];
        assert_eq!(c.failed, 0, "{b}'s connections survive: {report}");
        assert!(c.ok > 0);
    }
    assert_eq!(report.backends["b3"].ok, 0, "b3's flows moved: {report}");
    let after = bed
        .testbed
        .in_client(|| probe::tcp_spread(v4, CONNECTIONS, 64, TIMEOUT));
    assert_spread(
        "new flows",
        &after,
        &[("b1", 50.0), ("b2", 50.0), ("b3", 0.0)],
        &bed.dataplane_log(),
    );
}

fn draining_a_backend_keeps_its_flows_and_sends_new_ones_elsewhere(device: &str, xdp_mode: &str) {
    let Some(bed) = Bed::start(device, Mode::FullNat, xdp_mode) else {
        return;
    };
    let v4 = bed.vip4();
    let mut held = hold_some_on_b3(&bed);
    let before = held.backends();
    let out = bed.node.ctl(&["endpoint", "drain", "198.18.0.13:8080"]);
    assert!(
        out.status.success(),
        "endpoint drain: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = bed
        .testbed
        .in_client(|| probe::tcp_spread(v4, CONNECTIONS, 64, TIMEOUT));
    assert_spread(
        "new flows with b3 draining",
        &after,
        &[("b1", 50.0), ("b2", 50.0), ("b3", 0.0)],
        &bed.dataplane_log(),
    );
    let report = bed.testbed.in_client(|| held.check());
    eprintln!("{device}: with b3 draining: {report}");
    assert!(report.is_clean(), "every held connection echoes: {report}");
    assert_eq!(report.backends["b3"].ok, before["b3"], "b3 keeps its flows");

    let out = bed.node.ctl(&["endpoint", "undrain", "198.18.0.13:8080"]);
    assert!(out.status.success());
    let again = bed
        .testbed
        .in_client(|| probe::tcp_spread(v4, CONNECTIONS, 64, TIMEOUT));
    assert_spread(
        "new flows with b3 back",
        &again,
        &WEIGHTED,
        &bed.dataplane_log(),
    );
    let report = bed.testbed.in_client(|| held.check());
    assert!(report.is_clean(), "after undrain: {report}");
}

/// Sets every backend of both families `state` (`down` or `up`) with `straitctl endpoint`.
fn set_all_backends(bed: &Bed, state: &str) {
    for b in 1..=3 {
        for addr in [
            format!("198.18.0.1{b}:8080"),
            format!("[2001:2::1{b}]:8080"),
        ] {
            let out = bed.node.ctl(&["endpoint", state, &addr]);
            assert!(
                out.status.success(),
                "endpoint {state} {addr}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// `ping` from the client namespace to `vip`: three echoes, each answered within a second.
fn ping(bed: &Bed, vip: std::net::IpAddr) -> std::process::Output {
    std::process::Command::new("ip")
        .args(["netns", "exec", &bed.testbed.namespace("client"), "ping"])
        .args(["-c", "3", "-i", "0.2", "-W", "1", &vip.to_string()])
        .output()
        .expect("ping (iputils-ping)")
}

/// The VIPs answer pings. With every backend down, a client is refused at once, as by a host
/// with the port closed: TCP connects get a reset, UDP sockets an ICMP port unreachable (both
/// `refused` in the probe, rather than `timeout`), over IPv4 and IPv6; with one backend up
/// again it serves.
fn a_vip_without_backends_refuses_new_flows(device: &str, xdp_mode: &str) {
    let Some(bed) = Bed::start(device, Mode::FullNat, xdp_mode) else {
        return;
    };
    for vip in [bed.vip4(), bed.vip6()] {
        let out = ping(&bed, vip.ip());
        assert!(
            out.status.success(),
            "ping {vip}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    wait_total(&bed.node, "icmp_echo_replies", 6);
    set_all_backends(&bed, "down");
    let before = totals(&bed.node)["refused_no_backend"]
        .as_u64()
        .unwrap_or(0);
    const FLOWS: usize = 40;
    for vip in [bed.vip4(), bed.vip6()] {
        let tcp = bed
            .testbed
            .in_client(|| probe::tcp_spread(vip, FLOWS, 8, TIMEOUT));
        let udp = bed
            .testbed
            .in_client(|| probe::udp_spread(vip, FLOWS, TIMEOUT));
        let log = bed.dataplane_log();
        for (what, spread) in [("tcp", tcp), ("udp", udp)] {
            assert_eq!(
                spread.errors.get(&probe::Failure::Refused),
                Some(&FLOWS),
                "{what} to {vip} with every backend down: {spread}\n{log}"
            );
        }
    }
    wait_total(&bed.node, "refused_no_backend", before + 4 * FLOWS as u64);

    let out = bed.node.ctl(&["endpoint", "up", "198.18.0.11:8080"]);
    assert!(out.status.success());
    let spread = bed
        .testbed
        .in_client(|| probe::tcp_spread(bed.vip4(), FLOWS, 8, TIMEOUT));
    assert!(
        spread.is_clean() && spread.count("b1") == FLOWS,
        "with b1 up: {spread}"
    );
    set_all_backends(&bed, "up");
}

#[test]
fn af_packet_a_vip_without_backends_refuses_new_flows() {
    a_vip_without_backends_refuses_new_flows("af_packet", "");
}

#[test]
fn af_xdp_a_vip_without_backends_refuses_new_flows() {
    a_vip_without_backends_refuses_new_flows("af_xdp", "generic");
}

#[test]
fn af_packet_draining_a_backend_keeps_its_flows_and_sends_new_ones_elsewhere() {
    draining_a_backend_keeps_its_flows_and_sends_new_ones_elsewhere("af_packet", "");
}

#[test]
fn af_xdp_draining_a_backend_keeps_its_flows_and_sends_new_ones_elsewhere() {
    draining_a_backend_keeps_its_flows_and_sends_new_ones_elsewhere("af_xdp", "generic");
}

#[test]
fn af_packet_full_nat_spreads_tcp_and_udp_by_weight() {
    spreads_tcp_and_udp_by_weight("af_packet", Mode::FullNat, "");
}

#[test]
fn af_packet_dsr_spreads_tcp_and_udp_by_weight() {
    spreads_tcp_and_udp_by_weight("af_packet", Mode::Dsr, "");
}

#[test]
fn af_packet_removing_a_backend_moves_only_its_flows() {
    removing_a_backend_moves_only_its_flows("af_packet", "");
}

/// A client behind a router: the client namespace also holds 198.19.0.1 (on `lo`), answers ARP
/// only for the addresses of `eth0` (`arp_ignore=1`) and asks with them (`arp_announce=2`), so
/// the node never learns 198.19.0.1 and reaches it only through its gateway 198.18.0.1 (the
/// client namespace, routing for it). UDP flows from that
/// address through the VIP must all be answered, over every backend.
fn a_client_behind_the_gateway_is_answered_through_it(device: &str, xdp_mode: &str) {
    let node = [
        "--node-v4",
        "198.18.0.2/24",
        "--gateway-v4",
        "198.18.0.1",
        "--node-v6",
        "2001:2::2/64",
    ];
    let Some(bed) = Bed::start_with(device, Mode::FullNat, xdp_mode, &node) else {
        return;
    };
    let ns = bed.testbed.namespace("client");
    for cmd in [
        "ip addr add 198.19.0.1/32 dev lo",
        "sysctl -qw net.ipv4.conf.all.arp_ignore=1",
        "sysctl -qw net.ipv4.conf.eth0.arp_ignore=1",
        "sysctl -qw net.ipv4.conf.all.arp_announce=2",
        "sysctl -qw net.ipv4.conf.eth0.arp_announce=2",
    ] {
        let status = std::process::Command::new("ip")
            .args(["netns", "exec", &ns])
            .args(cmd.split(' '))
            .status()
            .expect("ip netns exec");
        assert!(status.success(), "{cmd} in {ns}");
    }
    let vip = bed.vip4();
    let far = std::net::IpAddr::from([198, 19, 0, 1]);
    let spread = bed
        .testbed
        .in_client(|| probe::udp_spread_from(far, vip, 200, TIMEOUT));
    eprintln!("{device} from {far}: {spread}");
    let log = bed.dataplane_log();
    assert!(spread.is_clean() && spread.ok() == 200, "{spread}\n{log}");
    for b in ["b1", "b2", "b3"] {
        assert!(spread.count(b) > 0, "{b} got none: {spread}");
    }
}

#[test]
fn af_packet_a_client_behind_the_gateway_is_answered_through_it() {
    a_client_behind_the_gateway_is_answered_through_it("af_packet", "");
}

#[test]
fn af_xdp_full_nat_spreads_tcp_and_udp_by_weight() {
    spreads_tcp_and_udp_by_weight("af_xdp", Mode::FullNat, "generic");
}

#[test]
fn af_xdp_dsr_spreads_tcp_and_udp_by_weight() {
    spreads_tcp_and_udp_by_weight("af_xdp", Mode::Dsr, "native");
}

#[test]
fn af_xdp_removing_a_backend_moves_only_its_flows() {
    removing_a_backend_moves_only_its_flows("af_xdp", "auto");
}

#[cfg(feature = "dpdk")]
#[test]
fn dpdk_af_packet_full_nat_spreads_tcp_and_udp_by_weight() {
    spreads_tcp_and_udp_by_weight("dpdk-net_af_packet", Mode::FullNat, "");
}

#[cfg(feature = "dpdk")]
#[test]
fn dpdk_af_packet_removing_a_backend_moves_only_its_flows() {
    removing_a_backend_moves_only_its_flows("dpdk-net_af_packet", "");
}

#[cfg(feature = "dpdk")]
#[test]
fn dpdk_af_xdp_full_nat_spreads_tcp_and_udp_by_weight() {
    spreads_tcp_and_udp_by_weight("dpdk-net_af_xdp", Mode::FullNat, "");
}

#[cfg(feature = "dpdk")]
#[test]
fn dpdk_af_xdp_dsr_spreads_tcp_and_udp_by_weight() {
    spreads_tcp_and_udp_by_weight("dpdk-net_af_xdp", Mode::Dsr, "");
}

#[cfg(feature = "dpdk")]
#[test]
fn dpdk_af_xdp_removing_a_backend_moves_only_its_flows() {
    removing_a_backend_moves_only_its_flows("dpdk-net_af_xdp", "");
}

/// Frames the parser must refuse, each with the counter it should land in: a client SYN to
/// the VIP (addressed to the node's MAC), broken one field at a time, and truncated at every
/// length.
fn malformed(node_mac: [u8; 6], client_mac: [u8; 6]) -> Vec<(Vec<u8>, &'static str)> {
    let syn = || {
        let mut f = Vec::new();
        f.extend_from_slice(&node_mac);
        f.extend_from_slice(&client_mac);
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&[198, 18, 0, 1, 198, 18, 0, 100]);
        f.extend_from_slice(&[0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02]);
        f.extend_from_slice(&[0xfa, 0xf0, 0, 0, 0, 0]);
        f
    };
    let fix = |mut f: Vec<u8>| {
        f[24..26].fill(0);
        let sum = strait_packet::checksum::checksum(&f[14..34]);
        f[24..26].copy_from_slice(&sum.to_be_bytes());
        f
    };
    let edit = |at: usize, byte: u8| {
        let mut f = syn();
        f[at] = byte;
        fix(f)
    };
    let good = fix(syn());
    let mut out = vec![
        (edit(14, 0x55), "bad_ip_version"),
        (edit(14, 0x44), "bad_ip_header_length"),
        (edit(22, 1), "ttl_expired"),
        (edit(21, 0x10), "fragment"),
        (edit(23, 99), "unsupported_protocol"),
        (edit(46, 0x20), "bad_tcp_header"),
        (edit(17, 200), "bad_ip_total_length"),
    ];
    let mut bad_sum = good.clone();
    bad_sum[24] ^= 0xff;
    out.push((bad_sum, "bad_ip_checksum"));
    let mut other = good.clone();
    other[12..14].copy_from_slice(&[0x88, 0xb5]);
    out.push((other, "unsupported_ethertype"));
    let mut arp = good[..24].to_vec();
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    out.push((arp, "bad_arp"));
    for len in 14..34 {
        out.push((good[..len].to_vec(), "too_short"));
    }
    out
}

/// The data plane's counters, summed over workers (`straitctl stats --json`).
/// Waits (10 s at most) until the workers' total of counter `name` is at least `at_least`:
/// a worker exports its counters when it idles or every few thousand bursts, not per packet.
fn wait_total(node: &Node, name: &str, at_least: u64) -> u64 {
    let what = format!("{name} >= {at_least}");
    strait_e2e::wait_until(Duration::from_secs(10), &what, || {
        let n = totals(node)[name].as_u64().unwrap_or(0);
        (n >= at_least).then_some(n)
    })
}

fn totals(node: &Node) -> serde_json::Value {
    let out = node.ctl(&["stats", "--json", "--all"]);
    assert!(out.status.success(), "straitctl stats failed");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stats JSON");
    v["total"].clone()
}

fn malformed_frames_are_counted_and_forwarding_goes_on(device: &str, xdp_mode: &str) {
    use strait_device::{Port, RingSizes};
    let Some(bed) = Bed::start(device, Mode::FullNat, xdp_mode) else {
        return;
    };
    let node_mac = strait_device::parse_mac(&bed.testbed.mac("node")).expect("a MAC");
    let corpus = malformed(node_mac, [2, 0, 0, 0, 0, 1]);
    const ROUNDS: usize = 3;
    bed.testbed.in_client(|| {
        let rings = RingSizes { rx: 64, tx: 256 };
        let mut port = strait_device::af_packet::open("eth0", 1, rings)
            .expect("a raw port in the client namespace")
            .pop()
            .expect("one port");
        for _ in 0..ROUNDS {
            for (frame, _) in &corpus {
                assert!(port.send(frame), "queued");
            }
            port.flush();
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let expected: u64 = (corpus.len() * ROUNDS) as u64;
    let reasons: Vec<&str> = corpus.iter().map(|(_, r)| *r).collect();
    let total =
        strait_e2e::wait_until(Duration::from_secs(10), "the drops in the counters", || {
            let t = totals(&bed.node);
            let dropped: u64 = reasons
                .iter()
                .collect::<std::collections::BTreeSet<_>>()
                .iter()
                .map(|r| t[**r].as_u64().unwrap_or(0))
                .sum();
            (dropped >= expected).then_some(t)
        });
    for reason in &reasons {
        assert!(
            total[*reason].as_u64().unwrap_or(0) >= ROUNDS as u64,
            "{reason}: {total}"
        );
    }
    // The workers kept forwarding.
    let v4 = bed.vip4();
    let after = bed
        .testbed
        .in_client(|| probe::tcp_spread(v4, 200, 16, TIMEOUT));
    assert!(after.is_clean(), "after the malformed frames: {after}");
}

#[test]
fn af_packet_malformed_frames_are_counted_and_forwarding_goes_on() {
    malformed_frames_are_counted_and_forwarding_goes_on("af_packet", "");
}

#[test]
fn af_xdp_malformed_frames_are_counted_and_forwarding_goes_on() {
    malformed_frames_are_counted_and_forwarding_goes_on("af_xdp", "generic");
}
