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
                PathMatchType::Exact => path_value(errs, &here, &p.value)
                    .map(|v| PathMatch::Exact(v.to_owned())),
                PathMatchType::PathPrefix => path_value(errs, &here, &p.value)
                    .map(|v| PathMatch::Prefix(v.to_owned())),
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
        errs.at(at, format!("path {v:?} must not contain whitespace or control characters"));
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
            errs.at(&value_at, "must be absent for type Present");
            None
        }
        (_, None) => {
            errs.at(&value_at, format!("required for type {kind:?}"));
            None
        }
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
            let reason = "must be set to RequestHeaderModifier, ResponseHeaderModifier or RequestRedirect";
            errs.at(&here.field("type"), reason);
            continue;
        };
        let slot = kind as usize;
        if let Some(prev) = first[slot] {
            errs.at(&here.field("type"), format!("duplicate {kind:?} filter (first at filters[{prev}])"));
        }
        first[slot].get_or_insert(k);
        let fields: [(&'static str, bool, FilterType); 3] = [
            ("requestHeaderModifier", f.request_header_modifier.is_some(), FilterType::RequestHeaderModifier),
            ("responseHeaderModifier", f.response_header_modifier.is_some(), FilterType::ResponseHeaderModifier),
            ("requestRedirect", f.request_redirect.is_some(), FilterType::RequestRedirect),
        ];
        for (field, set, owner) in fields {
            if set && owner != kind {
                errs.at(&here.field(field), format!("not allowed for type {kind:?}"));
            } else if !set && owner == kind {
                errs.at(&here.field(field), format!("required for type {kind:?}"));
            }
        }
        match (kind, f) {
            (FilterType::RequestHeaderModifier, RawFilter { request_header_modifier: Some(m), .. }) => {
                let m = modifier(errs, &here.field("requestHeaderModifier"), m);
                out.push(Filter::RequestHeaderModifier(m));
            }
            (FilterType::ResponseHeaderModifier, RawFilter { response_header_modifier: Some(m), .. }) => {
                let m = modifier(errs, &here.field("responseHeaderModifier"), m);
                out.push(Filter::ResponseHeaderModifier(m));
            }
            (FilterType::RequestRedirect, RawFilter { request_redirect: Some(r), .. }) => {
                redirect.get_or_insert((k, r));
            }
            _ => {}
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
