//! HTTP rule matches (path, headers, query parameters, method) and filters.
//!
//! Regular expressions are compiled here, once, and carried in the model as [`RouteRegex`] so
//! the router never compiles them again.

use crate::error::{Errors, Loc};
use crate::kinds::{FilterType, PathMatchType, ValueMatchType};
use crate::model::{
    Filter, Header, HeaderMatch, HeaderModifier, PathMatch, QueryParamMatch, RouteMatch,
    RouteRegex, StringMatch,
};
use crate::names::HeaderName;
use crate::raw::{RawFilter, RawHeader, RawHeaderModifier, RawMatch, RawRedirect, RawValueMatch};

/// Checks one match; a missing path means `PathPrefix /`.
pub(crate) fn route_match(errs: &mut Errors, at: &Loc<'_>, m: &RawMatch) -> Option<RouteMatch> {
    let path = match &m.path {
        None => Some(PathMatch::Prefix("/".to_owned())),
        Some(p) => {
            let here = at.field("path");
            let here = here.field("value");
            match p.kind.unwrap_or_default() {
                PathMatchType::Exact => {
                    path_value(errs, &here, &p.value).map(|v| PathMatch::Exact(v.to_owned()))
                }
                PathMatchType::PathPrefix => {
                    path_value(errs, &here, &p.value).map(|v| PathMatch::Prefix(v.to_owned()))
                }
                PathMatchType::RegularExpression => {
                    regex(errs, &here, &p.value).map(PathMatch::Regex)
                }
            }
        }
    };
    let headers_at = at.field("headers");
    let mut headers = Vec::with_capacity(m.headers.len());
    for (k, h) in m.headers.iter().enumerate() {
        let here = headers_at.index(k);
        let name = HeaderName::new(&h.name).map_err(|e| errs.at(&here.field("name"), e));
        if let (Ok(name), Some(value)) = (name, string_match(errs, &here, h)) {
            headers.push(HeaderMatch { name, value });
        }
    }
    let query_at = at.field("queryParams");
    let mut query_params = Vec::with_capacity(m.query_params.len());
    for (k, q) in m.query_params.iter().enumerate() {
        let here = query_at.index(k);
        if q.name.is_empty() {
            errs.at(&here.field("name"), "must not be empty");
        }
        if let Some(value) = string_match(errs, &here, q) {
            let name = q.name.clone();
            query_params.push(QueryParamMatch { name, value });
        }
    }
    Some(RouteMatch {
        path: path?,
        headers,
        query_params,
        method: m.method,
    })
}

/// A literal path: starts with `/`, no whitespace or control characters.
pub(crate) fn path_value<'v>(errs: &mut Errors, at: &Loc<'_>, v: &'v str) -> Option<&'v str> {
    if !v.starts_with('/') {
        errs.at(at, format!("path {v:?} must start with '/'"));
        None
    } else if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        errs.at(
            at,
            format!("path {v:?} must not contain whitespace or control characters"),
        );
        None
    } else {
        Some(v)
    }
}

fn string_match(errs: &mut Errors, at: &Loc<'_>, m: &RawValueMatch) -> Option<StringMatch> {
    let kind = m.kind.unwrap_or_default();
    let value_at = at.field("value");
    match (kind, m.value.as_deref()) {
        (ValueMatchType::Present, None) => Some(StringMatch::Present),
        (ValueMatchType::Present, Some(_)) => {
            errs.fail(&value_at, "must be absent for type Present")
        }
        (_, None) => errs.fail(&value_at, format!("required for type {kind:?}")),
        (ValueMatchType::Exact, Some(v)) => Some(StringMatch::Exact(v.to_owned())),
        (ValueMatchType::Prefix, Some(v)) => Some(StringMatch::Prefix(v.to_owned())),
        (ValueMatchType::RegularExpression, Some(v)) => {
            regex(errs, &value_at, v).map(StringMatch::Regex)
        }
    }
}

fn regex(errs: &mut Errors, at: &Loc<'_>, source: &str) -> Option<RouteRegex> {
    match RouteRegex::new(source) {
        Ok(r) => Some(r),
        Err(e) => {
            // Syntax errors render as several lines ending in "error: <what>"; keep that line.
            let text = e.to_string();
            let what = text.lines().last().unwrap_or_default();
            let what = what.trim().trim_start_matches("error: ");
            errs.at(at, format!("regex does not compile: {what}"));
            None
        }
    }
}

