//! WebSocket through the L7 path end to end: a real agent and data plane, a WebSocket echo
//! server on loopback ([`strait_e2e::ws`]), and the forwarding fields an upstream sees; all
//! started and stopped by each test.
//!
//! Stories:
//! * **Echo**: over a plain HTTP listener and over an HTTPS one, a client upgrades through
//!   Strait, exchanges text and binary messages from empty to 300 KB (past the 16- and 64-bit
//!   length encodings), a fragmented message and a ping, sees each echoed as sent, and closes
//!   with a close frame answered by a close frame and a clean end of stream. The upstream saw
//!   exactly one upgrade request per connection, carrying `X-Forwarded-For` (the client) and
//!   `X-Forwarded-Proto` (`http`, then `https`).
//! * **Refused upgrade**: an upstream that answers an upgrade request with `200` gets that
//!   `200` to the client, and the connection goes on as plain HTTP/1.1; on it, a client that
//!   claims `X-Forwarded-Proto: https` and brings its own `X-Forwarded-For` list is corrected
//!   and appended to.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    time::Duration,
};

use rustls::{ClientConnection, StreamOwned, pki_types::ServerName};
use strait_e2e::{
    l7::{L7Node, free_port},
    tls::{TestCert, default_client},
    wait_until,
    ws::{Frame, WsEcho, field, handshake, op, read_frame, write_frame},
};

