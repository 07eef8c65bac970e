//! Damaged images are refused with the specific error, and nothing panics on the way.

mod common;

use common::{directory, raw_image, sample};
use strait_table::format::{HEADER_LEN, SECTION_ENTRY_LEN, SECTION_OPTIONAL};
use strait_table::*;

fn parse(bytes: &[u8]) -> Result<Image<ImageBytes>, ImageError> {
    Image::parse(ImageBytes::from_bytes(bytes))
}

fn patch(bytes: &mut [u8], offset: usize, value: &[u8]) {
    bytes[offset..offset + value.len()].copy_from_slice(value);
}

#[test]
fn every_truncation_is_refused() {
    let full = sample();
    for len in 0..full.len() {
        let err = Image::parse(&full[..len]).expect_err("truncated image");
        let expected = if len < HEADER_LEN {
            ImageError::TooShort { len }
        } else {
            ImageError::LengthMismatch {
                header: full.len() as u64,
                buffer: len,
            }
        };
        assert_eq!(err, expected, "len {len}");
    }
}

#[test]
fn every_truncation_with_a_matching_header_is_refused() {
    // Fix total_len and the checksum so the directory and record checks meet the truncation.
    let full = sample();
    let data_end = directory(&full)
        .iter()
        .map(|e| e.offset + e.len)
        .max()
        .unwrap() as usize;
    for len in HEADER_LEN..full.len() {
        let mut cut = ImageBytes::from_bytes(&full[..len]);
        patch(cut.as_bytes_mut(), 24, &(len as u64).to_le_bytes());
        reseal(cut.as_bytes_mut());
        match Image::parse(cut) {
            Ok(_) => assert!(len >= data_end, "len {len} cuts a section but parsed"),
            Err(e) => assert!(len < data_end, "len {len}: only padding was cut, yet {e}"),
        }
    }
}

#[test]
fn header_errors_are_specific() {
    let good = sample();

    let mut bytes = good.to_vec();
    bytes[0] = b'X';
    assert!(matches!(parse(&bytes), Err(ImageError::BadMagic { found }) if &found == b"XTRAITTB"));

    let mut bytes = good.to_vec();
    patch(&mut bytes, 8, &1u32.to_le_bytes());
    assert_eq!(
        parse(&bytes).unwrap_err(),
        ImageError::UnsupportedVersion { found: 1 }
    );
    assert_eq!(
        parse(&bytes).unwrap_err().to_string(),
        "unsupported ABI version 1 (this reader reads version 2)"
    );

    let mut bytes = good.to_vec();
    bytes[100] ^= 1;
    assert!(matches!(
        parse(&bytes),
        Err(ImageError::ChecksumMismatch { .. })
    ));

    let mut bytes = good.to_vec();
    bytes.extend_from_slice(&[0; 8]);
    let err = parse(&bytes).unwrap_err();
    assert_eq!(
        err,
        ImageError::LengthMismatch {
            header: good.len() as u64,
            buffer: good.len() + 8
        }
    );

    let mut bytes = good.to_vec();
    patch(&mut bytes, 44, &1u32.to_le_bytes());
    reseal(&mut bytes);
    assert_eq!(
        parse(&bytes).unwrap_err(),
        ImageError::UnknownHeaderFlags { flags: 1 }
    );

    let mut bytes = good.to_vec();
    patch(&mut bytes, 12, &44u32.to_le_bytes());
    reseal(&mut bytes);
    assert_eq!(
        parse(&bytes).unwrap_err(),
        ImageError::BadHeaderLen { found: 44 }
    );

    let mut bytes = good.to_vec();
    patch(&mut bytes, 40, &1000u32.to_le_bytes());
    reseal(&mut bytes);
    assert!(matches!(
        parse(&bytes),
        Err(ImageError::BadDirectory { count: 1000, .. })
    ));
}

#[test]
fn misaligned_buffer_is_refused() {
    let good = sample();
    let mut shifted = ImageBytes::zeroed(good.len() + 1);
    shifted.as_bytes_mut()[1..].copy_from_slice(&good);
    let err = Image::parse(&shifted[1..]).unwrap_err();
    assert_eq!(err, ImageError::Misaligned { misalignment: 1 });
    assert!(err.to_string().contains("not 8-byte aligned"));
    assert!(Image::parse(&shifted[1..]).is_err() && parse(&shifted[1..]).is_ok());
}

