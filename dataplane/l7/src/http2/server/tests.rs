use std::{io::Write, net::TcpListener, time::Duration};

use compio::net::TcpStream;

use super::*;

/// What [`opening`] says of a connection whose client sends `bytes` (then waits).
fn opening_of(bytes: &[u8], then_close: bool) -> Opening {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut client = std::net::TcpStream::connect(addr).expect("connect");
    client.write_all(bytes).expect("write");
    if then_close {
        client
            .shutdown(std::net::Shutdown::Write)
            .expect("shutdown");
    }
    let (accepted, _) = listener.accept().expect("accept");
    let opts = L7Options {
        idle_timeout: Duration::from_millis(300),
        header_read_timeout: Duration::from_millis(200),
        ..L7Options::default()
    };
    let rt = compio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let tcp = TcpStream::from_std(accepted).expect("compio stream");
        let seen = opening(&tcp, &opts).await;
        // Peeking consumed nothing: the bytes are still there for whoever serves it.
        if !bytes.is_empty() && seen != Opening::Gone {
            let stream = Stream::from(tcp);
            let BufResult(n, buf) = stream.append(Vec::with_capacity(64)).await;
            let n = n.expect("read");
            assert_eq!(&buf[..n], &bytes[..n.min(bytes.len())]);
        }
        seen
    })
}

#[test]
fn the_preface_opens_http2_and_anything_else_http1() {
    assert_eq!(opening_of(PREFACE, false), Opening::H2);
    assert_eq!(opening_of(b"GET / HTTP/1.1\r\n\r\n", false), Opening::Http1);
    assert_eq!(
        opening_of(b"PRI /x HTTP/1.1\r\n\r\n", false),
        Opening::Http1
    );
}

#[test]
fn a_connection_that_sends_nothing_or_stalls_in_the_preface_is_gone() {
    assert_eq!(opening_of(b"", false), Opening::Gone);
    assert_eq!(opening_of(b"", true), Opening::Gone);
    assert_eq!(opening_of(&PREFACE[..10], false), Opening::Gone);
    // A partial preface, then the end: nothing to serve either.
    assert_eq!(opening_of(b"P", true), Opening::Gone);
}

/// The size of the future a four-argument function returns, without calling it.
fn future_size<A, B, C, D, F>(_: &impl Fn(A, B, C, D) -> F) -> usize {
    size_of::<F>()
}

#[test]
fn a_stream_future_stays_small() {
    // Each stream's future is moved whole into its box, once per request: its size is a copy
    // on every request. (Unoptimized builds lay futures out larger than release builds.)
    let size = future_size(&stream_task);
    assert!(size <= 8 * 1024, "the stream future is {size} bytes");
}
