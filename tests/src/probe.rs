//! Probes for the network-namespace testbed: how connections and flows to a target spread over
//! the backends, and whether established connections keep working.
//!
//! Every testbed backend runs `strait-echo`, which names itself on the first line of each reply
//! (`NAME\n`), so a probe learns which backend served it, then checks that its bytes come back:
//! * [`tcp_spread`] opens many short TCP connections and counts them per backend;
//! * [`udp_spread`] sends one datagram per flow, each flow from its own source port;
//! * [`hold`] opens long-lived connections, and [`Held::check`] later tells per backend how many
//!   still echo: the proof that established flows survive a change of backends.
//!
//! Failures are counted by [`Failure`] kind, never panicked on: a probe reports what happened
//! and the caller decides what is acceptable.
//!
//! # Network namespaces
//! The API is blocking and uses plain threads. Namespace membership belongs to a *thread*, and a
//! thread starts in the namespace of the thread that spawned it. So: move a thread into the
//! client namespace (setns, as `strait_testsupport::Netns::enter` does), then call these
//! functions *from that thread*. Every socket is created on it or on threads it spawns, so all
//! of them live in the client namespace; never hand the work to a pool (a tokio runtime, say)
//! built before entering. From a shell, `ip netns exec P-client strait-probe …` moves the whole
//! process instead.

use std::{
    collections::BTreeMap,
    fmt,
    io::{self, Read, Write},
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket},
    sync::atomic::{AtomicUsize, Ordering},
    thread,
    time::Duration,
};

/// How many times a UDP flow sends its datagram before counting a timeout.
pub const UDP_ATTEMPTS: u32 = 3;
/// UDP flows (and held connections opened or checked) in flight at once.
const FLOW_THREADS: usize = 32;
/// Longest backend name line accepted.
const MAX_NAME: usize = 64;

/// Why one exchange failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Failure {
    /// The connection was refused (TCP RST to the SYN; ICMP port unreachable for UDP).
    Refused,
    /// An established connection was reset.
    Reset,
    /// The peer closed the connection before the exchange was complete.
    Closed,
    /// No answer in time (connect, read, or a UDP reply after [`UDP_ATTEMPTS`] sends).
    Timeout,
    /// No route, or no neighbour answered ARP/ND for the target.
    Unreachable,
    /// The answer was not `NAME\n` followed by exactly the bytes sent.
    BadEcho,
    /// Any other socket error.
    Other,
}

