use http::{HeaderValue, Method, Request};
use strait_http1::{BodyFraming, Limits, Parsed, RequestParser, ResponseParser};

use super::*;

fn parts(req: Request<()>) -> Parts {
    req.into_parts().0
}

fn text(b: &[u8]) -> &str {
    std::str::from_utf8(b).expect("utf-8")
}

#[test]
fn an_h2_request_becomes_an_http1_head_that_routing_parses() {
    let p = parts(
        Request::builder()
            .method(Method::POST)
            .uri("https://api.example:8443/v1/items?x=1")
            .header("content-type", "application/json")
            .header("te", "trailers")
            .header("connection", "close")
            .header("keep-alive", "5")
            .header("upgrade", "websocket")
            .header("proxy-connection", "x")
            .header("host", "ignored.example")
            .header("cookie", "a=1")
            .header("cookie", "b=2")
            .body(())
            .expect("request"),
    );
    let head = h1_request(&p, true);
    let t = text(&head);
    assert!(
        t.starts_with("POST /v1/items?x=1 HTTP/1.1\r\nhost: api.example:8443\r\n"),
        "{t}"
    );
    for gone in [
        "te:",
        "connection:",
        "keep-alive:",
        "upgrade:",
        "proxy-connection:",
        "ignored",
    ] {
        assert!(!t.contains(gone), "{gone} in {t}");
    }
    assert!(t.contains("cookie: a=1; b=2\r\n"), "{t}");
    assert!(t.ends_with("transfer-encoding: chunked\r\n\r\n"), "{t}");
    let Ok(Parsed::Complete(parsed, len)) = RequestParser::new(&Limits::default()).parse(&head)
    else {
        panic!("the head parses: {t}");
    };
    assert_eq!(len, head.len());
    assert_eq!(parsed.framing, BodyFraming::Chunked);
    assert_eq!(
        parsed.host.map(|h| h.name.get(&head)),
        Some(&b"api.example"[..])
    );
}

#[test]
fn a_request_with_a_length_or_no_body_keeps_its_framing() {
    let with_length = parts(
        Request::builder()
            .uri("http://h/")
            .method(Method::PUT)
            .header("content-length", "5")
            .body(())
            .expect("request"),
    );
    let t = h1_request(&with_length, true);
    assert!(!text(&t).contains("transfer-encoding"));
    let without_authority = parts(
        Request::builder()
            .uri("/only/path")
            .header("host", "h.example")
            .body(())
            .expect("request"),
    );
    let t = h1_request(&without_authority, false);
    assert_eq!(
        text(&t),
        "GET /only/path HTTP/1.1\r\nhost: h.example\r\n\r\n"
    );
}

#[test]
fn an_h2_upstream_request_keeps_te_trailers_and_gets_the_route_modifications() {
    let p = parts(
        Request::builder()
            .method(Method::POST)
            .uri("http://grpc.example/echo.Echo/Say")
            .header("te", "trailers")
            .header("content-type", "application/grpc")
            .header("connection", "x-private")
            .header("x-private", "1")
            .body(())
            .expect("request"),
    );
    // Routing sees the stream as this HTTP/1.1 head; the client named a hop before it.
    let raw =
        b"POST /echo.Echo/Say HTTP/1.1\r\nhost: grpc.example\r\nx-forwarded-for: 10.1.2.3\r\n\r\n";
    let Ok(Parsed::Complete(h1, _)) = RequestParser::new(&Limits::default()).parse(raw) else {
        panic!("a head")
    };
    let client = "198.18.0.7".parse().expect("an address");
    let mods = Mods::default().forwarding(&h1, raw, client, true);
    let req = h2_request(&p, &mods).expect("request");
    assert_eq!(req.uri().to_string(), "http://grpc.example/echo.Echo/Say");
    let h = req.headers();
    assert_eq!(h.get("te"), Some(&HeaderValue::from_static("trailers")));
    assert!(h.get("connection").is_none() && h.get("x-private").is_none());
    assert_eq!(
        h.get("x-forwarded-proto"),
        Some(&HeaderValue::from_static("https"))
    );
    assert_eq!(
        h.get("x-forwarded-for"),
        Some(&HeaderValue::from_static("10.1.2.3, 198.18.0.7"))
    );
    assert!(is_grpc(h));

    let gzip = parts(
        Request::builder()
            .uri("http://h/")
            .header("te", "gzip")
            .body(())
            .expect("request"),
    );
    assert!(
        h2_request(&gzip, &Mods::default())
            .expect("request")
            .headers()
            .get("te")
            .is_none()
    );
}

