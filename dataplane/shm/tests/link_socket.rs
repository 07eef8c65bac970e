//! The link socket: fd passing, refusals on receive, timeouts, the listener.

use std::io::IoSlice;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::thread;
use std::time::{Duration, Instant};

use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
use strait_shm::{
    HealthOverlay, Link, LinkError, LinkListener, MappedImage, Message, StatsRegion, seal_image,
};

mod common;
use common::TempDir;

/// Sends raw bytes with raw fds, bypassing `Link::send`'s checks.
fn send_raw(link: &Link, bytes: &[u8], fds: &[BorrowedFd<'_>]) {
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(16))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !fds.is_empty() {
        assert!(control.push(SendAncillaryMessage::ScmRights(fds)));
    }
    rustix::net::sendmsg(
        link,
        &[IoSlice::new(bytes)],
        &mut control,
        SendFlags::empty(),
    )
    .unwrap();
}

#[test]
fn a_sealed_image_travels_with_its_publish_message() {
    let (agent, dp) = Link::pair().unwrap();
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let fd = seal_image(&bytes, "gen-7").unwrap();
    let publish = Message::Publish {
        generation: 7,
        len: bytes.len() as u64,
    };
    agent.send(&publish, &[fd.as_fd()]).unwrap();
    drop(fd);

    let (msg, mut fds) = dp.recv().unwrap();
    assert_eq!(msg, publish);
    assert_eq!(fds.len(), 1);
    let image = MappedImage::from_fd(fds.pop().unwrap()).unwrap();
    assert_eq!(image.as_ref(), &bytes[..]);

    dp.send(&Message::Installed { generation: 7 }, &[]).unwrap();
    assert_eq!(
        agent.recv().unwrap().0,
        Message::Installed { generation: 7 }
    );
}

#[test]
fn hello_carries_both_regions() {
    let (agent, dp) = Link::pair().unwrap();
    let (stats, stats_fd) = StatsRegion::create(2).unwrap();
    let (overlay, overlay_fd) = HealthOverlay::create(16).unwrap();
    let hello = Message::Hello {
        pid: std::process::id(),
        workers: 2,
        generation: 0,
        abi_version: 1,
    };
    dp.send(&hello, &[stats_fd.as_fd(), overlay_fd.as_fd()])
        .unwrap();

    let (msg, fds) = agent.recv().unwrap();
    assert_eq!(msg, hello);
    let seen_stats = StatsRegion::open(&fds[0]).unwrap();
    let seen_overlay = HealthOverlay::open(&fds[1]).unwrap();
    stats.worker(1).unwrap().set_generation(3);
    assert_eq!(seen_stats.worker(1).unwrap().generation(), 3);
    seen_overlay
        .set(
            4,
            strait_shm::EndpointState {
                unhealthy: true,
                draining: false,
            },
        )
        .unwrap();
    assert!(overlay.get(4).unhealthy);
}

#[test]
fn wrong_descriptor_counts_are_refused_on_both_sides() {
    let (a, b) = Link::pair().unwrap();
    let fd = seal_image(b"x", "x").unwrap();
    let err = a.send(&Message::Ping, &[fd.as_fd()]).unwrap_err();
    assert!(
        matches!(
            err,
            LinkError::FdCount {
                expected: 0,
                got: 1,
                ..
            }
        ),
        "{err}"
    );
    let err = a
        .send(
            &Message::Publish {
                generation: 1,
                len: 1,
            },
            &[],
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            LinkError::FdCount {
                expected: 1,
                got: 0,
                ..
            }
        ),
        "{err}"
    );

    send_raw(&a, &Message::Ping.encode().unwrap(), &[fd.as_fd()]);
    let err = b.recv().unwrap_err();
    assert!(
        matches!(err, LinkError::FdCount { kind: "Ping", .. }),
        "{err}"
    );
    // The link stays usable after a refused message.
    a.send(&Message::Pong, &[]).unwrap();
    assert_eq!(b.recv().unwrap().0, Message::Pong);
}

#[test]
fn too_many_descriptors_are_closed_and_refused() {
    let (a, b) = Link::pair().unwrap();
    let fd = seal_image(b"x", "x").unwrap();
    let many = [fd.as_fd(); 8];
    send_raw(&a, &Message::Ping.encode().unwrap(), &many);
    let err = b.recv().unwrap_err();
    assert!(matches!(err, LinkError::ControlTruncated { .. }), "{err}");
}

#[test]
fn oversized_and_garbage_messages_are_refused() {
    let (a, b) = Link::pair().unwrap();
    send_raw(&a, &vec![0u8; 20_000], &[]);
    let err = b.recv().unwrap_err();
    assert!(matches!(err, LinkError::Truncated { .. }), "{err}");

    send_raw(&a, b"GET / HTTP/1.1\r\n", &[]);
    assert!(matches!(b.recv(), Err(LinkError::BadMagic { .. })));
}

#[test]
fn closed_peer_and_timeouts_are_reported() {
    let (a, b) = Link::pair().unwrap();
    b.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let start = Instant::now();
    assert!(matches!(b.recv(), Err(LinkError::TimedOut)));
    assert!(start.elapsed() >= Duration::from_millis(40));

    drop(a);
    assert!(matches!(b.recv(), Err(LinkError::Closed)));
    let err = b.send(&Message::Ping, &[]).unwrap_err();
    assert!(matches!(err, LinkError::Closed), "{err}");
}

#[test]
fn shutdown_wakes_a_blocked_receiver_on_a_clone() {
    let (a, _b) = Link::pair().unwrap();
    let reader = a.try_clone().unwrap();
    let waiter = thread::spawn(move || reader.recv().map(|(m, _)| m));
    thread::sleep(Duration::from_millis(50));
    a.shutdown();
    let result = waiter.join().unwrap();
    assert!(matches!(result, Err(LinkError::Closed)), "{result:?}");
}

#[test]
fn listener_accepts_agents_and_replaces_stale_sockets() {
    let dir = TempDir::new("link");
    let path = dir.join("dp.sock");
    for round in 0..2 {
        // The second round binds over the socket file the first listener left behind.
        let listener = LinkListener::bind(&path).unwrap();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.file_type().is_socket());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);

        let agent_path = path.clone();
        let agent = thread::spawn(move || {
            let link = Link::connect(&agent_path).unwrap();
            link.send(&Message::Ping, &[]).unwrap();
            link.recv().unwrap().0
        });
        let dp = listener.accept().unwrap();
        assert_eq!(dp.recv().unwrap().0, Message::Ping, "round {round}");
        dp.send(&Message::Pong, &[]).unwrap();
        assert_eq!(agent.join().unwrap(), Message::Pong);
        assert_eq!(listener.path(), path);
    }
}

#[test]
fn listener_refuses_a_live_socket_and_a_regular_file() {
    let dir = TempDir::new("link");
    let path = dir.join("dp.sock");
    let _live = LinkListener::bind(&path).unwrap();
    let err = LinkListener::bind(&path).unwrap_err();
    assert!(matches!(err, LinkError::AddrInUse { .. }), "{err}");

    let file = dir.join("not-a-socket");
    std::fs::write(&file, b"keep me").unwrap();
    let err = LinkListener::bind(&file).unwrap_err();
    assert!(matches!(err, LinkError::NotASocket { .. }), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
}

#[test]
fn connecting_to_nothing_fails_cleanly() {
    let dir = TempDir::new("link");
    let err = Link::connect(&dir.join("absent.sock")).unwrap_err();
    assert!(matches!(err, LinkError::Io { op: "connect", .. }), "{err}");
}
