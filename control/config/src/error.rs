//! [`FieldError`]: a mistake in a config, with the path of the field it concerns.
//!
//! Paths use the document's own (camelCase) keys: `httpRoutes[0].rules[1].backendRefs[0].name`.
//! Validation builds paths lazily with [`Loc`], a borrowed chain of segments on the stack, so a
//! valid config costs no path allocation at all; the string is made only when an error is pushed
//! into [`Errors`].

use std::fmt;

/// A mistake in a config and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldError {
    /// Path of the offending field, e.g. `clusters[0].endpoints[1].weight`; empty for the whole
    /// document.
    pub path: String,
    /// What is wrong, short and concrete: `no cluster named "shop-v3"`.
    pub reason: String,
}

impl FieldError {
    /// A new error at `path`.
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> FieldError {
        FieldError {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}: {}", self.path, self.reason)
        }
    }
}

impl std::error::Error for FieldError {}

/// A position in the document, as a chain of borrowed segments (see the module docs).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Loc<'a> {
    /// The document itself.
    Root,
    /// A key of a mapping.
    Field(&'a Loc<'a>, &'static str),
    /// An element of a sequence.
    Index(&'a Loc<'a>, usize),
}

impl<'a> Loc<'a> {
    /// The value of key `name` below this position.
    pub(crate) fn field(&'a self, name: &'static str) -> Loc<'a> {
        Loc::Field(self, name)
    }

    /// Element `i` of the sequence at this position.
    pub(crate) fn index(&'a self, i: usize) -> Loc<'a> {
        Loc::Index(self, i)
    }
}

impl fmt::Display for Loc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Loc::Root => Ok(()),
            Loc::Field(Loc::Root, name) => f.write_str(name),
            Loc::Field(parent, name) => write!(f, "{parent}.{name}"),
            Loc::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// Collects every error of a validation run.
#[derive(Debug, Default)]
pub(crate) struct Errors(Vec<FieldError>);

impl Errors {
    /// Records `reason` at `loc`.
    pub(crate) fn at(&mut self, loc: &Loc<'_>, reason: impl fmt::Display) {
        self.0.push(FieldError {
            path: loc.to_string(),
            reason: reason.to_string(),
        });
    }

    /// Records `reason` at `loc` and returns `None`, for checks that yield an optional value.
    pub(crate) fn fail<T>(&mut self, loc: &Loc<'_>, reason: impl fmt::Display) -> Option<T> {
        self.at(loc, reason);
        None
    }

    /// Whether nothing has been recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The recorded errors, in the order they were found.
    pub(crate) fn into_vec(self) -> Vec<FieldError> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_like_the_document() {
        let root = Loc::Root;
        let routes = root.field("httpRoutes");
        let route = routes.index(0);
        let rules = route.field("rules");
        let rule = rules.index(1);
        let refs = rule.field("backendRefs");
        let r = refs.index(0);
        assert_eq!(
            r.field("name").to_string(),
            "httpRoutes[0].rules[1].backendRefs[0].name"
        );
        assert_eq!(Loc::Root.to_string(), "");
    }

    #[test]
    fn display_is_path_colon_reason() {
        let e = FieldError::new("listeners[0].name", "must not be empty");
        assert_eq!(e.to_string(), "listeners[0].name: must not be empty");
        assert_eq!(FieldError::new("", "empty").to_string(), "empty");
    }
}
