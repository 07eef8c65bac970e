//! The systems under test, each started under the same CPU budget and stopped by PID.
//!
//! [`start`] gives a system two fresh loopback ports (HTTP/1.1; HTTPS, which offers ALPN `h2`
//! and `http/1.1`, so HTTP/2 runs over TLS on it), writes its config in the work directory,
//! creates its [`Budget`], starts it pinned to the proxy core inside the budget (Strait: agent
//! outside, on the load core; the whole data plane inside), waits until plain HTTP answers
//! through it, then tries HTTPS with HTTP/1.1 and with HTTP/2 (ALPN) once with curl, and checks
//! with `openssl s_client` that its TLS listener does not resume sessions. The peers must pass
//! both; for Strait a mode that does not work is recorded in [`Running::https`] /
//! [`Running::h2`] with the reason, and the benchmark prints `n/a` for it instead of failing.
//!
//! Dropping [`Running`] stops the system's processes, then removes its budget (which stops
//! anything left inside it).

mod peers;
mod strait;

use std::{fmt, path::Path, process::Command, time::Duration};

use strait_e2e::{Node, Proc, l7::free_port};

use crate::{
    cgroup::Budget,
    setup::{Cert, Workdir, http_status},
};

/// A system under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum System {
    /// Strait's data plane, L7 worker on io_uring.
    Strait,
    /// The same with `--l7-driver poll` (epoll): the baseline of the io_uring driver.
    StraitEpoll,
    /// HAProxy, `nbthread 1`.
    Haproxy,
    /// nginx, `worker_processes 1`.
    Nginx,
}

impl fmt::Display for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so widths in format strings apply.
        f.pad(match self {
            System::Strait => "strait",
            System::StraitEpoll => "strait-epoll",
            System::Haproxy => "haproxy",
            System::Nginx => "nginx",
        })
    }
}

/// A system's listening ports.
#[derive(Clone, Copy, Debug)]
pub struct Ports {
    /// HTTP/1.1.
    pub http: u16,
    /// HTTPS (TLS termination; HTTP/1.1 inside, or HTTP/2 when the client offers ALPN `h2`).
    pub https: u16,
}

/// Where the pieces run and what they share.
#[derive(Debug)]
pub struct Env<'a> {
    /// Configs and logs.
    pub dir: &'a Workdir,
    /// The certificate every TLS listener serves.
    pub cert: &'a Cert,
    /// The upstreams' `ip:port`s.
    pub upstreams: &'a [String; 2],
    /// The core of the proxy (and the budget's processes).
    pub proxy_core: usize,
    /// The core of the load generator, upstreams and Strait's agent.
    pub load_core: usize,
    /// CPU time per period the budget allows, µs.
    pub quota_us: u64,
    /// The budget's period, µs.
    pub period_us: u64,
}

/// A running system; see the module documentation. Fields drop in order: processes first.
#[derive(Debug)]
pub struct Running {
    /// Which one.
    pub system: System,
    /// Its ports.
    pub ports: Ports,
    /// `Err(why)` if HTTPS does not work through it.
    pub https: Result<(), String>,
    /// `Err(why)` if HTTP/2 over TLS (ALPN `h2`) does not work through it.
    pub h2: Result<(), String>,
    /// Whether its TLS listener resumed a session offered by `openssl s_client`.
    pub resumes: bool,
    node: Option<Node>,
    procs: Vec<Proc>,
    /// The budget its processes run in.
    pub budget: Budget,
}

