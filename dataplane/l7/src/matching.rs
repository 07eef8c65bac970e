//! The conditions of a route, as plain functions over request bytes: path, method, header and
//! query matches, and the pieces of a request target routing looks at.
//!
//! Invariants: matching never allocates and never panics on any input. Paths and values are
//! compared as received (no percent-decoding, no normalisation), case-sensitively; header names
//! case-insensitively. A regular expression always matches the whole value (the agent and the
//! worker both anchor it as `^(?:…)$`).

use regex::bytes::Regex;
use strait_http1::Fields;
use strait_table::{MatchKind, PathMatch};

/// The parts of a request target routing needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Target<'a> {
    /// The authority of an absolute-form target (`http://host:port/…`), without userinfo.
    pub(crate) authority: Option<&'a [u8]>,
    /// The path, `/` at least for origin and absolute forms; `*` for asterisk form.
    pub(crate) path: &'a [u8],
    /// What follows `?` (empty when there is none).
    pub(crate) query: &'a [u8],
}

/// Splits a request target; `target` has passed the parser, so it holds no whitespace or `#`.
pub(crate) fn split_target(target: &[u8]) -> Target<'_> {
    let (authority, rest) = match find(target, b"://") {
        Some(i) if target.first() != Some(&b'/') => {
            let after = &target[i + 3..];
            let end = after
                .iter()
                .position(|&b| b == b'/' || b == b'?')
                .unwrap_or(after.len());
            let authority = &after[..end];
            let authority = match authority.iter().rposition(|&b| b == b'@') {
                Some(at) => &authority[at + 1..],
                None => authority,
            };
            (Some(authority), &after[end..])
        }
        _ => (None, target),
    };
    let (path, query) = match rest.iter().position(|&b| b == b'?') {
        Some(q) => (&rest[..q], &rest[q + 1..]),
        None => (rest, &rest[rest.len()..]),
    };
    let path: &[u8] = if path.is_empty() { b"/" } else { path };
    Target {
        authority,
        path,
        query,
    }
}

/// The host part of `host[:port]` (brackets kept for an IPv6 literal), with one trailing dot
/// removed.
pub(crate) fn host_name(authority: &[u8]) -> &[u8] {
    let name = if authority.first() == Some(&b'[') {
        match authority.iter().position(|&b| b == b']') {
            Some(end) => &authority[..=end],
            None => authority,
        }
    } else {
        match authority.iter().position(|&b| b == b':') {
            Some(colon) => &authority[..colon],
            None => authority,
        }
    };
    name.strip_suffix(b".").unwrap_or(name)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Whether `path` satisfies a route's path condition. A prefix matches whole path elements
/// (`/api` matches `/api` and `/api/x`, not `/apix`); a trailing `/` of the prefix is ignored.
pub(crate) fn path_matches(
    kind: PathMatch,
    want: &str,
    regex: Option<&Regex>,
    path: &[u8],
) -> bool {
    match kind {
        PathMatch::Any => true,
        PathMatch::Exact => path == want.as_bytes(),
        PathMatch::Prefix => {
            let prefix = want.strip_suffix('/').unwrap_or(want).as_bytes();
            path.starts_with(prefix)
                && (path.len() == prefix.len() || path[prefix.len()] == b'/' || prefix.is_empty())
        }
        PathMatch::Regex => regex.is_some_and(|re| re.is_match(path)),
    }
}

/// Whether a value satisfies an exact, prefix, regex or presence condition.
pub(crate) fn value_matches(
    kind: MatchKind,
    want: &str,
    regex: Option<&Regex>,
    value: &[u8],
) -> bool {
    match kind {
        MatchKind::Exact => value == want.as_bytes(),
        MatchKind::Prefix => value.starts_with(want.as_bytes()),
        MatchKind::Regex => regex.is_some_and(|re| re.is_match(value)),
        MatchKind::Present => true,
    }
}

/// Whether any field named `name` satisfies the condition (presence: whether one exists).
pub(crate) fn header_matches(
    fields: &Fields,
    buf: &[u8],
    name: &str,
    kind: MatchKind,
    want: &str,
    regex: Option<&Regex>,
) -> bool {
    fields
        .get_all(buf, name.as_bytes())
        .any(|value| value_matches(kind, want, regex, value))
}

/// Whether any `name=value` pair of the query satisfies the condition. Names compare exactly;
/// a parameter without `=` has an empty value.
pub(crate) fn query_matches(
    query: &[u8],
    name: &str,
    kind: MatchKind,
    want: &str,
    regex: Option<&Regex>,
) -> bool {
    query
        .split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (&pair[..eq], &pair[eq + 1..]),
            None => (pair, &pair[pair.len()..]),
        })
        .any(|(n, v)| n == name.as_bytes() && value_matches(kind, want, regex, v))
}

