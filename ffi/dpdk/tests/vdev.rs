//! The DPDK layer on virtual devices, without hugepages: one EAL for the whole test process
//! (DPDK starts once per process), one vdev per test.

use std::sync::OnceLock;

use strait_dpdk::{DpdkError, Eal, EalArgs, Port, PortConfig, find_port, register_thread};

fn eal() -> &'static Eal {
    static EAL: OnceLock<Eal> = OnceLock::new();
    EAL.get_or_init(|| {
        Eal::init(&EalArgs::new("strait-dpdk-test", 0).no_huge(256))
            .expect("EAL starts without hugepages")
    })
}

fn open(
    spec: &str,
    config: PortConfig,
) -> (Port, Vec<(strait_dpdk::RxQueue, strait_dpdk::TxQueue)>) {
    let eal = eal();
    eal.vdev_init(spec).expect("vdev");
    let name = spec.split(',').next().unwrap();
    let id = find_port(eal, Some(name)).expect("the new vdev is a port");
    Port::open(eal, id, &config).expect("port starts")
}

fn frame(i: u8) -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = i;
    f[59] = i;
    f
}

#[test]
fn a_ring_port_gives_back_what_it_sent() {
    register_thread();
    let (port, mut queues) = open("net_ring0", PortConfig::default());
    assert_eq!(port.info().name, "net_ring0");
    let (rx, tx) = &mut queues[0];
    let in_use = port.pool().in_use();
    for i in 0..10u8 {
        let mut m = port.pool().alloc().expect("an mbuf");
        assert!(
            m.capacity() >= 2048,
            "room for a full frame: {}",
            m.capacity()
        );
        let f = frame(i);
        assert!(
            !m.set_len(m.capacity() + 1),
            "set_len refuses past the buffer"
        );
        assert!(m.set_len(f.len()));
        m.as_mut().copy_from_slice(&f);
        tx.push(m);
    }
    let flushed = tx.flush();
    assert_eq!((flushed.sent, flushed.dropped), (10, 0));
    let mut got = Vec::new();
    rx.rx_burst(64, |m| {
        assert!(m.is_contiguous());
        got.push(m.as_ref().to_vec());
    });
    assert_eq!(got, (0..10u8).map(frame).collect::<Vec<_>>());
    assert_eq!(
        port.pool().in_use(),
        in_use,
        "every mbuf went back to the pool"
    );
    assert!(port.stats().opackets >= 10);
}

#[test]
fn a_received_frame_goes_back_out_in_place() {
    register_thread();
    let (_port, mut queues) = open("net_ring1", PortConfig::default());
    let (rx, tx) = &mut queues[0];
    assert!(
        tx.push_copy(&[0; 4096]).is_none(),
        "a frame larger than a buffer"
    );
    assert!(tx.push_copy(&frame(7)).is_some());
    tx.flush();
    // Receive, grow the frame in place by four bytes, send it again, receive it again.
    let mut sent = 0;
    rx.rx_burst(64, |mut m| {
        m.room_mut()[60..64].copy_from_slice(b"grow");
        assert!(m.set_len(64));
        sent += tx.push(m).sent;
    });
    sent += tx.flush().sent;
    assert_eq!(sent, 1);
    let mut lens = Vec::new();
    rx.rx_burst(64, |m| lens.push((m.len(), m.as_ref()[60..].to_vec())));
    assert_eq!(lens, [(64, b"grow".to_vec())]);
}

