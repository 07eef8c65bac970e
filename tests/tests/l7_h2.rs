//! HTTP/2 and gRPC on the L7 path end to end: a real agent and data plane (L7 workers on every
//! test core), real upstreams on loopback (hyper HTTP/1.1 servers, a tonic gRPC server), h2
//! and tonic clients; everything started and stopped by each test.
//!
//! Stories:
//! * **h2 over TLS**: ALPN agrees on `h2`; requests on one connection reach an HTTP/1.1
//!   upstream (status, headers both ways, `X-Forwarded-Proto: https`), bodies go up chunked or
//!   with a length and come back, many streams run at once with large bodies (flow control),
//!   and local answers (no route, direct response, redirect) are h2 responses.
//! * **h2c**: a prior-knowledge client on a plain HTTP listener is served the same way, and
//!   HTTP/1.1 clients on that listener still are (on io_uring and on epoll).
//! * **Trailers through HTTP/1.1**: h2 request trailers reach an HTTP/1.1 upstream as the
//!   trailer section of a chunked body (without `te`), and its chunked response's trailers
//!   reach the h2 client as trailers.
//! * **gRPC**: a tonic client through Strait to a tonic server (cluster protocol `HTTP2`):
//!   unary calls (also after the server restarted), a bidirectional stream whose messages
//!   alternate both ways, server error statuses with their messages (trailers-only, and in
//!   trailers after messages); proxy errors as gRPC statuses (a dead endpoint: UNAVAILABLE, no
//!   route: UNIMPLEMENTED, a route timeout: DEADLINE_EXCEEDED).
//! * **HTTP/1.1 to an HTTP/2 cluster**: a gRPC call written as HTTP/1.1 reaches the tonic
//!   server; its response comes back chunked with `grpc-status` in the trailer section, a
//!   trailers-only error as a head with no body, both on one keep-alive connection; a dead
//!   HTTP/2 endpoint is 502.

use std::{
    future::Future,
    io::{Read, Write},
    net::{SocketAddr, TcpListener},
    path::Path,
    thread,
    time::Duration,
};

use http::{HeaderMap, HeaderValue, Method};
use strait_e2e::{
    grpc::{
        GrpcServer,
        echo::{Msg, echo_client::EchoClient},
        h1_say,
    },
    http2::H2Client,
    l7::{L7Node, free_port},
    tls::{TestCert, client_config},
    upstream::pattern_byte,
};
use tokio::runtime::Runtime;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Request, transport::Channel};

/// Bytes of each concurrent echo: more than a stream window, four of them more than the
/// connection window, so the upload goes on only as the proxy releases capacity.
const ECHOED: usize = 600_000;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Longest a story may take: a stalled stream (say, a window never released) fails the test
/// instead of hanging it.
const STORY_LIMIT: Duration = Duration::from_secs(60);

/// Runs `story` on `rt` within [`STORY_LIMIT`].
fn run<T>(rt: &Runtime, n: &L7Node, story: impl Future<Output = T>) -> T {
    rt.block_on(async { tokio::time::timeout(STORY_LIMIT, story).await })
        .unwrap_or_else(|_| panic!("the story stalled\n{}", n.dataplane_log()))
}