/// The value of cookie `name` in the request's `Cookie` fields.
pub(crate) fn cookie<'b>(fields: &Fields, buf: &'b [u8], name: &str) -> Option<&'b [u8]> {
    fields
        .get_all(buf, b"cookie")
        .flat_map(|line| line.split(|&b| b == b';'))
        .map(|pair| pair.trim_ascii())
        .find_map(|pair| {
            let eq = pair.iter().position(|&b| b == b'=')?;
            (&pair[..eq] == name.as_bytes()).then(|| &pair[eq + 1..])
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_split_into_authority_path_and_query() {
        let t = split_target(b"/a/b?x=1&y");
        assert_eq!(
            (t.authority, t.path, t.query),
            (None, &b"/a/b"[..], &b"x=1&y"[..])
        );
        let t = split_target(b"http://u@Example.com:8080?q");
        assert_eq!(t.authority, Some(&b"Example.com:8080"[..]));
        assert_eq!((t.path, t.query), (&b"/"[..], &b"q"[..]));
        let t = split_target(b"/x://y");
        assert_eq!((t.authority, t.path), (None, &b"/x://y"[..]));
        assert_eq!(split_target(b"*").path, b"*");
    }

    #[test]
    fn host_names_lose_port_and_trailing_dot() {
        assert_eq!(host_name(b"a.example:80"), b"a.example");
        assert_eq!(host_name(b"a.example."), b"a.example");
        assert_eq!(host_name(b"[::1]:8080"), b"[::1]");
    }

    #[test]
    fn prefixes_match_whole_elements() {
        let m = |want, path: &[u8]| path_matches(PathMatch::Prefix, want, None, path);
        assert!(m("/api", b"/api") && m("/api", b"/api/") && m("/api", b"/api/v1"));
        assert!(!m("/api", b"/apix") && !m("/api", b"/ap"));
        assert!(m("/api/", b"/api/v1") && m("/api/", b"/api"));
        assert!(path_matches(PathMatch::Exact, "/a", None, b"/a"));
        assert!(!path_matches(PathMatch::Exact, "/a", None, b"/a/"));
    }

    #[test]
    fn queries_and_cookies() {
        assert!(query_matches(b"a=1&v=2", "v", MatchKind::Exact, "2", None));
        assert!(!query_matches(
            b"a=1&vv=2",
            "v",
            MatchKind::Exact,
            "2",
            None
        ));
        assert!(query_matches(
            b"flag&b",
            "flag",
            MatchKind::Present,
            "",
            None
        ));
        let re = Regex::new("^(?:[0-9]+)$").unwrap();
        assert!(query_matches(b"n=42", "n", MatchKind::Regex, "", Some(&re)));
        let buf = b"GET / HTTP/1.1\r\nHost: a\r\nCookie: a=1; sid=xyz\r\n\r\n";
        let Ok(strait_http1::Parsed::Complete(head, _)) =
            strait_http1::parse_request(buf, &Default::default())
        else {
            panic!("parses");
        };
        assert_eq!(cookie(&head.fields, buf, "sid"), Some(&b"xyz"[..]));
        assert_eq!(cookie(&head.fields, buf, "x"), None);
        assert!(header_matches(
            &head.fields,
            buf,
            "cookie",
            MatchKind::Prefix,
            "a=",
            None
        ));
    }
}
