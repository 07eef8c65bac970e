//! Heads as the proxy forwards them: the upstream request and the client's response, with
//! hop-by-hop fields removed, the route's header modifications applied, and the framing the
//! proxy chose for the next hop.
//!
//! Invariants: framing and connection fields (`Content-Length` aside, which is kept when the
//! body keeps its length) are the proxy's alone: a modification naming a hop-by-hop field or
//! one of [`FRAMING`] is ignored ([`protected`]), so configuration can never make the two hops disagree on where a message ends.
//! `Expect` is answered by the proxy and never forwarded. `Set` removes every field of that
//! name, then adds one; `Add` appends; `Remove` removes.
//!
//! Forwarding fields, as a reverse proxy sets them ([`Mods::forwarding`]): every upstream
//! request carries `X-Forwarded-Proto` (`https` from a TLS listener, else `http`), replacing
//! what the client sent, so a client cannot claim a protection it did not have; and
//! `X-Forwarded-For` is the client's list (its fields joined with `, `, as nginx's
//! `$proxy_add_x_forwarded_for`) with the client's address appended, in one field. These two
//! fields are the proxy's in the request direction: a route's modification naming them is
//! ignored there.

use std::{
    io::Write,
    net::{IpAddr, Ipv4Addr},
};

use strait_http1::{
    Edit, Error, RequestHead, ResponseHead, encode_request, encode_response, is_always_hop_by_hop,
};
use strait_table::{HeaderOp, ModDirection, Route};

use crate::generation::TableImage;

/// Fields besides the hop-by-hop ones that say where a message ends or how it is answered.
const FRAMING: [&[u8]; 3] = [b"content-length", b"expect", b"trailer"];

/// The forwarding fields the proxy sets on every upstream request.
const FORWARDING: [&[u8]; 2] = [b"x-forwarded-for", b"x-forwarded-proto"];

/// Whether a route's modifications in `direction` may not touch the field `name`.
fn protected(name: &[u8], direction: ModDirection) -> bool {
    let any = |list: &[&[u8]]| list.iter().any(|p| name.eq_ignore_ascii_case(p));
    is_always_hop_by_hop(name)
        || any(&FRAMING)
        || (direction == ModDirection::Request && any(&FORWARDING))
}

/// A route's modifications in one direction, and for a request the forwarding fields.
///
/// The forwarding fields are kept apart from the route's lists (which stay empty, so
/// unallocated, for a route without modifications) and are chained in when the lists are
/// read: a request's head is rewritten without building or copying a list.
#[derive(Debug, Default)]
pub(crate) struct Mods<'g> {
    drop: Vec<&'g [u8]>,
    add: Vec<(&'g [u8], &'g [u8])>,
    /// The `X-Forwarded-Proto` value to send (`None`: no forwarding fields at all).
    proto: Option<&'static [u8]>,
    /// The `X-Forwarded-For` value to send (empty: none).
    forwarded_for: Vec<u8>,
}

