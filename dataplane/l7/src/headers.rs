//! Heads as the proxy forwards them: the upstream request and the client's response, with
//! hop-by-hop fields removed, the route's header modifications applied, and the framing the
//! proxy chose for the next hop.
//!
//! Invariants: framing and connection fields (`Content-Length` aside, which is kept when the
//! body keeps its length) are the proxy's alone: a modification naming a hop-by-hop field or
//! one of [`FRAMING`] is ignored ([`protected`]), so configuration can never make the two hops disagree on where a message ends.
//! `Expect` is answered by the proxy and never forwarded. `Set` removes every field of that
//! name, then adds one; `Add` appends; `Remove` removes.

use strait_http1::{
    Error, RequestHead, ResponseHead, Rewrite, encode_request, encode_response,
    is_always_hop_by_hop,
};
use strait_table::{HeaderOp, ModDirection, Route};

use crate::generation::TableImage;

/// Fields besides the hop-by-hop ones that say where a message ends or how it is answered.
const FRAMING: [&[u8]; 3] = [b"content-length", b"expect", b"trailer"];

/// Whether a route's modifications may not touch the field `name`.
fn protected(name: &[u8]) -> bool {
    is_always_hop_by_hop(name) || FRAMING.iter().any(|p| name.eq_ignore_ascii_case(p))
}

/// A route's modifications in one direction.
#[derive(Debug, Default)]
pub(crate) struct Mods<'g> {
    drop: Vec<&'g [u8]>,
    add: Vec<(&'g [u8], &'g [u8])>,
}

impl<'g> Mods<'g> {
    /// The modifications of `route` for `direction`.
    pub(crate) fn of(image: &'g TableImage, route: &Route, direction: ModDirection) -> Mods<'g> {
        let mut mods = Mods::default();
        for m in image.header_mods_of(route) {
            let name = image.str(m.name).as_bytes();
            if m.direction() != Some(direction) || protected(name) {
                continue;
            }
            let value = image.str(m.value).as_bytes();
            match m.op() {
                Some(HeaderOp::Set) => {
                    mods.drop.push(name);
                    mods.add.push((name, value));
                }
                Some(HeaderOp::Add) => mods.add.push((name, value)),
                Some(HeaderOp::Remove) => mods.drop.push(name),
                None => {}
            }
        }
        mods
    }
}

impl Mods<'_> {
    /// Adds `X-Forwarded-Proto: https` for a client that came over TLS (dropping what the
    /// client sent in that field); a plain-HTTP client's request is left as it is.
    pub(crate) fn proto(mut self, tls: bool) -> Self {
        if tls {
            self.drop.push(b"x-forwarded-proto");
            self.add.push((b"x-forwarded-proto", b"https"));
        }
        self
    }

    /// The names of the fields removed (for HTTP/2 heads, which `crate::http2` edits as
    /// header maps: first these are removed, then [`Mods::added`] added).
    pub(crate) fn dropped(&self) -> &[&[u8]] {
        &self.drop
    }

    /// The fields added, in order.
    pub(crate) fn added(&self) -> &[(&[u8], &[u8])] {
        &self.add
    }
}

/// Writes the head sent upstream. `chunked`: the body is re-chunked (the client sent it
/// chunked); `upgrade`: the protocol the client asked to switch to, forwarded with
/// `Connection: upgrade`.
pub(crate) fn upstream_request(
    out: &mut Vec<u8>,
    head: &RequestHead,
    buf: &[u8],
    mods: &Mods<'_>,
    chunked: bool,
    upgrade: Option<&[u8]>,
) -> Result<(), Error> {
    let mut drop: Vec<&[u8]> = mods.drop.clone();
    drop.push(b"expect");
    let mut add: Vec<(&[u8], &[u8])> = mods.add.clone();
    if chunked {
        add.push((b"transfer-encoding", b"chunked"));
    }
    if let Some(protocol) = upgrade {
        add.push((b"connection", b"upgrade"));
        add.push((b"upgrade", protocol));
    }
    let rewrite = Rewrite {
        drop_hop_by_hop: true,
        drop: &drop,
        add: &add,
    };
    encode_request(out, head, buf, &rewrite)
}

/// How the client's response is framed.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ClientFraming<'a> {
    /// The body is re-chunked for the client.
    pub(crate) chunked: bool,
    /// The upstream's `Content-Length` does not hold for the client (ignored beside chunked,
    /// or the body is sent until close).
    pub(crate) drop_length: bool,
    /// The client connection closes after this response.
    pub(crate) close: bool,
    /// An HTTP/1.0 client that stays connected (told `keep-alive`).
    pub(crate) keep_alive_10: bool,
    /// A 101 answer: the protocol switched to.
    pub(crate) upgrade: Option<&'a [u8]>,
}

/// Writes the response head sent to the client.
pub(crate) fn client_response(
    out: &mut Vec<u8>,
    head: &ResponseHead,
    buf: &[u8],
    mods: &Mods<'_>,
    framing: &ClientFraming<'_>,
) -> Result<(), Error> {
    let mut drop: Vec<&[u8]> = mods.drop.clone();
    if framing.drop_length {
        drop.push(b"content-length");
    }
    let mut add: Vec<(&[u8], &[u8])> = mods.add.clone();
    if framing.chunked {
        add.push((b"transfer-encoding", b"chunked"));
    }
    if let Some(protocol) = framing.upgrade {
        add.push((b"connection", b"upgrade"));
        add.push((b"upgrade", protocol));
    } else if framing.close {
        add.push((b"connection", b"close"));
    } else if framing.keep_alive_10 {
        add.push((b"connection", b"keep-alive"));
    }
    let rewrite = Rewrite {
        drop_hop_by_hop: true,
        drop: &drop,
        add: &add,
    };
    encode_response(out, head, buf, &rewrite)
}
