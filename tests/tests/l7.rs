//! The L7 path end to end: a real agent, a real data plane with L7 workers on every test core,
//! real HTTP/1.1 upstream servers on loopback, all started and stopped by each test.
//!
//! Stories:
//! * **Routing**: requests are routed by exact and wildcard host, by exact, prefix and regex
//!   path, by header; header modifications, redirects and direct responses apply; no route is
//!   404; 2000 requests over a 1:3 weighted route split within 5 points; a keep-alive client
//!   sends them on a few connections and the upstreams see far fewer connections than
//!   requests; bodies (length, chunked, `Expect: 100-continue`) are echoed; an endpoint that
//!   refuses connections is 502, marked unhealthy it is 503 with the reason; a route change
//!   applied with `straitctl apply --wait` serves the next request; a listener moved to
//!   another port is opened there and closed on the old one.
//! * **Streaming**: on one connection, 100 MB go up chunked and come back down through the
//!   proxy at the same time, 100 MB go up with a length, and 100 MB are downloaded, while the
//!   data plane's peak memory stays bounded.
//! * **Smuggling**: every request of `tests/corpus/http1` gets the status its MANIFEST says;
//!   the rejected ones never reach an upstream (not one byte), the accepted ones do.
//! * **Route change under load**: wrk keeps 8 keep-alive connections busy while `straitctl
//!   apply` moves every request from one upstream to another: not one request fails, and
//!   both upstreams served.
//! * **Slowloris**: clients that trickle a request head a byte at a time get 408 and are cut
//!   at the header-read timeout, while other clients are served at once all along.

use std::{collections::HashMap, io::Write, net::TcpStream, thread, time::Duration};

use strait_e2e::{
    http::Response,
    l7::{L7Node, free_port},
    upstream::pattern_byte,
    wait_until,
};

/// Requests of the weighted split; a share's standard deviation is under 1 point at 2000.
const SPLIT_REQUESTS: usize = 2000;
const TOLERANCE: f64 = 5.0;

/// The routing story's config; `split` names the clusters of `/split` with their weights.
fn routing_config(n: &L7Node, dead_port: u16, split: &str) -> String {
    format!(
        r#"
listeners:
  - {{ name: web, address: 127.0.0.1, port: {port}, protocol: HTTP }}
httpRoutes:
  - name: exact-host
    parentRefs: [web]
    hostnames: [a.example]
    rules:
      - backendRefs: [{{ name: alpha }}]
  - name: wildcard-host
    parentRefs: [web]
    hostnames: ["*.wild.example"]
    rules:
      - backendRefs: [{{ name: beta }}]
  - name: paths
    parentRefs: [web]
    hostnames: [paths.example]
    rules:
      - matches: [{{ path: {{ type: Exact, value: /exact }} }}]
        backendRefs: [{{ name: alpha }}]
      - matches: [{{ path: {{ type: PathPrefix, value: /prefix }} }}]
        backendRefs: [{{ name: beta }}]
      - matches: [{{ path: {{ type: RegularExpression, value: "/items/[0-9]+" }} }}]
        backendRefs: [{{ name: gamma }}]
      - matches: [{{ headers: [{{ name: x-variant, value: b, type: Exact }}] }}]
        backendRefs: [{{ name: beta }}]
      - matches: [{{ path: {{ type: PathPrefix, value: /split }} }}]
        backendRefs: [{split}]
      - matches: [{{ path: {{ type: PathPrefix, value: /mods }} }}]
        filters:
          - type: RequestHeaderModifier
            requestHeaderModifier:
              add: [{{ name: x-strait-route, value: mods }}]
              remove: [x-secret]
          - type: ResponseHeaderModifier
            responseHeaderModifier:
              set: [{{ name: x-served-by, value: strait }}]
        backendRefs: [{{ name: alpha }}]
      - matches: [{{ path: {{ type: Exact, value: /old }} }}]
        filters:
          - type: RequestRedirect
            requestRedirect: {{ hostname: new.example, path: /new, statusCode: 308 }}
      - matches: [{{ path: {{ type: Exact, value: /teapot }} }}]
        directResponse: {{ status: 418, body: "short and stout\n" }}
      - matches: [{{ path: {{ type: PathPrefix, value: /down }} }}]
        backendRefs: [{{ name: spare }}]
      - matches: [{{ path: {{ type: PathPrefix, value: / }} }}]
        backendRefs: [{{ name: alpha }}]
clusters:
  - {{ name: alpha, endpoints: [{{ address: "{a}" }}] }}
  - {{ name: beta, endpoints: [{{ address: "{b}" }}] }}
  - {{ name: gamma, lbPolicy: LeastRequest, endpoints: [{{ address: "{c}" }}] }}
  - {{ name: spare, connectTimeout: 500ms, endpoints: [{{ address: "127.0.0.1:{dead_port}" }}] }}
"#,
        port = n.port,
        a = n.upstream(0),
        b = n.upstream(1),
        c = n.upstream(2),
    )
}

