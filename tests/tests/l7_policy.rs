//! The L7 path's policies end to end: retries, the retry budget, consistent hashing, the access
//! log and the workers' L7 counters, with a real agent, a real data plane with L7 workers on
//! every test core and real upstream servers, all started and stopped by each test.
//!
//! Stories:
//! * **Retries**: an upstream that resets new connections, then one that answers 503, then one
//!   that never answers: every GET still gets its 200 from another upstream, and the workers
//!   count the retries and timeouts; a POST that meets the 503 gets it (not idempotent), unless
//!   the route allows retrying it.
//! * **Budget**: 16 requests at once to an upstream that never answers, with a budget of 1%:
//!   only the minimum of concurrent retries per worker is made, the rest are counted as
//!   refused by the budget, and every client gets its 504.
//! * **Hashing**: the same header, cookie or source address always lands on the same upstream,
//!   different ones spread over all three; an unhealthy endpoint moves only its own keys, and
//!   removing one from the config moves (almost) only its keys.
//! * **Access log**: one JSON line per request with its fields, into a file; nothing when off.
//! * **HTTP/2 retries**: the retry story over h2c, to an HTTP/1.1 cluster and to an HTTP/2 one:
//!   bodiless GETs (and bodiless POSTs where the route allows them) are retried as HTTP/1.1
//!   requests are; a stream with a body is never sent twice, whatever the route allows. And
//!   the story of HTTP/1.1 clients to the HTTP/2 cluster: retried as to an HTTP/1.1 one, a
//!   small POST body included where the route allows it.
//! * **HTTP/2 and gRPC**: h2c streams (forwarded, answered locally, reset by the client) and
//!   gRPC calls (forwarded, answered with a gRPC status, and one from an HTTP/1.1 client) are
//!   counted and logged once each, as HTTP/1.1 requests are.

use std::{
    collections::{HashMap, HashSet},
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    path::Path,
    sync::atomic::Ordering,
    thread,
    time::Duration,
};

use http::Method;
use serde_json::Value;
use strait_e2e::{
    grpc::{
        GrpcServer,
        echo::{Msg, echo_client::EchoClient},
        h1_say,
    },
    http::{Client, Response},
    http2::H2Client,
    l7::L7Node,
    upstream::{Fault, Upstream},
    wait_until,
};
use strait_shm::{StatsRegion, l7stats};
use tonic::Code;

/// The sum over every worker of L7 counter `name` (a [`l7stats::NAMES`] entry), read from the
/// data plane's stats region through `/proc/PID/fd`.
fn l7_counter(n: &L7Node, name: &str) -> u64 {
    let idx = l7stats::NAMES
        .iter()
        .position(|&x| x == name)
        .unwrap_or_else(|| panic!("{name} is not an L7 counter"));
    let region = stats_region(n);
    (0..region.worker_count())
        .filter_map(|i| region.worker(i))
        .map(|w| w.counter(l7stats::L7_BASE + idx).load(Ordering::Relaxed))
        .sum()
}

fn stats_region(n: &L7Node) -> StatsRegion {
    let dir = format!("/proc/{}/fd", n.dataplane_pid());
    let fd = std::fs::read_dir(&dir)
        .expect("the data plane's fds")
        .filter_map(Result::ok)
        .find(|e| {
            std::fs::read_link(e.path())
                .is_ok_and(|t| t.to_string_lossy().starts_with("/memfd:strait-stats"))
        })
        .expect("the stats region memfd");
    // The region maps read-write (only loads are made here).
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(fd.path())
        .expect("opening the stats region");
    StatsRegion::open(&file).expect("mapping the stats region")
}

/// Waits until L7 counter `name` reaches `at_least` (the workers export every heartbeat).
fn wait_counter(n: &L7Node, name: &str, at_least: u64) -> u64 {
    wait_until(Duration::from_secs(5), name, || {
        let v = l7_counter(n, name);
        (v >= at_least).then_some(v)
    })
}

fn served_by(r: &Response) -> &str {
    r.header("x-upstream").unwrap_or("-")
}

fn get(n: &L7Node, host: &str, path: &str, extra: &str) -> Response {
    n.client()
        .get(host, path, extra)
        .unwrap_or_else(|e| panic!("GET {host}{path}: {e}\n{}", n.dataplane_log()))
}

fn post(n: &L7Node, host: &str) -> Response {
    let mut c = n.client();
    let req = format!("POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: 4\r\n\r\ndata");
    c.send(req.as_bytes()).expect("sending a POST");
    c.response()
        .unwrap_or_else(|e| panic!("POST {host}: {e}\n{}", n.dataplane_log()))
}

