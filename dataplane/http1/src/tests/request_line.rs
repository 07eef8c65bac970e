//! Request-line rules: method token, single SPs, target bytes and form, version, length.

use super::{rejected, request, request_with};
use crate::{Error, Limits, Method, TargetForm, Version};

#[test]
fn accepts_a_plain_get() {
    let raw = b"GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n";
    let head = request(raw).unwrap();
    assert_eq!(head.method, Method::Get);
    assert_eq!(head.method_name.get(raw), b"GET");
    assert_eq!(head.target.get(raw), b"/index.html?q=1");
    assert_eq!(head.target_form, TargetForm::Origin);
    assert_eq!(head.version, Version::Http11);
}

#[test]
fn methods_are_case_sensitive_tokens() {
    let raw = b"get / HTTP/1.1\r\nHost: a\r\n\r\n";
    let head = request(raw).unwrap();
    assert_eq!(head.method, Method::Other);
    assert_eq!(head.method_name.get(raw), b"get");
    let custom = request(b"PURGE-ALL / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    assert_eq!(custom.method, Method::Other);
    assert_eq!(
        rejected(b"GE(T / HTTP/1.1\r\nHost: a\r\n\r\n"),
        Error::InvalidMethod
    );
    assert_eq!(
        rejected(b"G\x01T / HTTP/1.1\r\nHost: a\r\n\r\n"),
        Error::InvalidMethod
    );
}

#[test]
fn exactly_one_space_between_parts() {
    for raw in [
        &b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n"[..],
        b"GET /  HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
        b" GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n",
        b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    ] {
        assert_eq!(rejected(raw), Error::InvalidRequestLine, "{raw:?}");
    }
    assert_eq!(
        rejected(b"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n"),
        Error::InvalidRequestLine
    );
}

#[test]
fn target_bytes_are_visible_ascii_without_fragment() {
    for raw in [
        &b"GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n"[..],
        b"GET /a\x7fb HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET \x00 HTTP/1.1\r\nHost: a\r\n\r\n",
    ] {
        assert_eq!(rejected(raw), Error::InvalidTarget, "{raw:?}");
    }
    assert!(request(b"GET /a%20b?x=[1]&y=~ HTTP/1.1\r\nHost: a\r\n\r\n").is_ok());
}

#[test]
fn target_form_matches_the_method() {
    let abs = request(b"GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\n\r\n").unwrap();
    assert_eq!(abs.target_form, TargetForm::Absolute);
    let star = request(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    assert_eq!(star.target_form, TargetForm::Asterisk);
    let raw = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
    let connect = request(raw).unwrap();
    assert_eq!(connect.target_form, TargetForm::Authority);
    let authority = connect.connect_authority.unwrap();
    assert_eq!(
        (authority.name.get(raw), authority.port),
        (&b"example.com"[..], Some(443))
    );

    assert_eq!(
        rejected(b"GET * HTTP/1.1\r\nHost: a\r\n\r\n"),
        Error::InvalidTarget
    );
    assert_eq!(
        rejected(b"GET index.html HTTP/1.1\r\nHost: a\r\n\r\n"),
        Error::InvalidTarget
    );
    assert_eq!(
        rejected(b"CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n"),
        Error::InvalidTarget
    );
    assert_eq!(
        rejected(b"CONNECT a.example HTTP/1.1\r\nHost: a\r\n\r\n"),
        Error::InvalidTarget
    );
}

#[test]
fn versions_1_0_and_1_1_only() {
    let old = request(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    assert_eq!(old.version, Version::Http10);
    for v in ["HTTP/2.0", "HTTP/0.9", "HTTP/1.2", "HTTP/3.0"] {
        let raw = format!("GET / {v}\r\nHost: a\r\n\r\n");
        let err = rejected(raw.as_bytes());
        assert_eq!((err, err.status()), (Error::UnsupportedVersion, 505), "{v}");
    }
    for v in [
        "HTTP/1.1.1",
        "http/1.1",
        "HTTP/11",
        "HTTP/1.x",
        "FOO",
        "HTTP/1",
    ] {
        let raw = format!("GET / {v}\r\nHost: a\r\n\r\n");
        let err = rejected(raw.as_bytes());
        assert_eq!((err, err.status()), (Error::InvalidVersion, 400), "{v}");
    }
}

#[test]
fn request_line_length_is_bounded() {
    let limits = Limits {
        max_request_line: 32,
        ..Limits::default()
    };
    // 32 bytes exactly: accepted.
    let fits = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(18));
    assert_eq!(fits.find('\r'), Some(32));
    assert!(request_with(fits.as_bytes(), &limits).is_ok());
    // 33 bytes: 414, even before the line ends.
    let long = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(19));
    assert_eq!(
        request_with(long.as_bytes(), &limits),
        Err(Error::StartLineTooLong)
    );
    let cut = &long.as_bytes()[..34];
    assert_eq!(
        crate::parse_request(cut, &limits),
        Err(Error::StartLineTooLong)
    );
    assert_eq!(Error::StartLineTooLong.status(), 414);
}
