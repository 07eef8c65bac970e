use std::sync::Arc;

use rcgen::{CertifiedKey, generate_simple_self_signed};

use super::*;

fn pem_pair(name: &str) -> (Vec<u8>, Vec<u8>) {
    let CertifiedKey { cert, signing_key } =
        generate_simple_self_signed(vec![name.to_owned()]).expect("a test certificate");
    (
        cert.pem().into_bytes(),
        signing_key.serialize_pem().into_bytes(),
    )
}

fn source(paths: &[(&str, &[&str])], files: Vec<(Vec<u8>, Vec<u8>)>) -> Source {
    let specs = paths
        .iter()
        .map(|(path, names)| CertSpec {
            cert_path: format!("{path}.crt"),
            key_path: format!("{path}.key"),
            names: names.iter().map(|n| (*n).to_owned()).collect(),
        })
        .collect();
    Source { specs, files }
}

fn current(store: &CertStore) -> Arc<ServerConfig> {
    store.config().expect("a config")
}

#[test]
fn the_same_files_keep_the_config_and_changed_ones_replace_it() {
    let r = Resumption::new(true);
    let a = pem_pair("a.example");
    let mut store = CertStore::default();
    assert!(store.update(
        "l",
        Ok(source(&[("/x/a", &["a.example"])], vec![a.clone()])),
        HTTP_ALPN,
        &r
    ));
    let first = current(&store);
    assert_eq!(
        first.alpn_protocols,
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    );

    // Same paths, names and bytes: nothing to do.
    assert!(store.update(
        "l",
        Ok(source(&[("/x/a", &["a.example"])], vec![a.clone()])),
        HTTP_ALPN,
        &r
    ));
    assert!(Arc::ptr_eq(&first, &current(&store)));

    // Same paths, new content.
    let b = pem_pair("a.example");
    assert!(store.update(
        "l",
        Ok(source(&[("/x/a", &["a.example"])], vec![b.clone()])),
        HTTP_ALPN,
        &r
    ));
    let second = current(&store);
    assert!(!Arc::ptr_eq(&first, &second));

    // Same content, another path.
    assert!(store.update(
        "l",
        Ok(source(&[("/y/a", &["a.example"])], vec![b.clone()])),
        HTTP_ALPN,
        &r
    ));
    let third = current(&store);
    assert!(!Arc::ptr_eq(&second, &third));

    // Same files, another server name.
    assert!(store.update(
        "l",
        Ok(source(&[("/y/a", &["b.example"])], vec![b])),
        HTTP_ALPN,
        &r
    ));
    assert!(!Arc::ptr_eq(&third, &current(&store)));
}

#[test]
fn a_broken_certificate_keeps_the_previous_config() {
    let r = Resumption::new(true);
    let good = pem_pair("a.example");
    let mut store = CertStore::default();
    assert!(store.update(
        "l",
        Ok(source(&[("/x/a", &[])], vec![good.clone()])),
        HTTP_ALPN,
        &r
    ));
    let first = current(&store);

    // A key that belongs to another certificate.
    let other = pem_pair("a.example");
    let mismatched = (good.0.clone(), other.1);
    assert!(store.update(
        "l",
        Ok(source(&[("/x/a", &[])], vec![mismatched])),
        HTTP_ALPN,
        &r
    ));
    assert!(Arc::ptr_eq(&first, &current(&store)));
    // Not PEM at all.
    let garbage = (b"not a certificate".to_vec(), good.1.clone());
    assert!(store.update(
        "l",
        Ok(source(&[("/x/a", &[])], vec![garbage])),
        HTTP_ALPN,
        &r
    ));
    assert!(Arc::ptr_eq(&first, &current(&store)));
    // A file that cannot be read.
    let missing = Source::read(vec![CertSpec {
        cert_path: "/nonexistent/strait.crt".into(),
        key_path: "/nonexistent/strait.key".into(),
        names: Vec::new(),
    }]);
    assert!(matches!(missing, Err(CertError::Read { .. })));
    assert!(store.update("l", missing, HTTP_ALPN, &r));
    assert!(Arc::ptr_eq(&first, &current(&store)));
}

#[test]
fn without_a_previous_config_a_broken_certificate_leaves_none() {
    let r = Resumption::new(true);
    let good = pem_pair("a.example");
    let mut store = CertStore::default();
    let no_key = (
        good.0.clone(),
        b"-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n".to_vec(),
    );
    assert!(!store.update(
        "l",
        Ok(source(&[("/x/a", &[])], vec![no_key])),
        HTTP_ALPN,
        &r
    ));
    assert!(store.config().is_none());
    // Fixed files load on the next try.
    assert!(store.update("l", Ok(source(&[("/x/a", &[])], vec![good])), &[], &r));
    assert!(current(&store).alpn_protocols.is_empty());
}

#[test]
fn resumption_off_stores_no_session_and_sends_no_ticket() {
    let a = pem_pair("a.example");
    for enabled in [true, false] {
        let mut store = CertStore::default();
        let r = Resumption::new(enabled);
        assert!(store.update(
            "l",
            Ok(source(&[("/x/a", &["a.example"])], vec![a.clone()])),
            HTTP_ALPN,
            &r
        ));
        let config = current(&store);
        let stored = config
            .session_storage
            .put(b"id".to_vec(), b"session".to_vec());
        assert_eq!(stored, enabled, "a session is stored only with resumption");
        assert_eq!(config.send_tls13_tickets > 0, enabled);
    }
}