fn retry_config(n: &L7Node) -> String {
    let retry = "retryOn: [reset, 5xx, per-try-timeout], perTryTimeout: 500ms, budgetPercent: 0";
    format!(
        r#"
listeners:
  - {{ name: web, address: 127.0.0.1, port: {port}, protocol: HTTP }}
httpRoutes:
  - name: gets
    parentRefs: [web]
    hostnames: [retry.example]
    rules:
      - backendRefs: [{{ name: three }}]
        retry: {{ attempts: 2, {retry} }}
  - name: posts
    parentRefs: [web]
    hostnames: [post.example]
    rules:
      - backendRefs: [{{ name: three }}]
        retry: {{ attempts: 2, {retry} }}
  - name: bounded
    parentRefs: [web]
    hostnames: [bounded.example]
    rules:
      - backendRefs: [{{ name: three }}]
        timeouts: {{ request: 1200ms }}
        retry: {{ attempts: 5, {retry} }}
  - name: posts-allowed
    parentRefs: [web]
    hostnames: [post-allowed.example]
    rules:
      - backendRefs: [{{ name: three }}]
        retry: {{ attempts: 2, allowNonIdempotent: true, {retry} }}
clusters:
  - name: three
    endpoints: [{{ address: "{a}" }}, {{ address: "{b}" }}, {{ address: "{c}" }}]
"#,
        port = n.port,
        a = n.upstream(0),
        b = n.upstream(1),
        c = n.upstream(2),
    )
}

/// `count` GETs on `retry.example`, each on its own connection: all must be 200 from beta or
/// gamma.
fn gets_avoid_alpha(n: &L7Node, count: usize, what: &str) {
    for i in 0..count {
        let r = get(n, "retry.example", "/", "");
        assert_eq!(r.status, 200, "{what}, GET {i}: {}", r.text());
        assert_ne!(served_by(&r), "alpha", "{what}, GET {i}");
    }
}

#[test]
fn failed_tries_are_retried_on_healthy_upstreams_for_idempotent_requests() {
    let mut n = L7Node::start();
    n.apply(&retry_config(&n));
    let alpha = &n.upstreams[0];

    alpha.set_fault(Fault::Reset);
    gets_avoid_alpha(&n, 9, "alpha resets");
    assert!(alpha.faults() >= 1, "round robin never tried alpha");
    let retries = wait_counter(&n, "l7_retries", alpha.faults());

    alpha.set_fault(Fault::Status(503));
    let before = alpha.faults();
    gets_avoid_alpha(&n, 9, "alpha answers 503");
    assert!(alpha.faults() > before, "round robin never tried alpha");
    let retries = wait_counter(&n, "l7_retries", retries + alpha.faults() - before);

    alpha.set_fault(Fault::Hang);
    let before = alpha.faults();
    gets_avoid_alpha(&n, 6, "alpha hangs");
    assert!(alpha.faults() > before, "round robin never tried alpha");
    wait_counter(&n, "l7_timeouts", alpha.faults() - before);
    let retries = wait_counter(&n, "l7_retries", retries + alpha.faults() - before);

    // A POST is not sent twice: the one that meets alpha's 503 gets it, as alpha sent it.
    alpha.set_fault(Fault::Status(503));
    let before = alpha.faults();
    let mut failed = 0;
    for _ in 0..9 {
        let r = post(&n, "post.example");
        match r.status {
            503 => {
                assert_eq!(
                    (served_by(&r), r.text().as_str()),
                    ("alpha", "alpha failed")
                );
                failed += 1;
            }
            status => assert_eq!(status, 200, "{}", r.text()),
        }
    }
    assert!(failed >= 1, "round robin never sent a POST to alpha");
    assert_eq!(
        alpha.faults() - before,
        failed,
        "each failed POST was tried once"
    );
    assert_eq!(l7_counter(&n, "l7_retries"), retries, "no POST was retried");

    // Unless the route allows it.
    let before = alpha.faults();
    for _ in 0..9 {
        let r = post(&n, "post-allowed.example");
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert!(
        alpha.faults() > before,
        "round robin never sent a POST to alpha"
    );
    wait_counter(&n, "l7_retries", retries + alpha.faults() - before);
    wait_counter(&n, "l7_responses_2xx", 9 + 9 + 6 + (9 - failed) + 9);
    wait_counter(&n, "l7_responses_5xx", failed);
    wait_counter(&n, "l7_requests", 9 + 9 + 6 + 9 + 9);

    // Every upstream fails: the client gets the last try's answer as the upstream sent it.
    for u in &n.upstreams {
        u.set_fault(Fault::Status(503));
    }
    let retries = l7_counter(&n, "l7_retries");
    let r = get(&n, "retry.example", "/", "");
    assert_eq!(r.status, 503);
    assert!(r.text().ends_with(" failed"), "{}", r.text());
    wait_counter(&n, "l7_retries", retries + 2);

    // Every upstream hangs: the request timeout bounds all tries together (500 ms tries, the
    // third cut short at 1200 ms), and the client gets 504.
    for u in &n.upstreams {
        u.set_fault(Fault::Hang);
    }
    let faults = |n: &L7Node| n.upstreams.iter().map(|u| u.faults()).sum::<u64>();
    let before = faults(&n);
    let started = std::time::Instant::now();
    let r = get(&n, "bounded.example", "/", "");
    let took = started.elapsed();
    assert_eq!(r.status, 504, "{}", r.text());
    assert!(
        took >= Duration::from_millis(1150) && took < Duration::from_millis(2500),
        "{took:?}"
    );
    assert_eq!(faults(&n) - before, 3, "three tries in 1200 ms");
}

#[test]
fn a_spent_retry_budget_returns_the_failure_as_is() {
    const CLIENTS: u64 = 16;
    let mut n = L7Node::start();
    n.apply(&format!(
        r#"
listeners:
  - {{ name: web, address: 127.0.0.1, port: {port}, protocol: HTTP }}
httpRoutes:
  - name: hangs
    parentRefs: [web]
    rules:
      - backendRefs: [{{ name: alpha }}]
        retry: {{ attempts: 1, retryOn: [per-try-timeout], perTryTimeout: 1s, budgetPercent: 1 }}
clusters:
  - {{ name: alpha, endpoints: [{{ address: "{a}" }}] }}
"#,
        port = n.port,
        a = n.upstream(0),
    ));
    n.upstreams[0].set_fault(Fault::Hang);
    let addr = n.addr();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            thread::spawn(move || {
                let mut c = strait_e2e::http::Client::connect(addr).expect("connecting");
                c.get("budget.example", "/", "").expect("a response").status
            })
        })
        .collect();
    for c in clients {
        assert_eq!(c.join().expect("client thread"), 504);
    }
    let l7_workers = (n.workers - 1) as u64;
    let retries = wait_counter(&n, "l7_retries", 1);
    let refused = wait_counter(&n, "l7_retry_budget_exhausted", CLIENTS - retries);
    assert!(
        retries <= l7stats_min_retries() * l7_workers,
        "{retries} retries at once with {l7_workers} workers"
    );
    assert_eq!(retries + refused, CLIENTS, "every request wanted one retry");
    assert_eq!(n.upstreams[0].faults(), CLIENTS + retries);
}

