//! Heads between HTTP/2 and HTTP/1.1, sans-IO: an h2 request as an HTTP/1.1 head (for routing,
//! which reads `strait-http1` heads, and for HTTP/1.1 upstreams), an HTTP/1.1 response as h2
//! response headers, h2 heads forwarded to h2 upstreams, HTTP/1.1 requests to h2 upstreams and
//! their h2 responses as HTTP/1.1 heads, and the proxy's own answers (plain text, or gRPC's
//! trailers-only errors).
//!
//! Invariants:
//! * Hop-by-hop fields (`connection`, `keep-alive`, `proxy-connection`, `transfer-encoding`,
//!   `upgrade`, and any field `connection` names) never cross, either way; `te` crosses to an
//!   h2 upstream only as `te: trailers` (gRPC needs it), never to HTTP/1.1.
//! * The host is `:authority` when the request has one, else `host` (RFC 9113 §8.3.1); the
//!   HTTP/1.1 head carries it as its one `host` field. Split `cookie` fields are joined with
//!   `; ` (RFC 9113 §8.2.3).
//! * A body without `content-length` is sent chunked to HTTP/1.1, so h2 request trailers can
//!   follow it.
//! * The values of an HTTP/1.1 head become h2 header values sharing one copy of its field
//!   section (`shared`), not one allocation each.

use bytes::Bytes;
use http::{
    HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, Uri,
    header::{CONTENT_LENGTH, CONTENT_TYPE, COOKIE, HOST, LOCATION, TE},
    request::Parts,
};
use strait_http1::{
    HopByHop, RequestHead, ResponseHead, Version, end_head, is_always_hop_by_hop, write_field,
    write_status_line,
};

use crate::headers::Mods;

mod shared;

use shared::SharedFields;

/// The `application/grpc` content types (`application/grpc`, `application/grpc+proto`, …).
pub(crate) fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
}

/// The request's host: `:authority`, else `host`.
pub(crate) fn authority(parts: &Parts) -> Option<&[u8]> {
    match parts.uri.authority() {
        Some(a) => Some(a.as_str().as_bytes()),
        None => parts.headers.get(HOST).map(HeaderValue::as_bytes),
    }
}

/// Whether a field never crosses from one hop to the next (`connection` options included).
fn hop_by_hop(name: &HeaderName, headers: &HeaderMap) -> bool {
    is_always_hop_by_hop(name.as_str().as_bytes())
        || headers.get_all(http::header::CONNECTION).iter().any(|v| {
            v.as_bytes().split(|b| *b == b',').any(|o| {
                o.trim_ascii()
                    .eq_ignore_ascii_case(name.as_str().as_bytes())
            })
        })
}

