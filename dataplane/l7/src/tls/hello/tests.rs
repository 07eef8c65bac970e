use std::sync::Arc;

use proptest::prelude::*;
use rustls::{ClientConfig, ClientConnection, RootCertStore, pki_types::ServerName};

use super::*;

/// The first flight of a real rustls client for `name`.
fn rustls_hello(name: &str) -> Vec<u8> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(RootCertStore::empty())
        .with_no_client_auth();
    let name = ServerName::try_from(name.to_owned()).expect("a server name");
    let mut conn = ClientConnection::new(Arc::new(config), name).expect("a client");
    let mut out = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut out).expect("writing to a Vec");
    }
    out
}

/// A ClientHello record built by hand around `extensions`.
fn hello_with(extensions: &[u8]) -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend_from_slice(&[7; 32]);
    body.push(0); // session id
    body.extend_from_slice(&[0, 2, 0x13, 0x01]); // one cipher suite
    body.extend_from_slice(&[1, 0]); // null compression
    body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
    body.extend_from_slice(extensions);
    let mut handshake = vec![1];
    handshake.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    handshake.extend_from_slice(&body);
    let mut record = vec![22, 3, 1];
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

fn sni_extension(name: &[u8]) -> Vec<u8> {
    let mut entry = vec![0];
    entry.extend_from_slice(&(name.len() as u16).to_be_bytes());
    entry.extend_from_slice(name);
    let mut list = (entry.len() as u16).to_be_bytes().to_vec();
    list.extend_from_slice(&entry);
    let mut ext = vec![0, 0];
    ext.extend_from_slice(&(list.len() as u16).to_be_bytes());
    ext.extend_from_slice(&list);
    ext
}

#[test]
fn a_real_client_hello_names_its_server() {
    let hello = rustls_hello("Svc.Example");
    assert_eq!(
        parse(&hello),
        Ok(Hello::Complete(Some("svc.example".into())))
    );
    // Bytes after the hello (none here, but a pipelining client could send some) are ignored.
    let mut more = hello.clone();
    more.extend_from_slice(b"\x17\x03\x03\x00\x01x");
    assert_eq!(
        parse(&more),
        Ok(Hello::Complete(Some("svc.example".into())))
    );
}

#[test]
fn an_ip_address_sends_no_server_name() {
    let hello = rustls_hello("127.0.0.1");
    assert_eq!(parse(&hello), Ok(Hello::Complete(None)));
    assert_eq!(parse(&hello_with(&[])), Ok(Hello::Complete(None)));
}

#[test]
fn every_truncation_is_partial() {
    let hello = rustls_hello("svc.example");
    for n in 0..hello.len() {
        assert_eq!(parse(&hello[..n]), Ok(Hello::Partial), "cut at {n}");
    }
}

#[test]
fn a_hello_split_over_records_is_reassembled() {
    let whole = hello_with(&sni_extension(b"split.example"));
    let handshake = &whole[5..];
    let mut split = Vec::new();
    for part in handshake.chunks(10) {
        split.extend_from_slice(&[22, 3, 1]);
        split.extend_from_slice(&(part.len() as u16).to_be_bytes());
        split.extend_from_slice(part);
    }
    assert_eq!(
        parse(&split),
        Ok(Hello::Complete(Some("split.example".into())))
    );
    assert_eq!(parse(&split[..split.len() - 1]), Ok(Hello::Partial));
}

#[test]
fn other_protocols_and_messages_are_refused() {
    assert_eq!(parse(b"GET / HTTP/1.1\r\n"), Err(HelloError::NotTls));
    assert_eq!(
        parse(&[23, 3, 3, 0, 5, 0, 0, 0, 0, 0]),
        Err(HelloError::NotTls)
    );
    // A ServerHello (type 2) where a ClientHello belongs.
    let mut hello = hello_with(&[]);
    hello[5] = 2;
    assert_eq!(parse(&hello), Err(HelloError::NotClientHello));
    // A record of length zero.
    assert_eq!(parse(&[22, 3, 1, 0, 0]), Err(HelloError::Malformed));
}

#[test]
fn inconsistent_lengths_are_malformed() {
    let good = hello_with(&sni_extension(b"a.example"));
    // The extensions block claims more than the hello holds.
    let ext_len_at = 5 + 4 + 2 + 32 + 1 + 4 + 2;
    let mut bad = good.clone();
    bad[ext_len_at + 1] += 1;
    assert_eq!(parse(&bad), Err(HelloError::Malformed));
    // The server name claims more than its extension holds.
    let mut bad = good.clone();
    let name_len_at = good.len() - b"a.example".len() - 1;
    bad[name_len_at] += 4;
    assert_eq!(parse(&bad), Err(HelloError::Malformed));
    // A session id longer than 32 bytes.
    let mut bad = good.clone();
    bad[5 + 4 + 2 + 32] = 33;
    assert_eq!(parse(&bad), Err(HelloError::Malformed));
    // A name with a byte no host name has.
    let bad = hello_with(&sni_extension(b"a b.example"));
    assert_eq!(parse(&bad), Err(HelloError::Malformed));
    let bad = hello_with(&sni_extension(b""));
    assert_eq!(parse(&bad), Err(HelloError::Malformed));
}

#[test]
fn an_endless_hello_is_too_long() {
    // A handshake message claiming 1 MiB.
    assert_eq!(
        parse(&[22, 3, 1, 0, 4, 1, 0x10, 0, 0]),
        Err(HelloError::TooLong)
    );
    // Records that never complete the message stop at the cap.
    let mut endless = Vec::new();
    endless.extend_from_slice(&[22, 3, 1, 0x40, 0]);
    endless.extend_from_slice(&[1, 0, 0x7f, 0xff]);
    endless.resize(5 + 0x4000, 0);
    while endless.len() < MAX_HELLO {
        endless.extend_from_slice(&[22, 3, 1, 0x40, 0]);
        endless.resize(endless.len() + 0x4000, 0);
    }
    assert_eq!(parse(&endless), Err(HelloError::TooLong));
}

/// What any answer must satisfy: a name is a lower-case host name.
fn well_formed(result: Result<Hello, HelloError>) {
    if let Ok(Hello::Complete(Some(name))) = result {
        assert!(!name.is_empty());
        assert!(name.bytes().all(|b| b.is_ascii_lowercase()
            || b.is_ascii_digit()
            || matches!(b, b'-' | b'.' | b'_')));
    }
}

proptest! {
    // The fuzz harness of the parser (libfuzzer-free, so it runs with the unit tests).
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        well_formed(parse(&data));
    }

    #[test]
    fn mutated_hellos_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut hello = rustls_hello("mutant.example");
        for (at, byte) in edits {
            let i = at.index(hello.len());
            hello[i] = byte;
        }
        let end = cut.index(hello.len() + 1);
        well_formed(parse(&hello[..end]));
    }
}