/// Health slot of `spare`'s endpoint: slots follow endpoint order, and it is the fourth.
const SPARE_SLOT: u32 = 3;

fn served_by(r: &Response) -> &str {
    r.header("x-upstream").unwrap_or("-")
}

fn get(n: &L7Node, host: &str, path: &str, extra: &str) -> Response {
    let mut c = n.client();
    c.get(host, path, extra)
        .unwrap_or_else(|e| panic!("GET {host}{path}: {e}\n{}", n.dataplane_log()))
}

#[test]
fn routes_balances_reuses_connections_and_follows_route_changes() {
    let mut n = L7Node::start();
    let dead_port = free_port();
    let split = "{ name: alpha, weight: 1 }, { name: beta, weight: 3 }";
    n.apply(&routing_config(&n, dead_port, split));

    // Hosts, paths, headers.
    assert_eq!(served_by(&get(&n, "a.example", "/", "")), "alpha");
    assert_eq!(served_by(&get(&n, "x.y.wild.example:80", "/", "")), "beta");
    assert_eq!(served_by(&get(&n, "paths.example", "/exact", "")), "alpha");
    assert_eq!(
        served_by(&get(&n, "paths.example", "/prefix/x", "")),
        "beta"
    );
    assert_eq!(
        served_by(&get(&n, "paths.example", "/items/42", "")),
        "gamma"
    );
    assert_eq!(
        served_by(&get(&n, "paths.example", "/items/x", "")),
        "alpha"
    );
    assert_eq!(
        served_by(&get(&n, "paths.example", "/other", "X-Variant: b\r\n")),
        "beta"
    );
    let none = get(&n, "nowhere.example", "/", "");
    assert_eq!((none.status, none.text().as_str()), (404, "no route\n"));

    // Header modifications, redirect, direct response.
    let mods = get(&n, "paths.example", "/mods", "X-Secret: s\r\nX-Keep: k\r\n");
    assert_eq!(mods.header("x-echo-x-strait-route"), Some("mods"));
    assert_eq!(mods.header("x-echo-x-keep"), Some("k"));
    assert_eq!(mods.header("x-echo-x-secret"), None);
    assert_eq!(mods.header("x-served-by"), Some("strait"));
    let moved = get(&n, "paths.example", "/old?q=1", "");
    assert_eq!(moved.status, 308);
    assert_eq!(moved.header("location"), Some("http://new.example/new?q=1"));
    let teapot = get(&n, "paths.example", "/teapot", "");
    assert_eq!(
        (teapot.status, teapot.text().as_str()),
        (418, "short and stout\n")
    );

    // Bodies both ways on one connection: a length, chunks, and a client waiting for 100.
    let mut c = n.client();
    c.send(b"POST /echo HTTP/1.1\r\nHost: a.example\r\nContent-Length: 5\r\n\r\nhello")
        .unwrap();
    assert_eq!(c.response().unwrap().text(), "hello");
    c.send(b"POST /echo HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n").unwrap();
    assert_eq!(c.response().unwrap().text(), "abcde");
    c.send(b"PUT /echo HTTP/1.1\r\nHost: a.example\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n").unwrap();
    assert_eq!(c.next_head().unwrap().status, 100);
    c.send(b"data").unwrap();
    assert_eq!(c.response().unwrap().text(), "data");

    // The weighted split, on four keep-alive connections.
    let conns_before: u64 = n.upstreams.iter().map(|u| u.connections()).sum();
    let mut shares: HashMap<String, usize> = HashMap::new();
    for _ in 0..4 {
        let mut c = n.client();
        for _ in 0..SPLIT_REQUESTS / 4 {
            let r = c
                .get("paths.example", "/split", "")
                .expect("keep-alive request");
            assert_eq!(r.status, 200);
            *shares.entry(served_by(&r).to_owned()).or_default() += 1;
        }
    }
    for (name, weight) in [("alpha", 25.0), ("beta", 75.0)] {
        let got = 100.0 * shares.get(name).copied().unwrap_or(0) as f64 / SPLIT_REQUESTS as f64;
        assert!(
            (got - weight).abs() <= TOLERANCE,
            "{name}: {got:.1}% of {shares:?}, want {weight}%"
        );
    }
    let opened: u64 = n.upstreams.iter().map(|u| u.connections()).sum::<u64>() - conns_before;
    assert!(
        opened <= 8,
        "{opened} upstream connections for {SPLIT_REQUESTS} requests"
    );

    // An endpoint that refuses connections, then one marked unhealthy.
    let refused = get(&n, "paths.example", "/down", "");
    assert_eq!(refused.status, 502, "{}", refused.text());
    assert!(refused.text().contains("spare"), "{}", refused.text());
    n.mark_unhealthy(SPARE_SLOT);
    let unhealthy = get(&n, "paths.example", "/down", "");
    assert_eq!(
        (unhealthy.status, unhealthy.text().as_str()),
        (503, "no healthy endpoint in cluster spare\n")
    );

    // A route change is served by the next request after apply --wait.
    n.apply(&routing_config(&n, dead_port, "{ name: gamma }"));
    for _ in 0..20 {
        assert_eq!(served_by(&get(&n, "paths.example", "/split", "")), "gamma");
    }

    // The listener moves: the new port serves, the old one is closed by every worker.
    let old = n.addr();
    n.port = free_port();
    n.apply(&routing_config(&n, dead_port, "{ name: gamma }"));
    assert_eq!(served_by(&get(&n, "paths.example", "/split", "")), "gamma");
    wait_until(Duration::from_secs(5), "the old listener to close", || {
        TcpStream::connect(old).is_err().then_some(())
    });
}

