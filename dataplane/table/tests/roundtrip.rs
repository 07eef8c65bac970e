//! Build an image that uses every section, parse it back, and find every record, string and
//! table as it was written.

mod common;

use common::{ip, sample_builder};
use strait_table::format::SECTION_ALIGN;
use strait_table::testing::{check_resolved, walk};
use strait_table::*;

fn same_records<R: Record + PartialEq + core::fmt::Debug>(
    image: &Image<ImageBytes>,
    b: &ImageBuilder,
) {
    assert_eq!(
        image.records::<R>().len(),
        b.count::<R>() as usize,
        "{}",
        R::KIND
    );
    for i in 0..b.count::<R>() {
        assert_eq!(
            image.record::<R>(i),
            b.record::<R>(i).as_ref(),
            "{} record {i}",
            R::KIND
        );
    }
}

#[test]
fn every_section_round_trips() {
    let builder = sample_builder();
    let bytes = builder.clone().finish();
    let image = Image::parse(bytes).expect("valid image");

    assert_eq!(image.generation(), 42);
    same_records::<StrRef>(&image, &builder);
    same_records::<L4Service>(&image, &builder);
    same_records::<L4Backend>(&image, &builder);
    same_records::<Listener>(&image, &builder);
    same_records::<Certificate>(&image, &builder);
    same_records::<VirtualHost>(&image, &builder);
    same_records::<Route>(&image, &builder);
    same_records::<Match>(&image, &builder);
    same_records::<RouteBackend>(&image, &builder);
    same_records::<HeaderMod>(&image, &builder);
    same_records::<TcpRoute>(&image, &builder);
    same_records::<Cluster>(&image, &builder);
    same_records::<Endpoint>(&image, &builder);
    assert_eq!(image.policies(), b"opaque policy bytes");
    check_resolved(&image).expect("every reference resolves");
    walk(&image);
}

#[test]
fn l4_service_reads_back() {
    let image = Image::parse(common::sample()).expect("valid image");
    let [svc] = image.l4_services() else {
        panic!("one service")
    };
    assert_eq!(image.str(svc.name), "web-vip");
    assert_eq!(svc.vip(), Some("2001:db8::1".parse().unwrap()));
    assert_eq!(
        (svc.port, svc.protocol(), svc.mode()),
        (443, Some(Protocol::Tcp), Some(L4Mode::Dsr))
    );
    assert!(svc.has_flag(l4_flags::NO_SRC_PORT_HASH) && !svc.has_flag(l4_flags::QUIC));
    let backends = image.l4_backends_of(svc);
    assert_eq!(backends.len(), 3);
    assert_eq!(backends[0].addr(), Some("10.0.0.1".parse().unwrap()));
    assert_eq!(backends[0].mac(), Some([2, 0, 0, 0, 0, 1]));
    assert_eq!(backends[1].mac(), None);
    assert_eq!(
        (backends[0].port_for(443), backends[2].port_for(443)),
        (443, 8443)
    );
    let table = image.maglev_of(svc);
    assert_eq!(table.len(), 251);
    assert!(table.iter().all(|&e| e < 3));
    let target = backends[maglev::lookup(table, 12345) as usize];
    assert!(target.weight > 0);
}

