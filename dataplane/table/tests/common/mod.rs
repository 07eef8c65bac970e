//! Shared fixtures: a small image that uses every section, and a way to lay out raw images
//! with arbitrary directories.
#![allow(dead_code)] // each test binary uses part of this module

use core::net::IpAddr;
use strait_table::format::{HEADER_LEN, SECTION_ENTRY_LEN};
use strait_table::maglev::{MaglevBackend, backend_key};
use strait_table::*;

pub fn ip(s: &str) -> ([u8; 16], u8) {
    encode_ip(s.parse::<IpAddr>().expect("test address"))
}

/// A builder holding a small config that uses every section kind.
pub fn sample_builder() -> ImageBuilder {
    let mut b = ImageBuilder::new(42);

    // L4: one VIP over three weighted backends with a Maglev table.
    let backends: Vec<L4Backend> = (1..=3u8)
        .map(|i| {
            let (addr, family) = ip(&format!("10.0.0.{i}"));
            L4Backend {
                addr,
                family,
                weight: u32::from(i),
                health_slot: u32::from(i) - 1,
                port: if i == 3 { 8443 } else { 0 },
                mac: [2, 0, 0, 0, 0, i],
                has_mac: u8::from(i == 1),
                ..Default::default()
            }
        })
        .collect();
    let keys: Vec<MaglevBackend> = backends
        .iter()
        .map(|x| MaglevBackend {
            key: backend_key(&x.addr, x.family, 443),
            weight: x.weight,
        })
        .collect();
    let l4_backends = b.extend(&backends);
    let l4_maglev = b.maglev_table(&keys, 251).expect("maglev");
    let (vip, family) = ip("2001:db8::1");
    let name = b.string("web-vip");
    b.push_l4_service(L4Service {
        name,
        vip,
        family,
        port: 443,
        protocol: Protocol::Tcp.code(),
        mode: L4Mode::Dsr.code(),
        flags: l4_flags::NO_SRC_PORT_HASH,
        backends: l4_backends,
        maglev: l4_maglev,
        idle_timeout_s: 300,
        ..Default::default()
    });

    // Clusters: a Maglev-hashed one and a round-robin one.
    let mut endpoints = Vec::new();
    for i in 0..4u8 {
        let (addr, family) = ip(&format!("fd00::{i}"));
        endpoints.push(Endpoint {
            addr,
            family,
            port: 8080,
            weight: 1,
            health_slot: 10 + u32::from(i),
            _pad: 0,
        });
    }
    let keys: Vec<MaglevBackend> = endpoints
        .iter()
        .map(|e| MaglevBackend {
            key: backend_key(&e.addr, e.family, e.port),
            weight: e.weight,
        })
        .collect();
    let api_endpoints = b.extend(&endpoints);
    let api_maglev = b.maglev_table(&keys, 101).expect("maglev");
    let (name, hash_key, sni, ca) = (
        b.string("api"),
        b.string("x-user"),
        b.string("api.internal"),
        b.string("/etc/strait/upstream-ca.pem"),
    );
    b.push_cluster(Cluster {
        name,
        hash_key,
        tls_sni: sni,
        tls_ca: ca,
        endpoints: api_endpoints,
        maglev: api_maglev,
        connect_timeout_ms: 250,
        lb_policy: LbPolicy::Maglev.code(),
        hash_on: HashOn::Header.code(),
        upstream_protocol: UpstreamProtocol::Http2.code(),
        upstream_tls: 1,
    });
    let (addr, family) = ip("192.0.2.7");
    let static_endpoints = b.extend(&[Endpoint {
        addr,
        family,
        port: 80,
        weight: 5,
        ..Default::default()
    }]);
    let name = b.string("static");
    b.push_cluster(Cluster {
        name,
        endpoints: static_endpoints,
        ..Default::default()
    });

    // Routes of one virtual host: forward (with matches, mods, retries), redirect, direct.
    let (m1, m2, m3) = (b.string("x-canary"), b.string("1"), b.string("debug"));
    let matches = b.extend(&[
        Match {
            name: m1,
            value: m2,
            target: MatchTarget::Header.code(),
            kind: MatchKind::Exact.code(),
            ..Default::default()
        },
        Match {
            name: m3,
            target: MatchTarget::Query.code(),
            kind: MatchKind::Present.code(),
            invert: 1,
            ..Default::default()
        },
    ]);
    let weighted = b.extend(&[
        RouteBackend {
            cluster: 0,
            weight: 90,
        },
        RouteBackend {
            cluster: 1,
            weight: 10,
        },
    ]);
    let (h1, h2, h3) = (b.string("x-strait"), b.string("yes"), b.string("server"));
    let mods = b.extend(&[
        HeaderMod {
            name: h1,
            value: h2,
            direction: ModDirection::Request.code(),
            op: HeaderOp::Set.code(),
            ..Default::default()
        },
        HeaderMod {
            name: h3,
            direction: ModDirection::Response.code(),
            op: HeaderOp::Remove.code(),
            ..Default::default()
        },
    ]);
    let first_route = b.count::<Route>();
    let (name, path) = (b.string("api"), b.string("/api/"));
    b.push_route(Route {
        name,
        path,
        path_kind: PathMatch::Prefix.code(),
        method_mask: method::GET | method::POST,
        matches,
        action: RouteAction::Forward.code(),
        backends: weighted,
        header_mods: mods,
        timeout_ms: 5000,
        per_try_timeout_ms: 1000,
        retry_attempts: 2,
        retry_on: retry_on::CONNECT_FAILURE | retry_on::STATUS_5XX,
        retry_flags: retry_flags::ALLOW_NON_IDEMPOTENT,
        ..Default::default()
    });
    let (name, path, scheme, host) = (
        b.string("old"),
        b.string("/old"),
        b.string("https"),
        b.string("new.example.com"),
    );
    b.push_route(Route {
        name,
        path,
        path_kind: PathMatch::Exact.code(),
        action: RouteAction::Redirect.code(),
        redirect_status: 308,
        redirect_scheme: scheme,
        redirect_host: host,
        redirect_port: 8443,
        ..Default::default()
    });
    let (name, body) = (b.string("fallback"), b.string("no route ✗\n"));
    b.push_route(Route {
        name,
        action: RouteAction::Direct.code(),
        direct_status: 404,
        direct_body: body,
        ..Default::default()
    });
    let routes = b.range_from::<Route>(first_route);

    // Listeners: HTTPS with two virtual hosts, TLS passthrough with one SNI route.
    let https = b.count::<Listener>();
    let (exact, wildcard) = (b.string("example.com"), b.string(".example.com"));
    let hosts = b.extend(&[
        VirtualHost {
            hostname: exact,
            routes,
            listener: https,
            kind: HostKind::Exact.code(),
            ..Default::default()
        },
        VirtualHost {
            hostname: wildcard,
            routes,
            listener: https,
            kind: HostKind::Wildcard.code(),
            ..Default::default()
        },
        VirtualHost {
            routes,
            listener: https,
            kind: HostKind::Any.code(),
            ..Default::default()
        },
    ]);
    let server_names = b.names(["example.com", "*.example.com"]);
    let (cert, key) = (
        b.string("/etc/strait/tls/example.crt"),
        b.string("/etc/strait/tls/example.key"),
    );
    let certs = b.extend(&[Certificate {
        cert_path: cert,
        key_path: key,
        server_names,
    }]);
    let (addr, family) = ip("0.0.0.0");
    let name = b.string("https");
    b.push_listener(Listener {
        name,
        addr,
        family,
        port: 443,
        protocol: ListenerProtocol::Https.code(),
        tls_mode: TlsMode::Terminate.code(),
        certificates: certs,
        virtual_hosts: hosts,
        ..Default::default()
    });
    let sni = b.names(["db.example.com"]);
    let tcp_backends = b.extend(&[RouteBackend {
        cluster: 1,
        weight: 1,
    }]);
    let name = b.string("db");
    let tcp_routes = b.extend(&[TcpRoute {
        name,
        sni,
        backends: tcp_backends,
    }]);
    let (addr, family) = ip("::");
    let name = b.string("tls");
    b.push_listener(Listener {
        name,
        addr,
        family,
        port: 5432,
        protocol: ListenerProtocol::Tls.code(),
        tls_mode: TlsMode::Passthrough.code(),
        tcp_routes,
        ..Default::default()
    });

    b.policies(b"opaque policy bytes");
    b
}