impl<'g> Mods<'g> {
    /// The modifications of `route` for `direction`.
    pub(crate) fn of(image: &'g TableImage, route: &Route, direction: ModDirection) -> Mods<'g> {
        let mut mods = Mods::default();
        for m in image.header_mods_of(route) {
            let name = image.str(m.name).as_bytes();
            if m.direction() != Some(direction) || protected(name, direction) {
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
    /// Adds the forwarding fields of a request `head` (in `buf`) from `client`, which came
    /// over TLS when `tls`: `X-Forwarded-Proto` set, `X-Forwarded-For` appended to (see the
    /// module documentation). The client's fields of both names are dropped.
    pub(crate) fn forwarding(
        mut self,
        head: &RequestHead,
        buf: &[u8],
        client: IpAddr,
        tls: bool,
    ) -> Self {
        self.proto = Some(if tls { b"https" } else { b"http" });
        let list = &mut self.forwarded_for;
        list.clear();
        for value in head.fields.get_all(buf, b"x-forwarded-for") {
            let value = value.trim_ascii();
            if !value.is_empty() {
                list.extend_from_slice(value);
                list.extend_from_slice(b", ");
            }
        }
        // An IPv4 client of a dual-stack listener is named as IPv4, as it would be on an
        // IPv4 listener.
        match client.to_canonical() {
            IpAddr::V4(v4) => write_ipv4(list, v4),
            v6 => {
                // Writing to a Vec cannot fail.
                let _ = write!(list, "{v6}");
            }
        }
        self
    }

    /// The names of the fields removed (for HTTP/2 heads, which `crate::http2` edits as
    /// header maps: first these are removed, then [`Mods::added`] added).
    pub(crate) fn dropped(&self) -> impl Iterator<Item = &[u8]> + Clone {
        let forwarding = if self.proto.is_some() {
            &FORWARDING[..]
        } else {
            &[]
        };
        self.drop.iter().chain(forwarding).copied()
    }

    /// The fields added, in order (`X-Forwarded-Proto`, then `X-Forwarded-For` last, when
    /// there are).
    pub(crate) fn added(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let proto = self.proto.map(|p| (&b"x-forwarded-proto"[..], p));
        let forwarded_for = (!self.forwarded_for.is_empty())
            .then_some((&b"x-forwarded-for"[..], &self.forwarded_for[..]));
        self.add.iter().copied().chain(proto).chain(forwarded_for)
    }
}

/// Writes `addr` in dotted decimal, as `Display` does, without the formatting machinery
/// (every forwarded request writes one).
fn write_ipv4(out: &mut Vec<u8>, addr: Ipv4Addr) {
    for (i, octet) in addr.octets().into_iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        if octet >= 100 {
            out.push(b'0' + octet / 100);
        }
        if octet >= 10 {
            out.push(b'0' + octet / 10 % 10);
        }
        out.push(b'0' + octet % 10);
    }
}

/// The fields added after a message's own and the route's: at most the framing's and an
/// upgrade's, so they fit on the stack.
#[derive(Default)]
struct Extra<'a> {
    fields: [(&'a [u8], &'a [u8]); 3],
    len: usize,
}

impl<'a> Extra<'a> {
    fn push(&mut self, name: &'a [u8], value: &'a [u8]) {
        self.fields[self.len] = (name, value);
        self.len += 1;
    }

    fn iter(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + '_ {
        self.fields[..self.len].iter().copied()
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
    let mut extra = Extra::default();
    if chunked {
        extra.push(b"transfer-encoding", b"chunked");
    }
    if let Some(protocol) = upgrade {
        extra.push(b"connection", b"upgrade");
        extra.push(b"upgrade", protocol);
    }
    let edit = Edit {
        drop_hop_by_hop: true,
        drop: mods.dropped().chain([&b"expect"[..]]),
        add: mods.added().chain(extra.iter()),
    };
    encode_request(out, head, buf, edit)
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
    let mut extra = Extra::default();
    if framing.chunked {
        extra.push(b"transfer-encoding", b"chunked");
    }
    if let Some(protocol) = framing.upgrade {
        extra.push(b"connection", b"upgrade");
        extra.push(b"upgrade", protocol);
    } else if framing.close {
        extra.push(b"connection", b"close");
    } else if framing.keep_alive_10 {
        extra.push(b"connection", b"keep-alive");
    }
    let length: &[&[u8]] = if framing.drop_length {
        &[b"content-length"]
    } else {
        &[]
    };
    let edit = Edit {
        drop_hop_by_hop: true,
        drop: mods.dropped().chain(length.iter().copied()),
        add: mods.added().chain(extra.iter()),
    };
    encode_response(out, head, buf, edit)
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use strait_http1::{Limits, Parsed, parse_request, parse_response};

    use super::*;

    /// The head sent upstream for `request` from `client`, over TLS when `tls`.
    fn forwarded(request: &str, client: IpAddr, tls: bool) -> String {
        let buf = request.as_bytes();
        let Ok(Parsed::Complete(head, _)) = parse_request(buf, &Limits::default()) else {
            panic!("a whole head: {request:?}");
        };
        let mods = Mods::default().forwarding(&head, buf, client, tls);
        let mut out = Vec::new();
        upstream_request(&mut out, &head, buf, &mods, false, None).expect("encodes");
        String::from_utf8(out).expect("UTF-8")
    }

    const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));

    #[test]
    fn plain_request_gets_http_and_the_client_address() {
        let out = forwarded("GET / HTTP/1.1\r\nHost: a\r\n\r\n", CLIENT, false);
        assert_eq!(
            out,
            "GET / HTTP/1.1\r\nHost: a\r\nx-forwarded-proto: http\r\n\
             x-forwarded-for: 198.51.100.7\r\n\r\n"
        );
    }

    #[test]
    fn a_client_cannot_claim_https_nor_http_over_tls() {
        let claim = "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto: https\r\n\r\n";
        let out = forwarded(claim, CLIENT, false);
        assert!(!out.contains("X-Forwarded-Proto"), "{out}");
        assert_eq!(
            out.matches("x-forwarded-proto: http\r\n").count(),
            1,
            "{out}"
        );
        let claim = "GET / HTTP/1.1\r\nHost: a\r\nx-forwarded-proto: http\r\n\r\n";
        let out = forwarded(claim, CLIENT, true);
        assert_eq!(out.matches("x-forwarded-proto").count(), 1, "{out}");
        assert!(out.contains("x-forwarded-proto: https\r\n"), "{out}");
    }

    #[test]
    fn an_existing_list_is_kept_and_appended_to_in_one_field() {
        let request = "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.1, 10.0.0.2\r\n\
                       x-forwarded-for:  192.0.2.9 \r\nX-Forwarded-For:\r\n\r\n";
        let out = forwarded(request, CLIENT, false);
        assert_eq!(out.matches("orwarded-For").count(), 0, "{out}");
        assert!(
            out.contains("x-forwarded-for: 203.0.113.1, 10.0.0.2, 192.0.2.9, 198.51.100.7\r\n\r\n"),
            "{out}"
        );
    }

    #[test]
    fn ipv4_addresses_are_written_as_display_writes_them() {
        for octets in [
            [0, 0, 0, 0],
            [9, 10, 99, 100],
            [255, 254, 109, 200],
            [1, 20, 201, 5],
        ] {
            let addr = Ipv4Addr::from(octets);
            let mut out = Vec::new();
            write_ipv4(&mut out, addr);
            assert_eq!(String::from_utf8(out).expect("ASCII"), addr.to_string());
        }
    }

    #[test]
    fn ipv6_clients_are_written_bare_and_mapped_ipv4_as_ipv4() {
        let v6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
        let out = forwarded("GET / HTTP/1.1\r\nHost: a\r\n\r\n", v6, false);
        assert!(out.contains("x-forwarded-for: 2001:db8::1\r\n"), "{out}");
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped());
        let out = forwarded("GET / HTTP/1.1\r\nHost: a\r\n\r\n", mapped, false);
        assert!(out.contains("x-forwarded-for: 192.0.2.1\r\n"), "{out}");
    }

