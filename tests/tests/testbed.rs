//! The network-namespace testbed (`scripts/netns-testbed.sh`) on its own, before any data plane.
//!
//! Story: bring a testbed up under a prefix of our own; from the client namespace reach every
//! backend directly, TCP and UDP, IPv4 and IPv6, and hear each answer with its own name; send to
//! the VIP and hear nothing (no data plane runs, and the backends' copies of the VIP on `lo` must
//! not answer ARP or ND); hold connections to a backend, stop it, and see them reported broken
//! while another backend's connections still echo; bring the testbed down and find no namespace
//! and no backend process left. A guard runs `down` whatever happens.
//!
//! Needs root; skips loudly otherwise, and fails instead under `STRAIT_REQUIRE_NETNS=1`. The
//! binaries come from the target directory of the test's own profile (build them first:
//! `cargo build -p strait-e2e --bins`).

use std::{collections::BTreeMap, net::SocketAddr, path::Path, process::Command, time::Duration};

use strait_e2e::{Testbed, bin, probe, testbed::text, wait_until};

const DIRECT: Duration = Duration::from_secs(2);
/// How long the VIP gets to answer: nobody should, so keep it short.
const SILENT: Duration = Duration::from_millis(400);

/// True while `pid` is a live strait-echo (a zombie, or a recycled PID, does not count).
fn echo_running(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat.rsplit_once(") ").map(|(_, rest)| &rest[..1]);
    stat.contains("(strait-echo)") && state != Some("Z")
}

fn addr(ip: &str, port: u16) -> SocketAddr {
    SocketAddr::new(ip.parse().expect("an IP address"), port)
}

#[test]
fn testbed_backends_answer_directly_the_vip_stays_silent_and_down_cleans_up() {
    let Some(mut testbed) = Testbed::up() else {
        return;
    };
    let pids = testbed.backend_pids();

    // Every backend answers on its own addresses with its own name: TCP and UDP, v4 and v6.
    for k in 1..=3 {
        let name = format!("b{k}");
        for ip in [format!("198.18.0.1{k}"), format!("2001:2::1{k}")] {
            let target = addr(&ip, 8080);
            let (tcp, udp) = testbed.in_client(|| {
                (
                    probe::tcp_spread(target, 6, 3, DIRECT),
                    probe::udp_spread(target, 6, DIRECT),
                )
            });
            let only_name = BTreeMap::from([(name.clone(), 6)]);
            assert_eq!(tcp.backends, only_name, "tcp {target}: {tcp}");
            assert!(tcp.is_clean(), "tcp {target}: {tcp}");
            assert_eq!(udp.backends, only_name, "udp {target}: {udp}");
            assert!(udp.is_clean(), "udp {target}: {udp}");
        }
    }

    // The CLI too, as a shell user would run it.
    let out = Command::new("ip")
        .args(["netns", "exec", &testbed.namespace("client")])
        .arg(bin("strait-probe"))
        .args(["tcp", "--target", "[2001:2::13]:8080", "--connections", "4"])
        .args(["--json"])
        .output()
        .expect("running strait-probe");
    assert!(out.status.success(), "strait-probe: {}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["backends"]["b3"], 4, "{json}");

    // No data plane: nobody answers for the VIP, not even the backends that carry it on lo.
    for vip in ["198.18.0.100", "2001:2::100"] {
        let target = addr(vip, 80);
        let (tcp, udp) = testbed.in_client(|| {
            (
                probe::tcp_spread(target, 2, 2, SILENT),
                probe::udp_spread(target, 2, SILENT),
            )
        });
        assert_eq!((tcp.ok(), tcp.failed()), (0, 2), "tcp {target}: {tcp}");
        assert_eq!((udp.ok(), udp.failed()), (0, 2), "udp {target}: {udp}");
        let neighbour = testbed.client_neighbour(vip);
        assert!(
            !neighbour.contains("lladdr"),
            "something answered ARP/ND for the VIP {vip}: {neighbour}"
        );
    }

    // Held connections: those to a stopped backend break, the others keep echoing.
    let (mut to_b3, mut to_b2) = testbed.in_client(|| {
        (
            probe::hold(addr("198.18.0.13", 8080), 4, DIRECT),
            probe::hold(addr("2001:2::12", 8080), 3, DIRECT),
        )
    });
    assert_eq!(to_b3.check().to_string(), "b3=4/4 failed=0");
    assert_eq!(to_b2.check().to_string(), "b2=3/3 failed=0");
    let b3 = pids["b3"];
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(b3).expect("a PID"),
        rustix::process::Signal::TERM,
    )
    .expect("SIGTERM to b3");
    wait_until(Duration::from_secs(5), "b3 to exit", || {
        (!echo_running(b3)).then_some(())
    });
    let report = to_b3.check();
    assert_eq!(report.ok(), 0, "b3 is gone: {report}");
    assert_eq!(report.failed(), 4, "{report}");
    assert_eq!(to_b2.check().to_string(), "b2=3/3 failed=0");
    drop((to_b3, to_b2));

    // Down: no namespace, no backend process, no run directory.
    let prefix = format!("{}-", testbed.prefix());
    let run_dir = testbed.run_dir();
    let out = testbed.down().expect("the testbed was up");
    assert!(out.status.success(), "down failed:\n{}", text(&out));
    for host in ["sw", "client", "node", "b1", "b2", "b3"] {
        let path = format!("/run/netns/{prefix}{host}");
        assert!(!Path::new(&path).exists(), "{path} is still there");
    }
    let list = Command::new("ip").args(["netns", "list"]).output();
    let list = text(&list.expect("ip netns list"));
    assert!(!list.contains(&prefix), "namespaces left: {list}");
    for (name, pid) in pids {
        assert!(
            !echo_running(pid),
            "strait-echo {name} (pid {pid}) still runs"
        );
    }
    assert!(!run_dir.exists(), "{} is still there", run_dir.display());
}
