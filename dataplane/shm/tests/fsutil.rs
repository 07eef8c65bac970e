//! `write_atomic`: replaces whole files and leaves no temp files behind.

use strait_shm::fsutil::write_atomic;

mod common;
use common::TempDir;

fn entries(dir: &TempDir) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn creates_then_replaces_the_file() {
    let dir = TempDir::new("fs");
    let path = dir.join("last-good.img");
    write_atomic(&path, b"generation 1").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"generation 1");
    write_atomic(&path, b"generation 2, longer").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"generation 2, longer");
    write_atomic(&path, b"3").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"3");
    assert_eq!(
        entries(&dir),
        vec!["last-good.img".to_string()],
        "no temp files left"
    );
}

#[test]
fn an_open_reader_keeps_the_old_contents() {
    let dir = TempDir::new("fs");
    let path = dir.join("config.yaml");
    write_atomic(&path, b"old").unwrap();
    let old = std::fs::File::open(&path).unwrap();
    write_atomic(&path, b"new").unwrap();
    let mut seen = String::new();
    std::io::Read::read_to_string(&mut &old, &mut seen).unwrap();
    assert_eq!(seen, "old");
}

#[test]
fn failures_leave_nothing_behind() {
    let dir = TempDir::new("fs");
    // The target is a non-empty directory: the rename fails after the temp file was written.
    let target = dir.join("busy");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("inside"), b"x").unwrap();
    assert!(write_atomic(&target, b"data").is_err());
    assert_eq!(entries(&dir), vec!["busy".to_string()]);

    assert!(write_atomic(&dir.join("missing-dir/file"), b"data").is_err());
    assert!(write_atomic(std::path::Path::new("/"), b"data").is_err());
}
