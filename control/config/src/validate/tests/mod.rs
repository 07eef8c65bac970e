//! One test per validation rule: a minimal valid config, broken in one place, must fail with
//! exactly the expected `path: reason` errors.

mod http;
mod upstream;

use crate::parse;

pub(super) const BASE: &str = "
listeners:
  - { name: web, address: 127.0.0.1, port: 8080, protocol: HTTP }
httpRoutes:
  - name: r
    parentRefs: [web]
    rules:
      - backendRefs: [{ name: c }]
clusters:
  - name: c
    endpoints: [{ address: 127.0.0.1:9001 }]
";

pub(super) fn errors(yaml: &str) -> Vec<String> {
    match parse(yaml) {
        Ok(_) => Vec::new(),
        Err(errs) => errs.iter().map(ToString::to_string).collect(),
    }
}

/// Asserts that `yaml` fails with exactly the errors `expected`.
pub(super) fn rejects(yaml: &str, expected: &[&str]) {
    assert_eq!(errors(yaml), expected, "for config:\n{yaml}");
}

#[test]
fn base_is_valid() {
    let config = parse(BASE).expect("valid");
    assert_eq!(config.http_routes[0].listeners, [0]);
    assert_eq!(config.listeners[0].addr.to_string(), "127.0.0.1:8080");
}

#[test]
fn names_are_checked_and_unique_per_kind() {
    rejects(
        &BASE.replace("name: web,", "name: Web,"),
        &[
            "listeners[0].name: invalid name \"Web\": must start and end with a lowercase letter or digit",
            "httpRoutes[0].parentRefs[0]: no listener named \"web\"",
        ],
    );
    let dup = format!("{BASE}  - name: c\n    endpoints: [{{ address: 127.0.0.1:9002 }}]\n");
    rejects(
        &dup,
        &["clusters[1].name: duplicate cluster name \"c\" (first at clusters[0])"],
    );
    // The same name in two kinds is fine.
    assert_eq!(
        errors(&BASE.replace("name: r", "name: c")),
        Vec::<String>::new()
    );
}

#[test]
fn parent_refs_exist_and_fit_the_route_kind() {
    rejects(
        &BASE.replace("parentRefs: [web]", "parentRefs: [web, nope]"),
        &["httpRoutes[0].parentRefs[1]: no listener named \"nope\""],
    );
    rejects(
        &BASE.replace("parentRefs: [web]", "parentRefs: []"),
        &["httpRoutes[0].parentRefs: must reference at least one listener"],
    );
    rejects(
        &BASE.replace("protocol: HTTP }", "protocol: TCP }"),
        &[
            "httpRoutes[0].parentRefs[0]: listener \"web\" is TCP; httpRoutes need an HTTP or HTTPS listener",
        ],
    );
    let tcp = format!(
        "{BASE}tcpRoutes: [{{ name: t, parentRefs: [web], backendRefs: [{{ name: c }}] }}]\n"
    );
    rejects(
        &tcp,
        &[
            "tcpRoutes[0].parentRefs[0]: listener \"web\" is HTTP; tcpRoutes need a TCP listener (or TLS in Terminate mode)",
        ],
    );
    let tls = "
listeners:
  - name: t
    address: 127.0.0.1
    port: 8443
    protocol: TLS
    tls: { mode: Terminate, certificates: [{ certFile: a.crt, keyFile: a.key }] }
tlsRoutes: [{ name: p, parentRefs: [t], backendRefs: [{ name: c }] }]
tcpRoutes: [{ name: p, parentRefs: [t], backendRefs: [{ name: c }] }]
clusters: [{ name: c, endpoints: [{ address: 127.0.0.1:9001 }] }]
";
    rejects(
        tls,
        &[
            "tlsRoutes[0].parentRefs[0]: listener \"t\" is TLS (Terminate); tlsRoutes need a TLS listener in Passthrough mode",
        ],
    );
    let passthrough = tls.replace(
        "tls: { mode: Terminate, certificates: [{ certFile: a.crt, keyFile: a.key }] }",
        "",
    );
    rejects(
        &passthrough,
        &[
            "tcpRoutes[0].parentRefs[0]: listener \"t\" is TLS (Passthrough); tcpRoutes need a TCP listener (or TLS in Terminate mode)",
        ],
    );
}

