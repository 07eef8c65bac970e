//! Stale pooled upstream connections end to end: a real agent, a real data plane with L7
//! workers on every test core, and an upstream that closes each connection as the next request
//! on it arrives ([`OneShot`]), all started and stopped by the test.
//!
//! Story: on one keep-alive client connection, a PUT with a body is served and its upstream
//! connection pooled; the next PUT meets that connection's reset and is sent once more, body
//! and all, on a new connection: the client gets the upstream's 200 and the upstream got the
//! body exactly once. A POST in the same place is not sent again (not idempotent): the client
//! gets 502 and the upstream never served it, unless the route allows non-idempotent retries.
//! A bodiless GET goes again as before.

use strait_e2e::{
    http::{Client, Response},
    l7::L7Node,
    one_shot::{OneShot, Served},
};

fn config(n: &L7Node, upstream: &OneShot) -> String {
    format!(
        r#"
listeners:
  - {{ name: web, address: 127.0.0.1, port: {port}, protocol: HTTP }}
httpRoutes:
  - name: plain
    parentRefs: [web]
    hostnames: [stale.example]
    rules:
      - backendRefs: [{{ name: one-shot }}]
  - name: posts-allowed
    parentRefs: [web]
    hostnames: [post-allowed.example]
    rules:
      - backendRefs: [{{ name: one-shot }}]
        retry: {{ attempts: 0, allowNonIdempotent: true }}
clusters:
  - name: one-shot
    endpoints: [{{ address: "{addr}" }}]
"#,
        port = n.port,
        addr = upstream.addr,
    )
}

/// Sends `method path` to `host` with `body` (a `Content-Length` body unless empty) on `c`.
fn send(n: &L7Node, c: &mut Client, method: &str, host: &str, path: &str, body: &str) -> Response {
    let length = if body.is_empty() {
        String::new()
    } else {
        format!("Content-Length: {}\r\n", body.len())
    };
    let req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n{length}\r\n{body}");
    c.send(req.as_bytes()).expect("sending a request");
    c.response()
        .unwrap_or_else(|e| panic!("{method} {host}{path}: {e}\n{}", n.dataplane_log()))
}

fn served(method: &str, path: &str, body: &str) -> Served {
    Served {
        method: method.into(),
        path: path.into(),
        body: body.as_bytes().to_vec(),
    }
}

#[test]
fn a_request_with_a_small_body_is_sent_again_after_a_stale_pooled_connection() {
    let mut n = L7Node::start();
    let up = OneShot::start();
    n.apply(&config(&n, &up));

    let mut c = n.client();
    let r = send(&n, &mut c, "PUT", "stale.example", "/one", "first body");
    assert_eq!((r.status, r.text().as_str()), (200, "served PUT /one"));
    assert_eq!((up.connections(), up.refused()), (1, 0));

    // The pooled connection is reset as the PUT arrives: it goes again on a new one.
    let r = send(&n, &mut c, "PUT", "stale.example", "/two", "second body");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), n.dataplane_log());
    assert_eq!(r.text(), "served PUT /two");
    assert_eq!(
        (up.connections(), up.refused()),
        (2, 1),
        "the PUT met the stale pooled connection, then a new one"
    );
    assert_eq!(
        up.served(),
        vec![
            served("PUT", "/one", "first body"),
            served("PUT", "/two", "second body"),
        ],
        "each body was served exactly once"
    );

    // A POST is not sent twice: the client gets 502 and the upstream never served it.
    let r = send(&n, &mut c, "POST", "stale.example", "/three", "third body");
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(
        (up.connections(), up.refused()),
        (2, 2),
        "no new connection"
    );
    assert_eq!(up.served().len(), 2, "the POST was not served");

    // Unless the route allows it; a bodiless GET goes again as it always did.
    let mut c = n.client();
    let host = "post-allowed.example";
    let r = send(&n, &mut c, "POST", host, "/four", "fourth body");
    assert_eq!((r.status, r.text().as_str()), (200, "served POST /four"));
    let (connections, refused) = (up.connections(), up.refused());
    let r = send(&n, &mut c, "POST", host, "/five", "fifth body");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), n.dataplane_log());
    let r = send(&n, &mut c, "GET", host, "/six", "");
    assert_eq!((r.status, r.text().as_str()), (200, "served GET /six"));
    assert_eq!(
        (up.connections(), up.refused()),
        (connections + 2, refused + 2),
        "both met a stale pooled connection, then a new one"
    );
    let all = up.served();
    assert_eq!(
        all[all.len() - 2..],
        [
            served("POST", "/five", "fifth body"),
            served("GET", "/six", "")
        ]
    );
}
