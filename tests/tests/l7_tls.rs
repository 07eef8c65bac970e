//! TLS and TCP on the L7 path end to end: a real agent and data plane (L7 workers on every test
//! core), real upstreams on loopback, rustls clients; everything started and stopped by each
//! test.
//!
//! Stories:
//! * **HTTPS**: three certificates (an exact name, a wildcard, a default) are served by SNI
//!   (without a default, an unknown name gets a fatal alert);
//!   ALPN agrees on `http/1.1` (or `h2`, offered first); TLS 1.2 and 1.3 both carry
//!   requests, which reach the upstream with `X-Forwarded-Proto: https`; a client resumes its
//!   session (TLS 1.3 and 1.2); 8 MB go up and come back down on one session at the same time.
//! * **Reload**: new certificate files in a new config, and new content in the same files,
//!   are served to new connections while a keep-alive connection opened before goes on with
//!   its own session; a certificate that does not load leaves the previous one in service.
//! * **SNI pass-through**: the ClientHello's server name picks the TLS route (exact, then
//!   wildcard), the upstream terminates the client's own handshake; no route closes.
//! * **TCP**: a TCP listener and a terminating TLS listener copy bytes both ways to an echo
//!   upstream, and a half-close travels each way.

use std::{path::Path, time::Duration};