/// A plain listener on `n.port` and an HTTPS one on `https_port`; `/ws` and `/no-ws` go to the
/// echo server, everything else to `alpha`.
fn config(n: &L7Node, https_port: u16, cert: (&str, &str), echo: SocketAddr) -> String {
    format!(
        "listeners:
  - {{ name: web, address: 127.0.0.1, port: {port}, protocol: HTTP }}
  - name: secure
    address: 127.0.0.1
    port: {https_port}
    protocol: HTTPS
    tls:
      certificates:
        - {{ certFile: {cert}, keyFile: {key} }}
httpRoutes:
  - name: all
    parentRefs: [web, secure]
    rules:
      - matches: [{{ path: {{ type: Exact, value: /ws }} }}, {{ path: {{ type: Exact, value: /no-ws }} }}]
        backendRefs: [{{ name: echo }}]
      - backendRefs: [{{ name: alpha }}]
clusters:
  - {{ name: echo, endpoints: [{{ address: \"{echo}\" }}] }}
  - {{ name: alpha, endpoints: [{{ address: \"{alpha}\" }}] }}
",
        port = n.port,
        cert = cert.0,
        key = cert.1,
        alpha = n.upstream(0),
    )
}

/// A node with the echo server behind both listeners; returns the HTTPS port too.
fn start(dir: &std::path::Path) -> (L7Node, WsEcho, u16) {
    let echo = WsEcho::start();
    let (c, k) = TestCert::new(&["ws.example"]).write(dir, "ws");
    let mut n = L7Node::start();
    let https_port = free_port();
    let paths = (c.to_str().expect("UTF-8"), k.to_str().expect("UTF-8"));
    n.apply(&config(&n, https_port, paths, echo.addr));
    wait_until(Duration::from_secs(10), "the HTTPS listener", || {
        TcpStream::connect(("127.0.0.1", https_port)).ok()
    });
    (n, echo, https_port)
}

/// Messages of every length encoding, text and binary.
fn messages() -> Vec<Frame> {
    let text = |s: String| Frame {
        fin: true,
        opcode: op::TEXT,
        payload: s.into_bytes(),
    };
    let binary = |n: usize| Frame {
        fin: true,
        opcode: op::BINARY,
        payload: (0..n).map(|i| (i * 7 % 251) as u8).collect(),
    };
    vec![
        text(String::new()),
        text("hello".into()),
        binary(125),
        binary(126),
        text("é".repeat(700)),
        binary(65_535),
        binary(70_000),
        text("x".repeat(300_000)),
    ]
}

/// The echo story on an upgraded stream `s`.
fn echo_session(s: &mut (impl Read + Write)) {
    let mask = Some([0x12, 0x34, 0x56, 0x78]);
    for m in messages() {
        write_frame(s, &m, mask).expect("a message sent");
        let back = read_frame(s).expect("its echo");
        assert!(
            back == m,
            "{} bytes of opcode {} echoed",
            m.payload.len(),
            m.opcode
        );
    }
    // A fragmented message comes back as its fragments; a ping as a pong.
    let fragments = [
        Frame {
            fin: false,
            opcode: op::TEXT,
            payload: b"frag".to_vec(),
        },
        Frame {
            fin: true,
            opcode: op::CONTINUATION,
            payload: b"ment".to_vec(),
        },
    ];
    for f in &fragments {
        write_frame(s, f, mask).expect("a fragment sent");
    }
    for f in &fragments {
        assert_eq!(&read_frame(s).expect("a fragment echoed"), f);
    }
    let ping = Frame {
        fin: true,
        opcode: op::PING,
        payload: b"are you there".to_vec(),
    };
    write_frame(s, &ping, mask).expect("a ping");
    let pong = read_frame(s).expect("a pong");
    assert_eq!((pong.opcode, pong.payload), (op::PONG, ping.payload));
    // Close: 1000, answered in kind, then the end of the stream.
    let close = Frame {
        fin: true,
        opcode: op::CLOSE,
        payload: 1000u16.to_be_bytes().to_vec(),
    };
    write_frame(s, &close, mask).expect("a close frame");
    assert_eq!(read_frame(s).expect("the close answered"), close);
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).expect("a clean end of stream");
    assert!(rest.is_empty(), "{} bytes after the close", rest.len());
}

fn assert_upgraded(head: &str) {
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert_eq!(field(head, "upgrade"), Some("websocket"), "{head}");
    assert_eq!(
        field(head, "connection")
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("upgrade")
    );
}

#[test]
fn websocket_echoes_through_plain_and_https_listeners() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (n, echo, https_port) = start(dir.path());

    let mut plain = TcpStream::connect(n.addr()).expect("connect");
    plain
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let head = handshake(&mut plain, "ws.example", "/ws")
        .unwrap_or_else(|e| panic!("handshake: {e}\n{}", n.dataplane_log()));
    assert_upgraded(&head);
    echo_session(&mut plain);
    assert_eq!(echo.upgrades(), 1, "one upgrade request upstream");

    let tcp = TcpStream::connect(("127.0.0.1", https_port)).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let name = ServerName::try_from("ws.example").expect("a name");
    let conn = ClientConnection::new(default_client(), name).expect("a TLS client");
    let mut tls = StreamOwned::new(conn, tcp);
    let head = handshake(&mut tls, "ws.example", "/ws")
        .unwrap_or_else(|e| panic!("TLS handshake: {e}\n{}", n.dataplane_log()));
    assert_upgraded(&head);
    echo_session(&mut tls);
    assert_eq!(echo.upgrades(), 2, "one more upgrade request upstream");

    let heads = echo.heads();
    assert_eq!(heads.len(), 2, "{heads:?}");
    for (head, proto) in heads.iter().zip(["http", "https"]) {
        assert_eq!(field(head, "x-forwarded-proto"), Some(proto), "{head}");
        assert_eq!(field(head, "x-forwarded-for"), Some("127.0.0.1"), "{head}");
        assert_eq!(field(head, "upgrade"), Some("websocket"), "{head}");
    }
}

#[test]
fn an_upgrade_answered_200_goes_on_as_plain_http() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (n, echo, _) = start(dir.path());
    let mut c = n.client();
    c.send(
        b"GET /no-ws HTTP/1.1\r\nHost: ws.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .expect("an upgrade request");
    let r = c.response().expect("an answer");
    assert_eq!((r.status, r.text().as_str()), (200, "plain"));
    assert_eq!(r.header("upgrade"), None);
    assert_eq!(echo.upgrades(), 0);

    // The same connection carries plain requests: to the refusing server, then to `alpha`
    // with the client's own forwarding fields, which are corrected and appended to.
    let r = c.get("ws.example", "/no-ws", "").expect("a second answer");
    assert_eq!((r.status, r.text().as_str()), (200, "plain"));
    let claims = "X-Forwarded-Proto: https\r\nX-Forwarded-For: 203.0.113.9, 10.1.2.3\r\n";
    let r = c
        .get("ws.example", "/other", claims)
        .expect("an answer from alpha");
    assert_eq!((r.status, r.text().as_str()), (200, "alpha"));
    assert_eq!(r.header("x-echo-x-forwarded-proto"), Some("http"));
    assert_eq!(
        r.header("x-echo-x-forwarded-for"),
        Some("203.0.113.9, 10.1.2.3, 127.0.0.1")
    );
    let heads = echo.heads();
    assert_eq!(heads.len(), 2, "{heads:?}");
    assert_eq!(
        field(&heads[0], "upgrade"),
        Some("websocket"),
        "{}",
        heads[0]
    );
}
