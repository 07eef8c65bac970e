use std::{
    io::{Read, Write},
    net::TcpListener,
    task::{Context, Poll, Waker},
    time::Duration,
};

use compio::net::TcpStream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

fn cx() -> Context<'static> {
    Context::from_waker(Waker::noop())
}

#[test]
fn a_pipe_takes_no_more_than_its_capacity_and_gives_bytes_back_in_order() {
    let mut pipe = Pipe::new(8);
    let mut cx = cx();
    assert!(matches!(
        pipe.poll_push(&mut cx, b"hello"),
        Poll::Ready(Ok(5))
    ));
    assert!(matches!(
        pipe.poll_push(&mut cx, b" world"),
        Poll::Ready(Ok(3))
    ));
    assert_eq!(pipe.len(), 8);
    assert!(
        pipe.poll_push(&mut cx, b"rld").is_pending(),
        "full: backpressure"
    );
    let mut got = Vec::new();
    let pulled = pipe.poll_pull(&mut cx, |held| {
        got.extend_from_slice(&held[..6]);
        6
    });
    assert!(matches!(pulled, Poll::Ready(Ok(true))));
    assert_eq!(got, b"hello ");
    assert!(matches!(
        pipe.poll_push(&mut cx, b"rld"),
        Poll::Ready(Ok(3))
    ));
    pipe.finish(None);
    let mut rest = Vec::new();
    let pulled = pipe.poll_pull(&mut cx, |held| {
        rest.extend_from_slice(held);
        held.len()
    });
    assert!(matches!(pulled, Poll::Ready(Ok(true))));
    assert_eq!(rest, b"world");
    assert!(matches!(
        pipe.poll_pull(&mut cx, |_| 0),
        Poll::Ready(Ok(false))
    ));
}

#[test]
fn an_empty_pipe_waits_and_reports_how_its_producer_ended() {
    let mut pipe = Pipe::new(8);
    let mut cx = cx();
    assert!(pipe.poll_pull(&mut cx, |_| 0).is_pending());
    pipe.finish(Some(io::ErrorKind::ConnectionReset));
    match pipe.poll_pull(&mut cx, |_| 0) {
        Poll::Ready(Err(e)) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset),
        other => panic!("expected the read error, got {other:?}"),
    }
    let mut refused = Pipe::new(8);
    refused.refuse(io::ErrorKind::BrokenPipe);
    assert!(matches!(
        refused.poll_push(&mut cx, b"x"),
        Poll::Ready(Err(_))
    ));
}

#[test]
fn a_duplex_carries_bytes_both_ways_and_shuts_down_after_the_last_write() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        // 1 MiB up through the duplex, then its end of stream.
        let mut got = Vec::new();
        s.read_to_end(&mut got).expect("read to end");
        assert_eq!(got.len(), 1 << 20);
        assert!(got.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
        s.write_all(b"pong").expect("write");
    });
    let rt = compio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let tcp = TcpStream::connect(addr).await.expect("connect");
        let mut duplex = Duplex::new(Stream::from(tcp), Duration::from_secs(10));
        let data: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
        duplex.write_all(&data).await.expect("write");
        duplex.shutdown().await.expect("shutdown");
        let mut back = Vec::new();
        duplex.read_to_end(&mut back).await.expect("read");
        assert_eq!(back, b"pong");
    });
    peer.join().expect("peer");
}

#[test]
fn a_duplex_stops_reading_a_peer_that_h2_does_not_read() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let rt = compio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let tcp = TcpStream::connect(addr).await.expect("connect");
        let (mut peer, _) = listener.accept().expect("accept");
        let duplex = Duplex::new(Stream::from(tcp), Duration::from_secs(10));
        peer.set_nonblocking(true).expect("nonblocking");
        let chunk = vec![7u8; 64 * 1024];
        let mut sent = 0usize;
        // Write until the kernel buffers are full; the duplex holds at most PIPE_BYTES plus one
        // read chunk of it.
        let mut stalls = 0;
        while stalls < 20 {
            match peer.write(&chunk) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    stalls += 1;
                    compio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(e) => panic!("write: {e}"),
            }
        }
        let held = duplex.inbound.borrow().len();
        assert!(held <= PIPE_BYTES, "pipe holds {held}");
        assert!(sent < 64 << 20, "{sent} bytes went in: nothing pushed back");
        drop(duplex);
    });
}