impl Failure {
    /// The kind's name in reports (`bad_echo`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::Refused => "refused",
            Failure::Reset => "reset",
            Failure::Closed => "closed",
            Failure::Timeout => "timeout",
            Failure::Unreachable => "unreachable",
            Failure::BadEcho => "bad_echo",
            Failure::Other => "other",
        }
    }

    fn from_io(e: &io::Error) -> Failure {
        use io::ErrorKind as K;
        match e.kind() {
            K::ConnectionRefused => Failure::Refused,
            K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => Failure::Reset,
            K::UnexpectedEof => Failure::Closed,
            // A socket read timeout shows as WouldBlock on Unix.
            K::TimedOut | K::WouldBlock => Failure::Timeout,
            K::HostUnreachable | K::NetworkUnreachable => Failure::Unreachable,
            _ => Failure::Other,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Opens `connections` TCP connections to `target`, at most `parallel` at a time; each reads
/// the backend's name line, sends a short payload, checks the echo and closes.
pub fn tcp_spread(
    target: SocketAddr,
    connections: usize,
    parallel: usize,
    timeout: Duration,
) -> Spread {
    let timeout = usable(timeout);
    Spread::from_results(in_parallel(connections, parallel, |i| {
        let (name, mut stream) = open(target, timeout)?;
        echo(&mut stream, format!("strait-probe tcp {i}\n").as_bytes())?;
        Ok(name)
    }))
}

/// Sends one datagram on each of `flows` flows to `target`, every flow from its own socket and
/// source port, and expects `NAME\n<datagram>` back. A flow waits `timeout` for the answer and
/// sends again, [`UDP_ATTEMPTS`] times in all, before counting a timeout. Every socket stays
/// open until the end, so no two flows share a source port (for that, the process's soft limit
/// on open files is raised to its hard limit).
pub fn udp_spread(target: SocketAddr, flows: usize, timeout: Duration) -> Spread {
    let any = match target {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    udp_spread_from(any, target, flows, timeout)
}

/// [`udp_spread`] from local address `source` (of the target's family).
pub fn udp_spread_from(
    source: IpAddr,
    target: SocketAddr,
    flows: usize,
    timeout: Duration,
) -> Spread {
    let timeout = usable(timeout);
    raise_fd_limit();
    let (sockets, results): (Vec<_>, Vec<_>) = in_parallel(flows, FLOW_THREADS, |i| {
        match UdpSocket::bind(SocketAddr::new(source, 0)) {
            Ok(socket) => {
                let result = udp_flow(&socket, target, i, timeout);
                (Some(socket), result)
            }
            Err(e) => (None, Err(Failure::from_io(&e))),
        }
    })
    .into_iter()
    .unzip();
    drop(sockets);
    Spread::from_results(results)
}

fn udp_flow(
    socket: &UdpSocket,
    target: SocketAddr,
    i: usize,
    timeout: Duration,
) -> Result<String, Failure> {
    let io = |e: io::Error| Failure::from_io(&e);
    // Connected: only the target's answers arrive, and ICMP errors surface as errors.
    socket.connect(target).map_err(io)?;
    socket.set_read_timeout(Some(timeout)).map_err(io)?;
    let payload = format!("strait-probe udp {i}");
    let mut buf = [0; 2048];
    for _ in 0..UDP_ATTEMPTS {
        socket.send(payload.as_bytes()).map_err(io)?;
        match socket.recv(&mut buf) {
            Ok(n) => {
                let reply = &buf[..n];
                let nl = reply.iter().position(|&b| b == b'\n');
                return match nl {
                    Some(nl) if &reply[nl + 1..] == payload.as_bytes() => name(&reply[..nl]),
                    _ => Err(Failure::BadEcho),
                };
            }
            Err(e) if Failure::from_io(&e) == Failure::Timeout => continue,
            Err(e) => return Err(Failure::from_io(&e)),
        }
    }
    Err(Failure::Timeout)
}

/// TCP connections held open, each remembering the backend that answered it.
#[derive(Debug)]
pub struct Held {
    conns: Vec<HeldConn>,
    unopened: BTreeMap<Failure, usize>,
    rounds: u64,
}

#[derive(Debug)]
struct HeldConn {
    backend: String,
    /// The open connection, or why it broke (it stays broken).
    state: Result<TcpStream, Failure>,
}

/// Opens `n` TCP connections to `target` (a few at a time) and keeps them; `timeout` bounds
/// every connect, read and write, now and in [`Held::check`]. Connections that fail to open
/// are only counted. Raises the soft limit on open files, like [`udp_spread`].
pub fn hold(target: SocketAddr, n: usize, timeout: Duration) -> Held {
    let timeout = usable(timeout);
    let mut held = Held {
        conns: Vec::with_capacity(n),
        unopened: BTreeMap::new(),
        rounds: 0,
    };
    raise_fd_limit();
    for opened in in_parallel(n, FLOW_THREADS, |_| open(target, timeout)) {
        match opened {
            Ok((backend, stream)) => held.conns.push(HeldConn {
                backend,
                state: Ok(stream),
            }),
            Err(f) => *held.unopened.entry(f).or_default() += 1,
        }
    }
    held
}

impl Held {
    /// Connections that opened (whether or not they still work).
    pub fn len(&self) -> usize {
        self.conns.len()
    }

    /// True if no connection opened.
    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    /// Connections that failed to open, by kind.
    pub fn unopened(&self) -> &BTreeMap<Failure, usize> {
        &self.unopened
    }

    /// Opened connections per backend name.
    pub fn backends(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for c in &self.conns {
            *out.entry(c.backend.clone()).or_default() += 1;
        }
        out
    }

    /// Sends a fresh payload on every connection and checks its echo. A connection that fails
    /// is closed and counted as failed, with its first failure, in this and every later report.
    pub fn check(&mut self) -> HeldReport {
        self.rounds += 1;
        let round = self.rounds;
        let per_thread = self.conns.len().div_ceil(FLOW_THREADS).max(1);
        thread::scope(|s| {
            for (part, conns) in self.conns.chunks_mut(per_thread).enumerate() {
                s.spawn(move || {
                    for (j, c) in conns.iter_mut().enumerate() {
                        let Ok(stream) = &mut c.state else { continue };
                        let payload =
                            format!("strait-probe hold {} {round}\n", part * per_thread + j);
                        // The socket keeps the read and write timeouts `hold` gave it.
                        if let Err(f) = echo(stream, payload.as_bytes()) {
                            c.state = Err(f);
                        }
                    }
                });
            }
        });
        let mut report = HeldReport {
            unopened: self.unopened.values().sum(),
            ..HeldReport::default()
        };
        for c in &self.conns {
            let count = report.backends.entry(c.backend.clone()).or_default();
            match c.state {
                Ok(_) => count.ok += 1,
                Err(f) => {
                    count.failed += 1;
                    *report.failures.entry(f).or_default() += 1;
                }
            }
        }
        report
    }
}

/// Connects and reads the backend's name line.
fn open(target: SocketAddr, timeout: Duration) -> Result<(String, TcpStream), Failure> {
    let io = |e: io::Error| Failure::from_io(&e);
    let mut stream = TcpStream::connect_timeout(&target, timeout).map_err(io)?;
    stream.set_read_timeout(Some(timeout)).map_err(io)?;
    stream.set_write_timeout(Some(timeout)).map_err(io)?;
    stream.set_nodelay(true).map_err(io)?;
    // The backend sends nothing after its name line until it has something to echo, so reading
    // in chunks cannot swallow echoed bytes: anything after the newline is a protocol error.
    let mut line = Vec::new();
    let mut chunk = [0; MAX_NAME];
    loop {
        let n = stream.read(&mut chunk).map_err(io)?;
        if n == 0 {
            return Err(Failure::Closed);
        }
        line.extend_from_slice(&chunk[..n]);
        if let Some(nl) = line.iter().position(|&b| b == b'\n') {
            if nl + 1 != line.len() {
                return Err(Failure::BadEcho);
            }
            return Ok((name(&line[..nl])?, stream));
        }
        if line.len() > MAX_NAME {
            return Err(Failure::BadEcho);
        }
    }
}

/// Writes `payload` and expects exactly it back.
fn echo(stream: &mut TcpStream, payload: &[u8]) -> Result<(), Failure> {
    let io = |e: io::Error| Failure::from_io(&e);
    stream.write_all(payload).map_err(io)?;
    let mut back = vec![0; payload.len()];
    stream.read_exact(&mut back).map_err(io)?;
    if back == payload {
        Ok(())
    } else {
        Err(Failure::BadEcho)
    }
}

/// A backend name: one printable word.
fn name(bytes: &[u8]) -> Result<String, Failure> {
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic()) => Ok(s.to_owned()),
        _ => Err(Failure::BadEcho),
    }
}

/// Socket timeouts must not be zero.
fn usable(timeout: Duration) -> Duration {
    timeout.max(Duration::from_millis(1))
}

/// Runs `job(0..n)` on up to `workers` threads spawned from the calling thread (so they share
/// its network namespace) and returns the results in order.
fn in_parallel<T: Send>(n: usize, workers: usize, job: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, T)> = thread::scope(|s| {
        let threads: Vec<_> = (0..workers.clamp(1, n.max(1)))
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            return mine;
                        }
                        mine.push((i, job(i)));
                    }
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().expect("probe thread panicked"))
            .collect()
    });
    done.sort_unstable_by_key(|&(i, _)| i);
    done.into_iter().map(|(_, t)| t).collect()
}

