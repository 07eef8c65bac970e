//! Server names to what serves them: a listener's certificates (TLS termination) and its TCP
//! routes (SNI pass-through). Sans-IO.
//!
//! Lookup order: the exact name, else the longest `*.suffix` wildcard that covers it (one or
//! more labels in place of the `*`, as the virtual hosts of HTTP listeners), else the default
//! (the entry without names). No name at all (a client that sends no SNI) gets the default.
//!
//! Invariants: names compare without regard to ASCII case; the first entry inserted for a name
//! (or the first default) wins, as the agent refuses duplicates anyway.

use std::collections::HashMap;

/// See the module documentation.
#[derive(Debug, Clone)]
pub(crate) struct NameTable<T> {
    exact: HashMap<Box<str>, T>,
    /// Lower-case suffixes with their leading dot, longest first.
    wildcard: Vec<(Box<str>, T)>,
    default: Option<T>,
}

impl<T> Default for NameTable<T> {
    fn default() -> Self {
        NameTable {
            exact: HashMap::new(),
            wildcard: Vec::new(),
            default: None,
        }
    }
}

impl<T: Clone> NameTable<T> {
    /// Adds `value` for each of `names` (`*.suffix` for a wildcard), or as the default when
    /// `names` is empty.
    pub(crate) fn insert<'n>(&mut self, names: impl IntoIterator<Item = &'n str>, value: T) {
        let mut any = false;
        for name in names {
            any = true;
            let lower = name.to_ascii_lowercase();
            match lower.strip_prefix('*') {
                Some(suffix) if suffix.starts_with('.') => {
                    if !self.wildcard.iter().any(|(s, _)| **s == *suffix) {
                        let at = self
                            .wildcard
                            .partition_point(|(s, _)| s.len() >= suffix.len());
                        self.wildcard.insert(at, (suffix.into(), value.clone()));
                    }
                }
                _ => {
                    self.exact
                        .entry(lower.into())
                        .or_insert_with(|| value.clone());
                }
            }
        }
        if !any {
            self.default.get_or_insert(value);
        }
    }
}

impl<T> NameTable<T> {
    /// What serves `name`; see the module documentation.
    pub(crate) fn get(&self, name: Option<&str>) -> Option<&T> {
        if let Some(name) = name {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if let Some(v) = self.exact.get(name.as_str()) {
                return Some(v);
            }
            let wild = self
                .wildcard
                .iter()
                .find(|(suffix, _)| name.len() > suffix.len() && name.ends_with(&**suffix));
            if let Some((_, v)) = wild {
                return Some(v);
            }
        }
        self.default.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_then_longest_wildcard_then_default() {
        let mut t = NameTable::default();
        t.insert(["a.example", "B.example"], 1);
        t.insert(["*.example"], 2);
        t.insert(["*.deep.example"], 3);
        t.insert([], 4);
        assert_eq!(t.get(Some("a.example")), Some(&1));
        assert_eq!(t.get(Some("b.EXAMPLE")), Some(&1));
        assert_eq!(t.get(Some("c.example")), Some(&2));
        assert_eq!(t.get(Some("x.y.example")), Some(&2));
        assert_eq!(t.get(Some("x.deep.example")), Some(&3));
        assert_eq!(t.get(Some("deep.example")), Some(&2));
        // A wildcard never covers its bare suffix.
        assert_eq!(t.get(Some("example")), Some(&4));
        assert_eq!(t.get(Some("other.test")), Some(&4));
        assert_eq!(t.get(None), Some(&4));
        assert_eq!(t.get(Some("a.example.")), Some(&1));
    }

    #[test]
    fn no_default_means_no_match() {
        let mut t = NameTable::default();
        assert_eq!(t.get(None), None);
        t.insert(["only.example"], 'x');
        assert_eq!(t.get(Some("only.example")), Some(&'x'));
        assert_eq!(t.get(Some("other.example")), None);
        assert_eq!(t.get(None), None);
    }

    #[test]
    fn first_entry_wins() {
        let mut t = NameTable::default();
        t.insert(["a.example", "*.w.example"], 1);
        t.insert(["A.example", "*.w.example"], 2);
        t.insert([], 3);
        t.insert([], 4);
        assert_eq!(t.get(Some("a.example")), Some(&1));
        assert_eq!(t.get(Some("x.w.example")), Some(&1));
        assert_eq!(t.get(None), Some(&3));
    }
}
