//! The body decoder: length, chunked (sizes, extensions, CRLF, trailers), until close, limits.

use crate::{BodyDecoder, BodyFraming, Error, Event, Limits};

/// A decoded body: payload, trailers as `name: value` strings, bytes used.
#[derive(Debug, PartialEq, Eq)]
struct Body {
    payload: Vec<u8>,
    trailers: Vec<String>,
    used: usize,
}

/// Feeds `input` `step` bytes at a time (the unconsumed bytes are passed again, as a connection
/// buffer would), until the body is done or the input runs out.
fn decode_by(
    framing: BodyFraming,
    input: &[u8],
    step: usize,
    limits: &Limits,
) -> Result<Body, Error> {
    let mut decoder = BodyDecoder::new(framing, limits);
    let mut body = Body {
        payload: Vec::new(),
        trailers: Vec::new(),
        used: 0,
    };
    let mut available = step.min(input.len());
    loop {
        let window = &input[body.used..available];
        let decoded = decoder.decode(window)?;
        body.used += decoded.consumed;
        match decoded.event {
            Event::Data(r) => body.payload.extend_from_slice(&window[r]),
            Event::Trailer { name, value } => body.trailers.push(format!(
                "{}: {}",
                String::from_utf8_lossy(&window[name]),
                String::from_utf8_lossy(&window[value])
            )),
            Event::Done => return Ok(body),
            Event::NeedMore if available == input.len() => {
                decoder.finish()?;
                return Ok(body);
            }
            Event::NeedMore => available = (available + step).min(input.len()),
        }
    }
}

fn chunked(input: &[u8]) -> Result<Body, Error> {
    decode_by(BodyFraming::Chunked, input, usize::MAX, &Limits::default())
}

#[test]
fn length_body_stops_at_its_end() {
    let body = decode_by(BodyFraming::Length(5), b"helloGET /", 3, &Limits::default()).unwrap();
    assert_eq!((body.payload.as_slice(), body.used), (&b"hello"[..], 5));
    assert_eq!(
        decode_by(BodyFraming::Length(5), b"hel", 2, &Limits::default()),
        Err(Error::IncompleteBody)
    );
    let none = decode_by(BodyFraming::None, b"GET /", 1, &Limits::default()).unwrap();
    assert_eq!((none.payload.len(), none.used), (0, 0));
}

