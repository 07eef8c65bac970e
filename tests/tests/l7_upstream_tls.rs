//! TLS towards a cluster's endpoints, through real agent and data-plane processes to HTTPS
//! upstreams on loopback:
//! * a cluster with `tls: {sni, caFile}` reaches its endpoint over TLS, sends the SNI, and
//!   reuses the session's connection for the next request;
//! * without `sni` the endpoint is verified by its IP address (no SNI is sent);
//! * an endpoint whose certificate the CA file does not vouch for, or whose name differs from
//!   `sni`, gets no request: the client gets 502;
//! * a CA file that cannot be read gives 502 saying why.

use std::path::Path;

use strait_e2e::{http::Response, https_upstream::HttpsUpstream, l7::L7Node};

fn config(n: &L7Node, up: &HttpsUpstream, tls: &str) -> String {
    format!(
        "listeners:\n  - {{ name: web, address: 127.0.0.1, port: {}, protocol: HTTP }}\n\
         httpRoutes:\n  - name: all\n    parentRefs: [web]\n    rules:\n      - backendRefs: [{{ name: secure }}]\n\
         clusters:\n  - {{ name: secure, tls: {tls}, endpoints: [{{ address: \"{}\" }}] }}\n",
        n.port, up.addr
    )
}

fn get(n: &L7Node) -> Response {
    n.client()
        .get("example.test", "/", "")
        .unwrap_or_else(|e| panic!("GET: {e}\n{}", n.dataplane_log()))
}

fn ca(dir: &Path, up: &HttpsUpstream, stem: &str) -> String {
    up.cert.write(dir, stem).0.display().to_string()
}

#[test]
fn endpoints_are_reached_over_verified_tls_and_refused_when_unverified() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let named = HttpsUpstream::start("named", &["api.internal"]);
    let by_ip = HttpsUpstream::start("by-ip", &["127.0.0.1"]);
    let stranger = HttpsUpstream::start("stranger", &["api.internal"]);
    let mut n = L7Node::start();

    // SNI and CA: the session is verified, the name sent, the connection kept for the next.
    let named_ca = ca(dir.path(), &named, "named");
    n.apply(&config(
        &n,
        &named,
        &format!("{{ sni: api.internal, caFile: {named_ca} }}"),
    ));
    // One keep-alive client: one worker, whose pool keeps the upstream session.
    let mut client = n.client();
    for _ in 0..3 {
        let r = client
            .get("example.test", "/", "")
            .unwrap_or_else(|e| panic!("GET: {e}\n{}", n.dataplane_log()));
        assert_eq!(r.status, 200, "{}\n{}", r.text(), n.dataplane_log());
        assert_eq!(r.text(), "named sni=api.internal\n");
    }
    assert_eq!(named.requests(), 3);
    assert_eq!(
        named.sessions(),
        1,
        "one pooled TLS connection serves every request"
    );

    // No SNI: verified by the endpoint's IP address, and none is sent.
    let ip_ca = ca(dir.path(), &by_ip, "by-ip");
    n.apply(&config(&n, &by_ip, &format!("{{ caFile: {ip_ca} }}")));
    let r = get(&n);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "by-ip sni=-\n");

    // A certificate the CA file does not vouch for: no request reaches the endpoint.
    n.apply(&config(
        &n,
        &stranger,
        &format!("{{ sni: api.internal, caFile: {named_ca} }}"),
    ));
    let r = get(&n);
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(stranger.requests(), 0);

    // The right CA, but a name the certificate does not carry.
    n.apply(&config(
        &n,
        &named,
        &format!("{{ sni: other.internal, caFile: {named_ca} }}"),
    ));
    let r = get(&n);
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(named.requests(), 3, "the mismatched name got no request");

    // A CA file that cannot be read.
    let missing = dir.path().join("missing.pem").display().to_string();
    n.apply(&config(
        &n,
        &named,
        &format!("{{ sni: api.internal, caFile: {missing} }}"),
    ));
    let r = get(&n);
    assert_eq!(r.status, 502);
    assert!(r.text().contains("missing.pem"), "{}", r.text());
}
