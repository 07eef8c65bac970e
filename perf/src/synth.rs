//! Synthetic configs of a given size, as JSON (the form a platform pushes).

use serde_json::{Value, json};

/// Which part of the config a push changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// One route's weight: the usual push of a platform that sends its whole state.
    Route,
    /// One route's weight and one endpoint's port: nothing parsed before can be reused.
    RouteAndEndpoint,
}

/// A config with `routes` HTTP route rules over `endpoints` endpoints, spread over clusters
/// of 100 endpoints; `variant` makes every push a new generation, changing what `change` says.
pub fn config(routes: usize, endpoints: usize, variant: u32, change: Change) -> String {
    let per_cluster = 100.min(endpoints.max(1));
    let clusters = endpoints.div_ceil(per_cluster).max(1);
    let clusters_json: Vec<Value> = (0..clusters)
        .map(|c| {
            let eps: Vec<Value> = (0..per_cluster)
                .map(|i| {
                    let n = c * per_cluster + i;
                    let port = match change {
                        Change::RouteAndEndpoint if n == 0 => 10_000 + variant % 50_000,
                        _ => 8000 + (n >> 16) as u32,
                    };
                    json!({
                        "address": format!("198.18.{}.{}:{port}", 16 + (n >> 8) % 200, n & 0xff),
                        "weight": 1
                    })
                })
                .collect();
            json!({ "name": format!("c{c}"), "endpoints": eps })
        })
        .collect();
    // Ten rules per route resource, one host each.
    let resources = routes.div_ceil(10);
    let http_routes: Vec<Value> = (0..resources)
        .map(|r| {
            let rules: Vec<Value> = (0..10.min(routes - r * 10))
                .map(|i| {
                    let n = r * 10 + i;
                    let weight = if n == 0 { 1 + variant } else { 1 };
                    json!({
                        "matches": [{ "path": { "type": "PathPrefix", "value": format!("/svc{n}") } }],
                        "backendRefs": [
                            { "name": format!("c{}", n % clusters), "weight": weight },
                            { "name": format!("c{}", (n + 1) % clusters), "weight": 1 }
                        ]
                    })
                })
                .collect();
            json!({
                "name": format!("r{r}"),
                "parentRefs": ["web"],
                "hostnames": [format!("h{r}.example")],
                "rules": rules
            })
        })
        .collect();
    json!({
        "listeners": [{ "name": "web", "address": "127.0.0.1", "port": 18080, "protocol": "HTTP" }],
        "httpRoutes": http_routes,
        "clusters": clusters_json
    })
    .to_string()
}