#[test]
fn lists_must_not_be_empty() {
    rejects(
        &BASE.replace("endpoints: [{ address: 127.0.0.1:9001 }]", "endpoints: []"),
        &["clusters[0].endpoints: must have at least one endpoint"],
    );
    let l4 = "l4Services: [{ name: v, vip: 198.18.0.10, port: 80 }]";
    rejects(
        l4,
        &["l4Services[0].backends: must have at least one backend"],
    );
    rejects(
        &BASE.replace(
            "    rules:\n      - backendRefs: [{ name: c }]\n",
            "    rules: []\n",
        ),
        &["httpRoutes[0].rules: must have at least one rule"],
    );
}

#[test]
fn listeners_do_not_overlap() {
    let two = BASE.replace(
        "protocol: HTTP }\n",
        "protocol: HTTP }\n  - { name: web2, address: 127.0.0.1, port: 8080, protocol: HTTP }\n",
    );
    rejects(
        &two,
        &[
            "listeners[1].address: 127.0.0.1:8080 overlaps 127.0.0.1:8080 of listener \"web\" (listeners[0])",
        ],
    );
    let wildcard = two.replace("web2, address: 127.0.0.1", "web2, address: 0.0.0.0");
    rejects(
        &wildcard,
        &[
            "listeners[1].address: 0.0.0.0:8080 overlaps 127.0.0.1:8080 of listener \"web\" (listeners[0])",
        ],
    );
    // Another family, or another port, is fine.
    assert!(errors(&two.replace("web2, address: 127.0.0.1", "web2, address: \"::\"")).is_empty());
    assert!(
        errors(&two.replace(
            "web2, address: 127.0.0.1, port: 8080",
            "web2, address: 127.0.0.1, port: 8081"
        ))
        .is_empty()
    );
}

#[test]
fn tls_settings_fit_the_listener_protocol() {
    let https = BASE.replace("protocol: HTTP }", "protocol: HTTPS }");
    rejects(&https, &["listeners[0].tls: required for HTTPS listeners"]);
    rejects(
        &BASE.replace("protocol: HTTP }", "protocol: HTTPS, tls: {} }"),
        &["listeners[0].tls.certificates: at least one certificate is required to terminate TLS"],
    );
    rejects(
        &BASE.replace(
            "protocol: HTTP }",
            "protocol: HTTPS, tls: { mode: Passthrough } }",
        ),
        &["listeners[0].tls.mode: HTTPS listeners must use Terminate"],
    );
    rejects(
        &BASE.replace("protocol: HTTP }", "protocol: HTTP, tls: {} }"),
        &["listeners[0].tls: not allowed on HTTP listeners"],
    );
    let certs = "protocol: HTTPS, tls: { certificates: [{ certFile: a.crt, keyFile: a.key }, { certFile: b.crt, keyFile: \"\" }] } }";
    rejects(
        &BASE.replace("protocol: HTTP }", certs),
        &[
            "listeners[0].tls.certificates[1].keyFile: must not be empty",
            "listeners[0].tls.certificates[1].serverNames: only one certificate may omit serverNames (first at certificates[0])",
        ],
    );
    let config = parse(&BASE.replace(
        "protocol: HTTP }",
        "protocol: HTTPS, tls: { certificates: [{ certFile: a.crt, keyFile: a.key }] } }",
    ))
    .expect("valid");
    let tls = config.listeners[0].tls.as_ref().expect("tls");
    assert_eq!(tls.mode, crate::kinds::TlsMode::Terminate);
}
