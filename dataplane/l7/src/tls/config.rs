//! A TLS-terminating listener's certificates on one worker: loaded from the PEM files the
//! table names, chosen by SNI, and reloaded when the files change.
//!
//! Order: at each sync the worker reads the files the generation names ([`Source::read`]);
//! [`CertStore::update`] compares them with what it loaded and, when anything differs (a
//! path, a server name, a byte of a file), builds a new `ServerConfig`. New handshakes take
//! [`CertStore::config`]; a connection keeps the `Arc<ServerConfig>` it started with.
//!
//! Invariants:
//! * A listener serves only certificates that loaded whole: when any of them fails, the error
//!   is logged once (until it changes or goes away) and the previous config stays; with no
//!   previous config the listener is not opened, and the next sync tries again.
//! * SNI: exact name, else the longest wildcard, else the certificate without names; no match
//!   and no default fails the handshake with a fatal alert (rustls sends `access_denied`)
//!   ([`crate::sni`]).
//! * Versions TLS 1.3 and 1.2, aws-lc-rs the only provider. Resumption: stateful IDs in the
//!   worker's session cache and stateless tickets from one ticketer per process (so a ticket
//!   a client got from one worker resumes on any), both kept across reloads.

use std::{
    fmt,
    sync::{Arc, OnceLock},
};

use rustls::{
    ServerConfig,
    crypto::CryptoProvider,
    server::{
        ClientHello, NoServerSessionStorage, ProducesTickets, ResolvesServerCert,
        ServerSessionMemoryCache,
    },
    sign::CertifiedKey,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use tracing::{error, info};

use crate::sni::NameTable;

/// Sessions kept per worker for ID-based resumption.
const SESSION_CACHE: usize = 4096;

/// ALPN protocols offered by HTTPS listeners, most preferred first (the connection then
/// branches on [`super::TlsStream::alpn`]: `h2` to `crate::http2`, the rest to HTTP/1.1).
pub(crate) const HTTP_ALPN: &[&[u8]] = &[b"h2", b"http/1.1"];

/// One certificate as the table names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertSpec {
    pub(crate) cert_path: String,
    pub(crate) key_path: String,
    /// Empty: the default certificate.
    pub(crate) names: Vec<String>,
}

/// What a listener's certificates are built from: the specs and the bytes of their files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Source {
    specs: Vec<CertSpec>,
    files: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Why a listener's certificates could not be loaded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CertError {
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// A file holds no usable PEM certificate or key.
    #[error("{path}: {what}")]
    Pem { path: String, what: String },
    /// The key is unusable or does not match the certificate.
    #[error("key {path}: {source}")]
    Key { path: String, source: rustls::Error },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Config(rustls::Error),
}

impl Source {
    /// Reads every file `specs` names.
    pub(crate) fn read(specs: Vec<CertSpec>) -> Result<Source, CertError> {
        let read = |path: &str| {
            std::fs::read(path).map_err(|source| CertError::Read {
                path: path.to_owned(),
                source,
            })
        };
        let files = specs
            .iter()
            .map(|s| Ok((read(&s.cert_path)?, read(&s.key_path)?)))
            .collect::<Result<_, CertError>>()?;
        Ok(Source { specs, files })
    }

    /// The SNI table of certified keys.
    fn certified(
        &self,
        provider: &CryptoProvider,
    ) -> Result<NameTable<Arc<CertifiedKey>>, CertError> {
        let mut table = NameTable::default();
        for (spec, (cert, key)) in self.specs.iter().zip(&self.files) {
            let pem = |what: String, path: &str| CertError::Pem {
                path: path.to_owned(),
                what,
            };
            let chain = CertificateDer::pem_slice_iter(cert)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| pem(e.to_string(), &spec.cert_path))?;
            if chain.is_empty() {
                return Err(pem("no certificate".into(), &spec.cert_path));
            }
            let key = PrivateKeyDer::from_pem_slice(key)
                .map_err(|e| pem(e.to_string(), &spec.key_path))?;
            let certified =
                CertifiedKey::from_der(chain, key, provider).map_err(|source| CertError::Key {
                    path: spec.key_path.clone(),
                    source,
                })?;
            table.insert(spec.names.iter().map(String::as_str), Arc::new(certified));
        }
        Ok(table)
    }
}

