//! HTTP route rules: references, weights, hostnames, matches, filters, actions, retries and
//! timeouts.

use super::{BASE, errors, rejects};
use crate::parse;

#[test]
fn backend_refs_name_clusters() {
    rejects(
        &BASE.replace(
            "backendRefs: [{ name: c }]",
            "backendRefs: [{ name: c }, { name: shop-v3 }]",
        ),
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
    let l4 = format!("{BASE}{}", super::upstream::L4)
        .replace("weight: 2", "weight: 0")
        .replace(
            "{ address: 198.18.1.2 }",
            "{ address: 198.18.1.2, weight: 0 }",
        );
    rejects(
        &l4,
        &["l4Services[0].backends: at least one backend needs a non-zero weight"],
    );
}

#[test]
fn hostnames_allow_only_a_leading_wildcard() {
    let with = |h: &str| {
        BASE.replace(
            "parentRefs: [web]",
            &format!("parentRefs: [web]\n    hostnames: [\"{h}\"]"),
        )
    };
    assert!(errors(&with("*.shop.example")).is_empty());
    rejects(
        &with("shop.*.example"),
        &[
            "httpRoutes[0].hostnames[0]: invalid hostname \"shop.*.example\": '*' is only allowed as a leading \"*.\"",
        ],
    );
    rejects(
        &with("Shop.example"),
        &["httpRoutes[0].hostnames[0]: invalid hostname \"Shop.example\": must be lowercase"],
    );
}

fn with_match(m: &str) -> String {
    BASE.replace(
        "      - backendRefs:",
        &format!("      - matches: [{m}]\n        backendRefs:"),
    )
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
        &[
            "httpRoutes[0].rules[0].matches[0].headers[0].value: regex does not compile: unclosed character class",
        ],
    );
    let config = parse(&with_match(
        "{ path: { type: RegularExpression, value: \"/v[0-9]+\" } }",
    ))
    .expect("valid");
    let crate::RuleAction::Forward(_) = &config.http_routes[0].rules[0].action else {
        panic!()
    };
    let crate::PathMatch::Regex(re) = &config.http_routes[0].rules[0].matches[0].path else {
        panic!()
    };
    assert!(re.is_match("/v12") && !re.is_match("/v12/x"));
}

#[test]
fn header_names_are_tokens() {
    rejects(
        &with_match("{ headers: [{ name: \"x canary\", value: \"1\" }] }"),
        &[
            "httpRoutes[0].rules[0].matches[0].headers[0].name: invalid header name \"x canary\": must be an HTTP token (letters, digits, !#$%&'*+-.^_`|~)",
        ],
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
    let redirect =
        "      - filters: [{ type: RequestRedirect, requestRedirect: { statusCode: 304 } }]\n";
    rejects(
        &with_rule(redirect),
        &[
            "httpRoutes[0].rules[0].filters[0].requestRedirect.statusCode: status code 304 is not a redirect (301, 302, 303, 307 or 308)",
        ],
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
        &[
            "httpRoutes[0].rules[0]: needs one of backendRefs, a RequestRedirect filter or directResponse",
        ],
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
fn filters_are_typed_unique_and_clean() {
    let f = "      - filters:
          - { requestHeaderModifier: {} }
          - type: RequestHeaderModifier
            requestHeaderModifier: { set: [{ name: x-a, value: \"a\\r\\nb\" }], remove: [\"bad name\"] }
          - { type: RequestHeaderModifier, requestHeaderModifier: {} }
        backendRefs: [{ name: c }]
";
    rejects(
        &with_rule(f),
        &[
            "httpRoutes[0].rules[0].filters[0].type: must be set to RequestHeaderModifier, ResponseHeaderModifier or RequestRedirect",
            "httpRoutes[0].rules[0].filters[1].requestHeaderModifier.remove[0]: invalid header name \"bad name\": must be an HTTP token (letters, digits, !#$%&'*+-.^_`|~)",
            "httpRoutes[0].rules[0].filters[1].requestHeaderModifier.set[0].value: must not contain control characters",
            "httpRoutes[0].rules[0].filters[2].type: duplicate RequestHeaderModifier filter (first at filters[1])",
        ],
    );
}

#[test]
fn retries_are_bounded() {
    let rule =
        "      - backendRefs: [{ name: c }]\n        retry: { attempts: 11, budgetPercent: 101 }\n";
    rejects(
        &with_rule(rule),
        &[
            "httpRoutes[0].rules[0].retry.attempts: attempts 11 out of range 0..=10",
            "httpRoutes[0].rules[0].retry.budgetPercent: budgetPercent 101 out of range 0..=100",
        ],
    );
    let ok = parse(&with_rule(
        &rule.replace("attempts: 11, budgetPercent: 101", "attempts: 2"),
    ))
    .expect("valid");
    let retry = ok.http_routes[0].rules[0].retry.as_ref().expect("retry");
    assert_eq!(
        (retry.attempts, retry.budget_percent, retry.retry_on.len()),
        (2, 20, 2)
    );
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
        &with_rule(
            "      - backendRefs: [{ name: c }]\n        timeouts: { request: 1s, backendRequest: 2s }\n",
        ),
        &["httpRoutes[0].rules[0].timeouts.backendRequest: 2s exceeds the request timeout 1s"],
    );
    rejects(
        &BASE.replace("  - name: c\n", "  - name: c\n    connectTimeout: 0ms\n"),
        &["clusters[0].connectTimeout: duration must be greater than 0"],
    );
}