/// Starts `system` (see the module documentation); `run` numbers its files.
pub fn start(system: System, env: &Env, run: usize) -> Result<Running, String> {
    let ports = Ports {
        http: free_port(),
        https: free_port(),
    };
    let name = format!("{system}-{run}");
    let budget = Budget::create(&name, env.quota_us, env.period_us)?;
    let mut running = Running {
        system,
        ports,
        https: Ok(()),
        h2: Ok(()),
        resumes: false,
        node: None,
        procs: Vec::new(),
        budget,
    };
    match system {
        System::Strait | System::StraitEpoll => {
            let driver = if system == System::Strait {
                "io_uring"
            } else {
                "poll"
            };
            let (node, https) = strait::start(env, &ports, &running.budget, driver)?;
            running.node = Some(node);
            running.https = https;
        }
        System::Haproxy => {
            let conf = peers::haproxy_config(env, &ports);
            let conf = env.dir.write(&format!("{name}.cfg"), &conf);
            let argv = ["haproxy", "-db", "-f", &conf.display().to_string()].map(str::to_owned);
            running
                .procs
                .push(spawn_in(&name, &argv, &running.budget, env)?);
        }
        System::Nginx => {
            let conf = peers::nginx_config(env, &name, &ports);
            let conf = env.dir.write(&format!("{name}.conf"), &conf);
            let argv = crate::setup::nginx_command(&conf, &env.dir.path(""));
            running
                .procs
                .push(spawn_in(&name, &argv, &running.budget, env)?);
        }
    }
    let http = format!("http://127.0.0.1:{}/", ports.http);
    if let Err(e) = probe(&http, &[], "200 1.1", Duration::from_secs(10)) {
        return Err(format!("{e}\n{}", running.log()));
    }
    let https = format!("https://127.0.0.1:{}/", ports.https);
    if running.https.is_ok() {
        let limit = Duration::from_secs(3);
        running.https = probe(&https, &["--http1.1"], "200 1.1", limit);
        running.h2 = probe(&https, &["--http2"], "200 2", limit);
    } else {
        running.h2 = Err("no HTTPS listener".into());
    }
    if running.https.is_ok() {
        running.resumes = resumes(env.dir, ports.https);
        if running.resumes {
            eprintln!(
                "warning: {system} resumes TLS sessions: oha's client resumes when offered, so its handshake figure counts resumptions, not full handshakes"
            );
        }
    }
    let peer = !matches!(system, System::Strait | System::StraitEpoll);
    if let (true, Err(e)) = (peer, running.https.as_ref().and(running.h2.as_ref())) {
        return Err(format!("{e}\n{}", running.log()));
    }
    Ok(running)
}

/// Tries `url` for up to `limit` until curl gets `want` (`STATUS VERSION`).
fn probe(url: &str, extra: &[&str], want: &str, limit: Duration) -> Result<(), String> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let got = http_status(url, extra);
        if got.as_deref() == Some(want) {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            let args: Vec<&str> = extra.iter().copied().chain([url]).collect();
            return Err(format!(
                "curl {}: {}",
                args.join(" "),
                got.unwrap_or_else(|| "connection or protocol failed".into())
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether the TLS listener on `port` lets a client resume its session: a second `openssl
/// s_client` offering the first one's session says `Reused`. A server that sends no TLS 1.3
/// ticket (and keeps no TLS 1.2 session) leaves the first client no session to save, and so
/// does not resume.
fn resumes(dir: &Workdir, port: u16) -> bool {
    let session = dir.path(&format!("session-{port}.pem"));
    let _ = std::fs::remove_file(&session);
    let connect = |flag: &str| {
        // timeout: a server that keeps the connection open must not hang the benchmark.
        let mut child = Command::new("timeout")
            .args([
                "5",
                "openssl",
                "s_client",
                "-ign_eof",
                "-servername",
                "localhost",
                "-connect",
            ])
            .arg(format!("127.0.0.1:{port}"))
            .arg(flag)
            .arg(&session)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("openssl s_client");
        // A whole request, so the session tickets (sent after the handshake) arrive too.
        let request = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
        let _ = std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), request);
        drop(child.stdin.take());
        let out = child.wait_with_output().expect("openssl s_client output");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    connect("-sess_out");
    if !session.exists() {
        return false;
    }
    connect("-sess_in")
        .lines()
        .any(|l| l.starts_with("Reused,"))
}

/// Starts `argv` so that it runs inside `budget` pinned to the proxy core from its first
/// instruction: a shell writes its own PID into the group, then execs taskset, which execs the
/// proxy; so the PID stays the proxy's and everything it forks is inside.
fn spawn_in(name: &str, argv: &[String], budget: &Budget, env: &Env) -> Result<Proc, String> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(r#"f=$1 core=$2; shift 2; echo $$ > "$f" && exec taskset -c "$core" "$@""#)
        .arg("sh")
        .arg(budget.procs_file())
        .arg(env.proxy_core.to_string())
        .args(argv);
    let mut proc = Proc::spawn(name, cmd, env.dir.path(&format!("{name}.log")));
    std::thread::sleep(Duration::from_millis(200));
    if !proc.alive() {
        return Err(format!("{name} exited at once:\n{}", proc.log()));
    }
    Ok(proc)
}

impl Running {
    /// What the system's processes logged.
    pub fn log(&self) -> String {
        let mut text: String = self.procs.iter().map(Proc::log).collect();
        if let Some(node) = &self.node {
            text.push_str(&node.dataplane_log());
        }
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

/// `ip:port` list of the upstreams, for configs.
pub fn upstream_lines(env: &Env, indent: &str, line: impl Fn(usize, &str) -> String) -> String {
    env.upstreams
        .iter()
        .enumerate()
        .map(|(i, a)| format!("{indent}{}\n", line(i + 1, a)))
        .collect()
}

/// The path as a string, for configs.
pub fn show(p: &Path) -> String {
    p.display().to_string()
}
