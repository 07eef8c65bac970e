//! Head encoders: write a request or response head into a `Vec<u8>`, with fields dropped and
//! added on the way, and hop-by-hop removal (RFC 9110 §7.6.1).
//!
//! Invariants: everything written is valid HTTP/1.1 by this crate's own parser rules. Parsed
//! heads are valid already; bytes supplied by the caller (added fields, a new target) are
//! checked. On `Err`, [`encode_request`] and [`encode_response`] leave `out` as they found it;
//! the `write_*` functions leave it at the last complete line. An `Err` here is the caller's
//! mistake, not the peer's: its `status()` does not apply.
//!
//! Order of use: [`encode_request`] / [`encode_response`] for a parsed head with an [`Edit`],
//! or [`write_request_line`] / [`write_status_line`], then [`write_fields`] / [`write_field`],
//! then [`end_head`]. The body is framed separately (see [`crate::chunk_encode`]).

use crate::chars::{is_field_byte, is_ows, is_token, is_vchar, list_items};
use crate::fields::Fields;
use crate::{Error, RequestHead, ResponseHead, Version};

/// Fields always removed by an intermediary, whether or not `Connection` lists them.
const HOP_BY_HOP: [&[u8]; 6] = [
    b"connection",
    b"proxy-connection",
    b"keep-alive",
    b"te",
    b"transfer-encoding",
    b"upgrade",
];

/// Whether `name` is one of the fields an intermediary always removes: `Connection`,
/// `Proxy-Connection`, `Keep-Alive`, `TE`, `Transfer-Encoding`, `Upgrade` (case-insensitive).
pub fn is_always_hop_by_hop(name: &[u8]) -> bool {
    HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h))
}

/// Whether a field named `name` is hop-by-hop in a head with `fields` (read from `buf`): one of
/// `Connection`, `Proxy-Connection`, `Keep-Alive`, `TE`, `Transfer-Encoding`, `Upgrade`, or a
/// name listed as an option in any `Connection` field. To ask for every field of a head, read
/// its options once with [`HopByHop::of`].
pub fn is_hop_by_hop(name: &[u8], fields: &Fields, buf: &[u8]) -> bool {
    HopByHop::of(fields, buf).contains(name)
}

/// The hop-by-hop fields of one head: its `Connection` options read once, so that asking
/// for each field costs no search of the head (up to [`HopByHop::INLINE`] options are kept;
/// a head that lists more is searched again per question).
#[derive(Debug, Clone, Copy)]
pub struct HopByHop<'h> {
    fields: &'h Fields,
    buf: &'h [u8],
    options: [&'h [u8]; HopByHop::INLINE],
    len: usize,
    overflow: bool,
}

impl<'h> HopByHop<'h> {
    /// Options kept without searching the head again.
    pub const INLINE: usize = 8;

    /// The hop-by-hop fields of the head with `fields`, read from `buf`.
    pub fn of(fields: &'h Fields, buf: &'h [u8]) -> HopByHop<'h> {
        let mut this = HopByHop {
            fields,
            buf,
            options: [&[]; Self::INLINE],
            len: 0,
            overflow: false,
        };
        for option in this.connection_options() {
            match this.options.get_mut(this.len) {
                Some(slot) => {
                    *slot = option;
                    this.len += 1;
                }
                None => this.overflow = true,
            }
        }
        this
    }

    /// Whether a field named `name` is hop-by-hop in this head ([`is_hop_by_hop`]).
    pub fn contains(&self, name: &[u8]) -> bool {
        if is_always_hop_by_hop(name) {
            return true;
        }
        let listed = |option: &[u8]| name.eq_ignore_ascii_case(option);
        if self.overflow {
            return self.connection_options().any(listed);
        }
        self.options[..self.len].iter().any(|o| listed(o))
    }

    fn connection_options(&self) -> impl Iterator<Item = &'h [u8]> + use<'h> {
        let (fields, buf) = (self.fields, self.buf);
        fields.get_all(buf, b"connection").flat_map(list_items)
    }
}

/// Writes `method SP target SP version CRLF`.
pub fn write_request_line(
    out: &mut Vec<u8>,
    method: &[u8],
    target: &[u8],
    version: Version,
) -> Result<(), Error> {
    if !is_token(method) {
        return Err(Error::InvalidMethod);
    }
    if target.is_empty() || !target.iter().all(|&b| is_vchar(b) && b != b'#') {
        return Err(Error::InvalidTarget);
    }
    for part in [method, b" ", target, b" ", version.as_bytes(), b"\r\n"] {
        out.extend_from_slice(part);
    }
    Ok(())
}

/// Writes `version SP status SP reason CRLF`; `status` must be in 100..=599.
pub fn write_status_line(
    out: &mut Vec<u8>,
    version: Version,
    status: u16,
    reason: &[u8],
) -> Result<(), Error> {
    if !(100..=599).contains(&status) || !reason.iter().all(|&b| is_field_byte(b)) {
        return Err(Error::InvalidStatusLine);
    }
    let digits = [
        b'0' + (status / 100) as u8,
        b'0' + (status / 10 % 10) as u8,
        b'0' + (status % 10) as u8,
    ];
    for part in [version.as_bytes(), b" ", &digits, b" ", reason, b"\r\n"] {
        out.extend_from_slice(part);
    }
    Ok(())
}

