//! Responses the proxy makes itself: errors, 404, 503, redirects, direct responses.
//!
//! Invariants: every local response is a complete HTTP/1.1 message with `Content-Length`
//! (so the client can reuse the connection unless `close` is set, which adds
//! `Connection: close`), a `text/plain` body that says why, and never a byte of the peer's
//! input. A response to HEAD carries the length but not the body.

use strait_http1::{Version, end_head, write_field, write_status_line};

/// The interim answer to `Expect: 100-continue`.
pub(crate) const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// The reason phrase of the statuses the proxy sends itself.
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        410 => "Gone",
        413 => "Content Too Large",
        414 => "URI Too Long",
        417 => "Expectation Failed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// One local response; see the module invariants.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Local<'a> {
    pub(crate) status: u16,
    pub(crate) body: &'a [u8],
    /// Close the connection after it.
    pub(crate) close: bool,
    /// The request was HEAD: no body.
    pub(crate) head_only: bool,
    /// The client's version (an HTTP/1.0 client that stays is told `keep-alive`).
    pub(crate) version: Version,
    /// A redirect's target.
    pub(crate) location: Option<&'a [u8]>,
}

impl<'a> Local<'a> {
    /// A response that closes the connection: for errors where the rest of the input cannot
    /// be trusted.
    pub(crate) fn closing(status: u16, body: &'a [u8]) -> Local<'a> {
        Local {
            status,
            body,
            close: true,
            head_only: false,
            version: Version::Http11,
            location: None,
        }
    }

    /// Appends the response to `out`.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        let status = if (100..=599).contains(&self.status) {
            self.status
        } else {
            500
        };
        // Only fixed text and checked values are written, so these cannot fail; a location
        // with a byte a field may not hold is left out rather than sent.
        let _ = write_status_line(out, Version::Http11, status, reason(status).as_bytes());
        let _ = write_field(out, b"content-type", b"text/plain; charset=utf-8");
        let _ = write_field(
            out,
            b"content-length",
            self.body.len().to_string().as_bytes(),
        );
        if let Some(location) = self.location {
            let _ = write_field(out, b"location", location);
        }
        if self.close {
            let _ = write_field(out, b"connection", b"close");
        } else if self.version == Version::Http10 {
            let _ = write_field(out, b"connection", b"keep-alive");
        }
        end_head(out);
        if !self.head_only {
            out.extend_from_slice(self.body);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_responses_are_framed_and_parse() {
        let mut out = Vec::new();
        Local::closing(503, b"no healthy endpoint\n").write(&mut out);
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
            "{text}"
        );
        assert!(text.contains("content-length: 20\r\n") && text.contains("connection: close\r\n"));
        assert!(text.ends_with("\r\n\r\nno healthy endpoint\n"));
        let parsed =
            strait_http1::parse_response(&out, &Default::default(), strait_http1::Method::Get);
        assert!(matches!(parsed, Ok(strait_http1::Parsed::Complete(..))));
        let mut head = Vec::new();
        Local {
            status: 301,
            body: b"",
            close: false,
            head_only: true,
            version: Version::Http10,
            location: Some(b"https://a.example/x"),
        }
        .write(&mut head);
        let text = String::from_utf8(head).unwrap();
        assert!(text.contains("location: https://a.example/x\r\n"));
        assert!(text.contains("connection: keep-alive\r\n"));
    }
}
