//! The field values of a parsed HTTP/1.1 head as h2 header values that share one copy of the
//! head's field section, rather than one copy (one allocation) per value.
//!
//! Invariants: the copy spans the head's fields from the first name to the last value (fields
//! are in wire order, so that is every field and nothing of the body after the head); a value
//! is validated as `HeaderValue::from_bytes` would (`from_maybe_shared` runs the same check),
//! and a span outside the copy (a buffer other than the head's) yields `None`, never a panic.
//! Every value keeps the whole copy alive, so the values are meant to be sent and dropped, not
//! stored.

use bytes::Bytes;
use http::HeaderValue;
use strait_http1::{Fields, Span};

/// One shared copy of a head's field section.
#[derive(Debug)]
pub(super) struct SharedFields {
    bytes: Bytes,
    /// Where `bytes` starts in the head's buffer.
    base: usize,
}

impl SharedFields {
    /// Copies the field section of `fields` out of `buf`, the buffer they were parsed from.
    pub(super) fn new(fields: &Fields, buf: &[u8]) -> SharedFields {
        let all = fields.as_slice();
        let (Some(first), Some(last)) = (all.first(), all.last()) else {
            return SharedFields {
                bytes: Bytes::new(),
                base: 0,
            };
        };
        let (base, end) = (first.name.range().start, last.value.range().end);
        SharedFields {
            bytes: Bytes::copy_from_slice(buf.get(base..end).unwrap_or_default()),
            base,
        }
    }

    /// The header value at `span` of the head's buffer; `None` if h2 cannot carry it.
    pub(super) fn value(&self, span: Span) -> Option<HeaderValue> {
        let range = span.range();
        let start = range.start.checked_sub(self.base)?;
        let end = range.end - self.base;
        if end > self.bytes.len() {
            return None;
        }
        HeaderValue::from_maybe_shared(self.bytes.slice(start..end)).ok()
    }
}

#[cfg(test)]
mod tests {
    use strait_http1::{Limits, Method, Parsed, parse_response};

    use super::*;

    #[test]
    fn values_are_slices_of_one_copy_and_only_the_fields_are_copied() {
        let raw =
            b"HTTP/1.1 200 OK\r\nServer: s\r\nX-Empty:\r\nX-Text: caf\xc3\xa9 \t x\r\n\r\nBODY";
        let Ok(Parsed::Complete(head, _)) = parse_response(raw, &Limits::default(), Method::Get)
        else {
            panic!("parses");
        };
        let shared = SharedFields::new(&head.fields, raw);
        assert_eq!(
            &shared.bytes[..],
            b"Server: s\r\nX-Empty:\r\nX-Text: caf\xc3\xa9 \t x"
        );
        let values: Vec<_> = head
            .fields
            .as_slice()
            .iter()
            .map(|f| shared.value(f.value).expect("a value"))
            .collect();
        assert_eq!(values[0], "s");
        assert_eq!(values[1], "");
        assert_eq!(values[2].as_bytes(), b"caf\xc3\xa9 \t x");
    }

    #[test]
    fn a_span_outside_the_copy_or_a_byte_h2_refuses_is_none() {
        let raw = b"HTTP/1.1 200 OK\r\nA: 1\r\n\r\n";
        let Ok(Parsed::Complete(head, _)) = parse_response(raw, &Limits::default(), Method::Get)
        else {
            panic!("parses");
        };
        let field = head.fields.as_slice()[0];
        let shared = SharedFields::new(&head.fields, raw);
        assert_eq!(
            shared.value(field.value),
            Some(HeaderValue::from_static("1"))
        );
        assert_eq!(shared.value(head.reason), None);
        let empty = SharedFields::new(&Fields::default(), raw);
        assert_eq!(empty.value(field.value), None);
        // DEL is a control byte that HTTP/1.1 already refuses; h2 refuses it too.
        let mut bad = raw.to_vec();
        let at = field.value.range().start;
        bad[at] = 0x7f;
        assert_eq!(
            SharedFields::new(&head.fields, &bad).value(field.value),
            None
        );
    }
}
