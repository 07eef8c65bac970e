//! `AF_XDP` ports on a veth pair between two namespaces this test creates, in generic and in
//! native mode. A raw `AF_PACKET` socket on the peer end is the other side of the wire: what
//! it sends must reach `rx_burst` byte for byte, and what the port sends (rewritten in place
//! or copied in) must reach it byte for byte. The ports are opened and dropped on threads
//! inside the port's namespace, and the XDP program must be gone once the last one drops.
//!
//! Needs root: `STRAIT_REQUIRE_NETNS=1 cargo test -p strait-device --features af-xdp`.
#![cfg(feature = "af-xdp")]

use std::{
    sync::{Mutex, MutexGuard},
    thread,
    time::{Duration, Instant},
};

use strait_device::{
    DeviceError, MIN_BUFFER, Port, RingSizes, Verdict, XdpMode,
    af_xdp::{self, AfXdpPort},
};
use strait_testsupport::Netns;
use wire::{HEADERS_AND_MARKER, PEER_MAC, PORT_MAC, Wire, ours, reflected, udp_frame};

const PORT_IF: &str = "xdp0";
const PEER_IF: &str = "peer0";
const RINGS: RingSizes = RingSizes { rx: 64, tx: 64 };
const PATIENCE: Duration = Duration::from_secs(3);

