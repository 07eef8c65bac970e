//! HTTP routes: listeners, hostnames, and for each rule exactly one action (backendRefs, a
//! RequestRedirect filter, or directResponse) plus its timeouts and retry policy.

use crate::error::{Errors, Loc};
use crate::kinds::{ListenerProtocol, RetryOn, TlsMode};
use crate::model::{DirectResponse, HttpRoute, Redirect, RetryPolicy, Rule, RuleAction, Timeouts};
use crate::names::{Hostname, Name};
use crate::raw::{RawDirectResponse, RawHttpRoute, RawRedirect, RawRetry, RawRule, RawTimeouts};

use super::matches::{filters, path_value, route_match};
use super::stream::hostnames;
use super::{Refs, duration_or, port};

/// Most retries a rule may ask for.
pub const MAX_RETRY_ATTEMPTS: u32 = 10;

/// Retry budget when none is given, percent of active requests.
pub const DEFAULT_RETRY_BUDGET_PERCENT: u32 = 20;

/// Status codes a redirect may use.
pub const REDIRECT_CODES: [u16; 5] = [301, 302, 303, 307, 308];

fn http_parent(p: ListenerProtocol, _: TlsMode) -> bool {
    matches!(p, ListenerProtocol::Http | ListenerProtocol::Https)
}

/// Validates every HTTP route, taking the validated form from `reused` (empty, or one entry
/// per route) where it is known.
pub(crate) fn routes(
    errs: &mut Errors,
    refs: &Refs<'_>,
    raw: &[RawHttpRoute],
    reused: Vec<Option<HttpRoute>>,
) -> Vec<HttpRoute> {
    let root = Loc::Root;
    let list = root.field("httpRoutes");
    let mut out = Vec::with_capacity(raw.len());
    let mut reused = reused.into_iter();
    for (i, r) in raw.iter().enumerate() {
        if let Some(route) = reused.next().flatten() {
            out.push(route);
            continue;
        }
        let at = list.index(i);
        let need = "httpRoutes need an HTTP or HTTPS listener";
        let listeners = refs.parents(
            errs,
            &at.field("parentRefs"),
            &r.parent_refs,
            http_parent,
            need,
        );
        let hostnames = hostnames(errs, &at.field("hostnames"), &r.hostnames);
        let rules_at = at.field("rules");
        if r.rules.is_empty() {
            errs.at(&rules_at, "must have at least one rule");
        }
        let mut rules = Vec::with_capacity(r.rules.len());
        for (j, raw_rule) in r.rules.iter().enumerate() {
            if let Some(rule) = rule(errs, refs, &rules_at.index(j), raw_rule) {
                rules.push(rule);
            }
        }
        if let Ok(name) = Name::new(&r.name) {
            out.push(HttpRoute {
                name,
                listeners,
                hostnames,
                rules,
            });
        }
    }
    out
}

fn rule(errs: &mut Errors, refs: &Refs<'_>, at: &Loc<'_>, r: &RawRule) -> Option<Rule> {
    let matches_at = at.field("matches");
    let mut matches = Vec::with_capacity(r.matches.len());
    for (k, m) in r.matches.iter().enumerate() {
        matches.extend(route_match(errs, &matches_at.index(k), m));
    }
    let (filters, redirect) = filters(errs, &at.field("filters"), &r.filters);

    // Check every action that is present, then insist on exactly one.
    let forward = (!r.backend_refs.is_empty())
        .then(|| refs.backends(errs, &at.field("backendRefs"), &r.backend_refs));
    let redirect = redirect.map(|(k, rr)| {
        let here = at.field("filters");
        let here = here.index(k);
        redirect_of(errs, &here.field("requestRedirect"), rr)
    });
    let direct = r
        .direct_response
        .as_ref()
        .map(|d| direct(errs, &at.field("directResponse"), d));
    let action = match (forward, redirect, direct) {
        (Some(backends), None, None) => Some(RuleAction::Forward(backends)),
        (None, Some(redirect), None) => redirect.map(RuleAction::Redirect),
        (None, None, Some(direct)) => direct.map(RuleAction::DirectResponse),
        (None, None, None) => {
            errs.at(
                at,
                "needs one of backendRefs, a RequestRedirect filter or directResponse",
            );
            None
        }
        (f, rd, d) => {
            let present = [
                f.map(|_| "backendRefs"),
                rd.map(|_| "a RequestRedirect filter"),
                d.map(|_| "directResponse"),
            ];
            let present: Vec<&str> = present.into_iter().flatten().collect();
            errs.at(
                at,
                format!("{} are exclusive; keep one", present.join(" and ")),
            );
            None
        }
    };
    let timeouts = r
        .timeouts
        .as_ref()
        .map(|t| timeouts(errs, &at.field("timeouts"), t))
        .unwrap_or_default();
    let retry = r
        .retry
        .as_ref()
        .map(|rt| retry(errs, &at.field("retry"), rt));
    if retry.is_some() && r.backend_refs.is_empty() {
        errs.at(&at.field("retry"), "only applies to rules with backendRefs");
    }
    Some(Rule {
        matches,
        filters,
        action: action?,
        timeouts,
        retry,
    })
}

