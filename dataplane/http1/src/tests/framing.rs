//! Framing and connection fields of requests: Content-Length, Transfer-Encoding, Host,
//! Connection, Expect, Upgrade.

use super::{get_with, rejected, request, request_with};
use crate::{BodyFraming, Error, Limits, Upgrade};

fn post_with(fields: &str) -> Vec<u8> {
    format!("POST /upload HTTP/1.1\r\nHost: example.com\r\n{fields}\r\n").into_bytes()
}

#[test]
fn content_length_is_plain_digits() {
    assert_eq!(
        request(&post_with("Content-Length: 42\r\n"))
            .unwrap()
            .framing,
        BodyFraming::Length(42)
    );
    assert_eq!(
        request(&post_with("Content-Length: 0\r\n"))
            .unwrap()
            .framing,
        BodyFraming::Length(0)
    );
    let max = format!("Content-Length: {}\r\n", u64::MAX);
    assert_eq!(
        request(&post_with(&max)).unwrap().framing,
        BodyFraming::Length(u64::MAX)
    );
    assert_eq!(
        request(&post_with("Content-Length: 007\r\n"))
            .unwrap()
            .framing,
        BodyFraming::Length(7)
    );
    assert_eq!(request(&get_with("")).unwrap().framing, BodyFraming::None);

    for value in [
        "+5",
        "-5",
        "5 5",
        "5,5",
        "5, 5",
        "0x10",
        "",
        "1e3",
        "18446744073709551616",
    ] {
        let raw = post_with(&format!("Content-Length: {value}\r\n"));
        assert_eq!(rejected(&raw), Error::InvalidContentLength, "{value:?}");
    }
}

#[test]
fn content_length_appears_once() {
    for fields in [
        "Content-Length: 5\r\nContent-Length: 5\r\n",
        "Content-Length: 5\r\ncontent-length: 6\r\n",
    ] {
        let err = rejected(&post_with(fields));
        assert_eq!((err, err.status()), (Error::DuplicateContentLength, 400));
    }
}

#[test]
fn content_length_is_bounded_by_max_body() {
    let limits = Limits {
        max_body: Some(100),
        ..Limits::default()
    };
    assert!(request_with(&post_with("Content-Length: 100\r\n"), &limits).is_ok());
    let err = request_with(&post_with("Content-Length: 101\r\n"), &limits).unwrap_err();
    assert_eq!((err, err.status()), (Error::BodyTooLarge, 413));
}

#[test]
fn chunked_must_be_the_only_and_final_coding() {
    for value in ["chunked", "Chunked", "CHUNKED"] {
        let raw = post_with(&format!("Transfer-Encoding: {value}\r\n"));
        assert_eq!(
            request(&raw).unwrap().framing,
            BodyFraming::Chunked,
            "{value}"
        );
    }
    let cases = [
        (
            "Transfer-Encoding: chunked, gzip\r\n",
            Error::ChunkedNotLast,
        ),
        (
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n",
            Error::ChunkedNotLast,
        ),
        (
            "Transfer-Encoding: chunked, chunked\r\n",
            Error::ChunkedRepeated,
        ),
        (
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
            Error::ChunkedRepeated,
        ),
        (
            "Transfer-Encoding: gzip\r\n",
            Error::UnsupportedTransferCoding,
        ),
        (
            "Transfer-Encoding: gzip, chunked\r\n",
            Error::UnsupportedTransferCoding,
        ),
        (
            "Transfer-Encoding: identity\r\n",
            Error::UnsupportedTransferCoding,
        ),
        ("Transfer-Encoding: \r\n", Error::InvalidTransferEncoding),
        (
            "Transfer-Encoding: , chunked\r\n",
            Error::InvalidTransferEncoding,
        ),
        (
            "Transfer-Encoding: chunked;x=1\r\n",
            Error::InvalidTransferEncoding,
        ),
        (
            "Transfer-Encoding: \"chunked\"\r\n",
            Error::InvalidTransferEncoding,
        ),
        (
            "Transfer-Encoding: chunked\x0b\r\n",
            Error::InvalidHeaderValue,
        ),
    ];
    for (fields, want) in cases {
        assert_eq!(rejected(&post_with(fields)), want, "{fields:?}");
    }
    assert_eq!(Error::ChunkedNotLast.status(), 400);
    assert_eq!(Error::UnsupportedTransferCoding.status(), 501);
}

