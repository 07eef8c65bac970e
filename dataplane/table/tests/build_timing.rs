//! Rough timing of a large image (10k routes, 100k endpoints, 36 Maglev tables of 65537
//! entries), built cold (new builder, new buffer) and warm (cleared builder, reused output
//! buffer, as an agent that keeps its builder does): prints the times, asserts only
//! correctness. Run with `--release -- --nocapture` for meaningful numbers; real benchmarks
//! belong in `perf/`.

use std::time::{Duration, Instant};
use strait_table::maglev::{DEFAULT_TABLE_SIZE, MaglevBackend, backend_key};
use strait_table::*;

const CLUSTERS: u32 = 1000;
const ENDPOINTS_PER_CLUSTER: u32 = 100;
const HASHED_CLUSTERS: u32 = 12;
const L4_SERVICES: u32 = 24;
const L4_BACKENDS_PER_SERVICE: u32 = 100;
const LISTENERS: u32 = 10;
const HOSTS_PER_LISTENER: u32 = 100;
const ROUTES_PER_HOST: u32 = 10;

fn v4(n: u32) -> ([u8; 16], u8) {
    encode_ip(core::net::IpAddr::V4(core::net::Ipv4Addr::from(
        0x0a00_0000 | n,
    )))
}

struct Names {
    clusters: Vec<String>,
    hosts: Vec<String>,
    routes: Vec<String>,
    paths: Vec<String>,
}

fn names() -> Names {
    let routes = LISTENERS * HOSTS_PER_LISTENER * ROUTES_PER_HOST;
    Names {
        clusters: (0..CLUSTERS).map(|i| format!("cluster-{i}")).collect(),
        hosts: (0..LISTENERS * HOSTS_PER_LISTENER)
            .map(|i| format!("host-{i}.example.com"))
            .collect(),
        routes: (0..routes).map(|i| format!("route-{i}")).collect(),
        paths: (0..routes)
            .map(|i| format!("/svc/{}/v{}", i / 7, i % 7))
            .collect(),
    }
}

