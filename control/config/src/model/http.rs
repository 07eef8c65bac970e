//! Validated HTTP routes: typed matches, filters and exactly one action per rule.

use std::fmt;

use crate::duration::Duration;
use crate::kinds::{Method, RetryOn, Scheme};
use crate::model::BackendRef;
use crate::names::{HeaderName, Hostname, Name};

/// HTTP routing for a set of hostnames on a set of listeners.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRoute {
    /// Unique name.
    pub name: Name,
    /// Indices into [`crate::Config::listeners`] (HTTP or HTTPS), non-empty.
    pub listeners: Vec<usize>,
    /// Hosts to match; empty matches any.
    pub hostnames: Vec<Hostname>,
    /// Rules in the order written.
    pub rules: Vec<Rule>,
}

/// One routing rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Alternatives (OR); empty matches every request.
    pub matches: Vec<RouteMatch>,
    /// Header modifiers, at most one of each kind.
    pub filters: Vec<Filter>,
    /// What to do with a matching request.
    pub action: RuleAction,
    /// Deadlines.
    pub timeouts: Timeouts,
    /// Retry policy (only meaningful for [`RuleAction::Forward`]).
    pub retry: Option<RetryPolicy>,
}

/// The single action of a rule.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleAction {
    /// Forward to weighted clusters (non-empty, at least one non-zero weight).
    Forward(Vec<BackendRef>),
    /// Answer with a redirect.
    Redirect(Redirect),
    /// Answer locally.
    DirectResponse(DirectResponse),
}

/// Conditions that must all hold.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteMatch {
    /// Path condition (`Prefix("/")` when none was written).
    pub path: PathMatch,
    /// Header conditions.
    pub headers: Vec<HeaderMatch>,
    /// Query parameter conditions.
    pub query_params: Vec<QueryParamMatch>,
    /// Method to match; `None` matches any.
    pub method: Option<Method>,
}

/// A path condition; literal paths start with `/`.
#[derive(Debug, Clone, PartialEq)]
pub enum PathMatch {
    /// The path equals this.
    Exact(String),
    /// The path starts with this on a segment boundary.
    Prefix(String),
    /// The whole path matches.
    Regex(RouteRegex),
}

/// How a header or query parameter value is compared.
#[derive(Debug, Clone, PartialEq)]
pub enum StringMatch {
    /// Equal to this.
    Exact(String),
    /// Starts with this.
    Prefix(String),
    /// The whole value matches.
    Regex(RouteRegex),
    /// Present with any value.
    Present,
}

/// A header condition.
#[derive(Debug, Clone, PartialEq)]
pub struct HeaderMatch {
    /// Header name (lowercase).
    pub name: HeaderName,
    /// Value condition.
    pub value: StringMatch,
}

/// A query parameter condition.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryParamMatch {
    /// Parameter name (case-sensitive, non-empty).
    pub name: String,
    /// Value condition.
    pub value: StringMatch,
}

/// A header-editing filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// Edit request headers before forwarding.
    RequestHeaderModifier(HeaderModifier),
    /// Edit response headers before returning them.
    ResponseHeaderModifier(HeaderModifier),
}

/// Header edits, applied as remove, then set, then add.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderModifier {
    /// Headers to overwrite.
    pub set: Vec<Header>,
    /// Headers to append.
    pub add: Vec<Header>,
    /// Headers to delete.
    pub remove: Vec<HeaderName>,
}

/// A header name and a value free of control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Name (lowercase).
    pub name: HeaderName,
    /// Value.
    pub value: String,
}

/// A redirect answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// New scheme, or keep.
    pub scheme: Option<Scheme>,
    /// New host, or keep.
    pub hostname: Option<Hostname>,
    /// New path (starts with `/`), or keep.
    pub path: Option<String>,
    /// New port (non-zero), or keep.
    pub port: Option<u16>,
    /// 301, 302, 303, 307 or 308.
    pub status: u16,
}

/// A local answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectResponse {
    /// Status, 200..=599.
    pub status: u16,
    /// Body.
    pub body: String,
}

/// Deadlines; `backend_request <= request` when both are set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timeouts {
    /// Whole request, retries included.
    pub request: Option<Duration>,
    /// One upstream try.
    pub backend_request: Option<Duration>,
}

/// Retry policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first try, 0..=10.
    pub attempts: u32,
    /// Deadline of each try.
    pub per_try_timeout: Option<Duration>,
    /// Conditions; never empty (defaults filled in).
    pub retry_on: Vec<RetryOn>,
    /// Whether non-idempotent methods may be retried.
    pub allow_non_idempotent: bool,
    /// Retry budget, percent of active requests, 0..=100.
    pub budget_percent: u32,
}

/// Compiled-size cap for one route regex, so a config cannot make the agent build a huge
/// automaton.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A regular expression matched against a whole value (it is compiled as `^(?:…)$`).
///
/// Equality compares the source text.
#[derive(Clone)]
pub struct RouteRegex {
    source: String,
    regex: regex::Regex,
}

impl RouteRegex {
    /// Compiles `source` anchored at both ends.
    pub fn new(source: &str) -> Result<RouteRegex, regex::Error> {
        let regex = regex::RegexBuilder::new(&format!("^(?:{source})$"))
            .size_limit(REGEX_SIZE_LIMIT)
            .build()?;
        Ok(RouteRegex {
            source: source.to_owned(),
            regex,
        })
    }

    /// Whether the whole of `value` matches.
    pub fn is_match(&self, value: &str) -> bool {
        self.regex.is_match(value)
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl PartialEq for RouteRegex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl fmt::Debug for RouteRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RouteRegex").field(&self.source).finish()
    }
}