#[test]
fn one_framing_per_request() {
    let err = rejected(&post_with(
        "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
    ));
    assert_eq!(
        (err, err.status()),
        (Error::ContentLengthWithTransferEncoding, 400)
    );
    let err = rejected(&post_with(
        "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n",
    ));
    assert_eq!(err, Error::ContentLengthWithTransferEncoding);
}

#[test]
fn no_transfer_encoding_in_http_1_0() {
    let raw = b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_eq!(rejected(raw), Error::TransferEncodingInHttp10);
    let raw = b"POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\n";
    assert_eq!(request(raw).unwrap().framing, BodyFraming::Length(3));
}

#[test]
fn host_is_required_once_and_valid_in_http_1_1() {
    for value in [
        "example.com",
        "example.com:8080",
        "10.0.0.1:80",
        "[2001:db8::1]",
        "[::1]:443",
        "xn--bcher-kva.example",
        "a%2Db",
    ] {
        let raw = format!("GET / HTTP/1.1\r\nHost: {value}\r\n\r\n");
        let head = request(raw.as_bytes()).unwrap_or_else(|e| panic!("{value}: {e}"));
        assert!(head.host.is_some(), "{value}");
    }
    let raw = b"GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n";
    let host = request(raw).unwrap().host.unwrap();
    assert_eq!(
        (host.name.get(raw), host.port),
        (&b"example.com"[..], Some(8080))
    );

    assert_eq!(
        rejected(b"GET / HTTP/1.1\r\nX-A: b\r\n\r\n"),
        Error::MissingHost
    );
    assert_eq!(
        rejected(b"GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n"),
        Error::DuplicateHost
    );
    assert_eq!(
        rejected(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        Error::DuplicateHost
    );
    for value in [
        "",
        "a b",
        "a:",
        "a:65536",
        "a:123456",
        "a:-1",
        "a:8o",
        "[::1",
        "[zz::1]",
        "[::1]x",
        "user@a",
        "a/b",
        "a:1:2",
        "a%2",
        "[fe80::1%25eth0]",
    ] {
        let raw = format!("GET / HTTP/1.1\r\nHost: {value}\r\n\r\n");
        assert_eq!(rejected(raw.as_bytes()), Error::InvalidHost, "{value:?}");
    }
    // HTTP/1.0 may omit Host, but a present one is still checked.
    assert_eq!(request(b"GET / HTTP/1.0\r\n\r\n").unwrap().host, None);
    assert_eq!(
        rejected(b"GET / HTTP/1.0\r\nHost: a b\r\n\r\n"),
        Error::InvalidHost
    );
}

#[test]
fn keep_alive_follows_version_and_connection() {
    let cases: [(&[u8], bool); 7] = [
        (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
            false,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, CLOSE\r\n\r\n",
            false,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: x-opt,,\r\n\r\n",
            true,
        ),
        (b"GET / HTTP/1.0\r\n\r\n", false),
        (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true),
        (
            b"GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n",
            false,
        ),
    ];
    for (raw, keep_alive) in cases {
        assert_eq!(request(raw).unwrap().keep_alive, keep_alive, "{raw:?}");
    }
    assert_eq!(
        rejected(&get_with("Connection: close/now\r\n")),
        Error::InvalidConnection
    );
}

#[test]
fn expect_100_continue() {
    let head = request(&post_with("Expect: 100-Continue\r\nContent-Length: 3\r\n")).unwrap();
    assert!(head.expect_continue);
    assert!(
        !request(&post_with("Content-Length: 3\r\n"))
            .unwrap()
            .expect_continue
    );
    let old =
        request(b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n").unwrap();
    assert!(!old.expect_continue, "HTTP/1.0 expectations are ignored");
    let err = rejected(&post_with("Expect: 200-ok\r\n"));
    assert_eq!((err, err.status()), (Error::ExpectationFailed, 417));
}

#[test]
fn upgrade_needs_the_connection_option() {
    let raw = get_with("Connection: Upgrade\r\nUpgrade: websocket\r\n");
    let head = request(&raw).unwrap();
    let Some(Upgrade::Protocol(proto)) = head.upgrade else {
        panic!("no upgrade: {:?}", head.upgrade);
    };
    assert_eq!(proto.get(&raw), b"websocket");
    assert_eq!(
        request(&get_with("Upgrade: websocket\r\n"))
            .unwrap()
            .upgrade,
        None
    );
    let old = b"GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n";
    assert_eq!(request(old).unwrap().upgrade, None);
    let raw = b"CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\n\r\n";
    assert_eq!(request(raw).unwrap().upgrade, Some(Upgrade::Connect));
}