/// The HTTP/1.1 head of h2 request `parts`; `body`: a body follows the head (the request did
/// not end with its headers). Nothing here can split a line: `http` refuses CR, LF and NUL in
/// values and anything but tokens in names, methods and paths; the caller still parses the
/// result with the HTTP/1.1 parser, whose verdict (and limits) then apply.
pub(crate) fn h1_request(parts: &Parts, body: bool) -> Vec<u8> {
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(parts.method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(if path.is_empty() {
        b"/"
    } else {
        path.as_bytes()
    });
    out.extend_from_slice(b" HTTP/1.1\r\n");
    if let Some(host) = authority(parts) {
        field(&mut out, b"host", host);
    }
    let mut cookies: Vec<&[u8]> = Vec::new();
    for (name, value) in &parts.headers {
        if *name == HOST || hop_by_hop(name, &parts.headers) {
            continue;
        }
        if *name == COOKIE {
            cookies.push(value.as_bytes());
            continue;
        }
        field(&mut out, name.as_str().as_bytes(), value.as_bytes());
    }
    if !cookies.is_empty() {
        field(&mut out, b"cookie", &cookies.join(&b"; "[..]));
    }
    if body && !parts.headers.contains_key(CONTENT_LENGTH) {
        field(&mut out, b"transfer-encoding", b"chunked");
    }
    out.extend_from_slice(b"\r\n");
    out
}

fn field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// The request sent to an h2 upstream: the client's, with an absolute URI (h2 clients need a
/// scheme and an authority), hop-by-hop fields removed and the route's modifications applied.
pub(crate) fn h2_request(parts: &Parts, mods: &Mods<'_>) -> Result<Request<()>, http::Error> {
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let host = authority(parts).unwrap_or(b"localhost");
    let uri = Uri::builder()
        .scheme("http")
        .authority(host)
        .path_and_query(path)
        .build()?;
    let mut req = Request::builder()
        .method(parts.method.clone())
        .uri(uri)
        .body(())?;
    let headers = req.headers_mut();
    for (name, value) in &parts.headers {
        let trailers = *name == TE && value.as_bytes().eq_ignore_ascii_case(b"trailers");
        if *name == HOST || (hop_by_hop(name, &parts.headers) && !trailers) {
            continue;
        }
        headers.append(name.clone(), value.clone());
    }
    apply(headers, mods);
    Ok(req)
}

/// The h2 request for an HTTP/1.1 request (`head` in `buf`) to an HTTP/2 cluster: host
/// `authority`, target `path` (with its query), hop-by-hop fields and `expect` removed (`te`
/// becomes `te: trailers` when the client accepts trailers), the route's modifications.
pub(crate) fn h2_request_from_h1(
    head: &RequestHead,
    buf: &[u8],
    authority: &[u8],
    path: &[u8],
    mods: &Mods<'_>,
) -> Result<Request<()>, http::Error> {
    let uri = Uri::builder()
        .scheme("http")
        .authority(authority)
        .path_and_query(path)
        .build()?;
    let method = http::Method::from_bytes(head.method_name.get(buf))?;
    let mut req = Request::builder().method(method).uri(uri).body(())?;
    let headers = req.headers_mut();
    let mut trailers = false;
    let shared = SharedFields::new(&head.fields, buf);
    let hop_by_hop = HopByHop::of(&head.fields, buf);
    for field in head.fields.as_slice() {
        let (name, value) = (field.name.get(buf), field.value.get(buf));
        if name.eq_ignore_ascii_case(b"te") {
            trailers |= value
                .split(|b| *b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"trailers"));
            continue;
        }
        if hop_by_hop.contains(name)
            || name.eq_ignore_ascii_case(b"host")
            || name.eq_ignore_ascii_case(b"expect")
        {
            continue;
        }
        if let (Ok(n), Some(v)) = (HeaderName::from_bytes(name), shared.value(field.value)) {
            headers.append(n, v);
        }
    }
    if trailers {
        headers.insert(TE, HeaderValue::from_static("trailers"));
    }
    apply(headers, mods);
    Ok(req)
}

/// How an h2 response is framed for an HTTP/1.x client.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct H1Framing {
    /// The body is chunked (its `content-length`, if any, dropped), trailers in the last chunk.
    pub(crate) chunked: bool,
    /// The connection closes after this response (`connection: close`).
    pub(crate) close: bool,
    /// An HTTP/1.0 client that stays connected (`connection: keep-alive`).
    pub(crate) keep_alive_10: bool,
}

/// Writes the HTTP/1.x head for h2 response `parts` (cleaned already) to a `version` client.
/// A field HTTP/1.1 cannot carry (surrounding whitespace) is left out.
pub(crate) fn h1_response(
    out: &mut Vec<u8>,
    version: Version,
    parts: &http::response::Parts,
    framing: H1Framing,
) -> Result<(), strait_http1::Error> {
    let reason = parts.status.canonical_reason().unwrap_or("");
    write_status_line(out, version, parts.status.as_u16(), reason.as_bytes())?;
    for (name, value) in &parts.headers {
        if framing.chunked && *name == CONTENT_LENGTH {
            continue;
        }
        let start = out.len();
        if write_field(out, name.as_str().as_bytes(), value.as_bytes()).is_err() {
            out.truncate(start);
        }
    }
    if framing.chunked {
        write_field(out, b"transfer-encoding", b"chunked")?;
    }
    if framing.close {
        write_field(out, b"connection", b"close")?;
    } else if framing.keep_alive_10 {
        write_field(out, b"connection", b"keep-alive")?;
    }
    end_head(out);
    Ok(())
}

/// An h2 response's headers cleaned for the next hop, with the route's modifications.
pub(crate) fn clean(headers: &mut HeaderMap, mods: &Mods<'_>) {
    let names: Vec<HeaderName> = headers
        .keys()
        .filter(|n| hop_by_hop(n, headers))
        .cloned()
        .collect();
    for name in names {
        headers.remove(name);
    }
    apply(headers, mods);
}