/// The budget's minimum of concurrent retries per worker and cluster (`strait_l7` keeps 3).
fn l7stats_min_retries() -> u64 {
    3
}

fn hash_config(n: &L7Node, endpoints: &[usize]) -> String {
    let list: Vec<String> = endpoints
        .iter()
        .map(|&i| format!("{{ address: \"{}\" }}", n.upstream(i)))
        .collect();
    let list = list.join(", ");
    format!(
        r#"
listeners:
  - {{ name: web, address: 127.0.0.1, port: {port}, protocol: HTTP }}
httpRoutes:
  - name: by-header
    parentRefs: [web]
    hostnames: [header.example]
    rules:
      - backendRefs: [{{ name: by-header }}]
  - name: by-cookie
    parentRefs: [web]
    hostnames: [cookie.example]
    rules:
      - backendRefs: [{{ name: by-cookie }}]
  - name: by-source
    parentRefs: [web]
    hostnames: [source.example]
    rules:
      - backendRefs: [{{ name: by-source }}]
clusters:
  - {{ name: by-header, lbPolicy: Maglev, hashOn: {{ header: x-user }}, endpoints: [{list}] }}
  - {{ name: by-cookie, lbPolicy: RingHash, hashOn: {{ cookie: sid }}, endpoints: [{list}] }}
  - {{ name: by-source, lbPolicy: Maglev, hashOn: {{ sourceIp: true }}, endpoints: [{list}] }}
"#,
        port = n.port,
    )
}

/// Where each key lands, asked twice on separate connections (which must agree).
fn placements(keys: usize, mut ask: impl FnMut(usize) -> String) -> Vec<String> {
    (0..keys)
        .map(|k| {
            let first = ask(k);
            assert_eq!(ask(k), first, "key {k} moved between two requests");
            first
        })
        .collect()
}

fn spread(placed: &[String]) -> HashMap<&str, usize> {
    let mut m = HashMap::new();
    for p in placed {
        *m.entry(p.as_str()).or_default() += 1;
    }
    m
}

/// A GET on `host` from source address 127.0.0.`last`, read until the server closes.
fn get_from(n: &L7Node, last: u8, host: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let stream = rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(SocketAddr::from(([127, 0, 0, last], 0)))
            .expect("binding a loopback source");
        socket.connect(n.addr()).await.expect("connecting")
    });
    let mut stream: TcpStream = stream.into_std().expect("std stream");
    stream.set_nonblocking(false).expect("blocking");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let req = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).expect("sending");
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("reading");
    text.lines()
        .find_map(|l| l.strip_prefix("x-upstream: "))
        .unwrap_or_else(|| panic!("no x-upstream in {text:?}"))
        .trim()
        .to_owned()
}

