//! Unit tests of the access log's line format.

use std::time::Duration;

use super::*;

#[test]
fn a_line_is_one_json_object_with_every_field() {
    let entry = Entry {
        status: 503,
        bytes_in: 40,
        bytes_out: 120,
        local: true,
        reason: b"no healthy endpoint in \"c\"\n".to_vec(),
        retries: 2,
        ..Entry::default()
    };
    let line = Line {
        client: "127.0.0.1:4000".parse().unwrap(),
        method: b"GET",
        authority: b"a.example",
        path: b"/x?q=\x01",
        version: "HTTP/1.1",
        route: Some("r"),
        cluster: None,
        duration_us: 1234,
        entry: &entry,
    };
    let mut out = Vec::new();
    let t = UNIX_EPOCH + Duration::from_micros(1_763_730_000_123_456);
    let mut stamp = Stamp::default();
    format_line(&mut out, &mut stamp, 3, t, &line);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text,
        "{\"time\":\"2025-11-21T13:00:00.123456Z\",\"worker\":3,\"client\":\"127.0.0.1:4000\",\
         \"method\":\"GET\",\"authority\":\"a.example\",\"path\":\"/x?q=\\u0001\",\
         \"version\":\"HTTP/1.1\",\"status\":503,\"bytes_in\":40,\"bytes_out\":120,\
         \"upstream\":null,\"route\":\"r\",\"cluster\":null,\"duration_us\":1234,\
         \"retries\":2,\"local\":\"no healthy endpoint in \\\"c\\\"\"}\n"
    );
    // The same second again, from the cached date; then the next day.
    let mut again = Vec::new();
    format_line(
        &mut again,
        &mut stamp,
        3,
        t + Duration::from_micros(7),
        &line,
    );
    assert!(again.starts_with(b"{\"time\":\"2025-11-21T13:00:00.123463Z\""));
    let mut next = Vec::new();
    format_line(
        &mut next,
        &mut stamp,
        3,
        t + Duration::from_secs(86_400),
        &line,
    );
    assert!(next.starts_with(b"{\"time\":\"2025-11-22T13:00:00.123456Z\""));
}

#[test]
fn dates_are_civil() {
    assert_eq!(civil(0), (1970, 1, 1));
    assert_eq!(civil(11_016), (2000, 2, 29));
    assert_eq!(civil(20_413), (2025, 11, 21));
}

#[test]
fn an_off_log_formats_nothing() {
    let log = AccessLog::open(&Target::Off, 0).unwrap();
    assert!(!log.on());
    let entry = Entry::default();
    log.write(&Line {
        client: "[::1]:1".parse().unwrap(),
        method: b"GET",
        authority: b"",
        path: b"/",
        version: "HTTP/1.1",
        route: None,
        cluster: None,
        duration_us: 0,
        entry: &entry,
    });
    assert!(log.buf.borrow().is_empty());
}

#[test]
fn a_local_answer_keeps_the_start_of_its_body_as_reason() {
    let mut e = Entry::default();
    e.answered_locally(404, 120, b"no route\n", false);
    assert_eq!((e.status, e.bytes_out, e.local), (404, 120, true));
    assert_eq!(e.reason, b"no route\n");
    e.answered_locally(200, 0, &[b'x'; 300], false);
    assert_eq!(e.reason.len(), MAX_REASON, "the reason is bounded");
    e.answered_locally(200, 0, b"", false);
    assert_eq!(e.reason, b"direct response");
    e.answered_locally(308, 0, b"", true);
    assert_eq!((e.status, &e.reason[..]), (308, &b"redirect"[..]));
}
