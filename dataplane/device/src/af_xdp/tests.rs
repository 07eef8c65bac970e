//! Unit tests of the socket-free parts: sizes, attach-mode order, the queue hint.

use super::{
    link::queue_hint,
    setup::{FRAME_SIZE, Sizes, attempts},
};
use crate::{MIN_BUFFER, RingSizes, XdpMode};

#[test]
fn auto_tries_native_zero_copy_then_native_copy_then_generic() {
    let order: Vec<_> = attempts(XdpMode::Auto)
        .iter()
        .map(|a| (a.mode, a.zero_copy))
        .collect();
    assert_eq!(
        order,
        [
            (XdpMode::Native, true),
            (XdpMode::Native, false),
            (XdpMode::Generic, false)
        ]
    );
    assert!(
        attempts(XdpMode::Native)
            .iter()
            .all(|a| a.mode == XdpMode::Native)
    );
    assert_eq!(attempts(XdpMode::Generic).len(), 1);
    assert!(!attempts(XdpMode::Generic)[0].zero_copy);
}

#[test]
fn sizes_give_a_frame_per_fill_and_tx_slot_and_a_big_enough_buffer() {
    let sizes = Sizes::new(RingSizes { rx: 512, tx: 256 }).unwrap();
    assert_eq!(sizes.frames.get(), 768);
    assert_eq!(sizes.umem.fill_queue_size().get(), 512);
    assert_eq!(sizes.umem.comp_queue_size().get(), 256);
    assert_eq!(sizes.umem.frame_size().get(), FRAME_SIZE);
    assert!(sizes.umem.mtu() as usize >= MIN_BUFFER);
}

#[test]
fn ring_sizes_must_be_powers_of_two() {
    for rings in [
        RingSizes { rx: 0, tx: 64 },
        RingSizes { rx: 64, tx: 100 },
        RingSizes {
            rx: u32::MAX,
            tx: 1,
        },
    ] {
        let err = Sizes::new(rings).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{rings:?}");
    }
}

#[test]
fn queue_hint_says_how_many_queues_and_what_to_run() {
    let hint = queue_hint("eth1", 1, 4);
    assert!(hint.contains("has 1 receive queue"), "{hint}");
    assert!(hint.contains("ethtool -L eth1 combined 4"), "{hint}");
    assert!(hint.contains("numrxqueues 4 numtxqueues 4"), "{hint}");
}