    #[test]
    fn framing_and_upgrade_fields_follow_the_forwarding_ones() {
        let request = "GET /chat HTTP/1.1\r\nHost: a\r\nConnection: upgrade, x-hop\r\n\
                       X-Hop: 1\r\nUpgrade: websocket\r\nExpect: 100-continue\r\n\r\n";
        let buf = request.as_bytes();
        let Ok(Parsed::Complete(head, _)) = parse_request(buf, &Limits::default()) else {
            panic!("a whole head");
        };
        let mods = Mods::default().forwarding(&head, buf, CLIENT, false);
        let mut out = Vec::new();
        upstream_request(&mut out, &head, buf, &mods, true, Some(b"websocket")).expect("encodes");
        assert_eq!(
            String::from_utf8(out).expect("UTF-8"),
            "GET /chat HTTP/1.1\r\nHost: a\r\nx-forwarded-proto: http\r\n\
             x-forwarded-for: 198.51.100.7\r\ntransfer-encoding: chunked\r\n\
             connection: upgrade\r\nupgrade: websocket\r\n\r\n"
        );
    }

    #[test]
    fn a_response_loses_its_length_when_rechunked_and_says_close() {
        let buf = b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\nX-Forwarded-For: kept\r\n\r\n";
        let Ok(Parsed::Complete(head, _)) =
            parse_response(buf, &Limits::default(), strait_http1::Method::Get)
        else {
            panic!("a whole head");
        };
        let framing = ClientFraming {
            chunked: true,
            drop_length: true,
            close: true,
            ..ClientFraming::default()
        };
        let mut out = Vec::new();
        client_response(&mut out, &head, buf, &Mods::default(), &framing).expect("encodes");
        assert_eq!(
            String::from_utf8(out).expect("UTF-8"),
            "HTTP/1.1 200 OK\r\nX-Forwarded-For: kept\r\ntransfer-encoding: chunked\r\n\
             connection: close\r\n\r\n"
        );
    }

    #[test]
    fn route_modifications_may_not_touch_forwarding_fields_of_requests() {
        assert!(protected(b"X-Forwarded-For", ModDirection::Request));
        assert!(protected(b"x-forwarded-proto", ModDirection::Request));
        assert!(!protected(b"x-forwarded-for", ModDirection::Response));
        assert!(protected(b"content-length", ModDirection::Response));
        assert!(!protected(b"x-request-id", ModDirection::Request));
    }
}