#[test]
fn consistent_hashing_is_sticky_and_moves_only_the_keys_of_a_lost_endpoint() {
    const KEYS: usize = 150;
    let mut n = L7Node::start();
    n.apply(&hash_config(&n, &[0, 1, 2]));
    let by_header = |n: &L7Node, k: usize| {
        served_by(&get(
            n,
            "header.example",
            "/",
            &format!("X-User: user-{k}\r\n"),
        ))
        .to_owned()
    };
    let header = placements(KEYS, |k| by_header(&n, k));
    assert_eq!(
        spread(&header).len(),
        3,
        "header keys spread: {:?}",
        spread(&header)
    );

    let cookie = placements(KEYS / 3, |k| {
        let field = format!("Cookie: theme=dark; sid=session-{k}; lang=en\r\n");
        served_by(&get(&n, "cookie.example", "/", &field)).to_owned()
    });
    assert_eq!(
        spread(&cookie).len(),
        3,
        "cookie keys spread: {:?}",
        spread(&cookie)
    );

    let source = placements(40, |k| get_from(&n, 2 + k as u8, "source.example"));
    assert_eq!(
        spread(&source).len(),
        3,
        "source keys spread: {:?}",
        spread(&source)
    );

    // gamma unhealthy (health slots follow first appearance: alpha 0, beta 1, gamma 2): only
    // its keys move, each to the next endpoint of the table.
    n.mark_unhealthy(2);
    let unhealthy = placements(KEYS, |k| by_header(&n, k));
    for (k, (was, now)) in header.iter().zip(&unhealthy).enumerate() {
        if was == "gamma" {
            assert_ne!(now, "gamma", "key {k}");
        } else {
            assert_eq!(now, was, "key {k} moved off a healthy endpoint");
        }
    }

    // gamma removed from the config: a new Maglev table, which keeps nearly every other key.
    n.apply(&hash_config(&n, &[0, 1]));
    let removed = placements(KEYS, |k| by_header(&n, k));
    let others: Vec<usize> = (0..KEYS).filter(|&k| header[k] != "gamma").collect();
    let moved = others.iter().filter(|&&k| removed[k] != header[k]).count();
    assert!(removed.iter().all(|p| p != "gamma"));
    assert!(
        moved * 100 <= others.len() * 5,
        "{moved} of {} keys of alpha and beta moved",
        others.len()
    );
}

fn log_config(n: &L7Node) -> String {
    log_config_with(n, "", "")
}

/// `log.example` to alpha, then the YAML list items `routes` and `clusters` after alpha's.
fn log_config_with(n: &L7Node, routes: &str, clusters: &str) -> String {
    format!(
        r#"
listeners:
  - {{ name: web, address: 127.0.0.1, port: {port}, protocol: HTTP }}
httpRoutes:
  - name: logged
    parentRefs: [web]
    hostnames: [log.example]
    rules:
      - backendRefs: [{{ name: alpha }}]
{routes}clusters:
  - {{ name: alpha, endpoints: [{{ address: "{a}" }}] }}
{clusters}"#,
        port = n.port,
        a = n.upstream(0),
    )
}

/// The access log at `path` once it has at least `count` lines (workers flush every tick).
fn log_lines(path: &Path, count: usize) -> Vec<Value> {
    wait_until(Duration::from_secs(5), "access log lines", || {
        let text = std::fs::read_to_string(path).ok()?;
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        (lines.len() >= count).then_some(lines)
    })
}