use rustls::ProtocolVersion;
use strait_e2e::{
    l7::{L7Node, free_port},
    tls::{TestCert, TlsClient, client_config, default_client},
    tls_upstream::{EchoUpstream, TlsUpstream},
    wait_until,
};

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// An HTTPS listener on `n`'s port with certificate files `(cert, key, names)`, every
/// request to `alpha`; `route` names the route (change it to make a new config).
fn https_config(n: &L7Node, certs: &[(&Path, &Path, &str)], route: &str) -> String {
    let certs: String = certs
        .iter()
        .map(|(c, k, names)| {
            format!(
                "        - {{ certFile: {}, keyFile: {}, serverNames: [{names}] }}\n",
                path(c),
                path(k)
            )
        })
        .collect();
    format!(
        "listeners:
  - name: web
    address: 127.0.0.1
    port: {port}
    protocol: HTTPS
    tls:
      certificates:
{certs}httpRoutes:
  - name: {route}
    parentRefs: [web]
    rules:
      - backendRefs: [{{ name: alpha }}]
clusters:
  - {{ name: alpha, endpoints: [{{ address: \"{alpha}\" }}] }}
",
        port = n.port,
        alpha = n.upstream(0),
    )
}

fn connect(n: &L7Node, sni: &str) -> TlsClient {
    TlsClient::connect(n.addr(), sni, &default_client())
        .unwrap_or_else(|e| panic!("TLS to {sni}: {e}\n{}", n.dataplane_log()))
}

#[test]
fn https_serves_certificates_by_sni_over_tls12_and_tls13_with_resumption() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let exact = TestCert::new(&["a.example"]);
    let wild = TestCert::new(&["*.wild.example"]);
    let default = TestCert::new(&["default.example"]);
    let (ec, ek) = exact.write(dir.path(), "exact");
    let (wc, wk) = wild.write(dir.path(), "wild");
    let (dc, dk) = default.write(dir.path(), "default");
    let mut n = L7Node::start();
    let config = https_config(
        &n,
        &[
            (&ec, &ek, "a.example"),
            (&wc, &wk, "\"*.wild.example\""),
            (&dc, &dk, ""),
        ],
        "all",
    );
    n.apply(&config);

    // The certificate by name, with a request through each.
    for (sni, cert) in [
        ("a.example", &exact),
        ("x.wild.example", &wild),
        ("y.z.wild.example", &wild),
        ("unknown.example", &default),
        ("wild.example", &default),
    ] {
        let mut c = connect(&n, sni);
        assert_eq!(c.peer_cert(), cert.der, "certificate for {sni}");
        assert_eq!(
            c.alpn().as_deref(),
            Some(&b"http/1.1"[..]),
            "ALPN for {sni}"
        );
        let r = c.get(sni, "/").expect("a response");
        assert_eq!((r.status, r.body.as_str()), (200, "alpha"), "{sni}");
        // The client's own value is replaced.
        assert_eq!(r.header("x-echo-x-forwarded-proto"), Some("https"));
        // Keep-alive: a second request on the same session.
        assert_eq!(c.get(sni, "/").expect("a second response").status, 200);
    }

    // Each version on its own, and resumption within each (one client config = one client's
    // session memory; a request first, so TLS 1.3 tickets have arrived).
    for (version, expected) in [
        (&rustls::version::TLS13, ProtocolVersion::TLSv1_3),
        (&rustls::version::TLS12, ProtocolVersion::TLSv1_2),
    ] {
        let client = client_config(&[version], &[b"http/1.1"]);
        let mut first = TlsClient::connect(n.addr(), "a.example", &client).expect("handshake");
        assert_eq!(first.version(), Some(expected));
        assert!(!first.resumed());
        assert_eq!(first.get("a.example", "/").expect("a response").status, 200);
        drop(first);
        let mut again = TlsClient::connect(n.addr(), "a.example", &client).expect("handshake");
        assert_eq!(again.version(), Some(expected));
        assert!(again.resumed(), "{expected:?} session resumed");
        assert_eq!(again.peer_cert(), exact.der);
        assert_eq!(again.get("a.example", "/").expect("a response").status, 200);
    }

    // A client without ALPN still speaks HTTP/1.1; one offering only another protocol is
    // refused in the handshake.
    let plain = client_config(rustls::ALL_VERSIONS, &[]);
    let mut c = TlsClient::connect(n.addr(), "a.example", &plain).expect("handshake");
    assert_eq!(c.alpn(), None);
    assert_eq!(c.get("a.example", "/").expect("a response").status, 200);
    let other = client_config(rustls::ALL_VERSIONS, &[b"spdy/3.1"]);
    assert!(TlsClient::connect(n.addr(), "a.example", &other).is_err());
    // `h2` is offered first (HTTP/2 itself is tested in l7_h2.rs).
    let both = client_config(rustls::ALL_VERSIONS, &[b"h2", b"http/1.1"]);
    let c = TlsClient::connect(n.addr(), "a.example", &both).expect("handshake");
    assert_eq!(c.alpn().as_deref(), Some(&b"h2"[..]));
}

/// Decodes a whole chunked body; `None` until its last chunk has arrived.
fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line = body.windows(2).position(|w| w == b"\r\n")?;
        let size = usize::from_str_radix(std::str::from_utf8(&body[..line]).ok()?, 16).ok()?;
        body = &body[line + 2..];
        if size == 0 {
            return body.starts_with(b"\r\n").then_some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
}

/// The body of the response in `got` (framed by `Content-Length` or chunked), once whole.
fn response_body(got: &[u8]) -> Option<Vec<u8>> {
    let end = got.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
    let body = &got[end + 4..];
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse::<usize>().expect("a length"));
    match length {
        Some(len) => body.get(..len).map(<[u8]>::to_vec),
        None => dechunk(body),
    }
}

#[test]
fn https_streams_a_body_up_and_down_at_once() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let cert = TestCert::new(&["a.example"]);
    let (c, k) = cert.write(dir.path(), "a");
    let mut n = L7Node::start();
    n.apply(&https_config(&n, &[(&c, &k, "")], "all"));
    let body: Vec<u8> = (0..8_000_000u32).map(|i| (i % 253) as u8).collect();
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let client = client_config(&[version], &[b"http/1.1"]);
        let c = TlsClient::connect(n.addr(), "a.example", &client).expect("handshake");
        // The upstream echoes as it reads, so the response comes down while the request is
        // still going up: one TLS session read and written at the same time.
        let mut request = format!(
            "POST /echo HTTP/1.1\r\nHost: a.example\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(&body);
        let got = c
            .duplex(&request, |got| response_body(got).is_some())
            .unwrap_or_else(|e| panic!("{version:?}: {e}\n{}", n.dataplane_log()));
        assert!(got.starts_with(b"HTTP/1.1 200"), "{version:?}");
        let echoed = response_body(&got).expect("a whole body");
        assert_eq!(echoed.len(), body.len(), "{version:?}");
        assert!(echoed == body, "{version:?}: the echo differs");
    }
}

#[test]
fn without_a_default_an_unknown_name_fails_the_handshake() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let exact = TestCert::new(&["a.example"]);
    let (ec, ek) = exact.write(dir.path(), "exact");
    let mut n = L7Node::start();
    n.apply(&https_config(&n, &[(&ec, &ek, "a.example")], "all"));
    assert_eq!(connect(&n, "a.example").peer_cert(), exact.der);
    let refused = TlsClient::connect(n.addr(), "other.example", &default_client());
    let e = refused.expect_err("no certificate for other.example");
    // rustls' alert when no certificate resolves.
    assert!(e.to_string().contains("fatal alert: AccessDenied"), "{e}");
}

#[test]
fn new_certificates_serve_new_connections_while_open_ones_go_on() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let one = TestCert::new(&["a.example"]);
    let (c1, k1) = one.write(dir.path(), "one");
    let mut n = L7Node::start();
    n.apply(&https_config(&n, &[(&c1, &k1, "")], "first"));
    let mut open = connect(&n, "a.example");
    assert_eq!(open.peer_cert(), one.der);
    assert_eq!(open.get("a.example", "/").expect("a response").status, 200);

    // New files named by a new config.
    let two = TestCert::new(&["a.example"]);
    let (c2, k2) = two.write(dir.path(), "two");
    n.apply(&https_config(&n, &[(&c2, &k2, "")], "second"));
    assert_eq!(connect(&n, "a.example").peer_cert(), two.der);
    assert_eq!(
        open.get("a.example", "/").expect("the old session").status,
        200
    );
    assert_eq!(open.peer_cert(), one.der);

    // New content in the same files, with the next config.
    let three = TestCert::new(&["a.example"]);
    three.write(dir.path(), "two");
    n.apply(&https_config(&n, &[(&c2, &k2, "")], "third"));
    assert_eq!(connect(&n, "a.example").peer_cert(), three.der);

    // A file that does not load: the previous certificate stays in service.
    std::fs::write(&c2, "not a certificate").expect("writing garbage");
    n.apply(&https_config(&n, &[(&c2, &k2, "")], "fourth"));
    assert_eq!(connect(&n, "a.example").peer_cert(), three.der);
    assert!(n.dataplane_log().contains("TLS certificates not loaded"));
    assert_eq!(
        open.get("a.example", "/").expect("the old session").status,
        200
    );
}

