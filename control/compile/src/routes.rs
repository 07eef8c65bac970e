//! HTTP route rules → route records, and the order a worker tries them in.
//!
//! Each (rule, match) pair becomes one [`Route`] record, as in Envoy: a rule whose matches are
//! ORed is several records with the same action. Its matches, weighted backends and header
//! modifications are pushed once; virtual hosts then hold copies of the 96-byte record, sharing
//! those ranges.
//!
//! Within a virtual host a worker takes the first record that matches, so records are sorted by
//! [`Precedence`], the Gateway API order: exact path, then regular expression (config order, as
//! Envoy Gateway does), then prefix, longest first; then a method match; then more header
//! matches; then more query matches; ties keep config order.

use std::cmp::Reverse;

use strait_config::{
    Filter, HeaderModifier, HttpRoute, PathMatch as ConfigPath, RouteMatch, Rule, RuleAction,
    StringMatch, kinds,
};
use strait_table::{
    HeaderMod, HeaderOp, ImageBuilder, Match, MatchKind, MatchTarget, ModDirection, PathMatch,
    Range, Route, RouteAction, RouteBackend, StrRef, method, retry_flags, retry_on,
};

use crate::clusters::saturating_ms;

/// Sort key of a route record: smaller sorts first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Precedence {
    /// 0 exact, 1 regex, 2 prefix.
    class: u8,
    /// Longer paths first (only prefixes differ here).
    path_len: Reverse<usize>,
    /// A method match first.
    no_method: bool,
    /// More header matches first.
    headers: Reverse<usize>,
    /// More query matches first.
    queries: Reverse<usize>,
}

/// The precedence of one match.
pub fn precedence(m: &RouteMatch) -> Precedence {
    let (class, len) = match &m.path {
        ConfigPath::Exact(p) => (0, p.len()),
        ConfigPath::Regex(_) => (1, 0),
        ConfigPath::Prefix(p) => (2, p.len()),
    };
    Precedence {
        class,
        path_len: Reverse(len),
        no_method: m.method.is_none(),
        headers: Reverse(m.headers.len()),
        queries: Reverse(m.query_params.len()),
    }
}

/// A compiled route record and where it sorts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Compiled {
    pub(crate) key: Precedence,
    pub(crate) route: Route,
}

/// Compiles every rule of an HTTP route; records come out in config order.
pub(crate) fn compile(b: &mut ImageBuilder, r: &HttpRoute) -> Vec<Compiled> {
    let name = b.string(r.name.as_str());
    let mut out = Vec::new();
    for rule in &r.rules {
        let base = action(b, name, rule);
        let default_match;
        let matches: &[RouteMatch] = if rule.matches.is_empty() {
            default_match = [RouteMatch {
                path: ConfigPath::Prefix("/".into()),
                headers: vec![],
                query_params: vec![],
                method: None,
            }];
            &default_match
        } else {
            &rule.matches
        };
        for m in matches {
            let mut route = base;
            let (kind, path) = match &m.path {
                ConfigPath::Exact(p) => (PathMatch::Exact, p.as_str()),
                ConfigPath::Prefix(p) if p == "/" => (PathMatch::Any, ""),
                ConfigPath::Prefix(p) => (PathMatch::Prefix, p.as_str()),
                ConfigPath::Regex(re) => (PathMatch::Regex, re.as_str()),
            };
            route.path_kind = kind.code();
            route.path = b.string(path);
            route.method_mask = m.method.map_or(0, method_bit);
            route.matches = matches_of(b, m);
            out.push(Compiled {
                key: precedence(m),
                route,
            });
        }
    }
    out
}