/// Writes `name: value CRLF` after checking the name is a token and the value holds no
/// control byte (so no CR/LF injection) and no surrounding whitespace.
pub fn write_field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) -> Result<(), Error> {
    if !is_token(name) {
        return Err(Error::InvalidHeaderName);
    }
    let padded =
        value.first().is_some_and(|&b| is_ows(b)) || value.last().is_some_and(|&b| is_ows(b));
    // Every byte is checked, without an early exit, so the loop runs in vector registers.
    if padded || !value.iter().fold(true, |ok, &b| ok & is_field_byte(b)) {
        return Err(Error::InvalidHeaderValue);
    }
    for part in [name, b": ", value, b"\r\n"] {
        out.extend_from_slice(part);
    }
    Ok(())
}

/// What to change in a head while encoding it. The lists are iterators, so that a caller can
/// chain several (a route's, the forwarding fields, the framing's) without building one per
/// head.
#[derive(Debug, Clone, Copy)]
pub struct Edit<D, A> {
    /// Remove hop-by-hop fields ([`is_hop_by_hop`]). The proxy sets this unless it forwards
    /// an upgrade, where it re-adds `Connection: upgrade` and `Upgrade` itself.
    pub drop_hop_by_hop: bool,
    /// Names of fields to remove (case-insensitive), e.g. `content-length` when re-framing;
    /// iterated once per field of the head.
    pub drop: D,
    /// Fields to append after the kept ones, in order.
    pub add: A,
}

/// Writes the fields of a parsed head (read from `buf`) that `edit` keeps, then its added
/// fields.
pub fn write_fields<'d, 'a, D, A>(
    out: &mut Vec<u8>,
    fields: &Fields,
    buf: &[u8],
    edit: Edit<D, A>,
) -> Result<(), Error>
where
    D: Iterator<Item = &'d [u8]> + Clone,
    A: Iterator<Item = (&'a [u8], &'a [u8])>,
{
    let hop_by_hop = edit.drop_hop_by_hop.then(|| HopByHop::of(fields, buf));
    for (name, value) in fields.iter(buf) {
        let dropped = edit.drop.clone().any(|d| name.eq_ignore_ascii_case(d))
            || hop_by_hop.as_ref().is_some_and(|h| h.contains(name));
        if !dropped {
            write_field(out, name, value)?;
        }
    }
    for (name, value) in edit.add {
        write_field(out, name, value)?;
    }
    Ok(())
}

/// Ends a head with the empty line.
pub fn end_head(out: &mut Vec<u8>) {
    out.extend_from_slice(b"\r\n");
}

/// Writes a whole request head: its own request line (as HTTP/1.1, the only version spoken
/// upstream), the fields `edit` keeps and adds, and the empty line.
pub fn encode_request<'d, 'a, D, A>(
    out: &mut Vec<u8>,
    head: &RequestHead,
    buf: &[u8],
    edit: Edit<D, A>,
) -> Result<(), Error>
where
    D: Iterator<Item = &'d [u8]> + Clone,
    A: Iterator<Item = (&'a [u8], &'a [u8])>,
{
    let method = head.method_name.get(buf);
    let line =
        |out: &mut Vec<u8>| write_request_line(out, method, head.target.get(buf), Version::Http11);
    encode_head(out, line, &head.fields, buf, edit)
}

/// Writes a whole response head: its own status line (as HTTP/1.1), the fields `edit` keeps
/// and adds, and the empty line.
pub fn encode_response<'d, 'a, D, A>(
    out: &mut Vec<u8>,
    head: &ResponseHead,
    buf: &[u8],
    edit: Edit<D, A>,
) -> Result<(), Error>
where
    D: Iterator<Item = &'d [u8]> + Clone,
    A: Iterator<Item = (&'a [u8], &'a [u8])>,
{
    let line = |out: &mut Vec<u8>| {
        write_status_line(out, Version::Http11, head.status, head.reason.get(buf))
    };
    encode_head(out, line, &head.fields, buf, edit)
}

/// A head: its start line written by `line`, the fields `edit` keeps and adds, the empty
/// line; on `Err`, `out` as it was.
fn encode_head<'d, 'a, D, A>(
    out: &mut Vec<u8>,
    line: impl FnOnce(&mut Vec<u8>) -> Result<(), Error>,
    fields: &Fields,
    buf: &[u8],
    edit: Edit<D, A>,
) -> Result<(), Error>
where
    D: Iterator<Item = &'d [u8]> + Clone,
    A: Iterator<Item = (&'a [u8], &'a [u8])>,
{
    let start = out.len();
    line(out)
        .and_then(|()| write_fields(out, fields, buf, edit))
        .inspect_err(|_| out.truncate(start))?;
    end_head(out);
    Ok(())
}