#[test]
fn l7_config_reads_back() {
    let image = Image::parse(common::sample()).expect("valid image");
    let [https, tls] = image.listeners() else {
        panic!("two listeners")
    };
    assert_eq!(image.str(https.name), "https");
    assert_eq!(
        (https.protocol(), https.tls_mode()),
        (Some(ListenerProtocol::Https), Some(TlsMode::Terminate))
    );
    assert_eq!(https.addr(), Some("0.0.0.0".parse().unwrap()));

    let [cert] = image.certificates_of(https) else {
        panic!("one certificate")
    };
    assert_eq!(image.str(cert.key_path), "/etc/strait/tls/example.key");
    let names: Vec<&str> = image
        .server_names_of(cert)
        .iter()
        .map(|r| image.str(*r))
        .collect();
    assert_eq!(names, ["example.com", "*.example.com"]);

    let hosts = image.virtual_hosts_of(https);
    let kinds: Vec<_> = hosts
        .iter()
        .map(|h| (image.str(h.hostname), h.kind().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("example.com", HostKind::Exact),
            (".example.com", HostKind::Wildcard),
            ("", HostKind::Any)
        ]
    );
    assert_eq!(image.listener_of(&hosts[0]), Some(https));

    let [api, old, fallback] = image.routes_of(&hosts[1]) else {
        panic!("three routes")
    };
    assert_eq!(
        (image.str(api.path), api.path_kind()),
        ("/api/", Some(PathMatch::Prefix))
    );
    assert!(api.allows_method(method::POST) && !api.allows_method(method::DELETE));
    assert!(api.retries_on(retry_on::STATUS_5XX) && !api.retries_on(retry_on::RESET));
    let m = image.matches_of(api);
    assert_eq!(
        (
            image.str(m[0].name),
            image.str(m[0].value),
            m[0].is_inverted()
        ),
        ("x-canary", "1", false)
    );
    assert_eq!(
        (m[1].target(), m[1].kind(), m[1].is_inverted()),
        (Some(MatchTarget::Query), Some(MatchKind::Present), true)
    );
    let weights: Vec<(&str, u32)> = image
        .route_backends_of(api)
        .iter()
        .map(|b| (image.str(image.cluster_of(b).unwrap().name), b.weight))
        .collect();
    assert_eq!(weights, [("api", 90), ("static", 10)]);
    let mods = image.header_mods_of(api);
    assert_eq!(
        (mods[1].direction(), mods[1].op()),
        (Some(ModDirection::Response), Some(HeaderOp::Remove))
    );
    assert_eq!(
        (
            old.action(),
            old.redirect_status,
            image.str(old.redirect_host)
        ),
        (Some(RouteAction::Redirect), 308, "new.example.com")
    );
    assert_eq!(
        (fallback.direct_status, image.str(fallback.direct_body)),
        (404, "no route ✗\n")
    );

    let [db] = image.tcp_routes_of(tls) else {
        panic!("one tcp route")
    };
    assert_eq!(image.str(image.sni_of(db)[0]), "db.example.com");
    let api_cluster = image.record::<Cluster>(0).unwrap();
    assert_eq!(image.str(api_cluster.hash_key), "x-user");
    assert_eq!(image.endpoints_of(api_cluster).len(), 4);
    assert_eq!(image.cluster_maglev_of(api_cluster).len(), 101);
    assert!(api_cluster.upstream_tls() && api_cluster.lb_policy() == Some(LbPolicy::Maglev));
}

#[test]
fn layout_follows_the_format() {
    let bytes = common::sample();
    assert_eq!(bytes.as_ptr() as usize % 8, 0);
    assert_eq!(&bytes[..8], b"STRAITTB");
    let dir = common::directory(&bytes);
    assert_eq!(dir.len(), 16, "every kind is present in the sample");
    for e in &dir {
        assert_eq!(e.offset as usize % SECTION_ALIGN, 0);
        let optional = e.kind == SectionKind::POLICIES.0;
        assert_eq!(
            e.flags,
            if optional {
                format::SECTION_OPTIONAL
            } else {
                0
            }
        );
    }
    assert_eq!(
        checksum(&bytes),
        u64::from_le_bytes(bytes[32..40].try_into().unwrap())
    );
    let mut zeroed = bytes.to_vec();
    zeroed[32..40].fill(0);
    assert_eq!(
        checksum(&bytes),
        xxhash_rust::xxh3::xxh3_64(&zeroed),
        "checksum is plain xxh3-64"
    );
}

#[test]
fn strings_are_deduplicated_and_empty_image_parses() {
    let mut b = ImageBuilder::new(1);
    let a = b.string("same");
    assert_eq!(b.string("same"), a);
    assert_ne!(b.string("other"), a);
    assert_eq!(b.string(""), StrRef::EMPTY);
    let empty = Image::parse(ImageBuilder::new(9).finish()).expect("empty image");
    assert_eq!(
        (empty.generation(), empty.routes().len(), empty.str(a)),
        (9, 0, "")
    );
    let (addr, family) = ip("10.1.2.3");
    assert_eq!(decode_ip(&addr, family), Some("10.1.2.3".parse().unwrap()));
}
