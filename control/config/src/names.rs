//! Checked string newtypes: object [`Name`]s, DNS [`Hostname`]s and HTTP [`HeaderName`]s.
//!
//! Each has a `new` that validates and is the only way to build one, so holding a value means the
//! rule holds: names are lowercase DNS-label-like (`[a-z0-9]([-a-z0-9.]*[a-z0-9])?`, at most 63
//! bytes); hostnames are lowercase DNS names with at most a leading `*.`; header names are HTTP
//! tokens (RFC 9110 §5.6.2), stored lowercased.

use std::fmt;

use thiserror::Error;

/// Why a name, hostname or header name was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NameError {
    /// The string is empty.
    #[error("must not be empty")]
    Empty,
    /// An object name breaks the naming rule.
    #[error("invalid name {0:?}: {1}")]
    Name(String, &'static str),
    /// A hostname breaks the DNS rules.
    #[error("invalid hostname {0:?}: {1}")]
    Hostname(String, &'static str),
    /// A header name is not an HTTP token.
    #[error("invalid header name {0:?}: must be an HTTP token (letters, digits, !#$%&'*+-.^_`|~)")]
    Header(String),
}

/// Longest object name, as for a DNS label.
pub const MAX_NAME_LEN: usize = 63;

/// The name of a listener, route, cluster or L4 service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(String);

impl Name {
    /// Checks `s` against `[a-z0-9]([-a-z0-9.]*[a-z0-9])?` and the length limit.
    pub fn new(s: &str) -> Result<Name, NameError> {
        Name::check(s).map(|()| Name(s.to_owned()))
    }

    /// Checks `s` as [`Name::new`] does, without building a `Name`.
    pub fn check(s: &str) -> Result<(), NameError> {
        let bad = |why| Err(NameError::Name(s.to_owned(), why));
        let bytes = s.as_bytes();
        let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
            return Err(NameError::Empty);
        };
        if bytes.len() > MAX_NAME_LEN {
            return bad("longer than 63 characters");
        }
        let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        if !alnum(first) || !alnum(last) {
            return bad("must start and end with a lowercase letter or digit");
        }
        if !bytes.iter().all(|&b| alnum(b) || b == b'-' || b == b'.') {
            return bad("only lowercase letters, digits, '-' and '.' are allowed");
        }
        Ok(())
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A DNS hostname to match on (`Host`/`:authority` or SNI), possibly with a leading `*.`.
///
/// `*.example.com` matches `a.example.com` and `a.b.example.com`, not `example.com`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hostname(String);

impl Hostname {
    /// Checks `s`: labels of `[a-z0-9-]` (1..=63 bytes, no leading or trailing `-`), at most 253
    /// bytes, and `*` only as a whole leading label.
    pub fn new(s: &str) -> Result<Hostname, NameError> {
        Self::check(s, true)
    }

    /// Like [`Hostname::new`] but rejects wildcards (for redirect targets and SNI to send).
    pub fn new_exact(s: &str) -> Result<Hostname, NameError> {
        Self::check(s, false)
    }

    fn check(s: &str, allow_wildcard: bool) -> Result<Hostname, NameError> {
        let bad = |why| Err(NameError::Hostname(s.to_owned(), why));
        if s.is_empty() {
            return Err(NameError::Empty);
        }
        if s.len() > 253 {
            return bad("longer than 253 characters");
        }
        let rest = match s.strip_prefix("*.") {
            Some(_) if !allow_wildcard => return bad("wildcards are not allowed here"),
            Some(rest) => rest,
            None => s,
        };
        for label in rest.split('.') {
            let b = label.as_bytes();
            if b.is_empty() {
                return bad("empty label");
            }
            if b.len() > 63 {
                return bad("label longer than 63 characters");
            }
            if b.contains(&b'*') {
                return bad("'*' is only allowed as a leading \"*.\"");
            }
            if b.iter().any(u8::is_ascii_uppercase) {
                return bad("must be lowercase");
            }
            if !b
                .iter()
                .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
            {
                return bad("only letters, digits, '-' and '.' are allowed");
            }
            if b[0] == b'-' || b[b.len() - 1] == b'-' {
                return bad("a label must not start or end with '-'");
            }
        }
        Ok(Hostname(s.to_owned()))
    }

    /// Whether this is a `*.` wildcard.
    pub fn is_wildcard(&self) -> bool {
        self.0.starts_with("*.")
    }

    /// The hostname as written (lowercase).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An HTTP header field name, lowercased.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HeaderName(String);

impl HeaderName {
    /// Checks that `s` is a non-empty HTTP token and stores it lowercased.
    pub fn new(s: &str) -> Result<HeaderName, NameError> {
        if s.is_empty() {
            return Err(NameError::Empty);
        }
        if !s.bytes().all(is_tchar) {
            return Err(NameError::Header(s.to_owned()));
        }
        Ok(HeaderName(s.to_ascii_lowercase()))
    }

    /// The lowercased name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `tchar` from RFC 9110 §5.6.2.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

macro_rules! str_like {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
    )*};
}
str_like!(Name, Hostname, HeaderName);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names() {
        for ok in ["web", "a", "shop-v1", "a.b-c", "0"] {
            assert!(Name::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Web", "-a", "a-", "a_b", "a.", &"a".repeat(64)] {
            assert!(Name::new(bad).is_err(), "{bad}");
        }
        assert_eq!(Name::new(""), Err(NameError::Empty));
    }

    #[test]
    fn hostnames() {
        for ok in ["shop.example", "*.shop.example", "localhost", "a-1.b"] {
            assert!(Hostname::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a..b",
            "*",
            "a.*.b",
            "*a.b",
            "x.*",
            "Shop.example",
            "-a.b",
            "a_b.c",
        ] {
            assert!(Hostname::new(bad).is_err(), "{bad}");
        }
        assert!(Hostname::new_exact("*.a.b").is_err());
        assert!(Hostname::new("*.a.b").is_ok_and(|h| h.is_wildcard()));
    }

    #[test]
    fn header_names() {
        assert_eq!(
            HeaderName::new("X-Canary").map(|h| h.0),
            Ok("x-canary".to_owned())
        );
        for bad in ["", "x a", "x:a", "é", "a\n"] {
            assert!(HeaderName::new(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn checks_never_panic(s in "\\PC{0,80}") {
            let _ = Name::new(&s);
            let _ = Hostname::new(&s);
            let _ = HeaderName::new(&s);
        }

        #[test]
        fn generated_names_pass(s in "[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?") {
            prop_assert!(Name::new(&s).is_ok());
        }
    }
}
