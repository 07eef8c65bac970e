use std::{
    io::{Read, Write},
    net::TcpListener,
    time::Duration,
};

use compio::net::TcpStream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

/// A loopback listener whose one connection `serve` gets, on a thread of its own.
fn peer<T: Send + 'static>(
    serve: impl FnOnce(std::net::TcpStream) -> T + Send + 'static,
) -> (std::net::SocketAddr, std::thread::JoinHandle<T>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let serving = std::thread::spawn(move || serve(listener.accept().expect("accept").0));
    (addr, serving)
}

#[test]
fn a_duplex_carries_bytes_both_ways_and_shuts_down_after_the_last_write() {
    let (addr, peer) = peer(|mut s| {
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
        let mut duplex = Duplex::new(Stream::from(tcp), Duration::from_secs(10));
        peer.set_nonblocking(true).expect("nonblocking");
        peer.write_all(b"first").expect("write");
        let mut first = [0u8; 5];
        duplex.read_exact(&mut first).await.expect("read");
        let chunk = vec![7u8; 64 * 1024];
        let mut sent = 0usize;
        // Write until the kernel buffers are full; the duplex holds at most the one read
        // chunk that h2 has not taken.
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
        let held = duplex.held();
        assert!(held <= READ_CHUNK, "the duplex holds {held}");
        assert!(sent < 64 << 20, "{sent} bytes went in: nothing pushed back");
        drop(duplex);
    });
}

#[test]
fn a_dropped_duplex_still_writes_what_h2_left_then_shuts_down() {
    let (addr, peer) = peer(|mut s| {
        let mut got = Vec::new();
        s.read_to_end(&mut got).expect("read to end");
        got
    });
    let rt = compio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let tcp = TcpStream::connect(addr).await.expect("connect");
        let mut duplex = Duplex::new(Stream::from(tcp), Duration::from_secs(10));
        let data = vec![3u8; PIPE_BYTES + 100];
        // More than `pending` holds: one write goes out, the rest waits; nothing is flushed.
        duplex.write_all(&data).await.expect("write");
        drop(duplex);
        // The task left behind runs on this runtime.
        compio::time::sleep(Duration::from_millis(200)).await;
    });
    let got = peer.join().expect("peer");
    assert_eq!(got.len(), PIPE_BYTES + 100);
}