/// Applies the route's header modifications to a header map (names already checked by
/// [`Mods::of`]; a name or value that h2 cannot carry is skipped).
pub(crate) fn apply(headers: &mut HeaderMap, mods: &Mods<'_>) {
    for name in mods.dropped() {
        if let Ok(name) = HeaderName::from_bytes(name) {
            headers.remove(name);
        }
    }
    for (name, value) in mods.added() {
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
            headers.append(n, v);
        }
    }
}

/// The h2 response for an HTTP/1.1 upstream's response head (in `buf`).
pub(crate) fn h2_response(
    head: &ResponseHead,
    buf: &[u8],
    mods: &Mods<'_>,
) -> Option<Response<()>> {
    let mut resp = Response::new(());
    *resp.status_mut() = StatusCode::from_u16(head.status).ok()?;
    let headers = resp.headers_mut();
    let shared = SharedFields::new(&head.fields, buf);
    let hop_by_hop = HopByHop::of(&head.fields, buf);
    for field in head.fields.as_slice() {
        let name = field.name.get(buf);
        if hop_by_hop.contains(name)
            || (head.content_length_ignored && name.eq_ignore_ascii_case(b"content-length"))
        {
            continue;
        }
        // A field h2 cannot carry (a byte `http` refuses) is left out rather than failing the
        // whole response.
        if let (Ok(n), Some(v)) = (HeaderName::from_bytes(name), shared.value(field.value)) {
            headers.append(n, v);
        }
    }
    apply(headers, mods);
    Some(resp)
}

/// A plain-text answer of the proxy (a redirect carries `location`).
pub(crate) fn local(status: u16, body: &[u8], location: Option<&[u8]>) -> Response<()> {
    let mut resp = Response::new(());
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let headers = resp.headers_mut();
    if !body.is_empty() {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    }
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    if let Some(v) = location.and_then(|l| HeaderValue::from_bytes(l).ok()) {
        headers.insert(LOCATION, v);
    }
    resp
}

/// gRPC status codes the proxy answers with.
pub(crate) mod code {
    pub(crate) const INTERNAL: u8 = 13;
    pub(crate) const UNIMPLEMENTED: u8 = 12;
    pub(crate) const UNAVAILABLE: u8 = 14;
    pub(crate) const DEADLINE_EXCEEDED: u8 = 4;
    pub(crate) const RESOURCE_EXHAUSTED: u8 = 8;
}

/// The gRPC status for a proxy error that HTTP would answer with `status`.
pub(crate) fn grpc_code(status: u16) -> u8 {
    match status {
        404 => code::UNIMPLEMENTED,
        504 | 408 => code::DEADLINE_EXCEEDED,
        502 | 503 => code::UNAVAILABLE,
        413 | 431 => code::RESOURCE_EXHAUSTED,
        _ => code::INTERNAL,
    }
}

/// A gRPC trailers-only response: HTTP 200, `content-type: application/grpc`, `grpc-status`
/// and a percent-encoded `grpc-message`, all in the one HEADERS frame that ends the stream.
pub(crate) fn grpc_error(code: u8, message: &str) -> Response<()> {
    let mut resp = Response::new(());
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert("grpc-status", HeaderValue::from(u16::from(code)));
    if let Ok(v) = HeaderValue::from_bytes(&percent_encode(message.trim_end())) {
        headers.insert("grpc-message", v);
    }
    resp
}

/// gRPC's percent-encoding: bytes outside printable ASCII, and `%`, as `%XX`.
fn percent_encode(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for &b in s.as_bytes() {
        if (0x20..0x7f).contains(&b) && b != b'%' {
            out.push(b);
        } else {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
    out
}

/// An HTTP/1.1 trailer field as an h2 one (`None` for fields h2 cannot carry).
pub(crate) fn trailer(name: &[u8], value: &[u8]) -> Option<(HeaderName, HeaderValue)> {
    Some((
        HeaderName::from_bytes(name).ok()?,
        HeaderValue::from_bytes(value).ok()?,
    ))
}

/// An empty body chunk (ends a stream that has no trailers).
pub(crate) const EMPTY: Bytes = Bytes::new();

#[cfg(test)]
mod tests;
