//! Field-line rules: CRLF only, names, values, obs-fold, head size and field count.

use super::{get_with, rejected, request, request_with};
use crate::fields::INLINE_FIELDS;
use crate::{
    BodyFraming, Error, Limits, MAX_FIELDS, Method, Parsed, parse_request, parse_response,
};

#[test]
fn crlf_line_endings_only() {
    assert!(request(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").is_ok());
    for raw in [
        &b"GET / HTTP/1.1\nHost: a\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: a\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\n\n",
        b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    ] {
        let err = rejected(raw);
        assert_eq!((err, err.status()), (Error::BareLf, 400), "{raw:?}");
    }
    for raw in [
        &b"GET / HTTP/1.1\rHost: a\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: a\rX-A: b\r\n\r\n",
        b"GET / HTTP/1.1\r\nX-A: b\r\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\r\n",
    ] {
        let err = rejected(raw);
        assert_eq!((err, err.status()), (Error::BareCr, 400), "{raw:?}");
    }
}

#[test]
fn a_trailing_cr_waits_for_its_lf() {
    let limits = Limits::default();
    assert_eq!(
        parse_request(b"GET / HTTP/1.1\r", &limits),
        Ok(Parsed::Partial)
    );
    assert_eq!(
        parse_request(b"GET / HTTP/1.1\r\nHost: a\r\n\r", &limits),
        Ok(Parsed::Partial)
    );
}

#[test]
fn names_are_tokens_directly_followed_by_the_colon() {
    let raw = get_with("X-Custom_1.2~: v\r\n");
    let head = request(&raw).unwrap();
    assert_eq!(head.fields.get(&raw, b"x-custom_1.2~"), Some(&b"v"[..]));

    assert_eq!(
        rejected(&get_with("X-A : v\r\n")),
        Error::WhitespaceBeforeColon
    );
    assert_eq!(
        rejected(&get_with("X-A\t: v\r\n")),
        Error::WhitespaceBeforeColon
    );
    assert_eq!(
        rejected(b"GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
        Error::WhitespaceBeforeColon
    );
    assert_eq!(rejected(&get_with(": v\r\n")), Error::InvalidHeaderName);
    assert_eq!(rejected(&get_with("X A: v\r\n")), Error::InvalidHeaderName);
    assert_eq!(rejected(&get_with("X(A): v\r\n")), Error::InvalidHeaderName);
    assert_eq!(
        rejected(&get_with("no colon here\r\n")),
        Error::InvalidHeaderName
    );
    assert_eq!(Error::WhitespaceBeforeColon.status(), 400);
}

#[test]
fn values_are_trimmed_and_free_of_controls() {
    let raw = get_with("X-A: \t spaced \t value \t\r\nX-Empty:\r\nX-Text: caf\u{e9}\r\n");
    let head = request(&raw).unwrap();
    assert_eq!(head.fields.get(&raw, b"x-a"), Some(&b"spaced \t value"[..]));
    assert_eq!(head.fields.get(&raw, b"x-empty"), Some(&b""[..]));
    assert_eq!(
        head.fields.get(&raw, b"x-text"),
        Some("caf\u{e9}".as_bytes())
    );

    for value in ["a\0b", "a\x01b", "\x1b[0m", "a\x7fb"] {
        let raw = get_with(&format!("X-A: {value}\r\n"));
        assert_eq!(rejected(&raw), Error::InvalidHeaderValue, "{value:?}");
    }
}

#[test]
fn obs_fold_is_rejected() {
    assert_eq!(rejected(&get_with("X-A: one\r\n two\r\n")), Error::ObsFold);
    assert_eq!(rejected(&get_with("X-A: one\r\n\ttwo\r\n")), Error::ObsFold);
    assert_eq!(
        rejected(b"GET / HTTP/1.1\r\n Host: a\r\n\r\n"),
        Error::ObsFold
    );
}

#[test]
fn head_size_is_bounded_even_before_it_ends() {
    let limits = Limits {
        max_header_bytes: 64,
        ..Limits::default()
    };
    let head = |pad: usize| {
        format!(
            "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: {}\r\n\r\n",
            "p".repeat(pad)
        )
    };
    assert_eq!(head(28).len(), 64);
    assert!(request_with(head(28).as_bytes(), &limits).is_ok());
    assert_eq!(
        parse_request(head(29).as_bytes(), &limits),
        Err(Error::HeadTooLarge)
    );
    // A client that never ends its head is cut as soon as it passes the limit.
    let endless = [&b"GET / HTTP/1.1\r\nX-Pad: "[..], &[b'a'; 41]].concat();
    assert_eq!(endless.len(), 64);
    assert_eq!(parse_request(&endless[..63], &limits), Ok(Parsed::Partial));
    assert_eq!(parse_request(&endless, &limits), Err(Error::HeadTooLarge));
    assert_eq!(Error::HeadTooLarge.status(), 431);
}

#[test]
fn field_count_is_bounded() {
    let limits = Limits {
        max_headers: 3,
        ..Limits::default()
    };
    assert!(request_with(&get_with("A: 1\r\nB: 2\r\n"), &limits).is_ok());
    let err = request_with(&get_with("A: 1\r\nB: 2\r\nC: 3\r\n"), &limits).unwrap_err();
    assert_eq!((err, err.status()), (Error::TooManyHeaders, 431));
}

#[test]
fn fields_are_kept_in_order_with_case() {
    let raw = get_with("X-One: 1\r\nx-two: 2\r\nX-ONE: 3\r\n");
    let head = request(&raw).unwrap();
    let all: Vec<_> = head.fields.iter(&raw).collect();
    assert_eq!(
        all,
        [
            (&b"Host"[..], &b"example.com"[..]),
            (b"X-One", b"1"),
            (b"x-two", b"2"),
            (b"X-ONE", b"3")
        ]
    );
    let ones: Vec<_> = head.fields.get_all(&raw, b"x-one").collect();
    assert_eq!(ones, [&b"1"[..], b"3"]);
}

/// `n` field lines `X-Nk: vk` (k from 0), CRLF-terminated.
fn numbered(n: usize) -> String {
    (0..n).map(|k| format!("X-N{k}: v{k}\r\n")).collect()
}

#[test]
fn heads_longer_than_the_inline_room_parse_whole_and_in_order() {
    for extra in [INLINE_FIELDS - 1, INLINE_FIELDS, INLINE_FIELDS + 1, 60] {
        let raw = get_with(&numbered(extra));
        let head = request(&raw).unwrap();
        assert_eq!(head.fields.len(), extra + 1, "{extra} extra fields");
        let all: Vec<_> = head.fields.iter(&raw).skip(1).collect();
        for (k, (name, value)) in all.into_iter().enumerate() {
            assert_eq!(name, format!("X-N{k}").as_bytes());
            assert_eq!(value, format!("v{k}").as_bytes());
        }
        assert_eq!(head.fields.get(&raw, b"host"), Some(&b"example.com"[..]));
        let last = format!("x-n{}", extra - 1);
        assert_eq!(
            head.fields.get(&raw, last.as_bytes()),
            Some(format!("v{}", extra - 1).as_bytes())
        );
        assert_eq!(head.clone(), head);
    }
}

#[test]
fn at_most_max_fields_whatever_the_limit_says() {
    let limits = Limits {
        max_headers: 10 * MAX_FIELDS,
        ..Limits::default()
    };
    // Host is the first of the MAX_FIELDS.
    let raw = get_with(&numbered(MAX_FIELDS - 1));
    let head = request_with(&raw, &limits).unwrap();
    assert_eq!(head.fields.len(), MAX_FIELDS);
    assert_eq!(
        head.fields.iter(&raw).last(),
        Some((
            format!("X-N{}", MAX_FIELDS - 2).as_bytes(),
            format!("v{}", MAX_FIELDS - 2).as_bytes()
        ))
    );
    let err = request_with(&get_with(&numbered(MAX_FIELDS)), &limits).unwrap_err();
    assert_eq!((err, err.status()), (Error::TooManyHeaders, 431));
}

#[test]
fn long_response_heads_parse_whole() {
    let raw = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n{}\r\n",
        numbered(2 * INLINE_FIELDS)
    );
    let Ok(Parsed::Complete(head, len)) =
        parse_response(raw.as_bytes(), &Limits::default(), Method::Get)
    else {
        panic!("not parsed");
    };
    assert_eq!(len, raw.len());
    assert_eq!(head.fields.len(), 2 * INLINE_FIELDS + 1);
    assert_eq!(head.framing, BodyFraming::Length(0));
    let last = format!("x-n{}", 2 * INLINE_FIELDS - 1);
    assert_eq!(
        head.fields.get(raw.as_bytes(), last.as_bytes()),
        Some(format!("v{}", 2 * INLINE_FIELDS - 1).as_bytes())
    );
}