#[test]
fn an_http1_response_becomes_h2_headers_without_hop_by_hop_fields() {
    let raw = b"HTTP/1.1 201 Created\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\nX-Kept: yes\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n";
    let Ok(Parsed::Complete(head, _)) =
        ResponseParser::new(&Limits::default(), strait_http1::Method::Get).parse(raw)
    else {
        panic!("parses");
    };
    let resp = h2_response(&head, raw, &Mods::default()).expect("a response");
    assert_eq!(resp.status(), 201);
    let h = resp.headers();
    for gone in ["connection", "x-hop", "keep-alive", "transfer-encoding"] {
        assert!(h.get(gone).is_none(), "{gone}");
    }
    assert_eq!(h.get("x-kept"), Some(&HeaderValue::from_static("yes")));
    assert_eq!(h.get_all("set-cookie").iter().count(), 2);
}

#[test]
fn grpc_errors_are_trailers_only_with_an_encoded_message() {
    assert_eq!(grpc_code(404), code::UNIMPLEMENTED);
    assert_eq!(grpc_code(503), code::UNAVAILABLE);
    assert_eq!(grpc_code(502), code::UNAVAILABLE);
    assert_eq!(grpc_code(504), code::DEADLINE_EXCEEDED);
    assert_eq!(grpc_code(500), code::INTERNAL);
    let resp = grpc_error(
        code::UNAVAILABLE,
        "no healthy endpoint in cluster café 100%\n",
    );
    assert_eq!(resp.status(), 200);
    let h = resp.headers();
    assert_eq!(
        h.get("content-type"),
        Some(&HeaderValue::from_static("application/grpc"))
    );
    assert_eq!(h.get("grpc-status"), Some(&HeaderValue::from_static("14")));
    assert_eq!(
        h.get("grpc-message").map(HeaderValue::as_bytes),
        Some(&b"no healthy endpoint in cluster caf%C3%A9 100%25"[..])
    );
}

#[test]
fn local_answers_carry_length_type_and_location() {
    let r = local(404, b"no route\n", None);
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.headers().get("content-length"),
        Some(&HeaderValue::from(9))
    );
    let r = local(301, b"", Some(b"https://h/x"));
    assert_eq!(
        r.headers().get("location"),
        Some(&HeaderValue::from_static("https://h/x"))
    );
    assert!(r.headers().get("content-type").is_none());
}

#[test]
fn an_http1_request_becomes_an_h2_request_without_hop_by_hop_fields() {
    let raw = b"POST /echo.Echo/Say?x=1 HTTP/1.1\r\nHost: grpc.example:8080\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nTE: gzip, trailers\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\nContent-Type: application/grpc\r\n\r\n";
    let Ok(Parsed::Complete(head, _)) = RequestParser::new(&Limits::default()).parse(raw) else {
        panic!("parses");
    };
    let req = h2_request_from_h1(
        &head,
        raw,
        b"grpc.example:8080",
        b"/echo.Echo/Say?x=1",
        &Mods::default(),
    )
    .expect("a request");
    assert_eq!(req.method(), Method::POST);
    assert_eq!(
        req.uri().to_string(),
        "http://grpc.example:8080/echo.Echo/Say?x=1"
    );
    let h = req.headers();
    for gone in ["connection", "x-hop", "expect", "transfer-encoding", "host"] {
        assert!(h.get(gone).is_none(), "{gone}");
    }
    assert_eq!(h.get("te"), Some(&HeaderValue::from_static("trailers")));
    assert!(is_grpc(h));
}

#[test]
fn an_h2_response_becomes_an_http1_head_framed_as_told() {
    let resp = http::Response::builder()
        .status(200)
        .header("content-type", "application/grpc")
        .header("content-length", "7")
        .header("x-space", " padded ")
        .body(())
        .expect("response");
    let (parts, ()) = resp.into_parts();
    let mut out = Vec::new();
    let chunked = H1Framing {
        chunked: true,
        close: true,
        keep_alive_10: false,
    };
    h1_response(&mut out, strait_http1::Version::Http11, &parts, chunked).expect("a head");
    assert_eq!(
        text(&out),
        "HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    out.clear();
    let sized = H1Framing {
        keep_alive_10: true,
        ..H1Framing::default()
    };
    h1_response(&mut out, strait_http1::Version::Http10, &parts, sized).expect("a head");
    assert_eq!(
        text(&out),
        "HTTP/1.0 200 OK\r\ncontent-type: application/grpc\r\ncontent-length: 7\r\nconnection: keep-alive\r\n\r\n"
    );
}
