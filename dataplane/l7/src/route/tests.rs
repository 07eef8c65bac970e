//! Routing over images compiled by the agent's own compiler from YAML.

use std::sync::Arc;

use strait_compile::{HealthSlots, compile};
use strait_http1::{Parsed, parse_request};
use strait_shm::{MappedImage, seal_image};
use strait_table::Image;

use super::*;

const CONFIG: &str = r#"
listeners:
  - { name: web, address: 127.0.0.1, port: 8080, protocol: HTTP }
httpRoutes:
  - name: shop
    parentRefs: [web]
    hostnames: [shop.example, "*.shop.example"]
    rules:
      - matches:
          - path: { type: PathPrefix, value: /api }
            headers: [{ name: x-canary, value: "1", type: Exact }]
        backendRefs: [{ name: v2 }]
      - matches:
          - path: { type: RegularExpression, value: "/orders/[0-9]+" }
            method: POST
        backendRefs: [{ name: v2 }]
      - matches:
          - path: { type: Exact, value: /old }
        filters:
          - type: RequestRedirect
            requestRedirect: { scheme: https, statusCode: 301 }
      - matches:
          - path: { type: PathPrefix, value: /api }
            queryParams: [{ name: v, value: "3", type: Exact }]
        directResponse: { status: 410, body: "gone\n" }
      - backendRefs: [{ name: v1 }]
  - name: fallback
    parentRefs: [web]
    rules:
      - matches:
          - path: { type: PathPrefix, value: /only }
        backendRefs: [{ name: v1 }]
clusters:
  - name: v1
    endpoints: [{ address: 127.0.0.1:9001 }, { address: 127.0.0.1:9002 }]
  - name: v2
    lbPolicy: RingHash
    hashOn: { header: x-user }
    endpoints: [{ address: 127.0.0.1:9003 }, { address: 127.0.0.1:9004 }]
"#;

fn generation(yaml: &str) -> Generation {
    let config = strait_config::parse(yaml).unwrap_or_else(|e| panic!("{e:?}"));
    let bytes = compile(&config, 3, &mut HealthSlots::default()).unwrap();
    let fd = seal_image(bytes.as_bytes(), "l7-test").unwrap();
    let image = Image::parse(MappedImage::from_fd(fd).unwrap()).unwrap();
    Generation::build(Arc::new(image), 1, 0)
}

/// Decides for a raw request on the first listener.
fn decide_raw(g: &Generation, raw: &str) -> String {
    let Ok(Parsed::Complete(head, _)) = parse_request(raw.as_bytes(), &Default::default()) else {
        panic!("{raw:?} parses");
    };
    let req = Request::new(&head, raw.as_bytes(), [127, 0, 0, 1].into());
    match decide(g, 0, &req, &Rng::new(1)) {
        Decision::Forward { cluster, .. } => {
            let c = &g.image.clusters()[cluster as usize];
            format!("forward {}", g.image.str(c.name))
        }
        Decision::Redirect { status, location } => {
            format!("{status} {}", String::from_utf8(location).unwrap())
        }
        Decision::Direct { status, body } => format!("{status} {body:?}"),
        Decision::NotFound => "404".into(),
        Decision::NoBackend { route } => format!("503 {route}"),
    }
}

fn get(path: &str, host: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n")
}

#[test]
fn hosts_paths_methods_headers_and_queries() {
    let g = generation(CONFIG);
    assert_eq!(g.listeners().count(), 1);
    assert_eq!(g.listener("127.0.0.1:8080".parse().unwrap()), Some(0));
    assert_eq!(decide_raw(&g, &get("/", "shop.example", "")), "forward v1");
    assert_eq!(
        decide_raw(&g, &get("/", "SHOP.example:8080", "")),
        "forward v1"
    );
    assert_eq!(
        decide_raw(&g, &get("/", "a.b.shop.example", "")),
        "forward v1"
    );
    let canary = get("/api/x", "shop.example", "X-Canary: 1\r\n");
    assert_eq!(decide_raw(&g, &canary), "forward v2");
    let not_canary = get("/apix", "shop.example", "X-Canary: 1\r\n");
    assert_eq!(decide_raw(&g, &not_canary), "forward v1");
    let post = "POST /orders/12 HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(decide_raw(&g, post), "forward v2");
    assert_eq!(
        decide_raw(&g, &get("/orders/12", "shop.example", "")),
        "forward v1"
    );
    assert_eq!(
        decide_raw(&g, &get("/orders/12/x", "shop.example", "")),
        "forward v1"
    );
    assert_eq!(
        decide_raw(&g, &get("/api?v=3", "shop.example", "")),
        "410 \"gone\\n\""
    );
    assert_eq!(
        decide_raw(&g, &get("/old?a=1", "shop.example:8080", "")),
        "301 https://shop.example/old?a=1"
    );
    // Other hosts fall to the catch-all routes, which only know /only.
    assert_eq!(
        decide_raw(&g, &get("/only/x", "other.example", "")),
        "forward v1"
    );
    assert_eq!(decide_raw(&g, &get("/", "other.example", "")), "404");
    assert_eq!(decide_raw(&g, &get("/", "shop.example.other", "")), "404");
    // An absolute-form target routes on its own authority.
    assert_eq!(
        decide_raw(&g, &get("http://shop.example/", "other.example", "")),
        "forward v1"
    );
}

#[test]
fn endpoints_by_policy_and_hash() {
    let g = generation(CONFIG);
    let raw = get("/api", "shop.example", "X-Canary: 1\r\nX-User: ann\r\n");
    let Ok(Parsed::Complete(head, _)) = parse_request(raw.as_bytes(), &Default::default()) else {
        panic!()
    };
    let req = Request::new(&head, raw.as_bytes(), [127, 0, 0, 1].into());
    let rng = Rng::new(9);
    let all = |_: u32| true;
    let first = choose_endpoint(&g, 1, &req, &all, &rng).unwrap();
    for _ in 0..10 {
        assert_eq!(choose_endpoint(&g, 1, &req, &all, &rng), Ok(first));
    }
    // Round robin over cluster v1 alternates.
    let a = choose_endpoint(&g, 0, &req, &all, &rng).unwrap();
    let b = choose_endpoint(&g, 0, &req, &all, &rng).unwrap();
    assert_ne!(a.addr, b.addr);
    let none = |_: u32| false;
    assert_eq!(
        choose_endpoint(&g, 0, &req, &none, &rng),
        Err(NoEndpoint::Unhealthy)
    );
}