fn fill(b: &mut ImageBuilder, n: &Names, maglev_time: &mut Duration) {
    let routes = LISTENERS * HOSTS_PER_LISTENER * ROUTES_PER_HOST;
    b.reserve::<Endpoint>((CLUSTERS * ENDPOINTS_PER_CLUSTER) as usize);
    b.reserve::<Cluster>(CLUSTERS as usize);
    b.reserve::<Route>(routes as usize);
    b.reserve::<Match>(2 * routes as usize);
    b.reserve::<RouteBackend>(2 * routes as usize);
    b.reserve::<HeaderMod>(routes as usize);
    b.reserve_strings(1 << 20);
    b.reserve_maglev(((HASHED_CLUSTERS + L4_SERVICES) * DEFAULT_TABLE_SIZE) as usize);
    let mut keys = Vec::with_capacity(ENDPOINTS_PER_CLUSTER.max(L4_BACKENDS_PER_SERVICE) as usize);

    for c in 0..CLUSTERS {
        let first = b.count::<Endpoint>();
        keys.clear();
        for e in 0..ENDPOINTS_PER_CLUSTER {
            let (addr, family) = v4(c * ENDPOINTS_PER_CLUSTER + e);
            let ep = Endpoint {
                addr,
                family,
                port: 8080,
                weight: 1,
                health_slot: first + e,
                _pad: 0,
            };
            keys.push(MaglevBackend {
                key: backend_key(&addr, family, 8080),
                weight: 1,
            });
            b.push(ep);
        }
        let endpoints = b.range_from::<Endpoint>(first);
        let (maglev, lb_policy) = if c < HASHED_CLUSTERS {
            let t = Instant::now();
            let table = b.maglev_table(&keys, DEFAULT_TABLE_SIZE).unwrap();
            *maglev_time += t.elapsed();
            (table, LbPolicy::Maglev.code())
        } else {
            (Range::EMPTY, LbPolicy::RoundRobin.code())
        };
        let name = b.string(&n.clusters[c as usize]);
        b.push(Cluster {
            name,
            endpoints,
            maglev,
            lb_policy,
            ..Default::default()
        });
    }

    for s in 0..L4_SERVICES {
        let first = b.count::<L4Backend>();
        keys.clear();
        for i in 0..L4_BACKENDS_PER_SERVICE {
            let (addr, family) = v4(0x10_0000 + s * L4_BACKENDS_PER_SERVICE + i);
            keys.push(MaglevBackend {
                key: backend_key(&addr, family, 443),
                weight: 1 + i % 3,
            });
            b.push(L4Backend {
                addr,
                family,
                weight: 1 + i % 3,
                ..Default::default()
            });
        }
        let backends = b.range_from::<L4Backend>(first);
        let t = Instant::now();
        let maglev = b.maglev_table(&keys, DEFAULT_TABLE_SIZE).unwrap();
        *maglev_time += t.elapsed();
        let (vip, family) = v4(0x20_0000 + s);
        let name = b.string(&n.clusters[s as usize]);
        let (protocol, mode) = (Protocol::Tcp.code(), L4Mode::Ipip.code());
        b.push(L4Service {
            name,
            vip,
            family,
            port: 443,
            protocol,
            mode,
            backends,
            maglev,
            ..Default::default()
        });
    }

    let (header, value, mod_name) = (b.string("x-tenant"), b.string("blue"), b.string("x-via"));
    let mut route = 0u32;
    for l in 0..LISTENERS {
        let first_host = b.count::<VirtualHost>();
        for h in 0..HOSTS_PER_LISTENER {
            let first_route = b.count::<Route>();
            for _ in 0..ROUTES_PER_HOST {
                let kind = MatchKind::Exact.code();
                let target = MatchTarget::Header.code();
                let matches = b.extend(&[
                    Match {
                        name: header,
                        value,
                        target,
                        kind,
                        ..Default::default()
                    },
                    Match {
                        name: header,
                        target,
                        kind: MatchKind::Present.code(),
                        invert: 1,
                        ..Default::default()
                    },
                ]);
                let c = route % CLUSTERS;
                let backends = b.extend(&[
                    RouteBackend {
                        cluster: c,
                        weight: 90,
                    },
                    RouteBackend {
                        cluster: (c + 1) % CLUSTERS,
                        weight: 10,
                    },
                ]);
                let header_mods = b.extend(&[HeaderMod {
                    name: mod_name,
                    value,
                    ..Default::default()
                }]);
                let name = b.string(&n.routes[route as usize]);
                let path = b.string(&n.paths[route as usize]);
                let path_kind = PathMatch::Prefix.code();
                b.push(Route {
                    name,
                    path,
                    path_kind,
                    matches,
                    backends,
                    header_mods,
                    timeout_ms: 1000,
                    ..Default::default()
                });
                route += 1;
            }
            let routes = b.range_from::<Route>(first_route);
            let hostname = b.string(&n.hosts[(l * HOSTS_PER_LISTENER + h) as usize]);
            b.push(VirtualHost {
                hostname,
                routes,
                listener: l,
                kind: HostKind::Exact.code(),
                ..Default::default()
            });
        }
        let virtual_hosts = b.range_from::<VirtualHost>(first_host);
        let (addr, family) = v4(0);
        let protocol = ListenerProtocol::Http.code();
        b.push(Listener {
            addr,
            family,
            port: 8000 + l as u16,
            protocol,
            virtual_hosts,
            ..Default::default()
        });
    }
}

fn report(what: &str, image_len: usize, built: Duration, maglev: Duration, parsed: Duration) {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "[{profile}] {what}: image {:.1} MiB, build {built:.1?} (36 Maglev tables {maglev:.1?}, \
         records + layout + checksum {:.1?}), parse {parsed:.1?}",
        image_len as f64 / (1 << 20) as f64,
        built.saturating_sub(maglev),
    );
}

#[test]
fn large_image_build_and_parse_times() {
    let n = names();

    let mut maglev = Duration::ZERO;
    let start = Instant::now();
    let mut b = ImageBuilder::new(1);
    fill(&mut b, &n, &mut maglev);
    let bytes = b.clone().finish();
    let built = start.elapsed();
    let start = Instant::now();
    let image = Image::parse(&bytes).expect("large image is valid");
    report("cold", bytes.len(), built, maglev, start.elapsed());
    assert_eq!(image.routes().len(), 10_000);
    assert_eq!(image.endpoints().len(), 100_000);
    assert_eq!(image.maglev().len(), 36 * 65537);

    // A reused output buffer: already faulted in, and full of garbage that must be overwritten.
    let mut out = ImageBytes::from_bytes(&vec![0xa5; bytes.len()]);
    let mut maglev = Duration::ZERO;
    let start = Instant::now();
    b.clear(2);
    fill(&mut b, &n, &mut maglev);
    let write = Instant::now();
    b.write_to(out.as_bytes_mut()).expect("same layout");
    let write = write.elapsed();
    let built = start.elapsed();
    let start = Instant::now();
    let image = Image::parse(&out).expect("rebuilt image is valid");
    report("warm", out.len(), built, maglev, start.elapsed());
    println!("  (warm write_to: layout + copy + checksum of the whole image {write:.1?})");
    assert_eq!(image.generation(), 2);
    assert_eq!(
        out[48..],
        bytes[48..],
        "only the header differs between generations"
    );
}