/// The part of a record shared by every match of a rule: action, backends, filters, policies.
fn action(b: &mut ImageBuilder, name: StrRef, rule: &Rule) -> Route {
    let mut route = Route {
        name,
        header_mods: header_mods(b, &rule.filters),
        ..Default::default()
    };
    match &rule.action {
        RuleAction::Forward(backends) => {
            route.action = RouteAction::Forward.code();
            let first = b.count::<RouteBackend>();
            for be in backends {
                b.push_route_backend(RouteBackend {
                    cluster: be.cluster as u32,
                    weight: be.weight,
                });
            }
            route.backends = b.range_from::<RouteBackend>(first);
        }
        RuleAction::Redirect(r) => {
            route.action = RouteAction::Redirect.code();
            route.redirect_status = r.status;
            route.redirect_scheme = b.string(match r.scheme {
                None => "",
                Some(kinds::Scheme::Http) => "http",
                Some(kinds::Scheme::Https) => "https",
            });
            route.redirect_host = b.string(r.hostname.as_ref().map_or("", |h| h.as_str()));
            route.redirect_path = b.string(r.path.as_deref().unwrap_or(""));
            route.redirect_port = r.port.unwrap_or(0);
        }
        RuleAction::DirectResponse(d) => {
            route.action = RouteAction::Direct.code();
            route.direct_status = d.status;
            route.direct_body = b.string(&d.body);
        }
    }
    route.timeout_ms = rule
        .timeouts
        .request
        .map_or(0, |d| saturating_ms(d.as_millis()));
    route.per_try_timeout_ms = rule
        .timeouts
        .backend_request
        .map_or(0, |d| saturating_ms(d.as_millis()));
    if let Some(retry) = &rule.retry {
        route.retry_attempts = u8::try_from(retry.attempts).unwrap_or(u8::MAX);
        if let Some(d) = retry.per_try_timeout {
            route.per_try_timeout_ms = saturating_ms(d.as_millis());
        }
        route.retry_on = retry
            .retry_on
            .iter()
            .fold(0, |bits, r| bits | retry_bit(*r));
        if retry.allow_non_idempotent {
            route.retry_flags |= retry_flags::ALLOW_NON_IDEMPOTENT;
        }
        route.retry_budget_percent = u8::try_from(retry.budget_percent.min(100)).unwrap_or(100);
    }
    route
}

fn matches_of(b: &mut ImageBuilder, m: &RouteMatch) -> Range {
    let first = b.count::<Match>();
    let headers = m.headers.iter().map(|h| {
        (
            MatchTarget::Header,
            h.name.as_str().to_ascii_lowercase(),
            &h.value,
        )
    });
    let queries = m
        .query_params
        .iter()
        .map(|q| (MatchTarget::Query, q.name.clone(), &q.value));
    for (target, name, value) in headers.chain(queries) {
        let (kind, value) = match value {
            StringMatch::Exact(v) => (MatchKind::Exact, v.as_str()),
            StringMatch::Prefix(v) => (MatchKind::Prefix, v.as_str()),
            StringMatch::Regex(re) => (MatchKind::Regex, re.as_str()),
            StringMatch::Present => (MatchKind::Present, ""),
        };
        let rec = Match {
            name: b.string(&name),
            value: b.string(value),
            target: target.code(),
            kind: kind.code(),
            ..Default::default()
        };
        b.push_match(rec);
    }
    b.range_from::<Match>(first)
}

fn header_mods(b: &mut ImageBuilder, filters: &[Filter]) -> Range {
    let first = b.count::<HeaderMod>();
    for f in filters {
        let (direction, m): (ModDirection, &HeaderModifier) = match f {
            Filter::RequestHeaderModifier(m) => (ModDirection::Request, m),
            Filter::ResponseHeaderModifier(m) => (ModDirection::Response, m),
        };
        let ops = m
            .set
            .iter()
            .map(|h| (HeaderOp::Set, h.name.as_str(), h.value.as_str()));
        let ops = ops.chain(
            m.add
                .iter()
                .map(|h| (HeaderOp::Add, h.name.as_str(), h.value.as_str())),
        );
        let ops = ops.chain(m.remove.iter().map(|n| (HeaderOp::Remove, n.as_str(), "")));
        for (op, name, value) in ops {
            let rec = HeaderMod {
                name: b.string(&name.to_ascii_lowercase()),
                value: b.string(value),
                direction: direction.code(),
                op: op.code(),
                ..Default::default()
            };
            b.push_header_mod(rec);
        }
    }
    b.range_from::<HeaderMod>(first)
}

fn method_bit(m: kinds::Method) -> u16 {
    use kinds::Method as M;
    match m {
        M::Get => method::GET,
        M::Head => method::HEAD,
        M::Post => method::POST,
        M::Put => method::PUT,
        M::Delete => method::DELETE,
        M::Connect => method::CONNECT,
        M::Options => method::OPTIONS,
        M::Trace => method::TRACE,
        M::Patch => method::PATCH,
    }
}

fn retry_bit(r: kinds::RetryOn) -> u8 {
    use kinds::RetryOn as R;
    match r {
        R::ConnectFailure => retry_on::CONNECT_FAILURE,
        R::RefusedStream => retry_on::REFUSED_STREAM,
        R::Reset => retry_on::RESET,
        R::Status5xx => retry_on::STATUS_5XX,
        R::GatewayError => retry_on::GATEWAY_ERROR,
        R::PerTryTimeout => retry_on::PER_TRY_TIMEOUT,
    }
}
