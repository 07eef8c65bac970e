//! One test per validation rule: a minimal valid config, broken in one place.

use crate::parse;

const BASE: &str = "
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

fn errors(yaml: &str) -> Vec<String> {
    match parse(yaml) {
        Ok(_) => Vec::new(),
        Err(errs) => errs.iter().map(ToString::to_string).collect(),
    }
}

/// Asserts that `yaml` fails with exactly the errors `expected`.
fn rejects(yaml: &str, expected: &[&str]) {
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
    rejects(&dup, &["clusters[1].name: duplicate cluster name \"c\" (first at clusters[0])"]);
    // The same name in two kinds is fine.
    assert_eq!(errors(&BASE.replace("name: r", "name: c")), Vec::<String>::new());
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
        &["httpRoutes[0].parentRefs[0]: listener \"web\" is TCP; httpRoutes need an HTTP or HTTPS listener"],
    );
    let tcp = format!("{BASE}tcpRoutes: [{{ name: t, parentRefs: [web], backendRefs: [{{ name: c }}] }}]\n");
    rejects(
        &tcp,
        &["tcpRoutes[0].parentRefs[0]: listener \"web\" is HTTP; tcpRoutes need a TCP listener (or TLS in Terminate mode)"],
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
        &["tlsRoutes[0].parentRefs[0]: listener \"t\" is TLS (Terminate); tlsRoutes need a TLS listener in Passthrough mode"],
    );
    let passthrough = tls.replace("tls: { mode: Terminate, certificates: [{ certFile: a.crt, keyFile: a.key }] }", "");
    rejects(
        &passthrough,
        &["tcpRoutes[0].parentRefs[0]: listener \"t\" is TLS (Passthrough); tcpRoutes need a TCP listener (or TLS in Terminate mode)"],
    );
}

#[test]
fn backend_refs_name_clusters() {
    rejects(
        &BASE.replace("backendRefs: [{ name: c }]", "backendRefs: [{ name: c }, { name: shop-v3 }]"),
        &["httpRoutes[0].rules[0].backendRefs[1].name: no cluster named \"shop-v3\""],
    );
}

#[test]
fn weights_are_bounded_and_not_all_zero() {
    rejects(
        &BASE.replace("{ name: c }", "{ name: c, weight: 2000000 }"),
        &["httpRoutes[0].rules[0].backendRefs[0].weight: weight 2000000 out of range 0..=1000000"],
    );
    rejects(
        &BASE.replace("{ name: c }", "{ name: c, weight: 0 }"),
        &["httpRoutes[0].rules[0].backendRefs: at least one backend needs a non-zero weight"],
    );
    rejects(
        &BASE.replace("9001 }", "9001, weight: 0 }"),
        &["clusters[0].endpoints: at least one endpoint needs a non-zero weight"],
    );
    let l4 = format!("{BASE}{L4}").replace("weight: 2", "weight: 0").replace("{ address: 198.18.1.2 }", "{ address: 198.18.1.2, weight: 0 }");
    rejects(&l4, &["l4Services[0].backends: at least one backend needs a non-zero weight"]);
}