#[test]
fn the_access_log_has_a_line_per_request_and_nothing_when_off() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("access.log");
    let mut n = L7Node::start_with(&["--access-log", path.to_str().expect("utf-8 path")]);
    n.apply(&log_config(&n));

    let ok = get(&n, "log.example:8080", "/hello?x=1", "");
    assert_eq!(ok.status, 200);
    let none = get(&n, "nowhere.example", "/missing", "");
    assert_eq!(none.status, 404);
    let lines = log_lines(&path, 2);
    assert_eq!(lines.len(), 2, "{lines:?}");
    // Two connections may be served by two workers, each flushing on its own tick.
    let by_status = |s: u64| lines.iter().find(|l| l["status"] == s).expect("a line");
    let (forwarded, local) = (by_status(200), by_status(404));
    assert_eq!(forwarded["method"], "GET");
    assert_eq!(forwarded["authority"], "log.example");
    assert_eq!(forwarded["path"], "/hello?x=1");
    assert_eq!(forwarded["version"], "HTTP/1.1");
    assert_eq!(forwarded["status"], 200);
    assert_eq!(forwarded["upstream"], n.upstream(0).as_str());
    assert_eq!(
        (&forwarded["route"], &forwarded["cluster"]),
        (&"logged".into(), &"alpha".into())
    );
    assert_eq!(forwarded["retries"], 0);
    assert_eq!(forwarded["local"], Value::Null);
    assert!(forwarded["bytes_in"].as_u64().unwrap() > 30, "{forwarded}");
    assert!(forwarded["bytes_out"].as_u64().unwrap() > 50, "{forwarded}");
    assert!(
        forwarded["duration_us"].as_u64().unwrap() > 0,
        "{forwarded}"
    );
    assert!(
        forwarded["client"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    assert!(forwarded["time"].as_str().unwrap().ends_with('Z'));
    assert!(
        forwarded["worker"].as_u64().unwrap() >= 1,
        "L7 workers follow the L4 one"
    );
    assert_eq!(local["status"], 404);
    assert_eq!(local["local"], "no route");
    assert_eq!(
        (&local["upstream"], &local["route"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(local["path"], "/missing");
    wait_counter(&n, "l7_local_answers", 1);
    wait_counter(&n, "l7_responses_4xx", 1);
    wait_counter(&n, "l7_requests", 2);
    // straitctl shows the L7 counters, and the latency percentiles instead of the buckets.
    let out = n.node.ctl(&["stats", "--json"]);
    let stats: Value = serde_json::from_slice(&out.stdout).expect("stats --json");
    assert_eq!(stats["total"]["l7_requests"], 2, "{stats}");
    let served: Vec<&Value> = stats["workers"]
        .as_array()
        .expect("workers")
        .iter()
        .filter(|w| w["latency_us"]["p99"].as_u64().is_some_and(|p| p > 0))
        .collect();
    assert!(!served.is_empty(), "no worker shows its latency: {stats}");
    assert!(
        !stats.to_string().contains(l7stats::LATENCY_PREFIX),
        "{stats}"
    );
    drop(n);

    // Off by default: the data plane writes no access line anywhere.
    let mut off = L7Node::start();
    off.apply(&log_config(&off));
    assert_eq!(get(&off, "log.example", "/quiet", "").status, 200);
    wait_counter(&off, "l7_requests", 1);
    let log = off.dataplane_log();
    assert!(!log.contains("/quiet"), "an access line while off:\n{log}");
    let seen: HashSet<&str> = log.lines().filter(|l| l.contains("duration_us")).collect();
    assert!(seen.is_empty(), "{seen:?}");
}

/// `log.example` to alpha (HTTP/1.1); `x-target: live` to the tonic server (HTTP/2); nothing
/// else has a route.
fn h2_log_config(n: &L7Node, echo: SocketAddr) -> String {
    let routes = "  - name: grpc
    parentRefs: [web]
    rules:
      - matches: [{ headers: [{ name: x-target, value: live, type: Exact }] }]
        backendRefs: [{ name: echo }]
";
    let clusters =
        format!("  - {{ name: echo, protocol: HTTP2, endpoints: [{{ address: \"{echo}\" }}] }}\n");
    log_config_with(n, routes, &clusters)
}

fn say(text: &str, target: &str) -> tonic::Request<Msg> {
    let mut req = tonic::Request::new(Msg { text: text.into() });
    req.metadata_mut()
        .insert("x-target", target.parse().expect("metadata"));
    req
}

/// Panics saying what failed, with the data plane's log.
fn fail_with_log<T>(n: &L7Node, what: &str, e: &dyn std::fmt::Display) -> T {
    panic!("{what}: {e}\n{}", n.dataplane_log())
}

/// The one line of `lines` that `f` picks (`what` names it).
fn only<'a>(lines: &'a [Value], what: &str, f: impl Fn(&Value) -> bool) -> &'a Value {
    let mut found = lines.iter().filter(|l| f(l));
    let line = found
        .next()
        .unwrap_or_else(|| panic!("no line {what}: {lines:#?}"));
    assert!(found.next().is_none(), "two lines {what}: {lines:#?}");
    line
}

/// Sends, over h2c and gRPC: three GETs and an echoed POST forwarded to alpha, one stream with
/// no route, one reset by the client while its body goes up, a gRPC call forwarded and one
/// answered by the proxy; returns once all have their answers (or were reset).
async fn h2_and_grpc_requests(n: &L7Node) {
    let client = H2Client::plain(n.addr())
        .await
        .unwrap_or_else(|e| fail_with_log(n, "h2c", &e));
    for i in 0..3 {
        let path = format!("/h2/{i}?x=1");
        let r = client.get("log.example:8080", &path).await;
        let r = r.unwrap_or_else(|e| fail_with_log(n, "GET", &e));
        assert_eq!((r.status, r.text().as_str()), (200, "alpha"));
    }
    let chunks: [&[u8]; 2] = [b"hello ", b"h2"];
    let r = client
        .request(Method::POST, "log.example", "/echo", &[], &chunks)
        .await;
    assert_eq!(
        r.unwrap_or_else(|e| fail_with_log(n, "POST", &e)).text(),
        "hello h2"
    );
    let r = client.get("nowhere.example", "/missing").await;
    assert_eq!(
        r.unwrap_or_else(|e| fail_with_log(n, "GET /missing", &e))
            .status,
        404
    );

    // Reset once the upstream has the request and waits for the rest of its body.
    let alpha = &n.upstreams[0];
    let before = alpha.requests();
    let (response, mut body) = client
        .open(Method::POST, "log.example", "/count", b"partial")
        .await
        .unwrap_or_else(|e| fail_with_log(n, "POST /count", &e));
    wait_until(
        Duration::from_secs(5),
        "the upstream has the request",
        || (alpha.requests() > before).then_some(()),
    );
    body.send_reset(h2::Reason::CANCEL);
    assert!(response.await.is_err(), "a reset stream has no response");

    let mut grpc = EchoClient::connect(format!("http://{}", n.addr()))
        .await
        .unwrap_or_else(|e| fail_with_log(n, "gRPC channel", &e));
    let reply = grpc.say(say("hi", "live")).await;
    let reply = reply.unwrap_or_else(|s| fail_with_log(n, "Say", &s));
    assert_eq!(reply.into_inner().text, "echo: hi");
    let status = grpc.say(say("hi", "nowhere")).await.expect_err("no route");
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
}

#[test]
fn h2_streams_and_grpc_calls_are_counted_and_logged_like_http1_requests() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("access.log");
    let server = GrpcServer::start();
    let mut n = L7Node::start_with(&["--access-log", path.to_str().expect("utf-8 path")]);
    n.apply(&h2_log_config(&n, server.addr));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(60), h2_and_grpc_requests(&n)).await
    })
    .unwrap_or_else(|_| panic!("the requests stalled\n{}", n.dataplane_log()));
    // And an HTTP/1.1 client's gRPC call, which goes to the HTTP/2 cluster as a stream.
    let mut c = n.client();
    c.send(&h1_say("hi", "live"))
        .expect("sending Say as HTTP/1.1");
    let r = c.response();
    let r = r.unwrap_or_else(|e| fail_with_log(&n, "Say as HTTP/1.1", &e));
    assert_eq!(r.status, 200, "{}", r.text());

    // Nine requests, nine lines: none missing, none twice.
    let lines = log_lines(&path, 9);
    assert_eq!(lines.len(), 9, "{lines:#?}");
    let find = |what: &str, f: &dyn Fn(&Value) -> bool| only(&lines, what, f);
    let alpha = n.upstream(0);
    for i in 0..3 {
        let path = format!("/h2/{i}?x=1");
        let l = find(&path, &|l| l["path"] == path.as_str());
        assert_eq!(l["method"], "GET", "{l}");
        assert_eq!(l["authority"], "log.example", "{l}");
        assert_eq!(l["version"], "HTTP/2.0", "{l}");
        assert_eq!(l["status"], 200, "{l}");
        assert_eq!(l["upstream"], alpha.as_str(), "{l}");
        assert_eq!(
            (&l["route"], &l["cluster"]),
            (&"logged".into(), &"alpha".into())
        );
        assert_eq!(
            (&l["retries"], &l["local"]),
            (&0.into(), &Value::Null),
            "{l}"
        );
        assert_eq!(l["bytes_in"], 0, "a GET has no body: {l}");
        assert_eq!(l["bytes_out"], 5, "the body `alpha`: {l}");
        assert!(l["duration_us"].as_u64().unwrap() > 0, "{l}");
        assert!(
            l["client"].as_str().unwrap().starts_with("127.0.0.1:"),
            "{l}"
        );
    }
    let echo = find("/echo", &|l| l["path"] == "/echo");
    assert_eq!(
        (&echo["method"], &echo["status"]),
        (&"POST".into(), &200.into())
    );
    assert_eq!(
        (&echo["bytes_in"], &echo["bytes_out"]),
        (&8.into(), &8.into())
    );
    let missing = find("/missing", &|l| l["path"] == "/missing");
    assert_eq!(missing["status"], 404, "{missing}");
    assert_eq!(missing["local"], "no route", "{missing}");
    assert_eq!(missing["authority"], "nowhere.example", "{missing}");
    assert_eq!(
        (&missing["upstream"], &missing["route"]),
        (&Value::Null, &Value::Null)
    );
    let reset = find("/count", &|l| l["path"] == "/count");
    assert_eq!(reset["status"], 0, "no response went out: {reset}");
    assert_eq!(reset["upstream"], alpha.as_str(), "{reset}");
    assert_eq!(reset["local"], Value::Null, "{reset}");
    let say_path = "/echo.Echo/Say";
    for version in ["HTTP/2.0", "HTTP/1.1"] {
        let said = find(version, &|l| {
            l["path"] == say_path && l["local"].is_null() && l["version"] == version
        });
        assert_eq!(
            (&said["method"], &said["status"]),
            (&"POST".into(), &200.into())
        );
        assert_eq!(said["upstream"], server.addr.to_string().as_str(), "{said}");
        assert_eq!(
            (&said["route"], &said["cluster"]),
            (&"grpc".into(), &"echo".into())
        );
        assert!(said["bytes_in"].as_u64().unwrap() > 5, "{said}");
        assert!(said["bytes_out"].as_u64().unwrap() > 5, "{said}");
    }
    let refused = find("gRPC answered", &|l| {
        l["path"] == say_path && !l["local"].is_null()
    });
    assert_eq!(refused["local"], "no route", "{refused}");
    assert_eq!(
        refused["status"], 200,
        "a trailers-only gRPC status: {refused}"
    );

    // The counters say the same: 200s (gRPC statuses included), one 404, the reset stream in
    // no class, and two local answers.
    assert_eq!(wait_counter(&n, "l7_requests", 9), 9);
    assert_eq!(wait_counter(&n, "l7_responses_2xx", 7), 7);
    assert_eq!(wait_counter(&n, "l7_responses_4xx", 1), 1);
    assert_eq!(wait_counter(&n, "l7_local_answers", 2), 2);
    assert_eq!(l7_counter(&n, "l7_responses_5xx"), 0);
    for (counter, field) in [("l7_bytes_in", "bytes_in"), ("l7_bytes_out", "bytes_out")] {
        let sum: u64 = lines.iter().map(|l| l[field].as_u64().unwrap()).sum();
        assert_eq!(wait_counter(&n, counter, sum), sum, "{counter}");
    }
}

