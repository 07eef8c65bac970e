//! Unit tests, one file per area; each rule is tested on its accept and its reject side.

mod body;
mod encode;
mod fields;
mod framing;
mod request_line;
mod response;

use crate::{Error, Limits, Parsed, RequestHead, parse_request};

/// Parses a whole request head; it must be complete and take every byte.
fn request(raw: &[u8]) -> Result<RequestHead, Error> {
    request_with(raw, &Limits::default())
}

fn request_with(raw: &[u8], limits: &Limits) -> Result<RequestHead, Error> {
    match parse_request(raw, limits)? {
        Parsed::Complete(head, consumed) => {
            assert_eq!(consumed, raw.len(), "head of {raw:?} took {consumed} bytes");
            Ok(head)
        }
        Parsed::Partial => panic!("head of {raw:?} is incomplete"),
    }
}

/// `GET / HTTP/1.1` with `Host: example.com` and the given extra field lines (CRLF-terminated).
fn get_with(fields: &str) -> Vec<u8> {
    format!("GET / HTTP/1.1\r\nHost: example.com\r\n{fields}\r\n").into_bytes()
}

/// The error of a request head that must be rejected.
fn rejected(raw: &[u8]) -> Error {
    match parse_request(raw, &Limits::default()) {
        Err(err) => err,
        Ok(other) => panic!("{:?} was accepted: {other:?}", String::from_utf8_lossy(raw)),
    }
}
