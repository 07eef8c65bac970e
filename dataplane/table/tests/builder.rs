//! The builder's API beyond pushing: patching, reuse, writing into a caller's buffer.

mod common;

use strait_table::maglev::{MaglevBackend, MaglevError};
use strait_table::*;

#[test]
fn records_can_be_read_back_and_patched_before_finish() {
    let mut b = ImageBuilder::new(3);
    let listener = b.push_listener(Listener::default());
    let name = b.string("late");
    let hosts = b.extend(&[VirtualHost {
        listener,
        kind: HostKind::Any.code(),
        ..Default::default()
    }]);
    let old = b.replace(
        listener,
        Listener {
            name,
            virtual_hosts: hosts,
            family: 4,
            ..Default::default()
        },
    );
    assert_eq!(old, Some(Listener::default()));
    assert_eq!(
        b.record::<Listener>(listener).map(|l| l.virtual_hosts),
        Some(hosts)
    );
    assert_eq!(b.replace(7, Listener::default()), None, "no record 7");
    assert_eq!(b.record::<Route>(0), None);

    let image = Image::parse(b.finish()).unwrap();
    let [l] = image.listeners() else {
        panic!("one listener")
    };
    assert_eq!(
        (image.str(l.name), image.virtual_hosts_of(l).len()),
        ("late", 1)
    );
}

#[test]
fn maglev_errors_leave_the_builder_unchanged() {
    let mut b = ImageBuilder::new(1);
    let err = b.maglev_table(&[MaglevBackend { key: 1, weight: 0 }], 7);
    assert_eq!(err, Err(MaglevError::AllZeroWeight { backends: 1 }));
    assert_eq!(b.maglev(&[0, 0]), Range { first: 0, count: 2 });
    let r = b
        .maglev_table(&[MaglevBackend { key: 1, weight: 1 }], 7)
        .unwrap();
    assert_eq!(r, Range { first: 2, count: 7 });
}

#[test]
fn write_to_needs_the_exact_length_and_overwrites_everything() {
    let b = common::sample_builder();
    let len = b.image_len();
    let mut short = vec![0u8; len - 1];
    assert_eq!(
        b.write_to(&mut short),
        Err(OutputLenError {
            need: len,
            got: len - 1
        })
    );

    let mut dirty = ImageBytes::from_bytes(&vec![0xa5; len]);
    b.write_to(dirty.as_bytes_mut()).unwrap();
    assert_eq!(dirty, b.clone().finish(), "gaps are zeroed, not left dirty");
    assert!(Image::parse(dirty).is_ok());
}

#[test]
fn a_cleared_builder_builds_the_next_generation() {
    let mut b = common::sample_builder();
    let first = b.clone().finish();
    b.clear(43);
    assert_eq!(b.count::<Route>(), 0);
    assert_eq!(
        b.string("x"),
        StrRef { off: 0, len: 1 },
        "the string pool starts over"
    );
    b.clear(43);
    let empty = Image::parse(b.finish()).unwrap();
    assert_eq!((empty.generation(), empty.routes().len()), (43, 0));
    assert!(Image::parse(first).is_ok());
}

#[test]
fn image_bytes_are_aligned_and_convert() {
    let bytes = ImageBytes::from_bytes(b"abc");
    assert_eq!(bytes.as_ptr() as usize % 8, 0);
    assert_eq!(
        (bytes.as_bytes(), bytes.as_ref(), &*bytes),
        (&b"abc"[..], &b"abc"[..], &b"abc"[..])
    );
    assert_eq!(bytes.clone().into_vec(), b"abc");
    assert_eq!(format!("{bytes:?}"), "ImageBytes { len: 3 }");
}