#[test]
fn sni_passthrough_reaches_the_upstream_by_name() {
    let a = TlsUpstream::start("A", &["a.example"]);
    let b = TlsUpstream::start("B", &["x.wild.example"]);
    let mut n = L7Node::start();
    let config = format!(
        "listeners:
  - {{ name: pass, address: 127.0.0.1, port: {port}, protocol: TLS, tls: {{ mode: Passthrough }} }}
tlsRoutes:
  - {{ name: to-a, parentRefs: [pass], hostnames: [a.example], backendRefs: [{{ name: a }}] }}
  - {{ name: to-b, parentRefs: [pass], hostnames: [\"*.wild.example\"], backendRefs: [{{ name: b }}] }}
clusters:
  - {{ name: a, endpoints: [{{ address: \"{a}\" }}] }}
  - {{ name: b, endpoints: [{{ address: \"{b}\" }}] }}
",
        port = n.port,
        a = a.addr,
        b = b.addr,
    );
    n.apply(&config);
    for (sni, upstream, name) in [("a.example", &a, "A"), ("x.wild.example", &b, "B")] {
        let mut c = connect(&n, sni);
        // The upstream's own certificate: the handshake went through untouched.
        assert_eq!(c.peer_cert(), upstream.cert.der, "{sni}");
        c.send(b"ping").expect("sending");
        let answer = c.read_exact(name.len() + 5).expect("the echo");
        assert_eq!(answer, format!("{name}:ping").as_bytes());
    }
    // No route for this name: the connection closes before any handshake.
    let refused = TlsClient::connect(n.addr(), "nothing.example", &default_client());
    assert!(refused.is_err(), "no TLS route for nothing.example");
    // Not TLS at all: closed too.
    let mut plain = n.client();
    plain
        .send(b"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n")
        .expect("sending");
    wait_until(Duration::from_secs(5), "the proxy closes", || {
        plain.closed().then_some(())
    });
}

#[test]
fn tcp_routes_copy_both_ways_with_half_close() {
    let echo = EchoUpstream::start();
    let cert = TestCert::new(&["t.example"]);
    let dir = tempfile::tempdir().expect("a temp dir");
    let (cc, ck) = cert.write(dir.path(), "t");
    let mut n = L7Node::start();
    let tls_port = free_port();
    let config = format!(
        "listeners:
  - {{ name: tcp, address: 127.0.0.1, port: {port}, protocol: TCP }}
  - name: tls
    address: 127.0.0.1
    port: {tls_port}
    protocol: TLS
    tls: {{ mode: Terminate, certificates: [{{ certFile: {cc}, keyFile: {ck} }}] }}
tcpRoutes:
  - {{ name: echo, parentRefs: [tcp, tls], backendRefs: [{{ name: echo }}] }}
clusters:
  - {{ name: echo, endpoints: [{{ address: \"{echo}\" }}] }}
",
        port = n.port,
        cc = path(&cc),
        ck = path(&ck),
        echo = echo.addr,
    );
    n.apply(&config);

    // Plain TCP: bytes both ways, then the client's end reaches the upstream, which answers
    // after it and ends its side, which reaches the client.
    let c = n.client();
    let mut w = c.writer().expect("a writer");
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::io::Write::write_all(&mut w, &payload).expect("sending");
    w.shutdown(std::net::Shutdown::Write).expect("half-close");
    let mut got = Vec::new();
    std::io::Read::read_to_end(&mut w, &mut got).expect("reading to the end");
    assert_eq!(got.len(), payload.len() + 5);
    assert_eq!(&got[..payload.len()], &payload[..]);
    assert_eq!(&got[payload.len()..], b"<eof>");

    // TLS terminated here, the plaintext to the same route.
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], tls_port));
    let mut t = TlsClient::connect(addr, "t.example", &default_client()).expect("handshake");
    assert_eq!(t.peer_cert(), cert.der);
    t.send(b"hello over tls").expect("sending");
    assert_eq!(t.read_exact(14).expect("the echo"), b"hello over tls");
    t.shutdown_write().expect("close_notify and half-close");
    assert_eq!(t.read_to_end().expect("the end"), b"<eof>");
}
