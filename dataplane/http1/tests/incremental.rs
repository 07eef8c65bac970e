//! Properties of the parsers on generated input: random byte soups and mutated valid requests
//! never panic, and feeding a message in pieces (split at every byte position, or byte by byte)
//! gives exactly the answer of feeding it whole.

use proptest::prelude::*;
use proptest::sample::{Index, select};
use strait_http1::{
    BodyDecoder, BodyFraming, Error, Event, Limits, Method, Parsed, RequestParser, ResponseParser,
    parse_request, parse_response,
};

/// Small limits, so generated input reaches every bound.
fn small_limits() -> Limits {
    Limits {
        max_request_line: 48,
        max_header_bytes: 240,
        max_headers: 6,
        max_chunk_ext: 12,
        max_trailer_bytes: 40,
        max_body: Some(200),
    }
}

/// Every prefix gives `Partial` or the whole buffer's answer; a parser resumed on the whole
/// buffer after any prefix, or fed one byte more at a time, ends with the whole buffer's answer.
fn check_request_prefixes(buf: &[u8], limits: &Limits) -> Result<(), TestCaseError> {
    let whole = parse_request(buf, limits);
    for split in 0..=buf.len() {
        let mut parser = RequestParser::new(limits);
        let first = parser.parse(&buf[..split]);
        if first == Ok(Parsed::Partial) {
            prop_assert_eq!(&parser.parse(buf), &whole, "resumed after {} bytes", split);
        } else {
            prop_assert_eq!(&first, &whole, "prefix of {} bytes", split);
        }
    }
    let mut parser = RequestParser::new(limits);
    let mut last = Ok(Parsed::Partial);
    for len in 0..=buf.len() {
        last = parser.parse(&buf[..len]);
        if last != Ok(Parsed::Partial) {
            break;
        }
    }
    prop_assert_eq!(last, whole);
    Ok(())
}

fn check_response_prefixes(
    buf: &[u8],
    limits: &Limits,
    method: Method,
) -> Result<(), TestCaseError> {
    let whole = parse_response(buf, limits, method);
    for split in 0..=buf.len() {
        let mut parser = ResponseParser::new(limits, method);
        let first = parser.parse(&buf[..split]);
        if first == Ok(Parsed::Partial) {
            prop_assert_eq!(&parser.parse(buf), &whole, "resumed after {} bytes", split);
        } else {
            prop_assert_eq!(&first, &whole, "prefix of {} bytes", split);
        }
    }
    Ok(())
}

/// A decoded body: payload, trailers, bytes used, or the error.
type BodyResult = Result<(Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>, usize), Error>;

/// Decodes `input`, revealing it `step` bytes at a time; the unconsumed rest is passed again.
fn decode_by(framing: BodyFraming, input: &[u8], step: usize, limits: &Limits) -> BodyResult {
    let mut decoder = BodyDecoder::new(framing, limits);
    let (mut payload, mut trailers, mut used) = (Vec::new(), Vec::new(), 0);
    let mut visible = step.min(input.len());
    loop {
        let window = &input[used..visible];
        let decoded = decoder.decode(window)?;
        assert!(decoded.consumed <= window.len());
        used += decoded.consumed;
        match decoded.event {
            Event::Data(r) => payload.extend_from_slice(&window[r]),
            Event::Trailer { name, value } => {
                trailers.push((window[name].to_vec(), window[value].to_vec()))
            }
            Event::Done => return Ok((payload, trailers, used)),
            Event::NeedMore if visible == input.len() => {
                decoder.finish()?;
                return Ok((payload, trailers, used));
            }
            Event::NeedMore => visible = (visible + step).min(input.len()),
        }
    }
}

