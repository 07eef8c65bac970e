//! Response heads: status line and RFC 9112 §6.3 body framing.

use crate::{BodyFraming, Error, Limits, Method, Parsed, ResponseHead, parse_response};

fn response(raw: &[u8], method: Method) -> Result<ResponseHead, Error> {
    match parse_response(raw, &Limits::default(), method)? {
        Parsed::Complete(head, consumed) => {
            assert_eq!(consumed, raw.len());
            Ok(head)
        }
        Parsed::Partial => panic!("incomplete: {raw:?}"),
    }
}

fn framing(status_and_fields: &str, method: Method) -> BodyFraming {
    let raw = format!("HTTP/1.1 {status_and_fields}\r\n");
    response(raw.as_bytes(), method).unwrap().framing
}

#[test]
fn status_line() {
    let raw = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    let head = response(raw, Method::Get).unwrap();
    assert_eq!(
        (head.status, head.reason.get(raw)),
        (404, &b"Not Found"[..])
    );
    assert_eq!(
        response(b"HTTP/1.0 200 \r\n\r\n", Method::Get)
            .unwrap()
            .status,
        200
    );
    assert!(
        response(b"HTTP/1.1 200\r\n\r\n", Method::Get)
            .unwrap()
            .reason
            .is_empty()
    );
    for raw in [
        &b"HTTP/1.1 20 OK\r\n\r\n"[..],
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 099 Low\r\n\r\n",
        b"HTTP/1.1 600 High\r\n\r\n",
        b"HTTP/2.0 200 OK\r\n\r\n",
        b"http/1.1 200 OK\r\n\r\n",
        b"HTTP/1.1  200 OK\r\n\r\n",
        b"HTTP/1.1 2x0 OK\r\n\r\n",
        b"HTTP/1.1 200 O\x01K\r\n\r\n",
        b"ICY 200 OK\r\n\r\n",
    ] {
        let err = response(raw, Method::Get).unwrap_err();
        assert_eq!(
            (err, err.status()),
            (Error::InvalidStatusLine, 502),
            "{raw:?}"
        );
    }
}

#[test]
fn bodiless_statuses_and_head() {
    assert_eq!(
        framing("204 No Content\r\nContent-Length: 5\r\n", Method::Get),
        BodyFraming::None
    );
    assert_eq!(
        framing("304 Not Modified\r\nContent-Length: 5\r\n", Method::Get),
        BodyFraming::None
    );
    assert_eq!(framing("100 Continue\r\n", Method::Post), BodyFraming::None);
    assert_eq!(
        framing("200 OK\r\nContent-Length: 5\r\n", Method::Head),
        BodyFraming::None
    );
    assert_eq!(
        framing("200 OK\r\nTransfer-Encoding: chunked\r\n", Method::Head),
        BodyFraming::None
    );
}

#[test]
fn tunnels() {
    assert_eq!(
        framing("200 Connection established\r\n", Method::Connect),
        BodyFraming::Tunnel
    );
    assert_eq!(
        framing("407 Auth\r\nContent-Length: 0\r\n", Method::Connect),
        BodyFraming::Length(0)
    );
    let raw =
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n";
    let head = response(raw, Method::Get).unwrap();
    assert_eq!(head.framing, BodyFraming::Tunnel);
    assert_eq!(head.upgrade.map(|u| u.get(raw)), Some(&b"websocket"[..]));
    assert!(!head.keep_alive);
}

#[test]
fn length_chunked_and_until_close() {
    assert_eq!(
        framing("200 OK\r\nContent-Length: 12\r\n", Method::Get),
        BodyFraming::Length(12)
    );
    assert_eq!(
        framing("200 OK\r\nTransfer-Encoding: chunked\r\n", Method::Get),
        BodyFraming::Chunked
    );
    let raw = b"HTTP/1.1 200 OK\r\n\r\n";
    let head = response(raw, Method::Get).unwrap();
    assert_eq!(head.framing, BodyFraming::UntilClose);
    assert!(!head.keep_alive);
    let head = response(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n", Method::Get).unwrap();
    assert!(head.keep_alive);
}

#[test]
fn transfer_encoding_wins_over_content_length_and_closes() {
    let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n";
    let head = response(raw, Method::Get).unwrap();
    assert_eq!(head.framing, BodyFraming::Chunked);
    assert!(head.content_length_ignored);
    assert!(!head.keep_alive);
    let plain = response(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        Method::Get,
    )
    .unwrap();
    assert!(!plain.content_length_ignored && plain.keep_alive);
}

#[test]
fn the_field_rules_apply_to_responses() {
    let cases: [(&[u8], Error); 6] = [
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
            Error::DuplicateContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n",
            Error::InvalidContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            Error::ChunkedNotLast,
        ),
        (
            b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            Error::TransferEncodingInHttp10,
        ),
        (
            b"HTTP/1.1 200 OK\r\nX-A : b\r\n\r\n",
            Error::WhitespaceBeforeColon,
        ),
        (b"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", Error::BareLf),
    ];
    for (raw, want) in cases {
        assert_eq!(response(raw, Method::Get), Err(want), "{raw:?}");
    }
}

#[test]
fn interim_then_final_response() {
    let raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
    let mut parser = crate::ResponseParser::new(&Limits::default(), Method::Post);
    let Ok(Parsed::Complete(interim, used)) = parser.parse(raw) else {
        panic!("no interim response");
    };
    assert_eq!(interim.status, 100);
    let Ok(Parsed::Complete(last, rest)) = parser.parse(&raw[used..]) else {
        panic!("no final response");
    };
    assert_eq!((last.status, used + rest), (201, raw.len()));
}

#[test]
fn request_only_rules_do_not_apply_to_responses() {
    let raw =
        b"HTTP/1.1 200 OK\r\nHost: a\r\nHost: b\r\nExpect: nothing\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(
        response(raw, Method::Get).unwrap().framing,
        BodyFraming::Length(0)
    );
}