/// The routes of [`retry_config`] to the HTTP/1.1 upstreams, and the same three over
/// `h2.`-prefixed host names to the HTTP/2 cluster `three-h2` of `h2` (h2c upstreams).
fn h2_retry_config(n: &L7Node, h2: &[Upstream; 3]) -> String {
    let retry = "retryOn: [reset, 5xx, per-try-timeout], perTryTimeout: 500ms, budgetPercent: 0";
    let mut routes = String::new();
    for (prefix, cluster) in [("", "three"), ("h2.", "three-h2")] {
        for (name, host, extra) in [
            ("gets", "retry.example", ""),
            ("posts", "post.example", ""),
            (
                "posts-allowed",
                "post-allowed.example",
                "allowNonIdempotent: true, ",
            ),
        ] {
            routes.push_str(&format!(
                r#"
  - name: {prefix}{name}
    parentRefs: [web]
    hostnames: [{prefix}{host}]
    rules:
      - backendRefs: [{{ name: {cluster} }}]
        retry: {{ attempts: 2, {extra}{retry} }}"#
            ));
        }
    }
    format!(
        r#"
listeners:
  - {{ name: web, address: 127.0.0.1, port: {port}, protocol: HTTP }}
httpRoutes:{routes}
clusters:
  - name: three
    endpoints: [{{ address: "{a}" }}, {{ address: "{b}" }}, {{ address: "{c}" }}]
  - name: three-h2
    protocol: HTTP2
    endpoints: [{{ address: "{x}" }}, {{ address: "{y}" }}, {{ address: "{z}" }}]
"#,
        port = n.port,
        a = n.upstream(0),
        b = n.upstream(1),
        c = n.upstream(2),
        x = h2[0].addr,
        y = h2[1].addr,
        z = h2[2].addr,
    )
}