/// The body decoded whole, then revealed at every split point and byte by byte: all agree.
fn check_body_splits(
    framing: BodyFraming,
    body: &[u8],
    limits: &Limits,
) -> Result<(), TestCaseError> {
    let whole = decode_by(framing, body, usize::MAX, limits);
    for step in [1, 2, 5] {
        prop_assert_eq!(
            &decode_by(framing, body, step, limits),
            &whole,
            "step {}",
            step
        );
    }
    for split in 1..body.len() {
        // Two feeds: `split` bytes, then the rest.
        prop_assert_eq!(
            &decode_by(framing, body, split, limits),
            &whole,
            "split {}",
            split
        );
    }
    Ok(())
}

/// A generated valid request: its bytes, the X- fields, the payload, the trailers.
#[derive(Debug, Clone)]
struct Valid {
    bytes: Vec<u8>,
    fields: Vec<(String, String)>,
    payload: Vec<u8>,
    trailers: Vec<(String, String)>,
}

fn field() -> impl Strategy<Value = (String, String, String, String)> {
    (
        "X-[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}",
        "[!-~]([ -~\t]{0,20}[!-~])?",
        "[ \t]{0,2}",
        "[ \t]{0,2}",
    )
}

fn valid_request() -> impl Strategy<Value = Valid> {
    let method = select(vec!["GET", "POST", "PUT", "get", "X-PURGE", "DELETE"]);
    let target = "/[A-Za-z0-9._~%/?=&!$'()*+,;:@-]{0,30}";
    let chunks = prop::collection::vec(prop::collection::vec(any::<u8>(), 1..24), 0..4);
    let trailers = prop::collection::vec(("X-[A-Za-z]{1,6}", "[!-~]{0,8}"), 0..3);
    let body = prop_oneof![
        Just((0u8, Vec::new(), Vec::new())),
        prop::collection::vec(any::<u8>(), 0..48).prop_map(|b| (1u8, vec![b], Vec::new())),
        (chunks, trailers).prop_map(|(c, t)| (2u8, c, t)),
    ];
    let ext = select(vec![
        "",
        ";a",
        ";a=b",
        ";name=\"quoted value\"",
        "; x = y;z",
    ]);
    (
        method,
        target,
        prop::collection::vec(field(), 0..6),
        body,
        ext,
    )
        .prop_map(|(method, target, fields, (kind, pieces, trailers), ext)| {
            let mut head = format!("{method} {target} HTTP/1.1\r\nHost: example.com:8080\r\n");
            for (name, value, pre, post) in &fields {
                head.push_str(&format!("{name}:{pre}{value}{post}\r\n"));
            }
            let payload: Vec<u8> = pieces.concat();
            let mut body = Vec::new();
            match kind {
                0 => {}
                1 => head.push_str(&format!("Content-Length: {}\r\n", payload.len())),
                _ => {
                    head.push_str("Transfer-Encoding: chunked\r\n");
                    for piece in &pieces {
                        body.extend_from_slice(format!("{:x}{ext}\r\n", piece.len()).as_bytes());
                        body.extend_from_slice(piece);
                        body.extend_from_slice(b"\r\n");
                    }
                    body.extend_from_slice(b"0\r\n");
                    for (name, value) in &trailers {
                        body.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
                    }
                    body.extend_from_slice(b"\r\n");
                }
            }
            if kind == 1 {
                body.extend_from_slice(&payload);
            }
            head.push_str("\r\n");
            let mut bytes = head.into_bytes();
            bytes.extend_from_slice(&body);
            let fields = fields.into_iter().map(|(n, v, _, _)| (n, v)).collect();
            let trailers = if kind == 2 { trailers } else { Vec::new() };
            Valid {
                bytes,
                fields,
                payload,
                trailers,
            }
        })
}

/// Bytes that matter to HTTP framing, to bias soups and mutations towards interesting input.
fn http_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => select(b"\r\n \t:;,=\"0123456789abcdefxXGET/HTP.-\0\x7f\x80".to_vec()),
        1 => any::<u8>(),
    ]
}