fn redirect_of(errs: &mut Errors, at: &Loc<'_>, r: &RawRedirect) -> Option<Redirect> {
    let hostname = r.hostname.as_deref().and_then(|h| {
        Hostname::new_exact(h)
            .map_err(|e| errs.at(&at.field("hostname"), e))
            .ok()
    });
    let path = r
        .path
        .as_deref()
        .and_then(|p| path_value(errs, &at.field("path"), p).map(str::to_owned));
    let port = r.port.and_then(|p| port(errs, &at.field("port"), p));
    let code = r.status_code.unwrap_or(302);
    let status = u16::try_from(code)
        .ok()
        .filter(|c| REDIRECT_CODES.contains(c));
    if status.is_none() {
        let reason = format!("status code {code} is not a redirect (301, 302, 303, 307 or 308)");
        errs.at(&at.field("statusCode"), reason);
    }
    Some(Redirect {
        scheme: r.scheme,
        hostname,
        path,
        port,
        status: status?,
    })
}

fn direct(errs: &mut Errors, at: &Loc<'_>, d: &RawDirectResponse) -> Option<DirectResponse> {
    let status = u16::try_from(d.status)
        .ok()
        .filter(|s| (200..=599).contains(s));
    if status.is_none() {
        errs.at(
            &at.field("status"),
            format!("status {} out of range 200..=599", d.status),
        );
    }
    Some(DirectResponse {
        status: status?,
        body: d.body.clone(),
    })
}

fn timeouts(errs: &mut Errors, at: &Loc<'_>, t: &RawTimeouts) -> Timeouts {
    let request = duration_or(errs, &at.field("request"), t.request.as_deref(), None);
    let backend = at.field("backendRequest");
    let backend_request = duration_or(errs, &backend, t.backend_request.as_deref(), None);
    if let (Some(req), Some(be)) = (request, backend_request)
        && be > req
    {
        errs.at(&backend, format!("{be} exceeds the request timeout {req}"));
    }
    Timeouts {
        request,
        backend_request,
    }
}

fn retry(errs: &mut Errors, at: &Loc<'_>, r: &RawRetry) -> RetryPolicy {
    if r.attempts > MAX_RETRY_ATTEMPTS {
        let reason = format!(
            "attempts {} out of range 0..={MAX_RETRY_ATTEMPTS}",
            r.attempts
        );
        errs.at(&at.field("attempts"), reason);
    }
    let per_try_timeout = duration_or(
        errs,
        &at.field("perTryTimeout"),
        r.per_try_timeout.as_deref(),
        None,
    );
    let budget_percent = r.budget_percent.unwrap_or(DEFAULT_RETRY_BUDGET_PERCENT);
    if budget_percent > 100 {
        let reason = format!("budgetPercent {budget_percent} out of range 0..=100");
        errs.at(&at.field("budgetPercent"), reason);
    }
    let mut retry_on = r.retry_on.clone();
    if retry_on.is_empty() {
        retry_on = vec![RetryOn::ConnectFailure, RetryOn::RefusedStream];
    }
    RetryPolicy {
        attempts: r.attempts,
        per_try_timeout,
        retry_on,
        allow_non_idempotent: r.allow_non_idempotent,
        budget_percent,
    }
}