#[test]
fn until_close_and_tunnel_take_everything() {
    let body = decode_by(BodyFraming::UntilClose, b"all of it", 4, &Limits::default()).unwrap();
    assert_eq!(body.payload, b"all of it");
    let body = decode_by(
        BodyFraming::Tunnel,
        b"\x16\x03\x01 bytes",
        4,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(body.payload, b"\x16\x03\x01 bytes");
}

#[test]
fn chunked_body_with_extensions_and_trailers() {
    let input = b"5;name=value;flag\r\nhello\r\n6; q = \"a \\\" b\"\r\n world\r\n0\r\nX-Sum: 1\r\nX-B:two \r\n\r\nNEXT";
    let want = Body {
        payload: b"hello world".to_vec(),
        trailers: vec!["X-Sum: 1".into(), "X-B: two".into()],
        used: input.len() - 4,
    };
    for step in [1, 2, 3, 7, usize::MAX] {
        assert_eq!(
            decode_by(BodyFraming::Chunked, input, step, &Limits::default()).as_ref(),
            Ok(&want),
            "step {step}"
        );
    }
    assert_eq!(
        chunked(b"A\r\n0123456789\r\n0\r\n\r\n").unwrap().payload,
        b"0123456789"
    );
    assert_eq!(
        chunked(b"000000000000000a\r\n0123456789\r\n0\r\n\r\n")
            .unwrap()
            .payload
            .len(),
        10
    );
}

#[test]
fn chunk_size_is_bare_hex() {
    for input in [
        &b"\r\n"[..],
        b" 5\r\nhello\r\n",
        b"5 \r\nhello\r\n",
        b"0x5\r\nhello\r\n",
        b"+5\r\n",
        b"-1\r\n",
        b"g\r\n",
        b"5\t;a\r\n",
    ] {
        let err = chunked(input).unwrap_err();
        assert_eq!(
            (err, err.status()),
            (Error::InvalidChunkSize, 400),
            "{input:?}"
        );
    }
    let err = chunked(b"10000000000000000\r\n").unwrap_err();
    assert_eq!((err, err.status()), (Error::ChunkSizeOverflow, 400));
    assert_eq!(
        chunked(b"00000000000000001\r\n"),
        Err(Error::ChunkSizeOverflow)
    );
    assert_eq!(chunked(b"5\nhello\r\n0\r\n\r\n"), Err(Error::BareLf));
    assert_eq!(chunked(b"5\rhello\r\n0\r\n\r\n"), Err(Error::BareCr));
}

#[test]
fn chunk_extensions_are_bounded_and_well_formed() {
    let limits = Limits {
        max_chunk_ext: 8,
        ..Limits::default()
    };
    let ok = decode_by(
        BodyFraming::Chunked,
        b"1;abcdefg\r\nx\r\n0\r\n\r\n",
        1,
        &limits,
    );
    assert_eq!(ok.unwrap().payload, b"x");
    let long = decode_by(
        BodyFraming::Chunked,
        b"1;abcdefgh\r\nx\r\n0\r\n\r\n",
        usize::MAX,
        &limits,
    );
    assert_eq!(long, Err(Error::ChunkExtensionTooLong));
    // Cut as soon as the extension passes the bound, without waiting for its end.
    let endless = [&b"1;"[..], &[b'a'; 20]].concat();
    assert_eq!(
        decode_by(BodyFraming::Chunked, &endless, usize::MAX, &limits),
        Err(Error::ChunkExtensionTooLong)
    );
    for input in [
        &b"1;\r\nx\r\n"[..],
        b"1;=v\r\nx\r\n",
        b"1;a=\r\nx\r\n",
        b"1;a=\"open\r\nx\r\n",
        b"1;a=b c\r\nx\r\n",
        b"1;a \r\nx\r\n",
        b"1;a\x01\r\nx\r\n",
    ] {
        assert_eq!(
            chunked(input),
            Err(Error::InvalidChunkExtension),
            "{input:?}"
        );
    }
}

#[test]
fn chunk_data_ends_with_exactly_crlf() {
    for input in [
        &b"5\r\nhelloX\r\n0\r\n\r\n"[..],
        b"5\r\nhello\n0\r\n\r\n",
        b"5\r\nhello\rX0\r\n\r\n",
        b"5\r\nhello0\r\n\r\n",
    ] {
        let err = chunked(input).unwrap_err();
        assert_eq!(
            (err, err.status()),
            (Error::MissingChunkCrlf, 400),
            "{input:?}"
        );
    }
}

#[test]
fn trailers_follow_field_rules_and_are_bounded() {
    assert_eq!(
        chunked(b"0\r\nX-A : 1\r\n\r\n"),
        Err(Error::WhitespaceBeforeColon)
    );
    assert_eq!(
        chunked(b"0\r\nX-A: 1\r\n folded\r\n\r\n"),
        Err(Error::ObsFold)
    );
    assert_eq!(
        chunked(b"0\r\nX-A: \x001\r\n\r\n"),
        Err(Error::InvalidHeaderValue)
    );
    assert_eq!(chunked(b"0\r\nX-A: 1\n\r\n"), Err(Error::BareLf));
    assert_eq!(chunked(b"0\r\n\n"), Err(Error::BareLf));
    let limits = Limits {
        max_trailer_bytes: 16,
        ..Limits::default()
    };
    // "X-A: 123456789\r\n" is 16 bytes; the final CRLF makes 18.
    let over = decode_by(
        BodyFraming::Chunked,
        b"0\r\nX-A: 123456789\r\n\r\n",
        1,
        &limits,
    );
    assert_eq!(over, Err(Error::TrailersTooLarge));
    let fits = decode_by(
        BodyFraming::Chunked,
        b"0\r\nX-A: 1234567\r\n\r\n",
        1,
        &limits,
    );
    assert_eq!(fits.unwrap().trailers, ["X-A: 1234567"]);
    assert_eq!(Error::TrailersTooLarge.status(), 431);
}

#[test]
fn max_body_bounds_every_framing() {
    let limits = Limits {
        max_body: Some(4),
        ..Limits::default()
    };
    assert!(
        decode_by(
            BodyFraming::Chunked,
            b"2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n",
            1,
            &limits
        )
        .is_ok()
    );
    let err = decode_by(
        BodyFraming::Chunked,
        b"2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n",
        1,
        &limits,
    )
    .unwrap_err();
    assert_eq!((err, err.status()), (Error::BodyTooLarge, 413));
    assert_eq!(
        decode_by(BodyFraming::Length(5), b"abcde", 1, &limits),
        Err(Error::BodyTooLarge)
    );
    assert_eq!(
        decode_by(BodyFraming::UntilClose, b"abcde", 1, &limits),
        Err(Error::BodyTooLarge)
    );
    assert!(decode_by(BodyFraming::Tunnel, b"abcde", 1, &limits).is_ok());
}

#[test]
fn an_unfinished_chunked_body_is_incomplete() {
    for input in [
        &b""[..],
        b"5\r\nhel",
        b"5\r\nhello\r\n",
        b"0\r\n",
        b"0\r\nX-A: 1\r\n",
    ] {
        assert_eq!(chunked(input), Err(Error::IncompleteBody), "{input:?}");
    }
}

#[test]
fn errors_are_final() {
    let mut decoder = BodyDecoder::new(BodyFraming::Chunked, &Limits::default());
    assert_eq!(decoder.decode(b"zz\r\n"), Err(Error::InvalidChunkSize));
    assert_eq!(
        decoder.decode(b"1\r\nx\r\n0\r\n\r\n"),
        Err(Error::InvalidChunkSize)
    );
    assert_eq!(decoder.finish(), Err(Error::InvalidChunkSize));
}
