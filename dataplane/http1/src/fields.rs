//! Parsed field lines kept as offsets into the caller's buffer: inline for ordinary heads, on
//! the heap for the rare long one.
//!
//! Invariants: a [`Span`] is a half-open byte range `start..end` of the buffer its head was
//! parsed from; pass that same buffer to read it back (another buffer yields an empty or
//! meaningless slice, never a panic). [`Fields`] keeps at most [`MAX_FIELDS`] entries, in wire
//! order; names are tokens and values are trimmed of OWS and hold no CR, LF or control byte
//! other than HTAB. A head of up to [`INLINE_FIELDS`] fields allocates nothing; a longer one
//! moves its fields to one `Vec` once, at the first field past the inline room. The inline room
//! is small so that a head (and every parser and future holding one) stays cheap to move.

use core::fmt;
use core::ops::Range;

/// How many field lines a head can hold at most, whatever `Limits::max_headers` says.
pub const MAX_FIELDS: usize = 128;

/// How many field lines a head holds without allocating.
pub(crate) const INLINE_FIELDS: usize = 24;

// The inline count is a `u8`.
const _: () = assert!(INLINE_FIELDS <= u8::MAX as usize && INLINE_FIELDS < MAX_FIELDS);

/// A byte range `start..end` of the buffer a head was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    start: u32,
    end: u32,
}

impl Span {
    /// A span of `start..end`. Offsets are head offsets, bounded by `Limits::max_header_bytes`
    /// which is clamped to `u32::MAX`, so the narrowing casts never truncate.
    pub(crate) fn new(start: usize, end: usize) -> Span {
        debug_assert!(start <= end && end <= u32::MAX as usize);
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    /// The range in the buffer.
    pub fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    /// The bytes of this span in `buf` (the buffer the head was parsed from).
    pub fn get(self, buf: &[u8]) -> &[u8] {
        buf.get(self.range()).unwrap_or_default()
    }

    /// Length in bytes.
    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    /// Whether the span is empty.
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

/// One field line: its name and its value (OWS trimmed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Field {
    /// The field name, as received (case preserved).
    pub name: Span,
    /// The field value without leading and trailing OWS.
    pub value: Span,
}

impl Field {
    /// Whether this field's name is `name`, compared ASCII case-insensitively.
    pub fn is(&self, buf: &[u8], name: &[u8]) -> bool {
        self.name.get(buf).eq_ignore_ascii_case(name)
    }
}

/// The field lines of one head, in wire order.
#[derive(Clone, Default)]
pub struct Fields {
    store: Store,
}

/// Where the fields are: inline up to [`INLINE_FIELDS`], else all of them on the heap.
// The inline variant is large on purpose: boxing it would allocate for every head.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
enum Store {
    /// The first `len` of `items`.
    Inline {
        len: u8,
        items: [Field; INLINE_FIELDS],
    },
    /// More than [`INLINE_FIELDS`], at most [`MAX_FIELDS`].
    Spilled(Vec<Field>),
}

impl Default for Store {
    fn default() -> Self {
        Store::Inline {
            len: 0,
            items: [Field::default(); INLINE_FIELDS],
        }
    }
}

impl PartialEq for Fields {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Fields {}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl Fields {
    /// The fields in wire order.
    pub fn as_slice(&self) -> &[Field] {
        match &self.store {
            Store::Inline { len, items } => &items[..usize::from(*len)],
            Store::Spilled(items) => items,
        }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether there is no field.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `(name, value)` byte pairs in wire order, read from `buf`.
    pub fn iter<'b>(&self, buf: &'b [u8]) -> impl Iterator<Item = (&'b [u8], &'b [u8])> {
        self.as_slice()
            .iter()
            .map(move |f| (f.name.get(buf), f.value.get(buf)))
    }

    /// The values of every field named `name` (case-insensitive), in wire order.
    pub fn get_all<'b>(&self, buf: &'b [u8], name: &[u8]) -> impl Iterator<Item = &'b [u8]> {
        self.as_slice()
            .iter()
            .filter(move |f| f.is(buf, name))
            .map(move |f| f.value.get(buf))
    }

    /// The value of the first field named `name` (case-insensitive).
    pub fn get<'b>(&self, buf: &'b [u8], name: &[u8]) -> Option<&'b [u8]> {
        self.get_all(buf, name).next()
    }

    /// Appends a field; `false` when it already holds [`MAX_FIELDS`].
    pub(crate) fn push(&mut self, field: Field) -> bool {
        match &mut self.store {
            Store::Inline { len, items } => match items.get_mut(usize::from(*len)) {
                Some(slot) => {
                    *slot = field;
                    *len += 1;
                }
                None => {
                    let mut spilled = Vec::with_capacity(2 * INLINE_FIELDS);
                    spilled.extend_from_slice(items);
                    spilled.push(field);
                    self.store = Store::Spilled(spilled);
                }
            },
            Store::Spilled(items) if items.len() < MAX_FIELDS => items.push(field),
            Store::Spilled(_) => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(i: usize) -> Field {
        Field {
            name: Span::new(i, i + 1),
            value: Span::new(i + 1, i + 2),
        }
    }

    #[test]
    fn spills_past_the_inline_room_in_order_and_stops_at_the_maximum() {
        let mut fields = Fields::default();
        for i in 0..MAX_FIELDS {
            assert!(fields.push(field(i)), "field {i}");
            assert_eq!(fields.len(), i + 1);
            assert!(matches!(fields.store, Store::Spilled(_)) == (i >= INLINE_FIELDS));
        }
        assert!(!fields.push(field(MAX_FIELDS)));
        assert_eq!(fields.len(), MAX_FIELDS);
        let expected: Vec<Field> = (0..MAX_FIELDS).map(field).collect();
        assert_eq!(fields.as_slice(), &expected[..]);
    }

    #[test]
    fn equality_and_clone_see_only_the_fields() {
        let (mut a, mut b) = (Fields::default(), Fields::default());
        assert!(a.push(field(1)));
        assert!(b.push(field(1)));
        assert_eq!(a, b);
        assert_eq!(a.clone(), b);
        assert!(b.push(field(2)));
        assert_ne!(a, b);
    }

    #[test]
    fn stays_small_to_move() {
        assert!(size_of::<Fields>() <= 16 * INLINE_FIELDS + 16);
    }
}