/// One listener, everything to `alpha`.
fn catch_all_config(n: &L7Node) -> String {
    all_to(n, 0)
}

/// Every request to upstream `i` (a cluster of its name).
fn all_to(n: &L7Node, i: usize) -> String {
    let name = &n.upstreams[i].name;
    format!(
        "listeners:\n  - {{ name: web, address: 127.0.0.1, port: {}, protocol: HTTP }}\n\
         httpRoutes:\n  - name: all\n    parentRefs: [web]\n    rules:\n      - backendRefs: [{{ name: {name} }}]\n\
         clusters:\n  - {{ name: {name}, endpoints: [{{ address: \"{}\" }}] }}\n",
        n.port,
        n.upstream(i)
    )
}

const MB100: u64 = 100 * 1024 * 1024;

#[test]
fn streams_100_mb_each_way_with_bounded_memory() {
    let mut n = L7Node::start();
    n.apply(&catch_all_config(&n));
    // Warm every path once, then take the peak as the baseline.
    assert_eq!(
        get(&n, "s.example", "/stream?bytes=1000", "").body_len,
        1000
    );
    let before = n.dataplane_peak_kib();

    // Up and down at once: 100 MB chunked to /echo while reading the echo.
    let mut c = n.client();
    let mut writer = c.writer().unwrap();
    let up = thread::spawn(move || {
        writer
            .write_all(
                b"POST /echo HTTP/1.1\r\nHost: s.example\r\nTransfer-Encoding: chunked\r\n\r\n",
            )
            .unwrap();
        let chunk: Vec<u8> = (0..1024 * 1024).map(|i| pattern_byte(i as u64)).collect();
        for _ in 0..100 {
            writer.write_all(b"100000\r\n").unwrap();
            writer.write_all(&chunk).unwrap();
            writer.write_all(b"\r\n").unwrap();
        }
        writer.write_all(b"0\r\n\r\n").unwrap();
    });
    let echoed = c.response_counted().expect("the echo");
    up.join().unwrap();
    let sum_of_chunk: u64 = (0..1024 * 1024u64)
        .map(|i| u64::from(pattern_byte(i)))
        .sum();
    assert_eq!((echoed.status, echoed.body_len), (200, MB100));
    assert_eq!(echoed.body_sum, 100 * sum_of_chunk);

    // Up: 100 MB with a length, counted by the upstream as they arrive, on the same connection.
    let head = format!("PUT /count HTTP/1.1\r\nHost: s.example\r\nContent-Length: {MB100}\r\n\r\n");
    c.send(head.as_bytes()).unwrap();
    let chunk: Vec<u8> = (0..1024 * 1024).map(|i| pattern_byte(i as u64)).collect();
    for _ in 0..100 {
        c.send(&chunk).unwrap();
    }
    let counted = c.response().unwrap();
    let want = format!("bytes={MB100} sum={}", 100 * sum_of_chunk);
    assert_eq!((counted.status, counted.text()), (200, want));

    // Down: 100 MB produced by the upstream as it sends them, on the same connection.
    c.send(format!("GET /stream?bytes={MB100} HTTP/1.1\r\nHost: s.example\r\n\r\n").as_bytes())
        .unwrap();
    let streamed = c.response_counted().unwrap();
    let want: u64 = (0..MB100).map(|i| u64::from(pattern_byte(i))).sum();
    assert_eq!((streamed.body_len, streamed.body_sum), (MB100, want));

    let grew = n.dataplane_peak_kib().saturating_sub(before);
    // Buffers are one read per direction per connection: the peak moves by well under a MiB.
    assert!(
        grew < 16 * 1024,
        "the data plane's peak memory grew by {grew} KiB over 400 MB of bodies"
    );
}