#[test]
fn ahead_sees_the_whole_burst_before_each_frame_is_handed_out() {
    register_thread();
    let (port, mut queues) = open("net_ring3", PortConfig::default());
    let (rx, tx) = &mut queues[0];
    let in_use = port.pool().in_use();
    for i in 0..4u8 {
        assert!(tx.push_copy(&frame(i)).is_some());
    }
    assert_eq!(tx.flush().sent, 4);
    // Frame 0 grows by four bytes, frame 1 is refused a length past its buffer (and keeps
    // its own), the others go back out as they came.
    let mut events = Vec::new();
    let n = rx.rx_burst_ahead(
        64,
        &mut events,
        |events, data| events.push(format!("ahead {}", data[14])),
        |events, mut r| {
            assert!(r.is_contiguous());
            assert_eq!((r.len(), r.as_ref()), (60, &frame(r.as_ref()[14])[..]));
            let i = r.as_ref()[14];
            events.push(format!("f {i}"));
            match i {
                0 => {
                    r.room_mut()[60..64].copy_from_slice(b"grow");
                    assert!(r.set_len(64));
                }
                1 => assert!(!r.set_len(r.capacity() + 1)),
                _ => assert!(r.set_len(60)),
            }
            tx.push(r.into_mbuf());
        },
    );
    assert_eq!(n, 4);
    let order: Vec<String> = (0..4)
        .map(|i| format!("ahead {i}"))
        .chain((0..4).map(|i| format!("f {i}")))
        .collect();
    assert_eq!(events, order);
    assert_eq!(tx.flush().sent, 4);
    let mut got = Vec::new();
    rx.rx_burst(64, |m| got.push(m.as_ref().to_vec()));
    let mut grown = frame(0);
    grown.extend_from_slice(b"grow");
    assert_eq!(got, [grown, frame(1), frame(2), frame(3)]);
    assert_eq!(port.pool().in_use(), in_use, "every mbuf went back");
}

#[test]
fn frames_not_taken_when_f_panics_go_back_to_the_pool() {
    register_thread();
    let (port, mut queues) = open("net_ring4", PortConfig::default());
    let (rx, tx) = &mut queues[0];
    let in_use = port.pool().in_use();
    for i in 0..5u8 {
        assert!(tx.push_copy(&frame(i)).is_some());
    }
    assert_eq!(tx.flush().sent, 5);
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rx.rx_burst(64, |m| assert_ne!(m.as_ref()[14], 2, "the third frame"));
    }));
    assert!(panicked.is_err());
    assert_eq!(port.pool().in_use(), in_use, "no mbuf leaked");
}

#[test]
fn a_null_port_receives_frames_and_takes_every_transmit() {
    register_thread();
    let (port, mut queues) = open("net_null0,size=64", PortConfig::default());
    let (rx, tx) = &mut queues[0];
    let before = port.pool().in_use();
    let mut n = 0;
    for _ in 0..100 {
        n += rx.rx_burst(32, |m| {
            assert_eq!(m.len(), 64);
            tx.push(m);
        });
        assert_eq!(tx.flush().dropped, 0);
    }
    assert_eq!(n, 3200);
    assert_eq!(port.pool().in_use(), before, "no mbuf leaked");
    assert!(port.link().up);
    assert!(!port.xstats().is_empty(), "extended stats are listed");
}

#[test]
fn a_missing_port_is_named_with_the_ports_there_are() {
    let err = find_port(eal(), Some("net_nothing9")).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, DpdkError::NoPort { .. }), "{text}");
    assert!(text.contains("net_nothing9"), "{text}");
}

#[test]
fn the_eal_starts_once() {
    let _ = eal();
    let again = Eal::init(&EalArgs::new("again", 0).no_huge(64));
    assert!(matches!(again, Err(DpdkError::AlreadyInitialised)));
}

#[test]
fn a_bad_vdev_is_refused_with_dpdks_reason() {
    let err = eal().vdev_init("net_nosuchdriver0").unwrap_err();
    assert!(err.to_string().contains("net_nosuchdriver0"), "{err}");
}

#[test]
fn too_many_queues_say_how_many_the_device_has() {
    let eal = eal();
    eal.vdev_init("net_ring2").unwrap();
    let id = find_port(eal, Some("net_ring2")).unwrap();
    let err = Port::open(
        eal,
        id,
        &PortConfig {
            queues: 64,
            ..PortConfig::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("at most"), "{err}");
}