/// Routes shared by the h2 stories (`a.example` only; anything else has no route).
fn http_routes(n: &L7Node) -> String {
    format!(
        "httpRoutes:
  - name: web
    parentRefs: [web]
    hostnames: [a.example]
    rules:
      - matches: [{{ path: {{ type: Exact, value: /teapot }} }}]
        directResponse: {{ status: 418, body: \"short and stout\\n\" }}
      - matches: [{{ path: {{ type: Exact, value: /old }} }}]
        filters:
          - type: RequestRedirect
            requestRedirect: {{ path: /new, statusCode: 308 }}
      - backendRefs: [{{ name: alpha }}]
clusters:
  - {{ name: alpha, endpoints: [{{ address: \"{alpha}\" }}] }}
",
        alpha = n.upstream(0),
    )
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

fn checked<T>(r: Result<T, h2::Error>, what: &str, n: &L7Node) -> T {
    r.unwrap_or_else(|e| panic!("{what}: {e}\n{}", n.dataplane_log()))
}

/// Checks the HTTP/1.1-upstream story on `client` (h2 or h2c); `tls`: the client came over TLS.
async fn http1_upstream_story(n: &L7Node, client: &H2Client, tls: bool) {
    let r = client
        .request(
            Method::GET,
            "a.example",
            "/hello?x=1",
            &[("x-test", "1")],
            &[],
        )
        .await;
    let r = checked(r, "GET /hello", n);
    assert_eq!((r.status, r.text().as_str()), (200, "alpha"));
    assert_eq!(r.header("x-upstream"), Some("alpha"));
    assert_eq!(r.header("x-echo-x-test"), Some("1"));
    let proto = if tls { "https" } else { "http" };
    assert_eq!(r.header("x-echo-x-forwarded-proto"), Some(proto));
    assert_eq!(r.header("x-echo-x-forwarded-for"), Some("127.0.0.1"));
    assert!(r.header("connection").is_none() && r.header("keep-alive").is_none());

    // A body without a length goes up chunked, one with a length as it is; both come back.
    let chunks: [&[u8]; 3] = [b"hello ", b"h2 ", b"world"];
    let r = client
        .request(Method::POST, "a.example", "/echo", &[], &chunks)
        .await;
    assert_eq!(checked(r, "POST /echo", n).text(), "hello h2 world");
    let r = client
        .request(
            Method::PUT,
            "a.example",
            "/echo",
            &[("content-length", "5")],
            &[b"12345"],
        )
        .await;
    assert_eq!(checked(r, "PUT /echo", n).text(), "12345");

    // Many streams at once on the one connection, with bodies larger than the windows (the
    // proxy's stream and connection windows are 256 KiB and 1 MiB, the client's 64 KiB).
    let mut tasks = Vec::new();
    for i in 0..8u64 {
        let c = client.clone();
        tasks.push(tokio::spawn(async move {
            let bytes = 300_000 + i * 1000;
            let r = c
                .get("a.example", &format!("/stream?bytes={bytes}"))
                .await?;
            Ok::<_, h2::Error>((bytes, r))
        }));
    }
    for i in 0..4u8 {
        let c = client.clone();
        tasks.push(tokio::spawn(async move {
            let body = vec![b'a' + i; ECHOED];
            let r = c
                .request(
                    Method::POST,
                    "a.example",
                    "/echo",
                    &[],
                    &[&body[..ECHOED / 2], &body[ECHOED / 2..]],
                )
                .await?;
            assert_eq!(r.body, body, "echo {i}");
            Ok((ECHOED as u64, r))
        }));
    }
    for task in tasks {
        let (bytes, r) = checked(task.await.expect("a task"), "a concurrent stream", n);
        assert_eq!(r.status, 200);
        assert_eq!(r.body.len() as u64, bytes);
        if bytes != ECHOED as u64 {
            let pattern = r
                .body
                .iter()
                .enumerate()
                .all(|(i, b)| *b == pattern_byte(i as u64));
            assert!(pattern, "the streamed body arrived intact");
        }
    }

    // Local answers.
    let r = checked(client.get("other.example", "/").await, "no route", n);
    assert_eq!((r.status, r.text().as_str()), (404, "no route\n"));
    let r = checked(client.get("a.example", "/teapot").await, "direct", n);
    assert_eq!((r.status, r.text().as_str()), (418, "short and stout\n"));
    let r = checked(client.get("a.example", "/old").await, "redirect", n);
    assert_eq!(r.status, 308);
    assert_eq!(r.header("location"), Some("http://a.example/new"));
}

#[test]
fn h2_over_tls_reaches_an_http1_upstream_with_concurrent_streams() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let cert = TestCert::new(&["a.example"]);
    let (c, k) = cert.write(dir.path(), "a");
    let mut n = L7Node::start();
    let config = format!(
        "listeners:
  - name: web
    address: 127.0.0.1
    port: {port}
    protocol: HTTPS
    tls:
      certificates:
        - {{ certFile: {c}, keyFile: {k}, serverNames: [a.example] }}
{routes}",
        port = n.port,
        c = path(&c),
        k = path(&k),
        routes = http_routes(&n),
    );
    n.apply(&config);
    let rt = runtime();
    run(&rt, &n, async {
        let tls = client_config(rustls::ALL_VERSIONS, &[b"h2", b"http/1.1"]);
        let client = H2Client::tls(n.addr(), "a.example", tls)
            .await
            .unwrap_or_else(|e| panic!("h2 over TLS: {e}\n{}", n.dataplane_log()));
        assert_eq!(client.alpn.as_deref(), Some(&b"h2"[..]));
        http1_upstream_story(&n, &client, true).await;
    });
}

#[test]
fn h2c_with_prior_knowledge_and_http1_share_a_plain_listener() {
    h2c_story(&[]);
}

/// The same on the epoll driver (the preface is peeked through a different path).
#[test]
fn h2c_on_the_epoll_driver() {
    h2c_story(&["--l7-driver", "poll"]);
}

fn h2c_story(flags: &[&str]) {
    let mut n = L7Node::start_with(flags);
    let config = format!(
        "listeners:
  - {{ name: web, address: 127.0.0.1, port: {port}, protocol: HTTP }}
{routes}",
        port = n.port,
        routes = http_routes(&n),
    );
    n.apply(&config);
    let rt = runtime();
    run(&rt, &n, async {
        let client = H2Client::plain(n.addr())
            .await
            .unwrap_or_else(|e| panic!("h2c: {e}\n{}", n.dataplane_log()));
        http1_upstream_story(&n, &client, false).await;
    });
    // HTTP/1.1 on the same listener, including a request that starts like the preface.
    let r = n.client().get("a.example", "/", "").expect("HTTP/1.1");
    assert_eq!((r.status, r.text().as_str()), (200, "alpha"));
    let mut c = n.client();
    c.send(b"PRI /x HTTP/1.1\r\nHost: a.example\r\n\r\n")
        .expect("send");
    assert_eq!(
        c.response().expect("a response").header("x-upstream"),
        Some("alpha")
    );
}

/// A one-request HTTP/1.1 upstream: reads one chunked request whole and answers a chunked
/// body with a trailer; the join handle gives the request's raw bytes. Connections that close
/// without a request (a health probe) are skipped.
fn trailer_upstream() -> (SocketAddr, thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let addr = listener.local_addr().expect("local addr");
    let thread = thread::spawn(move || {
        loop {
            let (mut s, _) = listener.accept().expect("accept");
            s.set_read_timeout(Some(Duration::from_secs(20)))
                .expect("timeout");
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            let complete = |got: &[u8]| {
                let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") else {
                    return false;
                };
                let body = &got[end + 4..];
                body.ends_with(b"\r\n\r\n") && body.windows(3).any(|w| w == b"0\r\n")
            };
            while !complete(&got) {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            if !complete(&got) {
                continue;
            }
            s.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\
                  trailer: x-checksum\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\
                  x-checksum: 42\r\n\r\n",
            )
            .expect("answer");
            return String::from_utf8_lossy(&got).into_owned();
        }
    });
    (addr, thread)
}

#[test]
fn trailers_cross_an_http1_upstream_both_ways() {
    let (upstream, request) = trailer_upstream();
    let mut n = L7Node::start();
    let config = format!(
        "listeners:
  - {{ name: web, address: 127.0.0.1, port: {port}, protocol: HTTP }}
httpRoutes:
  - name: raw
    parentRefs: [web]
    rules:
      - backendRefs: [{{ name: raw }}]
clusters:
  - {{ name: raw, endpoints: [{{ address: \"{upstream}\" }}] }}
",
        port = n.port,
    );
    n.apply(&config);
    let rt = runtime();
    let r = run(&rt, &n, async {
        let client = H2Client::plain(n.addr()).await.expect("h2c");
        let mut trailers = HeaderMap::new();
        trailers.insert("x-sum", HeaderValue::from_static("7"));
        let headers = [("te", "trailers"), ("content-type", "text/plain")];
        let r = client
            .request_with_trailers(
                Method::POST,
                "a.example",
                "/trailers",
                &headers,
                &[b"abc"],
                Some(trailers),
            )
            .await;
        checked(r, "POST with trailers", &n)
    });
    assert_eq!((r.status, r.text().as_str()), (200, "hello world"));
    let trailers = r.trailers.as_ref().expect("response trailers");
    assert_eq!(
        trailers.get("x-checksum"),
        Some(&HeaderValue::from_static("42"))
    );
    assert!(r.header("transfer-encoding").is_none());

    let raw = request.join().expect("the upstream's request");
    let lower = raw.to_ascii_lowercase();
    assert!(lower.starts_with("post /trailers http/1.1\r\n"), "{raw}");
    assert!(
        lower.contains("\r\ntransfer-encoding: chunked\r\n"),
        "{raw}"
    );
    assert!(!lower.contains("\r\nte:"), "{raw}");
    assert!(
        raw.ends_with("\r\n\r\n3\r\nabc\r\n0\r\nx-sum: 7\r\n\r\n"),
        "{raw}"
    );
}

/// A gRPC listener: `x-target: live` to the tonic server, `dead` to a port nothing listens on,
/// `slow` to the server with a 300 ms timeout; nothing else has a route.
fn grpc_config(n: &L7Node, server: &GrpcServer, dead_port: u16) -> String {
    format!(
        "listeners:
  - {{ name: grpc, address: 127.0.0.1, port: {port}, protocol: HTTP }}
httpRoutes:
  - name: echo
    parentRefs: [grpc]
    rules:
      - matches: [{{ headers: [{{ name: x-target, value: live, type: Exact }}] }}]
        backendRefs: [{{ name: echo }}]
      - matches: [{{ headers: [{{ name: x-target, value: dead, type: Exact }}] }}]
        backendRefs: [{{ name: dead }}]
      - matches: [{{ headers: [{{ name: x-target, value: slow, type: Exact }}] }}]
        timeouts: {{ request: 300ms }}
        backendRefs: [{{ name: echo }}]
clusters:
  - {{ name: echo, protocol: HTTP2, endpoints: [{{ address: \"{echo}\" }}] }}
  - {{ name: dead, protocol: HTTP2, connectTimeout: 500ms, endpoints: [{{ address: \"127.0.0.1:{dead_port}\" }}] }}
",
        port = n.port,
        echo = server.addr,
    )
}

fn say(text: &str, target: &str) -> Request<Msg> {
    let mut req = Request::new(Msg { text: text.into() });
    req.metadata_mut()
        .insert("x-target", target.parse().expect("metadata"));
    req
}

async fn grpc_client(n: &L7Node) -> EchoClient<Channel> {
    EchoClient::connect(format!("http://{}", n.addr()))
        .await
        .unwrap_or_else(|e| panic!("gRPC channel: {e}\n{}", n.dataplane_log()))
}

#[test]
fn grpc_unary_and_bidirectional_streams_pass_through_with_statuses() {
    let server = GrpcServer::start();
    let mut n = L7Node::start();
    n.apply(&grpc_config(&n, &server, free_port()));
    let rt = runtime();
    run(&rt, &n, async {
        let mut client = grpc_client(&n).await;
        for i in 0..5 {
            let reply = client.say(say(&format!("hi {i}"), "live")).await;
            let reply = reply.unwrap_or_else(|s| panic!("Say: {s}\n{}", n.dataplane_log()));
            assert_eq!(reply.into_inner().text, format!("echo: hi {i}"));
        }

        // The upstream goes away and comes back: the worker's connection to it is made again.
        let addr = server.addr;
        drop(server);
        let _restarted = GrpcServer::start_on(addr);
        let reply = client.say(say("again", "live")).await;
        let reply = reply.unwrap_or_else(|s| panic!("Say: {s}\n{}", n.dataplane_log()));
        assert_eq!(reply.into_inner().text, "echo: again");

        // The server's own error status and message reach the client.
        let status = client
            .say(say("missing", "live"))
            .await
            .expect_err("NOT_FOUND");
        assert_eq!(status.code(), Code::NotFound, "{status:?}");
        assert_eq!(status.message(), "no such greeting");

        // Bidirectional: each reply arrives before the next message is sent.
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let mut req = Request::new(ReceiverStream::new(rx));
        req.metadata_mut()
            .insert("x-target", "live".parse().expect("metadata"));
        tx.send(Msg { text: "m0".into() }).await.expect("send m0");
        let mut replies = client
            .chat(req)
            .await
            .unwrap_or_else(|s| panic!("Chat: {s}\n{}", n.dataplane_log()))
            .into_inner();
        for i in 0..10 {
            if i > 0 {
                tx.send(Msg {
                    text: format!("m{i}"),
                })
                .await
                .expect("send");
            }
            let reply = tokio::time::timeout(Duration::from_secs(10), replies.message())
                .await
                .expect("a reply before the stream ends")
                .expect("a reply")
                .expect("not the end");
            assert_eq!(reply.text, format!("re: m{i}"));
        }
        drop(tx);
        let end = replies
            .message()
            .await
            .expect("a clean end (grpc-status 0)");
        assert!(end.is_none());

        // A status after messages travels in the response's trailers.
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let mut req = Request::new(ReceiverStream::new(rx));
        req.metadata_mut()
            .insert("x-target", "live".parse().expect("metadata"));
        tx.send(Msg { text: "a".into() }).await.expect("send a");
        let mut replies = client.chat(req).await.expect("Chat").into_inner();
        let reply = replies
            .message()
            .await
            .expect("a reply")
            .expect("not the end");
        assert_eq!(reply.text, "re: a");
        tx.send(Msg {
            text: "missing".into(),
        })
        .await
        .expect("send");
        let status = replies.message().await.expect_err("NOT_FOUND in trailers");
        assert_eq!(status.code(), Code::NotFound, "{status:?}");
        assert_eq!(status.message(), "no such message");
    });
}

#[test]
fn grpc_proxy_errors_are_grpc_statuses() {
    let server = GrpcServer::start();
    let mut n = L7Node::start();
    n.apply(&grpc_config(&n, &server, free_port()));
    let rt = runtime();
    run(&rt, &n, async {
        let mut client = grpc_client(&n).await;
        let status = client
            .say(say("hi", "dead"))
            .await
            .expect_err("UNAVAILABLE");
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        assert!(status.message().contains("cannot connect"), "{status:?}");

        let status = client
            .say(say("hi", "nowhere"))
            .await
            .expect_err("UNIMPLEMENTED");
        assert_eq!(status.code(), Code::Unimplemented, "{status:?}");

        let status = client
            .say(say("sleep", "slow"))
            .await
            .expect_err("DEADLINE_EXCEEDED");
        assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");

        // The connection and the upstream still serve.
        let reply = client
            .say(say("after", "live"))
            .await
            .expect("Say after errors");
        assert_eq!(reply.into_inner().text, "echo: after");
    });
}

/// Reads one response whose end is a chunked body's trailer section or a whole
/// `content-length: 0` head.
fn read_raw_response(s: &mut std::net::TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let head = text[..end].to_ascii_lowercase();
            let body = &text[end + 4..];
            if head.contains("content-length: 0") {
                return text;
            }
            if body.contains("\r\n0\r\n") && body.ends_with("\r\n\r\n") {
                return text;
            }
        }
        let n = s.read(&mut buf).expect("a response");
        assert!(n > 0, "the connection closed early: {text}");
        got.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn http1_clients_reach_an_http2_cluster_with_trailers() {
    let server = GrpcServer::start();
    let mut n = L7Node::start();
    n.apply(&grpc_config(&n, &server, free_port()));
    let mut s = std::net::TcpStream::connect(n.addr()).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");

    // Data, then grpc-status in the last chunk's trailer section.
    s.write_all(&h1_say("hi", "live")).expect("send");
    let r = read_raw_response(&mut s);
    let lower = r.to_ascii_lowercase();
    assert!(lower.starts_with("http/1.1 200 ok\r\n"), "{r}");
    assert!(lower.contains("\r\ncontent-type: application/grpc"), "{r}");
    assert!(lower.contains("\r\ntransfer-encoding: chunked\r\n"), "{r}");
    assert!(r.contains("echo: hi"), "{r}");
    assert!(lower.contains("\r\n0\r\ngrpc-status: 0\r\n"), "{r}");

    // On the same connection: a trailers-only error becomes a head with a zero length.
    s.write_all(&h1_say("missing", "live")).expect("send");
    let r = read_raw_response(&mut s).to_ascii_lowercase();
    assert!(r.starts_with("http/1.1 200 ok\r\n"), "{r}");
    assert!(r.contains("\r\ngrpc-status: 5\r\n"), "{r}");
    assert!(
        r.contains("\r\ngrpc-message: no%20such%20greeting\r\n"),
        "{r}"
    );

    // A dead HTTP/2 endpoint is a 502 to an HTTP/1.1 client.
    let mut c = n.client();
    c.send(&h1_say("hi", "dead")).expect("send");
    let r = c.response().expect("a response");
    assert_eq!(r.status, 502, "{}", r.text());
}
