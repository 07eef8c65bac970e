//! Raw HTTP routes (Gateway API `HTTPRoute`): rules of matches, filters and one action.

use serde::{Deserialize, Serialize};

use super::RawBackendRef;
use crate::kinds::{FilterType, Method, PathMatchType, RetryOn, Scheme, ValueMatchType};

/// HTTP routing for a set of hostnames on a set of listeners.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RawHttpRoute {
    /// Unique HTTP route name.
    pub name: String,
    /// Names of the `HTTP`/`HTTPS` listeners this route serves.
    pub parent_refs: Vec<String>,
    /// Hosts to match (`Host`/`:authority`), optionally with a leading `*.`; empty matches any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hostnames: Vec<String>,
    /// Rules, tried in order of match specificity by the router.
    pub rules: Vec<RawRule>,
}

/// One rule: if any match holds, apply the filters and then the action.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRule {
    /// Alternatives (OR); empty matches every request.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<RawMatch>,
    /// Header modifiers and at most one redirect.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<RawFilter>,
    /// Answer locally with this status and body (Strait extension).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direct_response: Option<RawDirectResponse>,
    /// Clusters to forward to, by weight.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub backend_refs: Vec<RawBackendRef>,
    /// Deadlines for the whole request and for each upstream try.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<RawTimeouts>,
    /// Retry policy for forwarded requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<RawRetry>,
}

/// Conditions that must all hold (AND).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RawMatch {
    /// Path condition; absent means `PathPrefix /`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<RawPathMatch>,
    /// Header conditions, all of which must hold.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<RawValueMatch>,
    /// Query parameter conditions, all of which must hold.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub query_params: Vec<RawValueMatch>,
    /// Request method to match; absent matches any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<Method>,
}

/// A path condition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RawPathMatch {
    /// `Exact`, `PathPrefix` (default) or `RegularExpression`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<PathMatchType>,
    /// Path starting with `/`, or a regular expression matched against the whole path.
    pub value: String,
}

/// A header or query parameter condition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RawValueMatch {
    /// Header or parameter name (headers: case-insensitive HTTP token).
    pub name: String,
    /// Value to compare with; must be absent for `Present`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `Exact` (default), `RegularExpression`, `Prefix` or `Present`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<ValueMatchType>,
}

/// A filter; exactly the field named by `type` must be set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RawFilter {
    /// Which filter this is. Required.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<FilterType>,
    /// Settings for `RequestHeaderModifier`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_header_modifier: Option<RawHeaderModifier>,
    /// Settings for `ResponseHeaderModifier`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_header_modifier: Option<RawHeaderModifier>,
    /// Settings for `RequestRedirect`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_redirect: Option<RawRedirect>,
}

/// Header edits, applied as remove, then set, then add.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RawHeaderModifier {
    /// Headers to overwrite (or create).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub set: Vec<RawHeader>,
    /// Headers to append.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<RawHeader>,
    /// Header names to delete.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
}

/// A header name and value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RawHeader {
    /// Header name (HTTP token).
    pub name: String,
    /// Header value (visible ASCII, spaces and tabs).
    pub value: String,
}

/// Redirect target; unset parts are kept from the request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRedirect {
    /// `http` or `https`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<Scheme>,
    /// Host to redirect to (no wildcard).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Replacement path, starting with `/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Port to redirect to, 1..=65535.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// 301, 302 (default), 303, 307 or 308.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u32>,
}

/// A locally generated response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RawDirectResponse {
    /// HTTP status, 200..=599.
    pub status: u32,
    /// Response body, sent as is.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub body: String,
}

/// Deadlines (durations like `15s`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RawTimeouts {
    /// From the first request byte to the last response byte, retries included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// For one upstream try; must not exceed `request`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend_request: Option<String>,
}

/// When and how often to retry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRetry {
    /// Retries after the first try, 0..=10.
    pub attempts: u32,
    /// Deadline of each try; absent means only the request timeout applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_try_timeout: Option<String>,
    /// Conditions that trigger a retry; empty means `connect-failure` and `refused-stream`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub retry_on: Vec<RetryOn>,
    /// Also retry methods that are not idempotent (POST, PATCH).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allow_non_idempotent: bool,
    /// Retries allowed as a percentage of active requests, 0..=100; default 20.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget_percent: Option<u32>,
}
