//! `Host` and authority-form validation: `uri-host [ ":" port ]` (RFC 9110 §7.2, RFC 3986 §3.2).
//!
//! Invariants: an accepted host is non-empty and is either a bracketed IPv6 literal that parses
//! as an [`core::net::Ipv6Addr`] (no zone, no IPvFuture) or a reg-name / IPv4 address made of
//! unreserved bytes, sub-delims and `%HH` escapes; an accepted port is 1 to 5 digits ≤ 65535.
//! Stricter than RFC 3986 on two points, both meaningless for routing: an empty host and a `:`
//! with an empty port are rejected.

use core::net::Ipv6Addr;
use core::ops::Range;

use crate::chars::hex_value;
use crate::fields::Span;

/// A validated `Host` header (or CONNECT authority): the host name and the optional port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Host {
    /// The host as received (case preserved; brackets kept for IPv6 literals).
    pub name: Span,
    /// The port, if one was given.
    pub port: Option<u16>,
}

/// Validates `buf[value]` as `uri-host [ ":" port ]`.
pub(crate) fn parse_host(buf: &[u8], value: Range<usize>) -> Option<Host> {
    let bytes = buf.get(value.clone())?;
    let name_len = if bytes.first() == Some(&b'[') {
        let close = bytes.iter().position(|&b| b == b']')?;
        let inner = core::str::from_utf8(&bytes[1..close]).ok()?;
        inner.parse::<Ipv6Addr>().ok()?;
        close + 1
    } else {
        let end = bytes.iter().position(|&b| b == b':').unwrap_or(bytes.len());
        if end == 0 || !is_reg_name(&bytes[..end]) {
            return None;
        }
        end
    };
    let port = match &bytes[name_len..] {
        [] => None,
        [b':', digits @ ..] => Some(parse_port(digits)?),
        _ => return None,
    };
    Some(Host {
        name: Span::new(value.start, value.start + name_len),
        port,
    })
}

/// `reg-name = *( unreserved / pct-encoded / sub-delims )`.
fn is_reg_name(s: &[u8]) -> bool {
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b == b'%' {
            let escaped = s
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(|&d| hex_value(d).is_some()));
            if !escaped {
                return false;
            }
            i += 3;
            continue;
        }
        let unreserved = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
        let sub_delim = matches!(
            b,
            b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
        );
        if !unreserved && !sub_delim {
            return false;
        }
        i += 1;
    }
    true
}

/// `port`: 1 to 5 digits, at most 65535.
fn parse_port(digits: &[u8]) -> Option<u16> {
    if digits.is_empty() || digits.len() > 5 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits
        .iter()
        .try_fold(0u32, |acc, &d| Some(acc * 10 + u32::from(d - b'0')))
        .and_then(|p| u16::try_from(p).ok())
}
