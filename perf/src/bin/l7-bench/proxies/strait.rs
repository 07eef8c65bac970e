//! Strait under the budget: the agent (control plane, not measured) on the load core; the
//! data plane with one L7 worker on the proxy core, and with the one L4 worker it always runs
//! on the same core, idle (no packet device: it sleeps between empty turns, as in the L7
//! tests). The whole data plane process (every thread) is moved into the budget and pinned to
//! the proxy core as soon as it has started, before any config reaches it.
//!
//! The config has the two listeners of the peers (the HTTPS one offers ALPN `h2` and `http/1.1`
//! by itself), one route to a round-robin cluster of the two upstreams (Strait pools upstream
//! connections itself). If the agent refuses the HTTPS listener, the config is applied again
//! without it and HTTPS (with HTTP/2, which runs over it) is recorded as unsupported with the
//! agent's reason.

use std::process::Command;

use strait_e2e::Node;

use super::{Env, Ports, show, upstream_lines};
use crate::cgroup::Budget;

/// The config, with or without the HTTPS listener.
pub fn config(env: &Env, ports: &Ports, https: bool) -> String {
    let endpoints = upstream_lines(env, "      ", |_, a| format!("- address: {a}"));
    let (tls_listener, tls_parent) = if https {
        (
            format!(
                "  - name: https
    address: 127.0.0.1
    port: {}
    protocol: HTTPS
    tls:
      certificates:
        - {{ certFile: {}, keyFile: {} }}
",
                ports.https,
                show(&env.cert.cert),
                show(&env.cert.key)
            ),
            ", https",
        )
    } else {
        (String::new(), "")
    };
    format!(
        "listeners:
  - {{ name: http, address: 127.0.0.1, port: {http}, protocol: HTTP }}
{tls_listener}
httpRoutes:
  - name: all
    parentRefs: [http{tls_parent}]
    rules:
      - backendRefs: [{{ name: upstreams }}]

clusters:
  - name: upstreams
    lbPolicy: RoundRobin
    endpoints:
{endpoints}",
        http = ports.http,
    )
}

/// Starts agent and data plane and applies the config; returns the node and whether the agent
/// took the HTTPS listener (`Err(reason)` if not).
pub fn start(
    env: &Env,
    ports: &Ports,
    budget: &Budget,
    driver: &str,
) -> Result<(Node, Result<(), String>), String> {
    let mut node = Node::new();
    node.agent_cpus = Some(env.load_core.to_string());
    node.start_agent();
    let core = env.proxy_core.to_string();
    // Like the peers, no session resumption: oha's handshakes must all be full ones.
    let flags = [
        "--l7-cores",
        &core,
        "--l7-driver",
        driver,
        "--l7-tls-resumption",
        "off",
    ];
    node.start_dataplane_with(&core, None, &flags);
    match configure(&mut node, env, ports, budget) {
        Ok(https) => Ok((node, https)),
        // Most likely the data plane exited at once (an option it does not take, a core it
        // may not use): what it logged says why.
        Err(e) => Err(format!(
            "{e}\n--- strait-dataplane's log ---\n{}",
            node.dataplane_log().trim_end()
        )),
    }
}

/// Moves the data plane just started into the budget, pins it and applies the config.
fn configure(
    node: &mut Node,
    env: &Env,
    ports: &Ports,
    budget: &Budget,
) -> Result<Result<(), String>, String> {
    let core = env.proxy_core.to_string();
    let dataplane = node.dataplane.as_mut().expect("data plane");
    let pid = dataplane.pid();
    budget.adopt(pid)?;
    let pinned = Command::new("taskset")
        .args(["-a", "-p", "-c", &core, &pid.to_string()])
        .output()
        .map_err(|e| format!("taskset: {e}"))?;
    if !pinned.status.success() {
        return Err(format!(
            "taskset -a -p {pid}: {}",
            String::from_utf8_lossy(&pinned.stderr)
        ));
    }
    if !dataplane.alive() {
        return Err("strait-dataplane exited at once".into());
    }
    let apply = |https: bool| {
        let file = node.path("bench.yaml");
        std::fs::write(&file, config(env, ports, https)).expect("writing the config");
        let out = node.ctl(&["apply", "-f", &show(&file), "--wait"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            Ok(())
        } else {
            Err(text.trim().replace('\n', "; "))
        }
    };
    let https = match apply(true) {
        Ok(()) => Ok(()),
        Err(refused) => {
            apply(false).map_err(|e| format!("strait refused the config: {e}"))?;
            Err(format!("the agent refused the HTTPS listener: {refused}"))
        }
    };
    // L4 and L7 worker, on the generation just applied.
    let generation = node.status()["generation"].as_u64().unwrap_or(1);
    node.wait_workers_on(generation, 2);
    Ok(https)
}
