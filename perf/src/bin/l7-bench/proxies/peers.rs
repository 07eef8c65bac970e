//! HAProxy and nginx configs: the same two listeners and the same two upstreams as Strait,
//! round robin, with upstream keep-alive, one worker thread or process.
//!
//! Both get TLS 1.2 and 1.3 with the same certificate, and neither resumes TLS sessions (no
//! tickets, no session cache), so the handshake mode measures full handshakes whatever the
//! client does. The TLS listener offers ALPN `h2` and `http/1.1` (HAProxy `alpn`, nginx
//! `listen … ssl http2`), as Strait's HTTPS listener does: HTTP/2 runs over TLS, and a client
//! that offers no ALPN (wrk) gets HTTP/1.1. The upstream side is HTTP/1.1 for every system.

use super::{Env, Ports, show, upstream_lines};
use crate::setup::nginx_common;

/// HAProxy 2.6: one thread, `http-reuse always` to the upstreams.
pub fn haproxy_config(env: &Env, ports: &Ports) -> String {
    let servers = upstream_lines(env, "    ", |i, a| format!("server u{i} {a}"));
    format!(
        "global
    nbthread 1
    maxconn 4096
    tune.ssl.cachesize 0
    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets

defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s

frontend bench
    bind 127.0.0.1:{http}
    bind 127.0.0.1:{https} ssl crt {pem} alpn h2,http/1.1
    default_backend upstreams

backend upstreams
    balance roundrobin
{servers}",
        http = ports.http,
        https = ports.https,
        pem = show(&env.cert.combined),
    )
}

/// nginx 1.22: one worker process (and its idle master), `keepalive` pool to the upstreams.
pub fn nginx_config(env: &Env, name: &str, ports: &Ports) -> String {
    let servers = upstream_lines(env, "        ", |_, a| format!("server {a};"));
    let location = "location / {
            proxy_pass http://upstreams;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
        }";
    format!(
        "{common}    upstream upstreams {{
{servers}        keepalive 128;
        keepalive_requests 1000000;
    }}
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache off;
    ssl_session_tickets off;
    server {{
        listen 127.0.0.1:{http} backlog=4096;
        listen 127.0.0.1:{https} ssl http2 backlog=4096;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        {location}
    }}
}}
worker_processes 1;
user root;
",
        common = nginx_common(env.dir, name),
        http = ports.http,
        https = ports.https,
        cert = show(&env.cert.cert),
        key = show(&env.cert.key),
    )
}