#[test]
fn smuggling_corpus_gets_its_statuses_and_never_reaches_an_upstream() {
    let mut n = L7Node::start();
    n.apply(&catch_all_config(&n));
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/http1");
    let manifest = std::fs::read_to_string(format!("{dir}/MANIFEST")).expect("MANIFEST");
    let mut checked = 0;
    for line in manifest.lines().map(str::trim) {
        let Some((file, rest)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        if line.starts_with('#') {
            continue;
        }
        let want: u16 = rest
            .split_whitespace()
            .next()
            .and_then(|s| s.parse().ok())
            .expect("a status");
        let bytes = std::fs::read(format!("{dir}/{file}")).expect("corpus file");
        let (requests, seen) = (n.upstreams[0].requests(), n.upstreams[0].bytes());
        let mut c = n.client();
        c.send(&bytes).unwrap();
        let r = c
            .response()
            .unwrap_or_else(|e| panic!("{file}: {e}\n{}", n.dataplane_log()));
        if want == 0 {
            assert_eq!(r.status, 200, "{file}: {}\n{}", r.text(), n.dataplane_log());
            assert_eq!(
                n.upstreams[0].requests(),
                requests + 1,
                "{file} reached the upstream once"
            );
        } else {
            assert_eq!(r.status, want, "{file}: {}", r.text());
            assert_eq!(r.header("connection"), Some("close"), "{file}");
            assert!(
                c.closed(),
                "{file}: the connection is closed after the error"
            );
            assert_eq!(
                n.upstreams[0].requests(),
                requests,
                "{file} reached the upstream"
            );
            assert_eq!(
                n.upstreams[0].bytes(),
                seen,
                "{file}: bytes reached the upstream"
            );
        }
        checked += 1;
    }
    let files = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "http")
        })
        .count();
    assert_eq!(
        checked, files,
        "every corpus file is in the MANIFEST and was sent"
    );
}