/// Chooses a certificate by the ClientHello's server name.
#[derive(Debug)]
struct Resolver(NameTable<Arc<CertifiedKey>>);

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0.get(hello.server_name()).cloned()
    }
}

/// What every TLS listener of a worker shares: the provider and the resumption state.
pub(crate) struct Resumption {
    provider: Arc<CryptoProvider>,
    /// `None`: resumption is off.
    cache: Option<Arc<ServerSessionMemoryCache>>,
    ticketer: Option<Arc<dyn ProducesTickets>>,
}

impl fmt::Debug for Resumption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resumption")
            .field("tickets", &self.ticketer.is_some())
            .finish_non_exhaustive()
    }
}

impl Resumption {
    /// Resumption by session ID and ticket, or (`enabled` false) none: every connection makes
    /// a full handshake.
    pub(crate) fn new(enabled: bool) -> Self {
        if !enabled {
            return Resumption {
                provider: Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
                cache: None,
                ticketer: None,
            };
        }
        static TICKETER: OnceLock<Option<Arc<dyn ProducesTickets>>> = OnceLock::new();
        let ticketer = TICKETER.get_or_init(|| match rustls::crypto::aws_lc_rs::Ticketer::new() {
            Ok(t) => Some(t),
            Err(e) => {
                error!(error = %e, "no TLS session tickets: the ticketer did not start");
                None
            }
        });
        Resumption {
            provider: Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
            cache: Some(ServerSessionMemoryCache::new(SESSION_CACHE)),
            ticketer: ticketer.clone(),
        }
    }
}

impl Resumption {
    /// A server config serving `source`'s certificates, offering `alpn`.
    fn build(&self, source: &Source, alpn: &[&[u8]]) -> Result<Arc<ServerConfig>, CertError> {
        let table = source.certified(&self.provider)?;
        let mut config = ServerConfig::builder_with_provider(self.provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(CertError::Config)?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Resolver(table)));
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        match &self.cache {
            Some(cache) => config.session_storage = cache.clone(),
            None => {
                config.session_storage = Arc::new(NoServerSessionStorage {});
                config.send_tls13_tickets = 0;
            }
        }
        if let Some(t) = &self.ticketer {
            config.ticketer = t.clone();
        }
        Ok(Arc::new(config))
    }
}

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct CertStore {
    loaded: Option<Source>,
    config: Option<Arc<ServerConfig>>,
    /// The last error logged, so it is logged once.
    error: Option<String>,
}

impl CertStore {
    /// Takes the files read for this sync (or why they could not be read); rebuilds the config
    /// when they differ from what was loaded. Returns whether a config is ready.
    pub(crate) fn update(
        &mut self,
        listener: &str,
        read: Result<Source, CertError>,
        alpn: &[&[u8]],
        resumption: &Resumption,
    ) -> bool {
        let built = read.and_then(|source| {
            if self.loaded.as_ref() == Some(&source) {
                return Ok(None);
            }
            let config = resumption.build(&source, alpn)?;
            Ok(Some((source, config)))
        });
        match built {
            Ok(None) => self.error = None,
            Ok(Some((source, config))) => {
                let how = if self.config.is_some() {
                    "reloaded"
                } else {
                    "loaded"
                };
                info!(
                    listener,
                    certificates = source.specs.len(),
                    "TLS certificates {how}"
                );
                self.loaded = Some(source);
                self.config = Some(config);
                self.error = None;
            }
            Err(e) => {
                let text = e.to_string();
                if self.error.as_deref() != Some(&text) {
                    let keeping = self.config.is_some();
                    error!(listener, error = %text, keeping_previous = keeping, "TLS certificates not loaded");
                    self.error = Some(text);
                }
            }
        }
        self.config.is_some()
    }

    /// The last update failed (the files are read again at each sync until they load).
    pub(crate) fn failing(&self) -> bool {
        self.error.is_some()
    }

    /// The config for new handshakes.
    pub(crate) fn config(&self) -> Option<Arc<ServerConfig>> {
        self.config.clone()
    }
}

#[cfg(test)]
mod tests;
