//! TLS towards a cluster's endpoints: the rustls client configs of one generation, one per
//! set of trusted roots, built on first use.
//!
//! Invariants:
//! * Endpoints are verified: against the PEM bundle the cluster names (`tls.caFile`), else
//!   against the system's roots. A bundle that cannot be read or holds no certificate makes
//!   every connection of that cluster fail (as a connect failure, logged once per generation);
//!   it never falls back to trusting anything.
//! * The name verified is the cluster's `tls.sni` (also sent as SNI), else the endpoint's IP
//!   address (no SNI is sent).
//! * Configs live as long as their generation: a new generation reads the bundles again, so a
//!   replaced CA file takes effect with the next apply. Sessions are resumed within a
//!   generation (rustls' client session cache).
//! * ALPN offers the cluster's protocol only (`http/1.1` or `h2`).

use std::{cell::RefCell, collections::HashMap, fmt, net::IpAddr, sync::Arc};

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::{CertificateDer, ServerName, pem::PemObject};
use tracing::error;

/// What a session to an endpoint offers by ALPN: the cluster's protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Alpn {
    /// `http/1.1`.
    Http1 = 1,
    /// `h2`.
    H2 = 2,
}

impl Alpn {
    fn protocols(self) -> Vec<Vec<u8>> {
        match self {
            Alpn::Http1 => vec![b"http/1.1".to_vec()],
            Alpn::H2 => vec![b"h2".to_vec()],
        }
    }
}

/// The client configs of one generation, keyed by CA file (empty: the system's roots) and ALPN.
#[derive(Default)]
pub(crate) struct ClientConfigs {
    built: RefCell<HashMap<(String, Alpn), Built>>,
}

/// A config, or why it could not be built.
type Built = Result<Arc<ClientConfig>, String>;

impl fmt::Debug for ClientConfigs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfigs")
            .field("built", &self.built.borrow().len())
            .finish()
    }
}

impl ClientConfigs {
    /// The config that trusts `ca_file` (empty: the system's roots), or why there is none.
    pub(crate) fn get(&self, ca_file: &str, alpn: Alpn) -> Result<Arc<ClientConfig>, String> {
        let key = (ca_file.to_owned(), alpn);
        if let Some(built) = self.built.borrow().get(&key) {
            return built.clone();
        }
        let built = build(ca_file, alpn);
        if let Err(why) = &built {
            error!(ca_file, error = %why, "no TLS towards this cluster's endpoints");
        }
        self.built.borrow_mut().insert(key, built.clone());
        built
    }
}

fn build(ca_file: &str, alpn: Alpn) -> Result<Arc<ClientConfig>, String> {
    let roots = roots(ca_file)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.protocols();
    Ok(Arc::new(config))
}

fn roots(ca_file: &str) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    if ca_file.is_empty() {
        let found = rustls_native_certs::load_native_certs();
        let (added, _) = store.add_parsable_certificates(found.certs);
        if added == 0 {
            return Err(format!("no system root certificate ({:?})", found.errors));
        }
        return Ok(store);
    }
    let certs = CertificateDer::pem_file_iter(ca_file)
        .map_err(|e| format!("reading {ca_file}: {e}"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{ca_file}: {e}"))?;
    let (added, _) = store.add_parsable_certificates(certs);
    if added == 0 {
        return Err(format!("{ca_file} holds no usable certificate"));
    }
    Ok(store)
}

/// The name an endpoint is verified against: `sni` when set, else its address.
pub(crate) fn server_name(sni: &str, ip: IpAddr) -> Result<ServerName<'static>, String> {
    if sni.is_empty() {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(sni.to_owned()).map_err(|e| format!("server name {sni:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_sni_else_the_address() {
        let ip: IpAddr = "198.18.0.10".parse().unwrap();
        assert_eq!(
            server_name("", ip).unwrap(),
            ServerName::IpAddress(ip.into())
        );
        assert!(matches!(
            server_name("api.internal", ip).unwrap(),
            ServerName::DnsName(n) if n.as_ref() == "api.internal"
        ));
        assert!(server_name("not a name", ip).is_err());
    }

    #[test]
    fn a_missing_or_empty_bundle_trusts_nothing() {
        let configs = ClientConfigs::default();
        let err = configs.get("/nonexistent/ca.pem", Alpn::Http1).unwrap_err();
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
        let dir = std::env::temp_dir().join(format!("strait-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = configs.get(empty.to_str().unwrap(), Alpn::H2).unwrap_err();
        assert!(err.contains("no usable certificate"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
