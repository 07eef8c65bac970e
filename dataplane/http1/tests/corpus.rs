//! Runs every request of `tests/corpus/http1/` through the head parser and the body decoder and
//! checks the status its manifest expects (0: accepted, head and whole body).
//!
//! The directory and `MANIFEST` must list the same `.http` files: a file without a line, or a
//! line without a file, fails the test.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use strait_http1::{BodyDecoder, Error, Event, Limits, Parsed, parse_request};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/http1")
}

/// `FILE STATUS  # why` lines; `#` starts a comment, blank lines are skipped.
fn manifest() -> BTreeMap<String, u16> {
    let text = fs::read_to_string(corpus_dir().join("MANIFEST")).expect("read MANIFEST");
    let mut entries = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [file, status] = parts[..] else {
            panic!("MANIFEST line {}: want `FILE STATUS`, got {line:?}", n + 1);
        };
        let status = status
            .parse()
            .unwrap_or_else(|_| panic!("MANIFEST line {}: bad status", n + 1));
        assert!(
            entries.insert(file.to_owned(), status).is_none(),
            "{file} listed twice"
        );
    }
    entries
}

/// Parses one whole request; the status to answer, or 0 if head and body are accepted.
fn status_of(raw: &[u8]) -> Result<u16, String> {
    let limits = Limits::default();
    let (head, used) = match parse_request(raw, &limits) {
        Ok(Parsed::Complete(head, used)) => (head, used),
        Ok(Parsed::Partial) => return Err("the head is incomplete".into()),
        Err(err) => return Ok(err.status()),
    };
    let mut decoder = BodyDecoder::new(head.framing, &limits);
    let mut pos = used;
    let end: Result<(), Error> = loop {
        let step = match decoder.decode(&raw[pos..]) {
            Ok(step) => step,
            Err(err) => break Err(err),
        };
        pos += step.consumed;
        match step.event {
            Event::Data(_) | Event::Trailer { .. } => {}
            Event::Done => break Ok(()),
            Event::NeedMore => break decoder.finish(),
        }
    };
    match end {
        Err(err) => Ok(err.status()),
        Ok(()) if pos != raw.len() => Err(format!("{} bytes after the request", raw.len() - pos)),
        Ok(()) => Ok(0),
    }
}

#[test]
fn corpus_matches_manifest() {
    let expected = manifest();
    let mut files = Vec::new();
    for entry in fs::read_dir(corpus_dir()).expect("read corpus dir") {
        let name = entry
            .expect("dir entry")
            .file_name()
            .into_string()
            .expect("UTF-8 name");
        if name != "MANIFEST" {
            files.push(name);
        }
    }
    files.sort();
    let mut failures = Vec::new();
    for name in &files {
        let Some(&want) = expected.get(name) else {
            failures.push(format!("{name}: not in MANIFEST"));
            continue;
        };
        let raw = fs::read(corpus_dir().join(name)).expect("read corpus file");
        match status_of(&raw) {
            Ok(got) if got == want => {}
            Ok(got) => failures.push(format!("{name}: status {got}, MANIFEST says {want}")),
            Err(why) => failures.push(format!("{name}: {why}")),
        }
    }
    for name in expected.keys().filter(|name| !files.contains(name)) {
        failures.push(format!("{name}: in MANIFEST but not in the directory"));
    }
    assert!(
        failures.is_empty(),
        "corpus failures:\n{}",
        failures.join("\n")
    );
    assert!(
        expected.values().filter(|&&s| s == 0).count() >= 5,
        "too few accepted requests"
    );
    assert!(
        expected.len() >= 40,
        "corpus shrank to {} files",
        expected.len()
    );
}