#[test]
fn slowloris_clients_are_cut_at_the_header_read_timeout_while_others_are_served() {
    use std::time::Instant;
    const SLOW: usize = 32;
    let mut n = L7Node::start_with(&["--l7-header-timeout", "1s"]);
    n.apply(&catch_all_config(&n));
    // Each slow client sends a request line and then one header byte every 100 ms: never a
    // whole head.
    let start = Instant::now();
    let slow: Vec<_> = (0..SLOW)
        .map(|_| {
            let mut c = n.client();
            c.send(b"GET / HTTP/1.1\r\nHost: s.example\r\nX-Slow: ")
                .unwrap();
            let mut w = c.writer().unwrap();
            let trickle = thread::spawn(move || {
                for _ in 0..50 {
                    thread::sleep(Duration::from_millis(100));
                    if w.write_all(b"a").is_err() {
                        return;
                    }
                }
            });
            (c, trickle)
        })
        .collect();
    // Meanwhile other clients are served, each request at once.
    let mut served = 0;
    let mut slowest = Duration::ZERO;
    while start.elapsed() < Duration::from_millis(1500) {
        let t = Instant::now();
        let r = get(&n, "s.example", "/", "");
        slowest = slowest.max(t.elapsed());
        assert_eq!(r.status, 200);
        served += 1;
    }
    assert!(
        served >= 10,
        "only {served} requests served beside the slow clients"
    );
    assert!(
        slowest < Duration::from_millis(500),
        "a request beside the slow clients took {slowest:?}"
    );
    // Every slow client got 408 and a closed connection, about a second after its first byte.
    for (mut c, trickle) in slow {
        let r = c.response().expect("a 408 before the close");
        assert_eq!(r.status, 408, "{}", r.text());
        assert!(c.closed(), "the slow connection is closed");
        trickle.join().unwrap();
    }
    let cut = start.elapsed();
    assert!(
        cut < Duration::from_secs(5),
        "slow clients were cut after {cut:?}, not at the 1 s header-read timeout"
    );
}

#[test]
fn a_route_change_under_load_fails_no_request() {
    let mut n = L7Node::start();
    n.apply(&all_to(&n, 0));
    let url = format!("http://{}/", n.addr());
    let wrk = std::process::Command::new("wrk")
        .args(["-t", "2", "-c", "8", "-d", "4s", "--latency", &url])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("wrk (Debian package wrk; scripts/test.sh installs it)");
    thread::sleep(Duration::from_millis(1500));
    let before = n.upstreams[1].requests();
    n.apply(&all_to(&n, 1));
    let out = wrk.wait_with_output().expect("wrk output");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "wrk failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let requests: u64 = text
        .lines()
        .find_map(|l| {
            l.trim()
                .split_once(" requests in ")
                .map(|(n, _)| n.trim().parse().ok())
        })
        .flatten()
        .unwrap_or_else(|| panic!("no request count in wrk's output:\n{text}"));
    assert!(requests > 100, "wrk sent only {requests} requests:\n{text}");
    assert!(
        !text.contains("Socket errors"),
        "connections failed:\n{text}"
    );
    assert!(!text.contains("Non-2xx or 3xx"), "requests failed:\n{text}");
    let (alpha, beta) = (n.upstreams[0].requests(), n.upstreams[1].requests());
    assert_eq!(before, 0, "beta served nothing before the change");
    assert!(
        alpha > 0 && beta > 0,
        "both sides of the change served: alpha={alpha} beta={beta}"
    );
    eprintln!("{requests} requests under the change: alpha={alpha} beta={beta}");
}
