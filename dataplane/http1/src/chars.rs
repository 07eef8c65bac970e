//! Byte classes of RFC 9110 §5.6 and the comma-separated list splitter.
//!
//! Invariants: every predicate is a pure function of one byte or one slice, total (no panics) and
//! ASCII-only; case folding is ASCII-only, as HTTP field names and tokens are.

pub(crate) const SP: u8 = b' ';
pub(crate) const HTAB: u8 = b'\t';
pub(crate) const CR: u8 = b'\r';
pub(crate) const LF: u8 = b'\n';

/// `tchar`: the bytes of a token (field names, methods, codings, connection options). One
/// table load: every byte of every field name is asked.
pub(crate) fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// [`is_tchar_slow`] of every byte.
static TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = is_tchar_slow(b as u8);
        b += 1;
    }
    table
};

/// `tchar` as RFC 9110 §5.6.2 lists it.
const fn is_tchar_slow(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// `token = 1*tchar`.
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// `OWS` bytes: SP and HTAB.
pub(crate) fn is_ows(b: u8) -> bool {
    b == SP || b == HTAB
}

/// A byte allowed inside a field value: VCHAR, obs-text, SP, HTAB (no other control byte).
pub(crate) fn is_field_byte(b: u8) -> bool {
    b == HTAB || (b' '..=b'~').contains(&b) || b >= 0x80
}

/// `VCHAR`: visible ASCII, no space.
pub(crate) fn is_vchar(b: u8) -> bool {
    (b'!'..=b'~').contains(&b)
}

/// `s` without leading and trailing OWS.
pub(crate) fn trim_ows(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_ows(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_ows(b)).map_or(start, |i| i + 1);
    &s[start..end]
}

/// Offsets `(start, end)` of `s` without leading and trailing OWS.
pub(crate) fn trim_ows_range(s: &[u8]) -> (usize, usize) {
    let start = s.iter().position(|&b| !is_ows(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_ows(b)).map_or(start, |i| i + 1);
    (start, end)
}

/// The elements of a `#element` list value, each trimmed of OWS; empty elements are yielded
/// too so each caller decides whether they are allowed. Commas inside quoted strings are not
/// special: the lists read here (`Connection`, `Transfer-Encoding`) hold tokens only.
pub(crate) fn list_items(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(trim_ows)
}

/// The value of a hex digit.
pub(crate) fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `1*DIGIT` as a `u64`, `None` when empty, not all digits, or too large.
pub(crate) fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// `quoted-string` at the start of `s` (which starts with `"`): its length, quotes included.
pub(crate) fn quoted_string_len(s: &[u8]) -> Option<usize> {
    let mut i = 1;
    while i < s.len() {
        match s[i] {
            b'"' => return Some(i + 1),
            b'\\' => {
                let next = *s.get(i + 1)?;
                if !(next == HTAB || next == SP || is_vchar(next) || next >= 0x80) {
                    return None;
                }
                i += 2;
            }
            b if b == HTAB || b == SP || b >= 0x80 || (is_vchar(b) && b != b'"') => i += 1,
            _ => return None,
        }
    }
    None
}