/// Lifts the soft limit on open files to the hard one: flows keep their sockets open.
fn raise_fd_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        let _ = setrlimit(
            Resource::Nofile,
            rustix::process::Rlimit {
                current: limit.maximum,
                ..limit
            },
        );
    }
}

/// Successful exchanges per backend and failures per kind: what [`tcp_spread`] and
/// [`udp_spread`] saw. Displays as `b1=334 b2=333 b3=333 errors=0`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spread {
    /// Successful exchanges per backend name.
    pub backends: BTreeMap<String, usize>,
    /// Failed exchanges per kind.
    pub errors: BTreeMap<Failure, usize>,
}

impl Spread {
    fn from_results(results: impl IntoIterator<Item = Result<String, Failure>>) -> Spread {
        let mut spread = Spread::default();
        for result in results {
            match result {
                Ok(name) => *spread.backends.entry(name).or_default() += 1,
                Err(f) => *spread.errors.entry(f).or_default() += 1,
            }
        }
        spread
    }

    /// Successful exchanges.
    pub fn ok(&self) -> usize {
        self.backends.values().sum()
    }

    /// Failed exchanges.
    pub fn failed(&self) -> usize {
        self.errors.values().sum()
    }

    /// True if nothing failed.
    pub fn is_clean(&self) -> bool {
        self.failed() == 0
    }

