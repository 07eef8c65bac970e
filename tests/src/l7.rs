//! A Strait node serving the L7 path, with its upstream servers: what every L7 test starts.
//!
//! [`L7Node::start`] starts three upstream servers (`alpha`, `beta`, `gamma`), an agent, and a
//! data plane with one L4 worker and an L7 worker on each test core; the test then applies its
//! config (listener on a free loopback port) and checks that, once `apply --wait` returns,
//! every worker runs it and the listener answers. Everything stops when the value is dropped
//! (the processes by PID).

use std::net::{SocketAddr, TcpListener};

use strait_shm::{EndpointState, HealthOverlay};

use crate::{Node, http::Client, test_cores, upstream::Upstream};

/// See the module documentation.
#[derive(Debug)]
pub struct L7Node {
    /// The agent and data plane.
    pub node: Node,
    /// `alpha`, `beta`, `gamma`.
    pub upstreams: [Upstream; 3],
    /// The listener's port.
    pub port: u16,
    /// Workers of the data plane (L4 and L7).
    pub workers: usize,
    applied: u64,
}

/// A loopback port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("a free port");
    l.local_addr().expect("local addr").port()
}

impl L7Node {
    /// Starts everything; no config is applied yet.
    pub fn start() -> L7Node {
        L7Node::start_with(&[])
    }

    /// [`L7Node::start`], with more data-plane flags.
    pub fn start_with(flags: &[&str]) -> L7Node {
        let upstreams = ["alpha", "beta", "gamma"].map(Upstream::start);
        let mut node = Node::new();
        node.start_agent();
        let (cores, n) = test_cores();
        let first = cores.split(',').next().expect("a core").to_owned();
        let mut args = vec!["--l7-cores", cores.as_str()];
        args.extend_from_slice(flags);
        node.start_dataplane_with(&first, None, &args);
        L7Node {
            node,
            upstreams,
            port: free_port(),
            workers: 1 + n,
            applied: 0,
        }
    }

    /// The listener's address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Upstream `i`'s `host:port`, for configs.
    pub fn upstream(&self, i: usize) -> String {
        self.upstreams[i].addr.to_string()
    }

    /// Applies `yaml` with `--wait`; then every worker must run it and the listener accept
    /// connections at once: `--wait` returns when the L7 workers have opened the generation's
    /// listeners.
    pub fn apply(&mut self, yaml: &str) {
        self.node.apply_yaml(yaml);
        self.applied += 1;
        assert_eq!(
            self.node.worker_generations(),
            vec![self.applied; self.workers],
            "apply --wait returned before every worker ran the generation"
        );
        if let Err(e) = Client::connect(self.addr()) {
            panic!("apply --wait returned before the listener accepted connections: {e}");
        }
    }

    /// A new client connection to the listener.
    pub fn client(&self) -> Client {
        Client::connect(self.addr()).expect("connecting to the L7 listener")
    }

    /// What the data plane logged.
    pub fn dataplane_log(&self) -> String {
        self.node.dataplane_log()
    }

    /// The data plane's process id.
    pub fn dataplane_pid(&self) -> u32 {
        self.node.dataplane.as_ref().expect("a data plane").pid()
    }

    /// Peak resident memory of the data plane (`VmHWM`), in KiB.
    pub fn dataplane_peak_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.dataplane_pid()))
            .expect("/proc/PID/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/PID/status")
    }

    /// Marks health slot `slot` unhealthy, as the agent does: through the data plane's health
    /// overlay, opened here from `/proc/PID/fd`.
    pub fn mark_unhealthy(&self, slot: u32) {
        let dir = format!("/proc/{}/fd", self.dataplane_pid());
        let fd = std::fs::read_dir(&dir)
            .expect("the data plane's fds")
            .filter_map(Result::ok)
            .find(|e| {
                std::fs::read_link(e.path())
                    .is_ok_and(|t| t.to_string_lossy().starts_with("/memfd:strait-health"))
            })
            .expect("the health overlay memfd");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(fd.path())
            .expect("opening the health overlay");
        let overlay = HealthOverlay::open(&file).expect("mapping the health overlay");
        let state = EndpointState {
            unhealthy: true,
            draining: false,
        };
        overlay.set(slot, state).expect("slot in the overlay");
    }
}