#[test]
fn directory_errors_are_specific() {
    let strings: &[u8] = b"hello";
    assert!(raw_image(&[(1, 0, strings)]).len() > HEADER_LEN);
    assert!(Image::parse(raw_image(&[(1, 0, strings)])).is_ok());

    let skipped = Image::parse(raw_image(&[
        (999, SECTION_OPTIONAL, b"future"),
        (1, 0, strings),
    ]));
    assert!(skipped.is_ok(), "unknown optional sections are skipped");
    let err = Image::parse(raw_image(&[(999, 0, b"future")])).unwrap_err();
    assert_eq!(
        err,
        ImageError::UnknownRequiredSection {
            entry: 0,
            kind: SectionKind(999)
        }
    );
    assert_eq!(
        err.to_string(),
        "directory entry 0: unknown section kind 999 is not marked optional"
    );
    let err = Image::parse(raw_image(&[(1, 0, strings), (1, 0, strings)])).unwrap_err();
    assert_eq!(
        err,
        ImageError::DuplicateSection {
            entry: 1,
            kind: SectionKind::STRINGS
        }
    );
    let err = Image::parse(raw_image(&[(1, 2, strings)])).unwrap_err();
    assert!(matches!(
        err,
        ImageError::UnknownSectionFlags { flags: 2, .. }
    ));
    let err = Image::parse(raw_image(&[(SectionKind::ROUTES.0, 0, &[0; 95])])).unwrap_err();
    assert_eq!(
        err,
        ImageError::SectionLength {
            kind: SectionKind::ROUTES,
            len: 95,
            record_size: 96
        }
    );
    let err = Image::parse(raw_image(&[(1, 0, &[0xff, 0xfe])])).unwrap_err();
    assert_eq!(err, ImageError::StringsNotUtf8 { valid_up_to: 0 });

    let entry = |i: usize| HEADER_LEN + i * SECTION_ENTRY_LEN;
    let mut two = raw_image(&[(1, 0, &[b'a'; 16]), (2, 0, &[0; 16])]).to_vec();
    let first_offset = u64::from_le_bytes(two[entry(0) + 8..][..8].try_into().unwrap());
    patch(&mut two, entry(1) + 8, &(first_offset + 8).to_le_bytes());
    reseal(&mut two);
    let err = parse(&two).unwrap_err();
    assert_eq!(
        err,
        ImageError::SectionOverlap {
            first: SectionKind::STRINGS,
            second: SectionKind::NAMES
        }
    );

    let mut bytes = raw_image(&[(1, 0, &[b'a'; 16])]).to_vec();
    patch(&mut bytes, entry(0) + 8, &(first_offset + 4).to_le_bytes());
    reseal(&mut bytes);
    assert!(matches!(
        parse(&bytes),
        Err(ImageError::SectionMisaligned { .. })
    ));
    patch(&mut bytes, entry(0) + 8, &(first_offset + 8).to_le_bytes());
    reseal(&mut bytes);
    assert!(matches!(
        parse(&bytes),
        Err(ImageError::SectionOutOfBounds { .. })
    ));
    patch(&mut bytes, entry(0) + 8, &8u64.to_le_bytes());
    reseal(&mut bytes);
    assert!(
        matches!(parse(&bytes), Err(ImageError::SectionOutOfBounds { .. })),
        "inside the header"
    );
}

/// Builds an image around one bad record; `f` gets a builder with one cluster, one endpoint,
/// one route backend and a few strings already pushed.
fn refused(f: impl FnOnce(&mut ImageBuilder)) -> String {
    let mut b = ImageBuilder::new(1);
    let (addr, family) = common::ip("10.0.0.1");
    let endpoints = b.extend(&[Endpoint {
        addr,
        family,
        weight: 1,
        ..Default::default()
    }]);
    b.push_cluster(Cluster {
        endpoints,
        ..Default::default()
    });
    b.push_route_backend(RouteBackend {
        cluster: 0,
        weight: 1,
    });
    b.string("héllo");
    f(&mut b);
    Image::parse(b.finish())
        .expect_err("bad record")
        .to_string()
}

#[test]
fn record_errors_name_the_record_and_field() {
    let msg = refused(|b| {
        b.push_route(Route::default());
        b.push_route(Route {
            backends: Range { first: 0, count: 3 },
            ..Default::default()
        });
    });
    assert_eq!(
        msg,
        "section ROUTES record 1: backends range 0..3 outside ROUTE_BACKENDS (len 1)"
    );
    let msg = refused(|b| {
        b.push_route_backend(RouteBackend {
            cluster: 5,
            weight: 1,
        });
    });
    assert_eq!(
        msg,
        "section ROUTE_BACKENDS record 1: cluster index 5 outside CLUSTERS (len 1)"
    );
    let msg = refused(|b| {
        b.push_route(Route {
            name: StrRef { off: 1, len: 1 },
            ..Default::default()
        });
    });
    assert!(
        msg.starts_with("section ROUTES record 0: name string 1+1 is outside STRINGS"),
        "{msg}"
    );
    let msg = refused(|b| {
        b.push_route(Route {
            action: 9,
            ..Default::default()
        });
    });
    assert_eq!(msg, "section ROUTES record 0: unknown action code 9");
    let msg = refused(|b| {
        b.push_route(Route {
            method_mask: 1 << 12,
            ..Default::default()
        });
    });
    assert_eq!(
        msg,
        "section ROUTES record 0: method_mask has unknown bits 0x1000"
    );
    let msg = refused(|b| {
        b.push_endpoint(Endpoint {
            family: 5,
            ..Default::default()
        });
    });
    assert_eq!(msg, "section ENDPOINTS record 1: unknown family code 5");
    let msg = refused(|b| {
        b.push_endpoint(Endpoint {
            family: 4,
            addr: [1; 16],
            ..Default::default()
        });
    });
    assert_eq!(
        msg,
        "section ENDPOINTS record 1: address: IPv4 address with non-zero bytes 4..16"
    );
    let msg = refused(|b| {
        let maglev = b.maglev(&[0, 0, 1, 0, 0]);
        b.push_cluster(Cluster {
            endpoints: Range { first: 0, count: 1 },
            maglev,
            ..Default::default()
        });
    });
    assert_eq!(
        msg,
        "section CLUSTERS record 1: maglev slot 2 holds 1, but the owner has 1 backends"
    );
    let msg = refused(|b| {
        b.push_virtual_host(VirtualHost {
            listener: 0,
            ..Default::default()
        });
    });
    assert_eq!(
        msg,
        "section VIRTUAL_HOSTS record 0: listener index 0 outside LISTENERS (len 0)"
    );
    let msg = refused(|b| {
        b.push_l4_backend(L4Backend {
            family: 6,
            has_mac: 2,
            ..Default::default()
        });
    });
    assert_eq!(msg, "section L4_BACKENDS record 0: unknown has_mac code 2");
}
