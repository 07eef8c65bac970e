//! Finding the one HTTP route a push changed, without reading the rest of the document.
//!
//! A platform that changes one route pushes a document that differs from the last one inside
//! that route's text only. [`Layout`] remembers the last accepted JSON text and the byte range
//! of each HTTP route in it; [`Layout::splice`] compares a new text with it from both ends
//! (a memory comparison, far cheaper than skimming JSON) and, when everything that differs lies
//! within one route's range, names that route and its new text.
//!
//! Why the rest of the document needs no second look: the bytes before the route are the same,
//! so a JSON reader is in the same state where the route starts (expecting an element of the
//! `httpRoutes` array); if the new route text is one complete JSON object, the reader ends it
//! in the same state it ended the old one (after an element); the bytes after are the same
//! again. So the new document is the old one with that element replaced, and parsing it whole
//! would give the old sections with only that route changed. The caller must therefore check
//! that the route text parses as one object and nothing else ([`Splice::text`] starts with
//! `{` and ends with `}`; a strict `from_str` refuses anything after the object).

use core::ops::Range;

use crate::diff::{common_prefix, common_suffix};

/// The last accepted text and where its HTTP routes are.
#[derive(Debug, Default)]
pub(super) struct Layout {
    text: String,
    /// Byte range of each HTTP route's JSON value in `text`, in document order.
    routes: Vec<Range<usize>>,
}

/// One route of the last text replaced by new text.
#[derive(Debug, Clone)]
pub(super) struct Splice<'t> {
    /// The route's index.
    pub(super) index: usize,
    /// Its text in the new document.
    pub(super) text: &'t str,
    /// Where that text is in the new document.
    range: Range<usize>,
}

impl Layout {
    /// The layout of `text` whose routes are `routes`, each a slice of `text` (as a borrowing
    /// JSON reader returns them); `None` if one is not. Reuses `buffer`'s memory.
    pub(super) fn record<'a>(
        buffer: Option<Layout>,
        text: &str,
        routes: impl ExactSizeIterator<Item = &'a str>,
    ) -> Option<Layout> {
        let mut layout = buffer.unwrap_or_default();
        layout.routes.clear();
        layout.routes.reserve(routes.len());
        let base = text.as_ptr() as usize;
        for route in routes {
            let start = (route.as_ptr() as usize).checked_sub(base)?;
            let range = start..start + route.len();
            // A slice of `text` at exactly this place, not a copy elsewhere.
            if text.get(range.clone()).map(str::as_ptr) != Some(route.as_ptr()) {
                return None;
            }
            layout.routes.push(range);
        }
        layout.text.clear();
        layout.text.push_str(text);
        Some(layout)
    }

    /// The one route `text` changed, if everything that differs from the last text lies
    /// within one route's range and its new text is delimited like an object.
    pub(super) fn splice<'t>(&self, text: &'t str) -> Option<Splice<'t>> {
        let (old, new) = (self.text.as_bytes(), text.as_bytes());
        let head = common_prefix(old, new);
        let room = old.len().min(new.len()) - head;
        let tail = common_suffix(&old[head..], &new[head..]).min(room);
        let old_end = old.len() - tail;
        // The last route starting at or before the first difference.
        let index = self
            .routes
            .partition_point(|r| r.start <= head)
            .checked_sub(1)?;
        let route = &self.routes[index];
        if old_end > route.end || head == old.len() && old.len() == new.len() {
            return None;
        }
        let end = (route.end + new.len()).checked_sub(old.len())?;
        let range = route.start..end;
        let spliced = text.get(range.clone())?;
        (spliced.starts_with('{') && spliced.ends_with('}')).then_some(Splice {
            index,
            text: spliced,
            range,
        })
    }

    /// The layout of the new text once `splice` of it was accepted.
    pub(super) fn apply(mut self, text: &str, splice: &Splice<'_>) -> Layout {
        let old_len = self.text.len();
        for r in &mut self.routes[splice.index + 1..] {
            *r = r.start + text.len() - old_len..r.end + text.len() - old_len;
        }
        self.routes[splice.index] = splice.range.clone();
        self.text.clear();
        self.text.push_str(text);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(text: &str) -> Layout {
        // Routes are the `{…}` objects after `[` in `{"httpRoutes":[{…},{…}]}`-like test texts.
        let start = text.find('[').expect("array") + 1;
        let end = text.rfind(']').expect("array");
        let mut routes = Vec::new();
        let (mut depth, mut from) = (0, start);
        for (i, c) in text[start..end].char_indices() {
            match c {
                '{' if depth == 0 => {
                    from = start + i;
                    depth = 1;
                }
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        routes.push(&text[from..start + i + 1]);
                    }
                }
                _ => {}
            }
        }
        Layout::record(None, text, routes.into_iter()).expect("slices of the text")
    }

    #[test]
    fn a_change_inside_one_route_is_found() {
        let old = r#"{"httpRoutes":[{"n":"a","w":1},{"n":"b","w":2},{"n":"c","w":3}]}"#;
        let l = layout(old);
        for (new, index, text) in [
            (old.replace("\"w\":2", "\"w\":20"), 1, r#"{"n":"b","w":20}"#),
            (
                old.replace("\"w\":1", "\"w\":1000"),
                0,
                r#"{"n":"a","w":1000}"#,
            ),
            (old.replace(",\"w\":3", ""), 2, r#"{"n":"c"}"#),
        ] {
            let s = l.splice(&new).expect("one route");
            assert_eq!((s.index, s.text), (index, text), "{new}");
            let next = layout(old).apply(&new, &s);
            assert_eq!(next.routes, layout(&new).routes, "{new}");
            assert_eq!(next.text, new);
        }
    }

    #[test]
    fn changes_across_or_outside_routes_are_not_splices() {
        let old = r#"{"httpRoutes":[{"n":"a","w":1},{"n":"b","w":2}],"x":1}"#;
        let l = layout(old);
        for new in [
            old.to_owned(),                                                // nothing changed
            old.replace("\"w\":1},{\"n\":\"b\"", "\"w\":5},{\"n\":\"q\""), // two routes
            old.replace("\"x\":1", "\"x\":2"),                             // outside every route
            old.replace("{\"n\":\"a\",\"w\":1},", ""),                     // a route removed
            old.replace("[", "[ "), // between the array and a route
        ] {
            assert!(l.splice(&new).is_none(), "{new}");
        }
        // A route inserted before or after another: delimited like an object, but two of them
        // (the caller's strict parse refuses it).
        for (new, text) in [
            (
                old.replace("\"w\":2}", "\"w\":2},{\"n\":\"c\"}"),
                r#"{"n":"b","w":2},{"n":"c"}"#,
            ),
            (
                old.replace("},{", "},{\"n\":\"z\"},{"),
                r#"{"n":"z"},{"n":"b","w":2}"#,
            ),
        ] {
            let s = l.splice(&new).expect("delimited like one object");
            assert_eq!(s.text, text);
        }
    }
}