    /// Successful exchanges served by `backend`.
    pub fn count(&self, backend: &str) -> usize {
        self.backends.get(backend).copied().unwrap_or(0)
    }

    /// `{"backends": {"b1": 334, …}, "ok": 1000, "failed": 0, "errors": {"timeout": 0, …}}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "backends": self.backends,
            "ok": self.ok(),
            "failed": self.failed(),
            "errors": kinds_json(&self.errors),
        })
    }
}

impl fmt::Display for Spread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, n) in &self.backends {
            write!(f, "{name}={n} ")?;
        }
        write!(f, "errors={}{}", self.failed(), kinds(&self.errors))
    }
}

/// One backend's connections in a [`HeldReport`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeldCount {
    /// Connections that still echo correctly.
    pub ok: usize,
    /// Connections that failed, in this check or an earlier one.
    pub failed: usize,
}

/// What [`Held::check`] found: per backend, connections that still echo and those that failed.
/// Displays as `b1=100/100 b2=0/100 failed=100 (reset=100)`, each backend as `ok/held`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeldReport {
    /// Connections per backend name (the backend that answered when the connection opened).
    pub backends: BTreeMap<String, HeldCount>,
    /// Failed connections by the kind of their first failure.
    pub failures: BTreeMap<Failure, usize>,
    /// Connections that never opened (see [`Held::unopened`]).
    pub unopened: usize,
}

impl HeldReport {
    /// Connections that still echo.
    pub fn ok(&self) -> usize {
        self.backends.values().map(|c| c.ok).sum()
    }

    /// Connections that failed.
    pub fn failed(&self) -> usize {
        self.backends.values().map(|c| c.failed).sum()
    }

    /// True if every connection opened and still echoes.
    pub fn is_clean(&self) -> bool {
        self.failed() == 0 && self.unopened == 0
    }

