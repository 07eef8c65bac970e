//! Encoders: heads with field rewriting, hop-by-hop removal, chunked output.

use super::request;
use crate::chunk_encode::{ChunkHeader, write_chunk, write_last_chunk};
use crate::{
    BodyDecoder, BodyFraming, Edit, Error, Event, Limits, Method, Parsed, Version, encode_request,
    encode_response, is_hop_by_hop, parse_response, write_request_line,
};

#[test]
fn request_round_trip_with_rewrite() {
    let raw = b"GET /a?b=c HTTP/1.0\r\nHost: example.com\r\nConnection: keep-alive, X-Private\r\nKeep-Alive: timeout=5\r\nX-Private: secret\r\nAccept: */*\r\nX-Drop: me\r\n\r\n";
    let head = request(raw).unwrap();
    let mut out = b"previous".to_vec();
    let add: [(&[u8], &[u8]); 2] = [(b"X-Forwarded-For", b"198.18.0.1"), (b"Via", b"1.1 strait")];
    let edit = Edit {
        drop_hop_by_hop: true,
        drop: [&b"x-drop"[..]].into_iter(),
        add: add.into_iter(),
    };
    encode_request(&mut out, &head, raw, edit).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "previousGET /a?b=c HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\
         X-Forwarded-For: 198.18.0.1\r\nVia: 1.1 strait\r\n\r\n"
    );
}

#[test]
fn hop_by_hop_names() {
    let raw = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close, X-Trace\r\n\r\n";
    let head = request(raw).unwrap();
    for name in [
        "Connection",
        "keep-alive",
        "TE",
        "Transfer-Encoding",
        "Upgrade",
        "Proxy-Connection",
        "x-trace",
    ] {
        assert!(is_hop_by_hop(name.as_bytes(), &head.fields, raw), "{name}");
    }
    for name in ["Host", "Content-Length", "Accept", "X-Trace-Id", "Trailer"] {
        assert!(!is_hop_by_hop(name.as_bytes(), &head.fields, raw), "{name}");
    }
}

#[test]
fn every_connection_option_is_dropped_however_many_there_are() {
    for count in [1, 8, 9, 20] {
        let names: Vec<String> = (0..count).map(|i| format!("X-Opt-{i}")).collect();
        let mut raw = format!("GET / HTTP/1.1\r\nHost: a\r\nConnection: {}\r\n", names[0]);
        for name in &names[1..] {
            raw += &format!("Connection: {name}\r\n");
        }
        for name in &names {
            raw += &format!("{name}: 1\r\n");
        }
        raw += "X-Kept: 1\r\n\r\n";
        let head = request(raw.as_bytes()).unwrap();
        let mut out = Vec::new();
        let edit = Edit {
            drop_hop_by_hop: true,
            drop: std::iter::empty(),
            add: std::iter::empty(),
        };
        encode_request(&mut out, &head, raw.as_bytes(), edit).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "GET / HTTP/1.1\r\nHost: a\r\nX-Kept: 1\r\n\r\n",
            "{count} options"
        );
    }
}

#[test]
fn added_fields_cannot_inject_lines() {
    let raw = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    let head = request(raw).unwrap();
    let bad: [(&[u8], &[u8], Error); 4] = [
        (b"X-A", b"1\r\nX-Evil: 2", Error::InvalidHeaderValue),
        (b"X-A", b" padded", Error::InvalidHeaderValue),
        (b"X A", b"1", Error::InvalidHeaderName),
        (b"", b"1", Error::InvalidHeaderName),
    ];
    for (name, value, want) in bad {
        let mut out = b"kept".to_vec();
        let edit = Edit {
            drop_hop_by_hop: false,
            drop: std::iter::empty(),
            add: [(name, value)].into_iter(),
        };
        assert_eq!(encode_request(&mut out, &head, raw, edit), Err(want));
        assert_eq!(out, b"kept", "a failed encode leaves the buffer as it was");
    }
    let mut out = Vec::new();
    assert_eq!(
        write_request_line(&mut out, b"GET", b"/a b", Version::Http11),
        Err(Error::InvalidTarget)
    );
    assert_eq!(
        write_request_line(&mut out, b"G T", b"/", Version::Http11),
        Err(Error::InvalidMethod)
    );
}

#[test]
fn response_head_is_reencoded() {
    let raw = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n";
    let Ok(Parsed::Complete(head, _)) = parse_response(raw, &Limits::default(), Method::Get) else {
        panic!("response not parsed");
    };
    let mut out = Vec::new();
    let edit = Edit {
        drop_hop_by_hop: false,
        drop: [&b"content-length"[..]].into_iter(),
        add: [(&b"Transfer-Encoding"[..], &b"chunked"[..])].into_iter(),
    };
    encode_response(&mut out, &head, raw, edit).unwrap();
    assert_eq!(
        out,
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
}

#[test]
fn chunk_headers() {
    assert_eq!(ChunkHeader::new(0), None);
    let cases: [(u64, &[u8]); 4] = [
        (1, b"1\r\n"),
        (255, b"ff\r\n"),
        (4096, b"1000\r\n"),
        (u64::MAX, b"ffffffffffffffff\r\n"),
    ];
    for (size, want) in cases {
        assert_eq!(ChunkHeader::new(size).unwrap().as_bytes(), want);
    }
}

#[test]
fn chunked_output_decodes_back() {
    let mut out = Vec::new();
    write_chunk(&mut out, b"hello ");
    write_chunk(&mut out, b"");
    write_chunk(&mut out, &[b'x'; 300]);
    write_last_chunk(&mut out, &[(b"X-Checksum", b"abc")]).unwrap();
    assert!(out.starts_with(b"6\r\nhello \r\n12c\r\n"));
    assert!(out.ends_with(b"\r\n0\r\nX-Checksum: abc\r\n\r\n"));

    let mut decoder = BodyDecoder::new(BodyFraming::Chunked, &Limits::default());
    let (mut pos, mut payload, mut trailers) = (0, Vec::new(), Vec::new());
    loop {
        let step = decoder.decode(&out[pos..]).unwrap();
        let input = &out[pos..];
        match step.event {
            Event::Data(r) => payload.extend_from_slice(&input[r]),
            Event::Trailer { name, value } => {
                trailers.push((input[name].to_vec(), input[value].to_vec()))
            }
            Event::Done => break,
            Event::NeedMore => panic!("encoded body is incomplete"),
        }
        pos += step.consumed;
    }
    assert_eq!(payload.len(), 306);
    assert_eq!(trailers, [(b"X-Checksum".to_vec(), b"abc".to_vec())]);

    let mut kept = b"body".to_vec();
    assert_eq!(
        write_last_chunk(&mut kept, &[(b"X", b"a\nb")]),
        Err(Error::InvalidHeaderValue)
    );
    assert_eq!(kept, b"body");
}