/// The settings field of each filter type, in `FilterType` order.
const FILTER_FIELDS: [&str; 3] = [
    "requestHeaderModifier",
    "responseHeaderModifier",
    "requestRedirect",
];

/// Checks the filters of a rule; returns the header modifiers and the redirect, if any, with
/// its index (for error paths).
pub(crate) fn filters<'r>(
    errs: &mut Errors,
    at: &Loc<'_>,
    raw: &'r [RawFilter],
) -> (Vec<Filter>, Option<(usize, &'r RawRedirect)>) {
    let mut out = Vec::with_capacity(raw.len());
    let mut redirect = None;
    let mut first: [Option<usize>; 3] = [None; 3];
    for (k, f) in raw.iter().enumerate() {
        let here = at.index(k);
        let Some(kind) = f.kind else {
            let reason =
                "must be set to RequestHeaderModifier, ResponseHeaderModifier or RequestRedirect";
            errs.at(&here.field("type"), reason);
            continue;
        };
        // Index of the filter's own settings field in FILTER_FIELDS.
        let own = match kind {
            FilterType::RequestHeaderModifier => 0,
            FilterType::ResponseHeaderModifier => 1,
            FilterType::RequestRedirect => 2,
        };
        if let Some(prev) = first[own] {
            let reason = format!("duplicate {kind:?} filter (first at filters[{prev}])");
            errs.at(&here.field("type"), reason);
        }
        first[own].get_or_insert(k);
        let present = [
            f.request_header_modifier.is_some(),
            f.response_header_modifier.is_some(),
            f.request_redirect.is_some(),
        ];
        for (slot, (field, set)) in FILTER_FIELDS.into_iter().zip(present).enumerate() {
            if set && slot != own {
                errs.at(&here.field(field), format!("not allowed for type {kind:?}"));
            } else if !set && slot == own {
                errs.at(&here.field(field), format!("required for type {kind:?}"));
            }
        }
        let field = here.field(FILTER_FIELDS[own]);
        match kind {
            FilterType::RequestHeaderModifier => {
                let m = f.request_header_modifier.as_ref();
                out.extend(m.map(|m| Filter::RequestHeaderModifier(modifier(errs, &field, m))));
            }
            FilterType::ResponseHeaderModifier => {
                let m = f.response_header_modifier.as_ref();
                out.extend(m.map(|m| Filter::ResponseHeaderModifier(modifier(errs, &field, m))));
            }
            FilterType::RequestRedirect => {
                if let (None, Some(r)) = (redirect, &f.request_redirect) {
                    redirect = Some((k, r));
                }
            }
        }
    }
    (out, redirect)
}

fn modifier(errs: &mut Errors, at: &Loc<'_>, m: &RawHeaderModifier) -> HeaderModifier {
    let remove_at = at.field("remove");
    let mut remove = Vec::with_capacity(m.remove.len());
    for (n, name) in m.remove.iter().enumerate() {
        match HeaderName::new(name) {
            Ok(h) => remove.push(h),
            Err(e) => errs.at(&remove_at.index(n), e),
        }
    }
    HeaderModifier {
        set: headers(errs, &at.field("set"), &m.set),
        add: headers(errs, &at.field("add"), &m.add),
        remove,
    }
}

fn headers(errs: &mut Errors, at: &Loc<'_>, raw: &[RawHeader]) -> Vec<Header> {
    let mut out = Vec::with_capacity(raw.len());
    for (n, h) in raw.iter().enumerate() {
        let here = at.index(n);
        let name = HeaderName::new(&h.name).map_err(|e| errs.at(&here.field("name"), e));
        // RFC 9110 §5.5: visible characters, spaces and tabs; never CR, LF or NUL.
        let value_ok = h.value.bytes().all(|b| b == b'\t' || !b.is_ascii_control());
        if !value_ok {
            errs.at(&here.field("value"), "must not contain control characters");
        }
        if let (Ok(name), true) = (name, value_ok) {
            out.push(Header {
                name,
                value: h.value.clone(),
            });
        }
    }
    out
}