pub fn sample() -> ImageBytes {
    sample_builder().finish()
}

/// Lays out a raw image: header, then the given `(kind, flags, bytes)` sections in order on
/// 8-byte boundaries, sealed with a correct checksum.
pub fn raw_image(sections: &[(u32, u32, &[u8])]) -> ImageBytes {
    let dir_end = HEADER_LEN + sections.len() * SECTION_ENTRY_LEN;
    let mut entries = Vec::new();
    let mut end = dir_end;
    for &(kind, flags, bytes) in sections {
        let offset = end.next_multiple_of(8);
        entries.push(SectionEntry {
            kind,
            flags,
            offset: offset as u64,
            len: bytes.len() as u64,
        });
        end = offset + bytes.len();
    }
    let mut image = ImageBytes::zeroed(end);
    let out = image.as_bytes_mut();
    let header = Header {
        magic: MAGIC,
        abi_version: ABI_VERSION,
        header_len: HEADER_LEN as u32,
        generation: 7,
        total_len: end as u64,
        checksum: 0,
        section_count: sections.len() as u32,
        flags: 0,
    };
    out[..HEADER_LEN].copy_from_slice(bytemuck::bytes_of(&header));
    out[HEADER_LEN..dir_end].copy_from_slice(bytemuck::cast_slice(&entries));
    for (e, &(_, _, bytes)) in entries.iter().zip(sections) {
        out[e.offset as usize..][..bytes.len()].copy_from_slice(bytes);
    }
    reseal(out);
    image
}

/// Reads the directory of a valid image.
pub fn directory(image: &[u8]) -> Vec<SectionEntry> {
    let header: Header = bytemuck::pod_read_unaligned(&image[..HEADER_LEN]);
    (0..header.section_count as usize)
        .map(|i| {
            bytemuck::pod_read_unaligned(
                &image[HEADER_LEN + i * SECTION_ENTRY_LEN..][..SECTION_ENTRY_LEN],
            )
        })
        .collect()
}