/// How the retry story's requests reach the node.
enum Via {
    /// Streams on one h2c connection, with a runtime to drive it.
    H2(tokio::runtime::Runtime, H2Client),
    /// HTTP/1.1 requests, each on a connection of its own.
    H1,
}

/// An answer of the retry story: status, `x-upstream`, body.
struct Answer {
    status: u16,
    upstream: Option<String>,
    text: String,
}

/// The retry story's client, and the number of requests it has had answered (each is one
/// request in `l7_requests`).
struct Retries<'a> {
    n: &'a L7Node,
    via: Via,
    answered: u64,
}

impl Retries<'_> {
    fn h2(n: &L7Node) -> Retries<'_> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let client = rt
            .block_on(H2Client::plain(n.addr()))
            .unwrap_or_else(|e| fail_with_log(n, "h2c", &e));
        Retries {
            n,
            via: Via::H2(rt, client),
            answered: 0,
        }
    }

    fn h1(n: &L7Node) -> Retries<'_> {
        Retries {
            n,
            via: Via::H1,
            answered: 0,
        }
    }

    /// Whether a request's body is sent again: an HTTP/1.1 body is held whole in memory when
    /// small, an HTTP/2 one is relayed frame by frame.
    fn replays_bodies(&self) -> bool {
        matches!(self.via, Via::H1)
    }

    /// A request with `method` on `host` (with a body `data` to `/echo` when `body`, else to
    /// `/`), answered whole.
    fn send(&mut self, method: Method, host: &str, body: bool) -> Answer {
        let path = if body { "/echo" } else { "/" };
        let answer = match &self.via {
            Via::H2(rt, client) => {
                let chunks: &[&[u8]] = if body { &[b"data"] } else { &[] };
                let asked = client.request(method, host, path, &[], chunks);
                let r = rt
                    .block_on(async { tokio::time::timeout(Duration::from_secs(10), asked).await });
                let r = r.unwrap_or_else(|e| fail_with_log(self.n, host, &e));
                let r = r.unwrap_or_else(|e| fail_with_log(self.n, host, &e));
                let upstream = r.header("x-upstream").map(str::to_owned);
                Answer {
                    status: r.status,
                    upstream,
                    text: r.text(),
                }
            }
            Via::H1 => {
                let body = if body {
                    "Content-Length: 4\r\n\r\ndata"
                } else {
                    "\r\n"
                };
                let req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n{body}");
                let r = Client::connect(self.n.addr())
                    .and_then(|mut c| c.send(req.as_bytes()).and_then(|()| c.response()))
                    .unwrap_or_else(|e| fail_with_log(self.n, host, &e));
                Answer {
                    status: r.status,
                    upstream: r.header("x-upstream").map(str::to_owned),
                    text: r.text(),
                }
            }
        };
        self.answered += 1;
        answer
    }

    /// `count` GETs on `host`: all must be 200 from beta or gamma.
    fn gets_avoid_alpha(&mut self, host: &str, count: usize, what: &str) {
        for i in 0..count {
            let r = self.send(Method::GET, host, false);
            assert_eq!(r.status, 200, "{what}, GET {i}: {}", r.text);
            assert_ne!(r.upstream.as_deref(), Some("alpha"), "{what}, GET {i}");
        }
    }

    /// `l7_retries` once every request answered so far is counted (a request is counted when
    /// it ends, after its retries).
    fn retries(&self, requests_before: u64) -> u64 {
        wait_counter(self.n, "l7_requests", requests_before + self.answered);
        l7_counter(self.n, "l7_retries")
    }
}