const L4: &str = "
l4Services:
  - name: vip
    vip: 198.18.0.10
    port: 80
    backends:
      - { address: 198.18.1.2 }
      - { address: 198.18.2.2, port: 8080, weight: 2, mac: \"02:00:00:00:01:02\" }
";

#[test]
fn l4_service_is_typed() {
    let config = parse(&format!("{BASE}{L4}")).expect("valid");
    let svc = &config.l4_services[0];
    assert_eq!(svc.idle_timeout.to_string(), "5m");
    assert_eq!((svc.backends[0].port, svc.backends[0].weight), (80, 1));
    assert_eq!(svc.backends[1].mac, Some([2, 0, 0, 0, 1, 2]));
}

#[test]
fn lists_must_not_be_empty() {
    rejects(
        &BASE.replace("endpoints: [{ address: 127.0.0.1:9001 }]", "endpoints: []"),
        &["clusters[0].endpoints: must have at least one endpoint"],
    );
    let l4 = "l4Services: [{ name: v, vip: 198.18.0.10, port: 80 }]";
    rejects(l4, &["l4Services[0].backends: must have at least one backend"]);
    rejects(
        &BASE.replace("    rules:\n      - backendRefs: [{ name: c }]\n", "    rules: []\n"),
        &["httpRoutes[0].rules: must have at least one rule"],
    );
}

#[test]
fn addresses_parse() {
    rejects(
        &BASE.replace("127.0.0.1:9001", "127.0.0.1"),
        &["clusters[0].endpoints[0].address: invalid address \"127.0.0.1\": expected ip:port or [ipv6]:port"],
    );
    rejects(
        &BASE.replace("127.0.0.1:9001", "127.0.0.1:0"),
        &["clusters[0].endpoints[0].address: port 0 out of range 1..=65535 in \"127.0.0.1:0\""],
    );
    assert!(errors(&BASE.replace("127.0.0.1:9001", "\"[2001:2::1]:9001\"")).is_empty());
    rejects(
        &BASE.replace("port: 8080", "port: 70000").replace("address: 127.0.0.1,", "address: localhost,"),
        &[
            "listeners[0].address: invalid IP address \"localhost\"",
            "listeners[0].port: port 70000 out of range 1..=65535",
        ],
    );
    rejects(
        &format!("{BASE}{L4}").replace("198.18.0.10", "198.18.0.300"),
        &["l4Services[0].vip: invalid IP address \"198.18.0.300\""],
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
        &["listeners[1].address: 127.0.0.1:8080 overlaps 127.0.0.1:8080 of listener \"web\" (listeners[0])"],
    );
    let wildcard = two.replace("web2, address: 127.0.0.1", "web2, address: 0.0.0.0");
    rejects(
        &wildcard,
        &["listeners[1].address: 0.0.0.0:8080 overlaps 127.0.0.1:8080 of listener \"web\" (listeners[0])"],
    );
    // Another family, or another port, is fine.
    assert!(errors(&two.replace("web2, address: 127.0.0.1", "web2, address: \"::\"")).is_empty());
    assert!(errors(&two.replace("web2, address: 127.0.0.1, port: 8080", "web2, address: 127.0.0.1, port: 8081")).is_empty());
}

#[test]
fn l4_services_are_unique_per_vip_port_protocol() {
    let svc = "  - { name: vip2, vip: 198.18.0.10, port: 80, backends: [{ address: 198.18.1.3 }] }\n";
    rejects(
        &format!("{BASE}{L4}{svc}"),
        &["l4Services[1].vip: TCP 198.18.0.10:80 already used by l4Services[0]"],
    );
    let udp = svc.replace("port: 80,", "port: 80, protocol: UDP,");
    assert!(errors(&format!("{BASE}{L4}{udp}")).is_empty());
}

#[test]
fn l4_modes_constrain_family_and_port() {
    let v6 = format!("{BASE}{L4}").replace("198.18.1.2", "\"2001:2::2\"");
    rejects(
        &v6,
        &["l4Services[0].backends[0].address: IPv6 backend 2001:2::2 for IPv4 VIP 198.18.0.10 in FullNat mode (only IPIP/GUE cross families)"],
    );
    let ipip = v6.replace("port: 80\n", "port: 80\n    mode: IPIP\n").replace("198.18.2.2, port: 8080, ", "198.18.2.2, ");
    assert_eq!(errors(&ipip), Vec::<String>::new());
    rejects(
        &format!("{BASE}{L4}").replace("port: 80\n", "port: 80\n    mode: DSR\n"),
        &["l4Services[0].backends[1].port: must equal the service port 80 in DSR mode (only FullNat translates ports)"],
    );
    rejects(
        &format!("{BASE}{L4}").replace("02:00:00:00:01:02", "02:00:00:00:01"),
        &["l4Services[0].backends[1].mac: invalid MAC address \"02:00:00:00:01\""],
    );
}

#[test]
fn hostnames_allow_only_a_leading_wildcard() {
    let with = |h: &str| BASE.replace("parentRefs: [web]", &format!("parentRefs: [web]\n    hostnames: [\"{h}\"]"));
    assert!(errors(&with("*.shop.example")).is_empty());
    rejects(
        &with("shop.*.example"),
        &["httpRoutes[0].hostnames[0]: invalid hostname \"shop.*.example\": '*' is only allowed as a leading \"*.\""],
    );
    rejects(
        &with("Shop.example"),
        &["httpRoutes[0].hostnames[0]: invalid hostname \"Shop.example\": must be lowercase"],
    );
}

fn with_match(m: &str) -> String {
    BASE.replace("      - backendRefs:", &format!("      - matches: [{m}]\n        backendRefs:"))
}

#[test]
fn paths_start_with_a_slash_and_regexes_compile() {
    assert!(errors(&with_match("{ path: { type: Exact, value: /a } }")).is_empty());
    rejects(
        &with_match("{ path: { value: api } }"),
        &["httpRoutes[0].rules[0].matches[0].path.value: path \"api\" must start with '/'"],
    );
    rejects(
        &with_match("{ path: { type: RegularExpression, value: \"/a(\" } }"),
        &["httpRoutes[0].rules[0].matches[0].path.value: regex does not compile: unclosed group"],
    );
    rejects(
        &with_match("{ headers: [{ name: x-a, type: RegularExpression, value: \"[\" }] }"),
        &["httpRoutes[0].rules[0].matches[0].headers[0].value: regex does not compile: unclosed character class"],
    );
    let config = parse(&with_match("{ path: { type: RegularExpression, value: \"/v[0-9]+\" } }")).expect("valid");
    let crate::RuleAction::Forward(_) = &config.http_routes[0].rules[0].action else { panic!() };
    let crate::PathMatch::Regex(re) = &config.http_routes[0].rules[0].matches[0].path else { panic!() };
    assert!(re.is_match("/v12") && !re.is_match("/v12/x"));
}

#[test]
fn header_names_are_tokens() {
    rejects(
        &with_match("{ headers: [{ name: \"x canary\", value: \"1\" }] }"),
        &["httpRoutes[0].rules[0].matches[0].headers[0].name: invalid header name \"x canary\": must be an HTTP token (letters, digits, !#$%&'*+-.^_`|~)"],
    );
    rejects(
        &with_match("{ headers: [{ name: x-a, type: Present, value: \"1\" }, { name: x-b }] }"),
        &[
            "httpRoutes[0].rules[0].matches[0].headers[0].value: must be absent for type Present",
            "httpRoutes[0].rules[0].matches[0].headers[1].value: required for type Exact",
        ],
    );
}

fn with_rule(rule: &str) -> String {
    BASE.replace("      - backendRefs: [{ name: c }]\n", rule)
}

#[test]
fn redirect_and_direct_response_codes() {
    let redirect = "      - filters: [{ type: RequestRedirect, requestRedirect: { statusCode: 304 } }]\n";
    rejects(
        &with_rule(redirect),
        &["httpRoutes[0].rules[0].filters[0].requestRedirect.statusCode: status code 304 is not a redirect (301, 302, 303, 307 or 308)"],
    );
    assert!(errors(&with_rule(&redirect.replace("304", "301"))).is_empty());
    let direct = "      - directResponse: { status: 700 }\n";
    rejects(
        &with_rule(direct),
        &["httpRoutes[0].rules[0].directResponse.status: status 700 out of range 200..=599"],
    );
    assert!(errors(&with_rule(&direct.replace("700", "204"))).is_empty());
}

#[test]
fn a_rule_has_exactly_one_action() {
    rejects(
        &with_rule("      - matches: [{ method: GET }]\n"),
        &["httpRoutes[0].rules[0]: needs one of backendRefs, a RequestRedirect filter or directResponse"],
    );
    rejects(
        &with_rule("      - backendRefs: [{ name: c }]\n        directResponse: { status: 200 }\n"),
        &["httpRoutes[0].rules[0]: backendRefs and directResponse are exclusive; keep one"],
    );
}

#[test]
fn filters_carry_the_field_their_type_names() {
    let f = "      - filters: [{ type: RequestHeaderModifier, requestRedirect: {} }]\n        backendRefs: [{ name: c }]\n";
    rejects(
        &with_rule(f),
        &[
            "httpRoutes[0].rules[0].filters[0].requestHeaderModifier: required for type RequestHeaderModifier",
            "httpRoutes[0].rules[0].filters[0].requestRedirect: not allowed for type RequestHeaderModifier",
        ],
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
        &BASE.replace("protocol: HTTP }", "protocol: HTTPS, tls: { mode: Passthrough } }"),
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
    let config = parse(&BASE.replace("protocol: HTTP }", "protocol: HTTPS, tls: { certificates: [{ certFile: a.crt, keyFile: a.key }] } }"))
        .expect("valid");
    let tls = config.listeners[0].tls.as_ref().expect("tls");
    assert_eq!(tls.mode, crate::kinds::TlsMode::Terminate);
}

#[test]
fn hash_on_exactly_for_hashing_policies() {
    rejects(
        &BASE.replace("  - name: c\n", "  - name: c\n    lbPolicy: RingHash\n"),
        &["clusters[0].hashOn: required for lbPolicy RingHash"],
    );
    rejects(
        &BASE.replace("  - name: c\n", "  - name: c\n    hashOn: { header: x-user }\n"),
        &["clusters[0].hashOn: only allowed with lbPolicy RingHash or Maglev, not RoundRobin"],
    );
    rejects(
        &BASE.replace("  - name: c\n", "  - name: c\n    lbPolicy: Maglev\n    hashOn: { header: x-user, cookie: sid }\n"),
        &["clusters[0].hashOn: set exactly one of header, cookie or sourceIp"],
    );
    let ok = parse(&BASE.replace("  - name: c\n", "  - name: c\n    lbPolicy: Maglev\n    hashOn: { sourceIp: true }\n")).expect("valid");
    assert_eq!(ok.clusters[0].hash_on, Some(crate::HashOn::SourceIp));
}

#[test]
fn retries_are_bounded() {
    let rule = "      - backendRefs: [{ name: c }]\n        retry: { attempts: 11, budgetPercent: 101 }\n";
    rejects(
        &with_rule(rule),
        &[
            "httpRoutes[0].rules[0].retry.attempts: attempts 11 out of range 0..=10",
            "httpRoutes[0].rules[0].retry.budgetPercent: budgetPercent 101 out of range 0..=100",
        ],
    );
    let ok = parse(&with_rule(&rule.replace("attempts: 11, budgetPercent: 101", "attempts: 2"))).expect("valid");
    let retry = ok.http_routes[0].rules[0].retry.as_ref().expect("retry");
    assert_eq!((retry.attempts, retry.budget_percent, retry.retry_on.len()), (2, 20, 2));
}

#[test]
fn durations_parse_and_are_positive() {
    let rule = "      - backendRefs: [{ name: c }]\n        timeouts: { request: 0s, backendRequest: 5 }\n        retry: { perTryTimeout: 1.5s }\n";
    rejects(
        &with_rule(rule),
        &[
            "httpRoutes[0].rules[0].timeouts.request: duration must be greater than 0",
            "httpRoutes[0].rules[0].timeouts.backendRequest: invalid duration \"5\": expected an integer and a unit (ms, s, m, h), e.g. \"250ms\"",
            "httpRoutes[0].rules[0].retry.perTryTimeout: invalid duration \"1.5s\": expected an integer and a unit (ms, s, m, h), e.g. \"250ms\"",
        ],
    );
    rejects(
        &with_rule("      - backendRefs: [{ name: c }]\n        timeouts: { request: 1s, backendRequest: 2s }\n"),
        &["httpRoutes[0].rules[0].timeouts.backendRequest: 2s exceeds the request timeout 1s"],
    );
    rejects(
        &BASE.replace("  - name: c\n", "  - name: c\n    connectTimeout: 0ms\n"),
        &["clusters[0].connectTimeout: duration must be greater than 0"],
    );
}
