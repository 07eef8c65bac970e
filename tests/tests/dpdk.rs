//! The `dpdk` device beyond the testbed (where `tests/l4.rs` runs it on `net_af_packet` and
//! `net_af_xdp`): the real pipeline forwarding over a `net_ring` vdev, and the one-line
//! errors of a data plane whose DPDK cannot start.
//!
//! Needs a build with `--features dpdk` (this file is compiled only then) and root (DPDK's
//! EAL). DPDK runs without hugepages here, as in CI.

#[path = "../../dataplane/fastpath/tests/common/mod.rs"]
mod common;

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use common::{NODE_MAC, SNAT4, Svc, backend_mac, healthy};
use strait_device::{DeviceConfig, Port, Verdict};
use strait_e2e::bin;
use strait_fastpath::{Action, Neighbours, Pipeline, counter};
use strait_table::L4Mode;

/// One client SYN per source port to a full-NAT VIP with two backends goes round a
/// `net_ring` port (a loopback: what it sends, it receives): the pipeline forwards every SYN,
/// rewritten to a backend, and counts the truncated frame among them as a drop.
#[test]
fn the_pipeline_forwards_over_a_dpdk_ring_port() {
    const FLOWS: u16 = 300;
    let main_core = strait_dataplane::allowed_cores()[0];
    let config = DeviceConfig::dpdk_vdev("net_ring0", main_core);
    let mut ports = strait_device::open(&config, 1).expect("a DPDK net_ring port");
    let port = &mut ports[0];
    assert!(port.mac().is_some(), "a DPDK port has its own MAC");

    let image = common::image(
        1,
        &[Svc::tcp(
            "198.18.0.100",
            L4Mode::FullNat,
            &[("198.18.0.11", 1), ("198.18.0.12", 1)],
        )],
    );
    let neighbours = Neighbours::new();
    for b in 1..=2u8 {
        neighbours.set_static(
            strait_packet::flow::v4_mapped([198, 18, 0, 10 + b]),
            backend_mac(b),
        );
    }
    let mut pipeline = Pipeline::new(common::node(), 0, 1, neighbours, 7).expect("pipeline");

    for sport in 0..FLOWS {
        assert!(port.send(&common::syn(40_000 + sport)));
    }
    assert!(port.send(&common::syn(1)[..20]), "a truncated frame");
    port.flush();

    // Frames to the node's MAC are the client's: through the pipeline and back out of the
    // port. The ring gives those back too, rewritten to a backend's MAC: that is the wire.
    let mut now = 1_000_000_000u64;
    let (mut received, mut out) = (0, Vec::new());
    for _ in 0..1000 {
        now += 1000;
        pipeline.begin_burst(Some(&image), now);
        received += port.rx_burst(32, |buf, len| {
            if buf[..6] != NODE_MAC {
                out.push(buf[..len].to_vec());
                return Verdict::Drop;
            }
            match pipeline.process(Some(&image), buf, len, false, &healthy) {
                Action::Tx(n) => Verdict::Tx(n),
                _ => Verdict::Drop,
            }
        });
        pipeline.end_burst();
        port.flush();
        if out.len() >= usize::from(FLOWS) {
            break;
        }
    }
    assert_eq!(out.len(), usize::from(FLOWS), "every SYN forwarded once");
    assert_eq!(
        received,
        2 * usize::from(FLOWS) + 1,
        "each SYN twice, the bad frame once"
    );
    let mut per_backend = [0usize; 2];
    for frame in &out {
        let seen = common::seen(frame);
        assert_eq!(seen.src_mac, NODE_MAC);
        assert_eq!(seen.src, std::net::IpAddr::from(SNAT4), "full NAT source");
        assert_eq!(seen.dport, 8080);
        per_backend[usize::from(common::backend_of(frame)) - 1] += 1;
    }
    assert!(
        per_backend.iter().all(|&n| n > usize::from(FLOWS) / 4),
        "both backends take flows: {per_backend:?}"
    );
    let counters = pipeline.counters();
    assert_eq!(counters.get(counter::TX), u64::from(FLOWS));
    assert_eq!(counters.get(counter::NEW_FLOWS), u64::from(FLOWS));
    assert_eq!(counters.by_name("too_short"), Some(1));
    let stats = port.stats();
    assert_eq!(stats.tx_full, 0);
    assert!(stats.rx >= u64::from(FLOWS) * 2, "{stats:?}");
}

/// Runs the data plane with `dpdk_args` and expects it to fail at once with one line on
/// stderr that says `want`.
fn fails_with_one_line(dpdk_args: &[&str], want: &[&str]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(bin("strait-dataplane"))
        .args(["--cores", &strait_dataplane::allowed_cores()[0].to_string()])
        .arg("--link-socket")
        .arg(dir.path().join("link.sock"))
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .args(["--device", "dpdk", "--node-v4", "198.18.0.2"])
        .args(dpdk_args)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("strait-dataplane starts");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("strait-dataplane {dpdk_args:?} still runs after 30 s: it should fail");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(1), "{dpdk_args:?}: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "no usage text: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line for {dpdk_args:?}, got:\n{stderr}");
    assert!(lines[0].starts_with("strait-dataplane: "), "{stderr}");
    for w in want {
        assert!(lines[0].contains(w), "{dpdk_args:?}: {w:?} not in {stderr}");
    }
}