/// The HTTP/1.1 retry story through `c`, on the routes to `ups` (`prefix` picks them).
fn retry_story(c: &mut Retries<'_>, ups: &[Upstream; 3], prefix: &str) {
    let n = c.n;
    let requests = l7_counter(n, "l7_requests");
    c.answered = 0;
    let (gets, posts) = (
        format!("{prefix}retry.example"),
        format!("{prefix}post.example"),
    );
    let allowed = format!("{prefix}post-allowed.example");
    let alpha = &ups[0];
    let mut retries = c.retries(requests);

    for (fault, count) in [(Fault::Reset, 9), (Fault::Status(503), 9), (Fault::Hang, 6)] {
        alpha.set_fault(fault);
        let (before, timeouts) = (alpha.faults(), l7_counter(n, "l7_timeouts"));
        c.gets_avoid_alpha(&gets, count, &format!("{prefix}: alpha {fault:?}"));
        let faulted = alpha.faults() - before;
        assert!(faulted >= 1, "{prefix}: round robin never tried alpha");
        let now = c.retries(requests);
        assert!(
            now >= retries + faulted,
            "{prefix}: {fault:?}, {now} retries"
        );
        retries = now;
        if fault == Fault::Hang {
            wait_counter(n, "l7_timeouts", timeouts + faulted);
        }
    }

    // An HTTP/2 stream with a body is never sent twice, whatever its route allows: the POST
    // that meets alpha's 503 gets it, as alpha sent it. An HTTP/1.1 body held whole is sent
    // again where the route allows it.
    alpha.set_fault(Fault::Status(503));
    for host in [&posts, &allowed] {
        let replayed = c.replays_bodies() && host == &allowed;
        let (before, mut failed) = (alpha.faults(), 0);
        for _ in 0..9 {
            let r = c.send(Method::POST, host, true);
            match r.status {
                503 if !replayed => {
                    let answer = (r.upstream.as_deref(), r.text.as_str());
                    assert_eq!(answer, (Some("alpha"), "alpha failed"), "{host}");
                    failed += 1;
                }
                status => {
                    assert_eq!(status, 200, "{host}: {}", r.text);
                    assert_eq!(r.text, "data", "{host}: the body arrived whole");
                }
            }
        }
        let tried = alpha.faults() - before;
        assert!(tried >= 1, "{host}: round robin never sent a POST to alpha");
        if replayed {
            let now = c.retries(requests);
            assert!(now >= retries + tried, "{host}: {now} retries");
            retries = now;
            continue;
        }
        assert_eq!(tried, failed, "{host}: each POST tried once");
        assert_eq!(
            c.retries(requests),
            retries,
            "{host}: a POST with a body was retried"
        );
    }

    // Without a body, a POST is retried where the route allows it.
    let before = alpha.faults();
    for i in 0..9 {
        let r = c.send(Method::POST, &allowed, false);
        assert_eq!(r.status, 200, "{allowed}, bodiless POST {i}: {}", r.text);
    }
    assert!(
        alpha.faults() > before,
        "{allowed}: round robin never tried alpha"
    );
    let now = c.retries(requests);
    assert!(now >= retries + alpha.faults() - before, "{now} retries");

    // Every upstream fails: the stream gets the last try's answer as the upstream sent it.
    for u in ups {
        u.set_fault(Fault::Status(503));
    }
    let retries = c.retries(requests);
    let r = c.send(Method::GET, &gets, false);
    assert_eq!(r.status, 503, "{}", r.text);
    assert!(r.text.ends_with(" failed"), "{}", r.text);
    assert_eq!(
        c.retries(requests),
        retries + 2,
        "{prefix}: both retries made"
    );
}

#[test]
fn h2_streams_are_retried_like_http1_requests_unless_they_have_a_body() {
    let h2 = ["alpha", "beta", "gamma"].map(Upstream::start_h2);
    let mut n = L7Node::start();
    n.apply(&h2_retry_config(&n, &h2));
    let mut c = Retries::h2(&n);
    // To an HTTP/1.1 cluster, then to an HTTP/2 one.
    retry_story(&mut c, &n.upstreams, "");
    retry_story(&mut c, &h2, "h2.");
}

#[test]
fn http1_requests_to_an_http2_cluster_are_retried_as_to_an_http1_one() {
    let h2 = ["alpha", "beta", "gamma"].map(Upstream::start_h2);
    let mut n = L7Node::start();
    n.apply(&h2_retry_config(&n, &h2));
    retry_story(&mut Retries::h1(&n), &h2, "h2.");
}
