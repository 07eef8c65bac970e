//! An L7 worker on its own thread, fed a fixed image, in front of hand-written upstreams on
//! loopback that misbehave on purpose: the cases a well-behaved server never shows.
//!
//! Each test starts its upstream threads and a worker, and stops the worker when it ends
//! (the upstream threads end with the test process). Both drivers are exercised: the epoll
//! baseline must serve exactly as io_uring does.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use strait_compile::{HealthSlots, compile};
use strait_l7::{Driver, L7Options, Report, TableImage, TableSource, Worker};
use strait_shm::{MappedImage, seal_image};
use strait_table::Image;

struct Fixed(Arc<TableImage>);

impl TableSource for Fixed {
    fn enter(&mut self) -> Option<&Arc<TableImage>> {
        Some(&self.0)
    }

    fn offline(&mut self) {}
}

struct Generation(Arc<AtomicU64>);

impl Report for Generation {
    fn generation(&mut self, generation: u64) {
        self.0.store(generation, Ordering::SeqCst);
    }

    fn heartbeat(&mut self, _: u64) {}
}

/// A running worker; stopped on drop.
struct Running {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().expect("the worker thread ends");
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A worker serving one listener whose every request goes to `upstream` with `rule` (YAML
/// of the rule's extra fields).
fn worker(driver: Driver, upstream: SocketAddr, rule: &str) -> Running {
    let port = free_port();
    let yaml = format!(
        "listeners:\n  - {{ name: web, address: 127.0.0.1, port: {port}, protocol: HTTP }}\n\
         httpRoutes:\n  - name: all\n    parentRefs: [web]\n    rules:\n      - backendRefs: [{{ name: up }}]\n{rule}\
         clusters:\n  - {{ name: up, endpoints: [{{ address: \"{upstream}\" }}] }}\n"
    );
    let config = strait_config::parse(&yaml).unwrap_or_else(|e| panic!("{e:?}"));
    let bytes = compile(&config, 1, &mut HealthSlots::default()).unwrap();
    let image =
        Image::parse(MappedImage::from_fd(seal_image(bytes.as_bytes(), "t").unwrap()).unwrap());
    let source = Fixed(Arc::new(image.unwrap()));
    let opts = L7Options {
        driver,
        ..L7Options::default()
    };
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(AtomicU64::new(0));
    let (thread_stop, thread_seen) = (stop.clone(), seen.clone());
    let thread = thread::spawn(move || {
        let w = Worker::new(0, opts, Box::new(source), None);
        w.run(&thread_stop, &mut Generation(thread_seen))
            .expect("the worker runs");
    });
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(addr).is_err() || seen.load(Ordering::SeqCst) != 1 {
        assert!(Instant::now() < deadline, "the worker never listened");
        thread::sleep(Duration::from_millis(5));
    }
    Running {
        addr,
        stop,
        thread: Some(thread),
    }
}

/// An upstream that runs `serve` on every connection it accepts, counting them.
fn upstream(serve: fn(TcpStream)) -> (SocketAddr, Arc<AtomicU64>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let accepted = Arc::new(AtomicU64::new(0));
    let count = accepted.clone();
    thread::spawn(move || {
        for s in l.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            thread::spawn(move || serve(s));
        }
    });
    (addr, accepted)
}

/// Reads one head (up to the empty line) byte by byte, so nothing after it is consumed.
fn read_head(s: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut b).ok()? == 0 {
            return None;
        }
        head.push(b[0]);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

fn path_of(head: &str) -> &str {
    head.split(' ').nth(1).unwrap_or("")
}

/// Sends `raw` and reads until the peer closes or `until` is in what was read.
fn exchange(addr: SocketAddr, raw: &[u8], until: &str) -> String {
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(raw).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(until) {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// Answers each request with its path, keeping the connection.
fn echo_path(mut s: TcpStream) {
    while let Some(head) = read_head(&mut s) {
        let p = path_of(&head).to_owned();
        let r = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{p}", p.len());
        if s.write_all(r.as_bytes()).is_err() {
            return;
        }
    }
}

#[test]
fn both_drivers_serve_pipelined_requests_in_order() {
    let (up, _) = upstream(echo_path);
    for driver in [Driver::Poll, Driver::IoUring] {
        let w = worker(driver, up, "");
        let two = b"GET /one HTTP/1.1\r\nHost: a\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\n\r\n";
        let got = exchange(w.addr, two, "/two");
        let (one, two) = (got.find("\r\n\r\n/one"), got.find("\r\n\r\n/two"));
        assert!(one.is_some() && one < two, "{driver:?}: {got}");
    }
}

/// Serves one request, then closes without saying so (as an idle timeout would).
fn one_then_close(mut s: TcpStream) {
    if read_head(&mut s).is_some() {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
}

#[test]
fn a_connection_the_upstream_closed_while_pooled_is_not_reused() {
    let (up, accepted) = upstream(one_then_close);
    let w = worker(Driver::Auto, up, "");
    let mut c = TcpStream::connect(w.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for i in 0..3 {
        c.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        let mut buf = [0u8; 512];
        let n = c.read(&mut buf).unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(
            text.starts_with("HTTP/1.1 200") && text.ends_with("ok"),
            "request {i}: {text}"
        );
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        3,
        "one new connection per request"
    );
}

/// Answers chunked, whatever the version asked.
fn chunked(mut s: TcpStream) {
    if read_head(&mut s).is_some() {
        let _ = s.write_all(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        );
    }
}

#[test]
fn an_http10_client_gets_a_body_delimited_by_the_close() {
    let (up, _) = upstream(chunked);
    let w = worker(Driver::Auto, up, "");
    let got = exchange(w.addr, b"GET / HTTP/1.0\r\n\r\n", "\u{0}");
    let lower = got.to_ascii_lowercase();
    assert!(
        got.starts_with("HTTP/1.1 200") && got.ends_with("\r\n\r\nabc"),
        "{got}"
    );
    assert!(
        !lower.contains("transfer-encoding") && lower.contains("connection: close"),
        "{got}"
    );
}

/// Switches to an echo of raw bytes when asked to upgrade.
fn upgrade_echo(mut s: TcpStream) {
    let Some(head) = read_head(&mut s) else {
        return;
    };
    let lower = head.to_ascii_lowercase();
    assert!(
        lower.contains("connection: upgrade") && lower.contains("upgrade: websocket"),
        "{head}"
    );
    s.write_all(
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    )
    .unwrap();
    let mut buf = [0u8; 64];
    while let Ok(n @ 1..) = s.read(&mut buf) {
        let _ = s.write_all(&buf[..n]);
    }
}

#[test]
fn an_upgrade_becomes_a_tunnel() {
    let (up, _) = upstream(upgrade_echo);
    let w = worker(Driver::Auto, up, "");
    let mut c = TcpStream::connect(w.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(
        b"GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    )
    .unwrap();
    let head = read_head(&mut c).expect("the 101");
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    c.write_all(b"ping").unwrap();
    let mut buf = [0u8; 4];
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
}

/// Reads a head and never answers.
fn silent(mut s: TcpStream) {
    let _ = read_head(&mut s);
    thread::sleep(Duration::from_secs(3));
}

#[test]
fn an_upstream_that_does_not_answer_in_time_is_504() {
    let (up, _) = upstream(silent);
    let w = worker(Driver::Auto, up, "        timeouts: { request: 200ms }\n");
    let started = Instant::now();
    let got = exchange(w.addr, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "in time\n");
    assert!(got.starts_with("HTTP/1.1 504"), "{got}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// Refuses a body at once, without reading it, and closes.
fn refuse_body(mut s: TcpStream) {
    if read_head(&mut s).is_some() {
        let _ = s.write_all(
            b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbig!",
        );
    }
}

#[test]
fn an_early_answer_is_forwarded_and_the_client_closed() {
    let (up, _) = upstream(refuse_body);
    let w = worker(Driver::Auto, up, "");
    let mut req = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4000000\r\n\r\n".to_vec();
    req.resize(req.len() + 200_000, b'x');
    let got = exchange(w.addr, &req, "\u{0}");
    assert!(
        got.starts_with("HTTP/1.1 413") && got.ends_with("big!"),
        "{got}"
    );
    assert!(
        got.to_ascii_lowercase().contains("connection: close"),
        "{got}"
    );
}