#[test]
fn no_hugepages_is_one_line_with_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let not_hugetlbfs = dir.path().to_str().expect("utf-8").to_owned();
    // A directory that is not a hugetlbfs mount: no hugepages there, whatever the machine has.
    fails_with_one_line(
        &[
            "--dpdk-huge-dir",
            &not_hugetlbfs,
            "--dpdk-vdev",
            "net_null0",
        ],
        &["hugepage", "scripts/hugepages.sh", "--dpdk-no-huge"],
    );
}

#[test]
fn a_bad_vdev_string_is_one_line() {
    fails_with_one_line(
        &["--dpdk-no-huge", "--dpdk-vdev", "net_nosuchdriver0,x=1"],
        &["net_nosuchdriver0", "--dpdk-vdev"],
    );
}

#[test]
fn a_port_that_does_not_exist_is_one_line_naming_the_ports_there_are() {
    fails_with_one_line(
        &[
            "--dpdk-no-huge",
            "--dpdk-vdev",
            "net_null0",
            "--interface",
            "net_null5",
        ],
        &["no DPDK port \"net_null5\"", "0=net_null0"],
    );
}

#[test]
fn a_vdev_that_fails_to_probe_is_one_line_with_dpdks_reason() {
    fails_with_one_line(
        &[
            "--dpdk-no-huge",
            "--dpdk-vdev",
            "net_af_packet0,iface=strait-noif",
        ],
        &["no DPDK port", "net_af_packet0", "No such device"],
    );
}

/// Hugepages reserved with `scripts/hugepages.sh` for one test, released when dropped.
struct Hugepages {
    mount: std::path::PathBuf,
}

impl Hugepages {
    fn script(args: &[&str]) -> std::process::Output {
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/hugepages.sh");
        Command::new("bash")
            .arg(script)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("running scripts/hugepages.sh")
    }

    fn reserve(pages: u32) -> Hugepages {
        let mount = std::env::temp_dir().join(format!("strait-huge-{}", std::process::id()));
        let m = mount.to_str().expect("utf-8").to_owned();
        let out = Hugepages::script(&["reserve", "--pages", &pages.to_string(), "--mount", &m]);
        assert!(
            out.status.success(),
            "hugepages.sh reserve: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Hugepages { mount }
    }

    fn free_pages() -> u64 {
        std::fs::read_to_string("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages")
            .expect("hugepage counters")
            .trim()
            .parse()
            .expect("a number")
    }
}

impl Drop for Hugepages {
    fn drop(&mut self) {
        let m = self.mount.to_str().expect("utf-8");
        let out = Hugepages::script(&["release", "--mount", m]);
        if !out.status.success() {
            eprintln!(
                "hugepages.sh release: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// With hugepages (the way a NIC runs), the data plane starts a DPDK port on them, and gives
/// every page back when it stops (no `rtemap_*` file left behind).
#[test]
fn the_data_plane_runs_on_hugepages_and_leaves_none_behind() {
    use strait_e2e::{Proc, wait_until};
    let huge = Hugepages::reserve(256);
    let free_before = Hugepages::free_pages();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(bin("strait-dataplane"));
    cmd.args(["--cores", &strait_dataplane::allowed_cores()[0].to_string()])
        .arg("--link-socket")
        .arg(dir.path().join("link.sock"))
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .args([
            "--device",
            "dpdk",
            "--dpdk-vdev",
            "net_null0",
            "--node-v4",
            "198.18.0.2",
        ])
        .arg("--dpdk-huge-dir")
        .arg(&huge.mount);
    let mut dataplane = Proc::spawn("strait-dataplane", cmd, dir.path().join("dataplane.log"));
    wait_until(Duration::from_secs(30), "the worker to run", || {
        assert!(dataplane.alive(), "exited:\n{}", dataplane.log());
        dataplane.log().contains("worker running").then_some(())
    });
    let log = dataplane.log();
    assert!(log.contains("DPDK port started"), "{log}");
    assert!(
        Hugepages::free_pages() < free_before,
        "DPDK took its memory from the hugepages"
    );
    assert!(dataplane.stop(Duration::from_secs(10)), "a clean exit");
    assert_eq!(
        Hugepages::free_pages(),
        free_before,
        "every page given back"
    );
    let left: Vec<_> = std::fs::read_dir(&huge.mount).expect("the mount").collect();
    assert!(left.is_empty(), "files left in the hugetlbfs: {left:?}");
}
