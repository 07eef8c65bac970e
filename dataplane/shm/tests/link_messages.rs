//! The link message codec: round trips, refusals, and no panics on arbitrary bytes.

use proptest::prelude::*;
use strait_shm::link::{LINK_VERSION, MAX_MESSAGE_BYTES, MAX_STRING_BYTES};
use strait_shm::{LinkError, Message};

fn any_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (any::<u32>(), any::<u32>(), any::<u64>(), any::<u32>()).prop_map(
            |(pid, workers, generation, abi_version)| Message::Hello {
                pid,
                workers,
                generation,
                abi_version
            }
        ),
        (any::<u64>(), any::<u64>())
            .prop_map(|(generation, len)| Message::Publish { generation, len }),
        any::<u64>().prop_map(|generation| Message::Installed { generation }),
        (any::<u64>(), ".{0,200}")
            .prop_map(|(generation, reason)| Message::Rejected { generation, reason }),
        (any::<u64>(), any::<u64>()).prop_map(|(generation, switch_us)| Message::Live {
            generation,
            switch_us
        }),
        Just(Message::Ping),
        Just(Message::Pong),
    ]
}

proptest! {
    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = Message::decode(&bytes);
    }

    #[test]
    fn decode_never_panics_after_a_valid_prefix(
        kind in 0u16..10,
        tail in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let mut bytes = b"SLNK".to_vec();
        bytes.extend_from_slice(&kind.to_le_bytes());
        bytes.extend_from_slice(&LINK_VERSION.to_le_bytes());
        bytes.extend_from_slice(&tail);
        let _ = Message::decode(&bytes);
    }

    #[test]
    fn every_message_round_trips(msg in any_message()) {
        let bytes = msg.encode().unwrap();
        prop_assert!(bytes.len() <= MAX_MESSAGE_BYTES);
        prop_assert_eq!(Message::decode(&bytes).unwrap(), msg);
    }

    #[test]
    fn every_truncation_and_extension_is_refused(msg in any_message(), extra in 1usize..8) {
        let bytes = msg.encode().unwrap();
        for cut in 0..bytes.len() {
            prop_assert!(Message::decode(&bytes[..cut]).is_err());
        }
        let mut longer = bytes.clone();
        longer.resize(bytes.len() + extra, 0);
        let is_trailing = matches!(
            Message::decode(&longer),
            Err(LinkError::TrailingBytes { .. })
        );
        prop_assert!(is_trailing);
    }
}

#[test]
fn bad_magic_version_and_kind_are_named() {
    let ping = Message::Ping.encode().unwrap();

    let mut bad = ping.clone();
    bad[0] = b'X';
    assert!(matches!(
        Message::decode(&bad),
        Err(LinkError::BadMagic { .. })
    ));
    assert!(matches!(
        Message::decode(b"SL"),
        Err(LinkError::BadMagic { .. })
    ));

    let mut bad = ping.clone();
    bad[6..8].copy_from_slice(&9u16.to_le_bytes());
    let err = Message::decode(&bad).unwrap_err();
    assert!(
        matches!(err, LinkError::BadVersion { found: 9, .. }),
        "{err}"
    );

    let mut bad = ping.clone();
    bad[4..6].copy_from_slice(&77u16.to_le_bytes());
    assert!(matches!(
        Message::decode(&bad),
        Err(LinkError::UnknownKind(77))
    ));
}

#[test]
fn strings_are_capped_and_utf8() {
    let long = Message::Rejected {
        generation: 1,
        reason: "x".repeat(MAX_STRING_BYTES + 1),
    };
    assert!(matches!(
        long.encode(),
        Err(LinkError::StringTooLong { .. })
    ));
    let cut = Message::rejected(1, "é".repeat(MAX_STRING_BYTES));
    let Message::Rejected { reason, .. } = &cut else {
        unreachable!()
    };
    assert!(reason.len() <= MAX_STRING_BYTES && reason.chars().all(|c| c == 'é'));
    assert_eq!(Message::decode(&cut.encode().unwrap()).unwrap(), cut);

    // A length field over the cap is refused before reading the bytes.
    let mut bytes = Message::rejected(1, "").encode().unwrap();
    let at = bytes.len() - 4;
    bytes[at..].copy_from_slice(&u32::MAX.to_le_bytes());
    let err = Message::decode(&bytes).unwrap_err();
    assert!(
        matches!(
            err,
            LinkError::StringTooLong {
                field: "reason",
                ..
            }
        ),
        "{err}"
    );

    let mut bytes = Message::rejected(1, "ab").encode().unwrap();
    let end = bytes.len();
    bytes[end - 2..].copy_from_slice(&[0xff, 0xfe]);
    assert!(matches!(
        Message::decode(&bytes),
        Err(LinkError::InvalidUtf8 { .. })
    ));
}

#[test]
fn descriptor_counts_per_kind() {
    let hello = Message::Hello {
        pid: 1,
        workers: 2,
        generation: 0,
        abi_version: 1,
    };
    assert_eq!(hello.expected_fds(), 2);
    assert_eq!(
        Message::Publish {
            generation: 1,
            len: 8
        }
        .expected_fds(),
        1
    );
    assert_eq!(Message::Installed { generation: 1 }.expected_fds(), 0);
    assert_eq!(Message::Ping.expected_fds(), 0);
}
