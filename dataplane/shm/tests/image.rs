//! Sealed images: what `seal_image` produces and what `MappedImage` accepts.

use std::io::Write;
use std::os::fd::OwnedFd;

use rustix::fs::{MemfdFlags, SealFlags};
use strait_shm::{MappedImage, ShmError, seal_image};

mod common;
use common::TempDir;

fn memfd_with(bytes: &[u8], seals: SealFlags) -> OwnedFd {
    let fd =
        rustix::fs::memfd_create("test", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING).unwrap();
    let mut file = std::fs::File::from(fd);
    file.write_all(bytes).unwrap();
    rustix::fs::fcntl_add_seals(&file, seals).unwrap();
    file.into()
}

#[test]
fn sealed_image_maps_with_the_same_bytes() {
    let bytes: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
    let fd = seal_image(&bytes, "gen-1").unwrap();
    let seals = rustix::fs::fcntl_get_seals(&fd).unwrap();
    assert!(
        seals.contains(SealFlags::WRITE | SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL)
    );

    let image = MappedImage::from_fd(fd).unwrap();
    assert_eq!(image.as_ref(), &bytes[..]);
    assert_eq!(image.len(), bytes.len());
    assert_eq!(image.as_ref().as_ptr() as usize % 4096, 0, "page aligned");
}

#[test]
fn sealed_image_cannot_be_written_or_resized() {
    let fd = seal_image(b"tables", "gen-1").unwrap();
    assert!(rustix::io::write(&fd, b"x").is_err());
    assert!(rustix::fs::ftruncate(&fd, 1).is_err());
    assert!(rustix::fs::ftruncate(&fd, 1 << 20).is_err());
}

#[test]
fn image_without_write_seal_is_refused() {
    let fd = memfd_with(b"tables", SealFlags::SHRINK | SealFlags::GROW);
    let err = MappedImage::from_fd(fd).unwrap_err();
    assert!(
        matches!(
            err,
            ShmError::ImageNotSealed {
                missing: "writes",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("image fd is not sealed against writes (seals: 0x"),
        "{err}"
    );
}

#[test]
fn image_without_size_seals_is_refused() {
    let fd = memfd_with(b"tables", SealFlags::WRITE);
    let err = MappedImage::from_fd(fd).unwrap_err();
    assert!(
        matches!(
            err,
            ShmError::ImageNotSealed {
                missing: "shrinking",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_regular_file_is_not_an_image() {
    let dir = TempDir::new("image");
    let path = dir.join("image.bin");
    std::fs::write(&path, b"tables").unwrap();
    let fd: OwnedFd = std::fs::File::open(&path).unwrap().into();
    let err = MappedImage::from_fd(fd).unwrap_err();
    assert!(matches!(err, ShmError::NotMemfd { .. }), "{err}");
}

#[test]
fn empty_images_are_refused() {
    assert!(matches!(seal_image(b"", "x"), Err(ShmError::EmptyImage)));
    let fd = memfd_with(b"", SealFlags::WRITE | SealFlags::SHRINK | SealFlags::GROW);
    assert!(matches!(
        MappedImage::from_fd(fd),
        Err(ShmError::EmptyImage)
    ));

    let dir = TempDir::new("image");
    let path = dir.join("empty.bin");
    std::fs::write(&path, b"").unwrap();
    assert!(matches!(
        MappedImage::from_file(&path),
        Err(ShmError::EmptyImage)
    ));
}

#[test]
fn from_file_copies_so_later_file_changes_do_not_matter() {
    let dir = TempDir::new("image");
    let path = dir.join("last-good.img");
    let bytes = vec![0xabu8; 64 * 1024];
    std::fs::write(&path, &bytes).unwrap();
    let image = MappedImage::from_file(&path).unwrap();
    // Truncating or replacing the file must not affect (or SIGBUS) the mapping.
    std::fs::File::create(&path).unwrap();
    std::fs::write(&path, b"other").unwrap();
    assert_eq!(image.as_ref(), &bytes[..]);
    assert!(
        rustix::fs::fcntl_get_seals(image.fd())
            .unwrap()
            .contains(SealFlags::WRITE)
    );
}

#[test]
fn missing_file_names_the_path() {
    let err = MappedImage::from_file(std::path::Path::new("/nonexistent/strait.img")).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/strait.img"), "{err}");
}
