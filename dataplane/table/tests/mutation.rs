//! Property tests: arbitrary bytes, and valid images with random damage re-sealed so that it
//! gets past the checksum, never make the reader panic; whatever parses resolves in full.

mod common;

use proptest::prelude::*;
use strait_table::testing::{check_resolved, walk};
use strait_table::{Image, ImageBytes, reseal};

fn check(bytes: ImageBytes) {
    if let Ok(image) = Image::parse(bytes) {
        walk(&image);
        check_resolved(&image).unwrap();
    }
}

/// One way to damage an image.
#[derive(Clone, Debug)]
enum Damage {
    /// Overwrite a byte.
    Byte(usize, u8),
    /// Overwrite an aligned `u32` with a small value (indices, counts, codes, offsets).
    Small(usize, u32),
    /// Overwrite an aligned `u32` with anything.
    Word(usize, u32),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, v)| Damage::Byte(i, v)),
        (any::<usize>(), 0u32..300).prop_map(|(i, v)| Damage::Small(i, v)),
        (any::<usize>(), any::<u32>()).prop_map(|(i, v)| Damage::Word(i, v)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        check(ImageBytes::from_bytes(&bytes));
    }

    #[test]
    fn random_bytes_behind_a_valid_header_never_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut bytes = common::sample()[..48].to_vec();
        bytes.extend_from_slice(&tail);
        let len = (bytes.len() as u64).to_le_bytes();
        bytes[24..32].copy_from_slice(&len);
        reseal(&mut bytes);
        check(ImageBytes::from_bytes(&bytes));
    }

    #[test]
    fn resealed_mutations_never_panic(damages in proptest::collection::vec(damage(), 1..6)) {
        let mut image = common::sample();
        let bytes = image.as_bytes_mut();
        let len = bytes.len();
        for d in damages {
            match d {
                Damage::Byte(i, v) => bytes[i % len] = v,
                Damage::Small(i, v) | Damage::Word(i, v) => {
                    let at = (i % (len / 4)) * 4;
                    bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
                }
            }
        }
        reseal(bytes);
        check(image);
    }
}