fn mutate(mut bytes: Vec<u8>, edits: &[(u8, Index, u8)]) -> Vec<u8> {
    for &(op, at, byte) in edits {
        let i = at.index(bytes.len() + 1);
        match op % 3 {
            0 => bytes.insert(i, byte),
            1 if i < bytes.len() => drop(bytes.remove(i)),
            _ if i < bytes.len() => bytes[i] = byte,
            _ => bytes.push(byte),
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn valid_requests_parse_and_decode(req in valid_request()) {
        let limits = Limits::default();
        let Ok(Parsed::Complete(head, used)) = parse_request(&req.bytes, &limits) else {
            return Err(TestCaseError::fail(format!("rejected: {:?}", parse_request(&req.bytes, &limits))));
        };
        let mut got = head.fields.iter(&req.bytes).filter(|(n, _)| n.starts_with(b"X-"));
        for (name, value) in &req.fields {
            prop_assert_eq!(got.next(), Some((name.as_bytes(), value.as_bytes())));
        }
        let (payload, trailers, body_used) = decode_by(head.framing, &req.bytes[used..], usize::MAX, &limits)
            .map_err(|e| TestCaseError::fail(format!("body rejected: {e}")))?;
        prop_assert_eq!(payload, req.payload);
        let want: Vec<_> = req.trailers.iter().map(|(n, v)| (n.clone().into_bytes(), v.clone().into_bytes())).collect();
        prop_assert_eq!(trailers, want);
        prop_assert_eq!(used + body_used, req.bytes.len());
    }

    #[test]
    fn valid_requests_split_anywhere_agree(req in valid_request()) {
        let limits = Limits::default();
        check_request_prefixes(&req.bytes, &limits)?;
        if let Ok(Parsed::Complete(head, used)) = parse_request(&req.bytes, &limits) {
            check_body_splits(head.framing, &req.bytes[used..], &limits)?;
        }
    }

    #[test]
    fn mutated_requests_never_panic_and_agree(
        req in valid_request(),
        edits in prop::collection::vec((any::<u8>(), any::<Index>(), http_byte()), 1..4),
        small in any::<bool>(),
    ) {
        let limits = if small { small_limits() } else { Limits::default() };
        let bytes = mutate(req.bytes, &edits);
        check_request_prefixes(&bytes, &limits)?;
        if let Ok(Parsed::Complete(head, used)) = parse_request(&bytes, &limits) {
            check_body_splits(head.framing, &bytes[used..], &limits)?;
        }
    }

    #[test]
    fn byte_soups_never_panic_and_agree(
        prefix in select(vec![&b""[..], b"GET / HTTP/1.1\r\n", b"POST / HTTP/1.1\r\nHost: a\r\n", b"HTTP/1.1 200 OK\r\n"]),
        soup in prop::collection::vec(http_byte(), 0..160),
        method in select(vec![Method::Get, Method::Head, Method::Connect, Method::Post]),
    ) {
        let bytes = [prefix, &soup[..]].concat();
        let limits = small_limits();
        check_request_prefixes(&bytes, &limits)?;
        check_response_prefixes(&bytes, &limits, method)?;
        for framing in [BodyFraming::Chunked, BodyFraming::Length(40), BodyFraming::UntilClose] {
            check_body_splits(framing, &soup, &limits)?;
        }
    }

    #[test]
    fn chunked_soups_never_panic_and_agree(
        soup in prop::collection::vec(
            prop_oneof![
                3 => select(vec![&b"\r\n"[..], b"0\r\n", b"5\r\n", b"a;x=y\r\n", b"hello", b"X-T: v\r\n", b"\r", b"\n", b";", b" "]),
                1 => Just(&b"00000000000000001"[..]),
            ],
            0..24,
        ),
    ) {
        let body = soup.concat();
        check_body_splits(BodyFraming::Chunked, &body, &small_limits())?;
        check_body_splits(BodyFraming::Chunked, &body, &Limits::default())?;
    }
}