    /// `{"backends": {"b1": {"ok": 100, "failed": 0}, …}, "ok", "failed", "failures", "unopened"}`.
    pub fn to_json(&self) -> serde_json::Value {
        let backends: serde_json::Map<_, _> = self
            .backends
            .iter()
            .map(|(name, c)| {
                (
                    name.clone(),
                    serde_json::json!({"ok": c.ok, "failed": c.failed}),
                )
            })
            .collect();
        serde_json::json!({
            "backends": backends,
            "ok": self.ok(),
            "failed": self.failed(),
            "failures": kinds_json(&self.failures),
            "unopened": self.unopened,
        })
    }
}

impl fmt::Display for HeldReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, c) in &self.backends {
            write!(f, "{name}={}/{} ", c.ok, c.ok + c.failed)?;
        }
        write!(f, "failed={}{}", self.failed(), kinds(&self.failures))?;
        if self.unopened > 0 {
            write!(f, " unopened={}", self.unopened)?;
        }
        Ok(())
    }
}

/// ` (timeout=2 reset=1)`, or nothing when there is no failure.
fn kinds(map: &BTreeMap<Failure, usize>) -> String {
    if map.is_empty() {
        return String::new();
    }
    let list: Vec<_> = map.iter().map(|(f, n)| format!("{f}={n}")).collect();
    format!(" ({})", list.join(" "))
}

fn kinds_json(map: &BTreeMap<Failure, usize>) -> serde_json::Value {
    map.iter()
        .map(|(f, n)| (f.as_str().to_owned(), serde_json::Value::from(*n)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

#[cfg(test)]
mod tests {
    //! The probes against tiny in-process backends on loopback (no namespace, no root).
    use std::net::TcpListener;

    use super::*;

    const T: Duration = Duration::from_secs(2);

    /// A TCP backend named `name` that echoes, or closes right after its name line.
    fn tcp_backend(name: &'static str, echoes: bool) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            for mut s in listener.incoming().flatten() {
                thread::spawn(move || {
                    s.write_all(format!("{name}\n").as_bytes())?;
                    if echoes {
                        io::copy(&mut s.try_clone()?, &mut s)?;
                    }
                    io::Result::Ok(())
                });
            }
        });
        addr
    }

    #[test]
    fn tcp_and_udp_spreads_count_the_backend_that_answered() {
        let spread = tcp_spread(tcp_backend("b7", true), 20, 4, T);
        assert_eq!(spread.to_string(), "b7=20 errors=0");
        assert!(spread.is_clean());

        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        thread::spawn(move || {
            let mut buf = [0; 2048];
            while let Ok((n, peer)) = socket.recv_from(&mut buf) {
                let _ = socket.send_to(&[b"u1\n", &buf[..n]].concat(), peer);
            }
        });
        let spread = udp_spread(addr, 50, T);
        assert_eq!(spread.to_string(), "u1=50 errors=0");
        assert_eq!(spread.to_json()["backends"]["u1"], 50);
    }

    #[test]
    fn failures_are_counted_by_kind() {
        let closed = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let spread = tcp_spread(closed, 3, 3, T);
        assert_eq!(spread.to_string(), "errors=3 (refused=3)");
        assert_eq!(spread.to_json()["errors"]["refused"], 3);

        let spread = tcp_spread(tcp_backend("mute", false), 2, 1, T);
        assert_eq!(spread.ok(), 0);
        assert_eq!(spread.failed(), 2, "{spread}");
    }

    #[test]
    fn held_connections_report_which_still_echo() {
        let mut good = hold(tcp_backend("g", true), 3, T);
        assert_eq!(good.backends(), BTreeMap::from([("g".to_owned(), 3)]));
        assert_eq!(good.check().to_string(), "g=3/3 failed=0");
        assert!(good.check().is_clean(), "a second round echoes too");

        let mut bad = hold(tcp_backend("q", false), 2, T);
        let report = bad.check();
        assert_eq!(
            report.backends["q"],
            HeldCount { ok: 0, failed: 2 },
            "{report}"
        );
        assert_eq!(bad.check().failed(), 2, "a broken connection stays broken");
    }
}
