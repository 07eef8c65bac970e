//! Parsed field lines kept as offsets into the caller's buffer, in a fixed array.
//!
//! Invariants: a [`Span`] is a half-open byte range `start..end` of the buffer its head was
//! parsed from; pass that same buffer to read it back (another buffer yields an empty or
//! meaningless slice, never a panic). [`Fields`] keeps at most [`MAX_FIELDS`] entries, in wire
//! order, without allocating; names are tokens and values are trimmed of OWS and hold no CR, LF
//! or control byte other than HTAB.

use core::fmt;
use core::ops::Range;

/// How many field lines a head can hold at most, whatever `Limits::max_headers` says.
pub const MAX_FIELDS: usize = 128;

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
#[derive(Clone, PartialEq, Eq)]
pub struct Fields {
    items: [Field; MAX_FIELDS],
    len: usize,
}

impl Default for Fields {
    fn default() -> Self {
        Fields {
            items: [Field::default(); MAX_FIELDS],
            len: 0,
        }
    }
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl Fields {
    /// The fields in wire order.
    pub fn as_slice(&self) -> &[Field] {
        &self.items[..self.len]
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is no field.
    pub fn is_empty(&self) -> bool {
        self.len == 0
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

    /// Appends a field; `false` when the array is full.
    pub(crate) fn push(&mut self, field: Field) -> bool {
        match self.items.get_mut(self.len) {
            Some(slot) => {
                *slot = field;
                self.len += 1;
                true
            }
            None => false,
        }
    }
}
