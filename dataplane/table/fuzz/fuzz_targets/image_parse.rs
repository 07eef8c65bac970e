//! Fuzz target: any bytes, copied into an 8-byte-aligned buffer, either fail to parse or parse
//! into an image whose every accessor works and every reference resolves.
//!
//! Run with `cargo +nightly fuzz run image_parse` from `dataplane/table/`. Seeding the corpus
//! with a real image (for example one written by the `roundtrip` tests) helps the fuzzer get
//! past the checksum; `strait_table::reseal` is there for a custom mutator that wants to.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strait_table::testing::{check_resolved, walk};
use strait_table::{Image, ImageBytes};

fuzz_target!(|data: &[u8]| {
    let bytes = ImageBytes::from_bytes(data);
    if let Ok(image) = Image::parse(bytes) {
        walk(&image);
        if let Err(e) = check_resolved(&image) {
            panic!("parsed image breaks its promise: {e}");
        }
    }
});