/// One test at a time: libxdp keeps process-wide state, and the machine has two cores.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` on a thread inside `ns`.
fn in_ns<T: Send>(ns: &Netns, f: impl FnOnce() -> T + Send) -> T {
    thread::scope(|s| {
        s.spawn(|| {
            ns.enter();
            f()
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}

/// A veth pair: `xdp0` (the ports' end) in one namespace, `peer0` with a raw socket in the
/// other, IPv6 off so that nothing else talks on the wire.
struct Rig {
    wire: Wire,
    /// Holds the peer end of the veth.
    _peer_ns: Netns,
    port_ns: Netns,
}

impl Rig {
    fn new(tag: &str, queues: u32) -> Option<Rig> {
        let port_ns = Netns::create(&format!("{tag}-x"))?;
        let peer_ns = Netns::create(&format!("{tag}-p"))?;
        for ns in [&port_ns, &peer_ns] {
            for key in ["all", "default"] {
                let setting = format!("net.ipv6.conf.{key}.disable_ipv6=1");
                ns.exec(&["sysctl", "-qw", &setting]);
            }
        }
        port_ns.veth(PORT_IF, &peer_ns, PEER_IF, queues);
        port_ns.exec(&["ip", "link", "set", PORT_IF, "address", &mac(PORT_MAC)]);
        peer_ns.exec(&["ip", "link", "set", PEER_IF, "address", &mac(PEER_MAC)]);
        let wire = in_ns(&peer_ns, || Wire::open(PEER_IF));
        Some(Rig {
            wire,
            _peer_ns: peer_ns,
            port_ns,
        })
    }

    fn open(&self, ports: usize, mode: XdpMode) -> Result<Ports<'_>, DeviceError> {
        let ports = in_ns(&self.port_ns, || af_xdp::open(PORT_IF, ports, RINGS, mode))?;
        Ok(Ports {
            ns: &self.port_ns,
            ports,
        })
    }

    /// `ip link show` of the ports' end.
    fn link(&self) -> String {
        let out = self.port_ns.exec(&["ip", "link", "show", "dev", PORT_IF]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn assert_program_attached(&self, mode: XdpMode) {
        let link = self.link();
        let token = match mode {
            XdpMode::Generic => " xdpgeneric ",
            _ => " xdp ",
        };
        assert!(
            link.contains(token),
            "no {token:?} program on {PORT_IF}:\n{link}"
        );
        assert!(link.contains("prog/xdp"), "{link}");
    }

    fn assert_no_program(&self) {
        let link = self.link();
        assert!(
            !link.contains("prog/xdp"),
            "XDP program left on {PORT_IF}:\n{link}"
        );
    }
}

fn mac(m: [u8; 6]) -> String {
    m.map(|b| format!("{b:02x}")).join(":")
}

/// Open ports, dropped inside their namespace (libxdp detaches by interface index).
struct Ports<'a> {
    ns: &'a Netns,
    ports: Vec<AfXdpPort>,
}

impl Ports<'_> {
    /// Drops the port at `index` inside the namespace.
    fn close(&mut self, index: usize) {
        let port = self.ports.remove(index);
        in_ns(self.ns, move || drop(port));
    }
}

impl Drop for Ports<'_> {
    fn drop(&mut self) {
        let ports = std::mem::take(&mut self.ports);
        in_ns(self.ns, move || drop(ports));
    }
}

/// Polls `ports` (rx_burst_ahead, flush) until `want` of our frames were handled by `on_ours`,
/// or time runs out; returns how many were. Other frames are dropped and counted in `others`.
/// Every burst must show, ahead, exactly the frames it then lends, in order.
fn receive(
    ports: &mut [AfXdpPort],
    want: usize,
    others: &mut u64,
    mut on_ours: impl FnMut(usize, &mut [u8], usize) -> Verdict,
) -> usize {
    let deadline = Instant::now() + PATIENCE;
    let mut seen = 0;
    while seen < want && Instant::now() < deadline {
        for (i, port) in ports.iter_mut().enumerate() {
            let (mut shown, mut lent) = (Vec::new(), Vec::new());
            port.rx_burst_ahead(
                32,
                &mut shown,
                |shown, frame| shown.push(frame.to_vec()),
                |_, buf, len| {
                    assert!(buf.len() >= MIN_BUFFER, "buffer of {} bytes", buf.len());
                    lent.push(buf[..len].to_vec());
                    if ours(&buf[..len]) {
                        seen += 1;
                        on_ours(i, buf, len)
                    } else {
                        *others += 1;
                        Verdict::Drop
                    }
                },
            );
            assert_eq!(shown, lent, "frames shown ahead are the frames lent");
            port.flush();
        }
        thread::sleep(Duration::from_millis(1));
    }
    seen
}

fn frames_cross_byte_exact(mode: XdpMode) {
    let _serial = serial();
    let Some(rig) = Rig::new("exact", 1) else {
        return;
    };
    let mut ports = rig.open(1, mode).expect("opening one port");
    assert_eq!(ports.ports[0].mode(), mode);
    rig.assert_program_attached(mode);

    // The peer sends eight frames of different sizes; the port swaps their MACs and sends
    // them back, the last one grown by a 4-byte trailer.
    let sent: Vec<Vec<u8>> = (0..8)
        .map(|i| udp_frame(i, 60 + 150 * i as usize))
        .collect();
    for frame in &sent {
        rig.wire.send(frame);
    }
    let trailer = [0xde, 0xad, 0xbe, 0xef];
    let mut got = Vec::new();
    let mut others = 0;
    let n = receive(&mut ports.ports, sent.len(), &mut others, |_, buf, len| {
        got.push(buf[..len].to_vec());
        let (dst, src) = buf[..12].split_at_mut(6);
        dst.swap_with_slice(src);
        if got.len() == sent.len() {
            buf[len..len + 4].copy_from_slice(&trailer);
            return Verdict::Tx(len + 4);
        }
        Verdict::Tx(len)
    });
    assert_eq!(n, sent.len(), "frames received");
    assert_eq!(got, sent, "received frames differ from the ones sent");

    let mut expected: Vec<Vec<u8>> = sent.iter().map(|f| reflected(f)).collect();
    expected.last_mut().unwrap().extend_from_slice(&trailer);
    let back = rig.wire.collect(
        expected.len(),
        |f| expected.iter().any(|e| e == f),
        || {
            ports.ports[0].flush();
        },
    );
    assert_eq!(back, expected, "reflected frames differ at the peer");

    // A frame built by the worker and copied in with `send`.
    let own = reflected(&udp_frame(100, 300));
    assert!(ports.ports[0].send(&own));
    let back = rig.wire.collect(
        1,
        |f| f == own.as_slice(),
        || {
            ports.ports[0].flush();
        },
    );
    assert_eq!(back, vec![own]);

    let stats = ports.ports[0].stats();
    assert_eq!(stats.rx, sent.len() as u64 + others, "{stats:?}");
    assert_eq!(stats.tx, sent.len() as u64 + 1, "{stats:?}");
    assert_eq!(stats.tx_full, 0, "{stats:?}");

    // Frames are recycled, whether dropped or sent: four times the UMEM passes through.
    let umem_frames = (RINGS.rx + RINGS.tx) as u16;
    for round in 0..8 {
        let batch: Vec<Vec<u8>> = (0..umem_frames / 2)
            .map(|i| udp_frame(round * 1000 + i, 70))
            .collect();
        for frame in &batch {
            rig.wire.send(frame);
        }
        let n = receive(&mut ports.ports, batch.len(), &mut others, |_, buf, len| {
            if buf[HEADERS_AND_MARKER + 1] % 2 == 0 {
                let (dst, src) = buf[..12].split_at_mut(6);
                dst.swap_with_slice(src);
                Verdict::Tx(len)
            } else {
                Verdict::Drop
            }
        });
        assert_eq!(n, batch.len(), "round {round}: frames received");
        let want: Vec<Vec<u8>> = batch.iter().step_by(2).map(|f| reflected(f)).collect();
        let back = rig.wire.collect(
            want.len(),
            |f| want.iter().any(|w| w == f),
            || {
                ports.ports[0].flush();
            },
        );
        assert_eq!(back.len(), want.len(), "round {round}: frames reflected");
    }

    drop(ports);
    rig.assert_no_program();
}

fn two_ports_bind_one_queue_each(mode: XdpMode) {
    let _serial = serial();
    let Some(rig) = Rig::new("two", 2) else {
        return;
    };
    let mut ports = rig.open(2, mode).expect("opening two ports on two queues");
    assert_eq!(ports.ports.len(), 2);
    assert!(ports.ports.iter().all(|p| p.mode() == mode));
    rig.assert_program_attached(mode);

    // Whichever queue the peer's frames land on, the port bound to it receives them.
    let sent: Vec<Vec<u8>> = (0..64).map(|i| udp_frame(i, 100)).collect();
    for frame in &sent {
        rig.wire.send(frame);
    }
    let mut got = Vec::new();
    let mut per_port = [0; 2];
    let mut others = 0;
    receive(&mut ports.ports, sent.len(), &mut others, |i, buf, len| {
        per_port[i] += 1;
        got.push(buf[..len].to_vec());
        Verdict::Drop
    });
    eprintln!("{mode:?}: frames per port: {per_port:?}");
    if mode == XdpMode::Native {
        // Native veth XDP runs per receive queue (the peer's flows hash onto both); generic
        // XDP on veth sees every frame on queue 0.
        assert!(per_port.iter().all(|&n| n > 0), "{per_port:?}");
    }
    got.sort();
    let mut want = sent.clone();
    want.sort();
    assert_eq!(got, want, "frames received on the two ports");

    drop(ports);
    rig.assert_no_program();
}

fn tx_overflow_is_counted_and_never_blocks(mode: XdpMode) {
    let _serial = serial();
    let Some(rig) = Rig::new("full", 1) else {
        return;
    };
    let mut ports = rig.open(1, mode).expect("opening one port");
    let port = &mut ports.ports[0];

    // Without a flush nothing leaves the tx ring: after RINGS.tx frames, `send` refuses.
    let started = Instant::now();
    let sent: Vec<Vec<u8>> = (0..1000).map(|i| reflected(&udp_frame(i, 80))).collect();
    let accepted: Vec<bool> = sent.iter().map(|f| port.send(f)).collect();
    assert!(started.elapsed() < Duration::from_secs(1), "send blocked");
    let queued = accepted.iter().filter(|&&a| a).count();
    assert_eq!(
        queued, RINGS.tx as usize,
        "frames queued before the ring filled"
    );
    assert!(accepted[..queued].iter().all(|&a| a));
    let stats = port.stats();
    assert_eq!(
        (stats.tx, stats.tx_full),
        (queued as u64, 1000 - queued as u64)
    );

    // A `Verdict::Tx` meets the same full ring: counted, and the frame recycled.
    for i in 0..4 {
        rig.wire.send(&udp_frame(2000 + i, 80));
    }
    let deadline = Instant::now() + PATIENCE;
    let mut refused = 0;
    while refused < 4 && Instant::now() < deadline {
        port.rx_burst(32, |buf, len| {
            refused += usize::from(ours(&buf[..len]));
            Verdict::Tx(len)
        });
        thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(refused, 4, "frames received while the tx ring was full");
    assert_eq!(port.stats().tx_full, 1000 - queued as u64 + 4);

    // Flushing sends what was queued, in order, and frees the ring again.
    let back = rig
        .wire
        .collect(queued, |f| sent.iter().any(|s| s == f), || port.flush());
    assert_eq!(back, sent[..queued].to_vec());
    assert!(port.send(&sent[0]), "send after the ring drained");

    drop(ports);
    rig.assert_no_program();
}

fn rx_overrun_is_counted_as_rx_dropped(mode: XdpMode) {
    let _serial = serial();
    let Some(rig) = Rig::new("overrun", 1) else {
        return;
    };
    let mut ports = rig.open(1, mode).expect("opening one port");
    let port = &mut ports.ports[0];

    // Nobody takes frames off the rx ring: it fills, and the kernel drops the rest.
    let burst = 4 * RINGS.rx as u16;
    for i in 0..burst {
        rig.wire.send(&udp_frame(i, 80));
    }
    thread::sleep(Duration::from_millis(100));
    // The kernel's counters are read once every so many flushes.
    for _ in 0..1024 {
        port.flush();
    }
    let dropped = port.stats().rx_dropped;
    eprintln!("rx_dropped after {burst} frames: {dropped}");
    assert!(
        dropped >= u64::from(burst) - 2 * u64::from(RINGS.rx) && dropped <= u64::from(burst),
        "rx_dropped {dropped} after {burst} frames into a {}-slot rx ring",
        RINGS.rx
    );

    // What fitted is still there, and the port goes on receiving.
    let mut others = 0;
    let kept = receive(
        std::slice::from_mut(port),
        RINGS.rx as usize,
        &mut others,
        |_, _, _| Verdict::Drop,
    );
    assert_eq!(kept, RINGS.rx as usize);
    rig.wire.send(&udp_frame(9999, 80));
    assert_eq!(
        receive(std::slice::from_mut(port), 1, &mut others, |_, _, _| {
            Verdict::Drop
        }),
        1
    );
}

fn program_detached_when_last_port_drops(mode: XdpMode) {
    let _serial = serial();
    let Some(rig) = Rig::new("detach", 2) else {
        return;
    };
    let mut ports = rig.open(2, mode).expect("opening two ports");
    rig.assert_program_attached(mode);
    ports.close(1);
    rig.assert_program_attached(mode);
    ports.close(0);
    rig.assert_no_program();
    // The interface can be used again.
    let ports = rig.open(1, mode).expect("opening again");
    rig.assert_program_attached(mode);
    drop(ports);
    rig.assert_no_program();
}

#[test]
fn generic_frames_cross_byte_exact() {
    frames_cross_byte_exact(XdpMode::Generic);
}

#[test]
fn native_frames_cross_byte_exact() {
    frames_cross_byte_exact(XdpMode::Native);
}

#[test]
fn generic_two_ports_bind_one_queue_each() {
    two_ports_bind_one_queue_each(XdpMode::Generic);
}

#[test]
fn native_two_ports_bind_one_queue_each() {
    two_ports_bind_one_queue_each(XdpMode::Native);
}

#[test]
fn generic_tx_overflow_is_counted_and_never_blocks() {
    tx_overflow_is_counted_and_never_blocks(XdpMode::Generic);
}

#[test]
fn native_tx_overflow_is_counted_and_never_blocks() {
    tx_overflow_is_counted_and_never_blocks(XdpMode::Native);
}

#[test]
fn generic_rx_overrun_is_counted_as_rx_dropped() {
    rx_overrun_is_counted_as_rx_dropped(XdpMode::Generic);
}

#[test]
fn native_rx_overrun_is_counted_as_rx_dropped() {
    rx_overrun_is_counted_as_rx_dropped(XdpMode::Native);
}

#[test]
fn generic_program_detached_when_last_port_drops() {
    program_detached_when_last_port_drops(XdpMode::Generic);
}

#[test]
fn native_program_detached_when_last_port_drops() {
    program_detached_when_last_port_drops(XdpMode::Native);
}

#[test]
fn auto_mode_uses_native_on_veth() {
    let _serial = serial();
    let Some(rig) = Rig::new("auto", 1) else {
        return;
    };
    let ports = rig.open(1, XdpMode::Auto).expect("opening in auto mode");
    assert_eq!(ports.ports[0].mode(), XdpMode::Native);
    assert!(!ports.ports[0].zero_copy(), "veth has no zero-copy AF_XDP");
    rig.assert_program_attached(XdpMode::Native);
    drop(ports);
    rig.assert_no_program();
}

#[test]
fn more_ports_than_queues_is_unsupported_with_a_hint() {
    let _serial = serial();
    let Some(rig) = Rig::new("queues", 1) else {
        return;
    };
    match rig.open(2, XdpMode::Generic) {
        Err(DeviceError::Unsupported { reason, .. }) => {
            assert!(reason.contains("has 1 receive queue"), "{reason}");
            assert!(reason.contains("ethtool -L xdp0 combined 2"), "{reason}");
            assert!(reason.contains("numrxqueues 2 numtxqueues 2"), "{reason}");
        }
        Err(e) => panic!("expected Unsupported, got {e}"),
        Ok(_) => panic!("two ports opened on a one-queue veth"),
    }
    rig.assert_no_program();
}

#[test]
fn unknown_interface_is_no_interface() {
    let _serial = serial();
    let Some(rig) = Rig::new("noif", 1) else {
        return;
    };
    let err = in_ns(&rig.port_ns, || {
        af_xdp::open("strait-nope0", 1, RINGS, XdpMode::Generic).unwrap_err()
    });
    assert!(matches!(err, DeviceError::NoInterface { .. }), "{err}");
}

/// The peer's end of the wire: a raw `AF_PACKET` socket, and the frames the tests send.
mod wire {
    use std::{
        os::fd::{AsRawFd, OwnedFd},
        thread,
        time::{Duration, Instant},
    };

    use rustix::net::{
        AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType, eth, netdevice, recv, send,
        socket_with,
    };

    pub const PORT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
    pub const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
    const MARKER: &[u8; 12] = b"strait-afxdp";
    /// Ethernet + IPv4 + UDP headers.
    const HEADERS: usize = 14 + 20 + 8;
    /// Where the big-endian sequence number starts.
    pub const HEADERS_AND_MARKER: usize = HEADERS + MARKER.len();

    /// A raw socket bound to one interface, non-blocking.
    pub struct Wire(OwnedFd);

    impl Wire {
        /// Opens it on `interface` of the calling thread's namespace.
        pub fn open(interface: &str) -> Wire {
            let fd = socket_with(
                AddressFamily::PACKET,
                SocketType::RAW,
                SocketFlags::NONBLOCK,
                Some(eth::ALL),
            )
            .expect("AF_PACKET socket");
            let index = netdevice::name_to_index(&fd, interface).expect("peer interface");
            let addr = libc::sockaddr_ll {
                sll_family: libc::AF_PACKET as u16,
                sll_protocol: (libc::ETH_P_ALL as u16).to_be(),
                sll_ifindex: index as i32,
                sll_hatype: 0,
                sll_pkttype: 0,
                sll_halen: 0,
                sll_addr: [0; 8],
            };
            // SAFETY: `addr` is a valid, initialised `sockaddr_ll` that outlives the call, and
            // the length passed is its size; `fd` is an open socket.
            let rc = unsafe {
                libc::bind(
                    fd.as_raw_fd(),
                    (&raw const addr).cast(),
                    size_of::<libc::sockaddr_ll>() as libc::socklen_t,
                )
            };
            assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
            Wire(fd)
        }

        pub fn send(&self, frame: &[u8]) {
            let n = send(&self.0, frame, SendFlags::empty()).expect("sending from the peer");
            assert_eq!(n, frame.len());
        }

        /// Receives until `want` frames matching `keep` arrived (in arrival order), calling
        /// `poke` between reads; gives up after a few seconds.
        pub fn collect(
            &self,
            want: usize,
            keep: impl Fn(&[u8]) -> bool,
            mut poke: impl FnMut(),
        ) -> Vec<Vec<u8>> {
            let deadline = Instant::now() + super::PATIENCE;
            let mut kept = Vec::new();
            let mut buf = vec![0u8; 4096];
            while kept.len() < want && Instant::now() < deadline {
                poke();
                match recv(&self.0, &mut buf[..], RecvFlags::empty()) {
                    Ok((n, _)) if keep(&buf[..n]) => kept.push(buf[..n].to_vec()),
                    Ok(_) => {}
                    Err(rustix::io::Errno::AGAIN) => thread::sleep(Duration::from_millis(1)),
                    Err(e) => panic!("receiving at the peer: {e}"),
                }
            }
            kept
        }
    }

    /// A UDP frame from the peer (198.18.0.2) to the port (198.18.0.1), `len` bytes long,
    /// carrying the marker and `seq`.
    pub fn udp_frame(seq: u16, len: usize) -> Vec<u8> {
        let len = len.max(HEADERS + MARKER.len() + 2);
        let mut f = Vec::with_capacity(len);
        f.extend_from_slice(&PORT_MAC);
        f.extend_from_slice(&PEER_MAC);
        f.extend_from_slice(&[0x08, 0x00]);
        let ip_len = (len - 14) as u16;
        let mut ip = [
            0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 198, 18, 0, 2, 198, 18, 0, 1,
        ];
        ip[2..4].copy_from_slice(&ip_len.to_be_bytes());
        ip[4..6].copy_from_slice(&seq.to_be_bytes());
        let sum = checksum(&ip);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        f.extend_from_slice(&ip);
        let udp_len = ip_len - 20;
        f.extend_from_slice(&(40000 + seq % 1000).to_be_bytes());
        f.extend_from_slice(&40001u16.to_be_bytes());
        f.extend_from_slice(&udp_len.to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(MARKER);
        f.extend_from_slice(&seq.to_be_bytes());
        let mut fill = seq as u8;
        while f.len() < len {
            f.push(fill);
            fill = fill.wrapping_add(7);
        }
        f
    }

    /// Whether a frame is one of the tests' (in either direction).
    pub fn ours(frame: &[u8]) -> bool {
        frame.get(HEADERS..HEADERS + MARKER.len()) == Some(&MARKER[..])
    }

    /// `frame` with its MAC addresses swapped.
    pub fn reflected(frame: &[u8]) -> Vec<u8> {
        let mut f = frame.to_vec();
        let (dst, src) = f[..12].split_at_mut(6);
        dst.swap_with_slice(src);
        f
    }

    fn checksum(header: &[u8]) -> u16 {
        let mut sum: u32 = header
            .chunks(2)
            .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
            .sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }
}
