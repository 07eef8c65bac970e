//! TLS for the L7 tests: certificates made by rcgen and written as PEM files, and a blocking
//! rustls client that reports what the server presented (certificate, protocol version, ALPN,
//! resumption) and speaks enough HTTP/1.1 for one request at a time. The upstreams of the TLS
//! and TCP routes are in [`crate::tls_upstream`].
//!
//! The client accepts any certificate, on purpose: the tests ask *which* certificate the
//! proxy chose and compare it byte for byte, rather than whether a CA vouches for it. Handshake
//! signatures are still checked, so the server must hold the certificate's key.

use std::{
    io::{self, BufRead, BufReader, Read, Write},
    net::{Shutdown, SocketAddr, TcpStream},
    path::{Path, PathBuf},
    sync::Arc,
    thread,
    time::Duration,
};

use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, HandshakeKind, ProtocolVersion,
    ServerConfig, SignatureScheme, StreamOwned, SupportedProtocolVersion,
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::{CryptoProvider, aws_lc_rs},
    pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime, pem::PemObject},
};

/// How long a test client read may wait.
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(20);

/// A certificate and its key.
#[derive(Debug, Clone)]
pub struct TestCert {
    /// The certificate, as the server presents it.
    pub der: CertificateDer<'static>,
    /// PEM of the certificate.
    pub cert_pem: String,
    /// PEM of the private key.
    pub key_pem: String,
}

impl TestCert {
    /// A self-signed certificate for `names`.
    pub fn new(names: &[&str]) -> TestCert {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let ck = rcgen::generate_simple_self_signed(names).expect("a test certificate");
        TestCert {
            der: ck.cert.der().clone(),
            cert_pem: ck.cert.pem(),
            key_pem: ck.signing_key.serialize_pem(),
        }
    }

    /// Writes `DIR/STEM.crt` and `DIR/STEM.key`; returns their paths.
    pub fn write(&self, dir: &Path, stem: &str) -> (PathBuf, PathBuf) {
        let (cert, key) = (
            dir.join(format!("{stem}.crt")),
            dir.join(format!("{stem}.key")),
        );
        std::fs::write(&cert, &self.cert_pem).expect("writing a certificate");
        std::fs::write(&key, &self.key_pem).expect("writing a key");
        (cert, key)
    }

    /// A rustls server config serving this certificate.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).expect("the key");
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(vec![self.der.clone()], key)
            .expect("a server config");
        Arc::new(config)
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(aws_lc_rs::default_provider())
}

/// Accepts any certificate; checks handshake signatures.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A client config for `versions` offering `alpn`; it keeps sessions for resumption (a
/// config is one client's memory: share it between connections to resume).
pub fn client_config(
    versions: &[&'static SupportedProtocolVersion],
    alpn: &[&[u8]],
) -> Arc<ClientConfig> {
    let provider = provider();
    let mut config = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// [`client_config`] for TLS 1.3 and 1.2, offering `http/1.1`.
pub fn default_client() -> Arc<ClientConfig> {
    client_config(rustls::ALL_VERSIONS, &[b"http/1.1"])
}

/// One HTTP response as the TLS client read it.
#[derive(Debug, Clone, Default)]
pub struct TlsResponse {
    /// Status code.
    pub status: u16,
    /// Fields, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl TlsResponse {
    /// The first value of field `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A blocking TLS client connection whose handshake is complete.
#[derive(Debug)]
pub struct TlsClient {
    stream: BufReader<StreamOwned<ClientConnection, TcpStream>>,
}

impl TlsClient {
    /// Connects to `addr` asking for server name `sni` and completes the handshake.
    pub fn connect(addr: SocketAddr, sni: &str, config: &Arc<ClientConfig>) -> io::Result<Self> {
        let tcp = TcpStream::connect(addr)?;
        tcp.set_read_timeout(Some(READ_TIMEOUT))?;
        tcp.set_nodelay(true)?;
        let name = ServerName::try_from(sni.to_owned()).map_err(io::Error::other)?;
        let conn = ClientConnection::new(config.clone(), name).map_err(io::Error::other)?;
        let mut stream = StreamOwned::new(conn, tcp);
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        Ok(TlsClient {
            stream: BufReader::new(stream),
        })
    }

    fn conn(&self) -> &ClientConnection {
        &self.stream.get_ref().conn
    }

    /// The certificate the server presented.
    pub fn peer_cert(&self) -> CertificateDer<'static> {
        self.conn().peer_certificates().expect("a certificate")[0].clone()
    }

    /// The protocol version agreed.
    pub fn version(&self) -> Option<ProtocolVersion> {
        self.conn().protocol_version()
    }

    /// The ALPN protocol agreed.
    pub fn alpn(&self) -> Option<Vec<u8>> {
        self.conn().alpn_protocol().map(<[u8]>::to_vec)
    }

    /// The session was resumed.
    pub fn resumed(&self) -> bool {
        self.conn().handshake_kind() == Some(HandshakeKind::Resumed)
    }

    /// Writes `bytes`.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        let s = self.stream.get_mut();
        s.write_all(bytes)?;
        s.flush()
    }

    /// Sends `close_notify` and shuts down the TCP sending side.
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        let s = self.stream.get_mut();
        s.conn.send_close_notify();
        s.flush()?;
        s.sock.shutdown(Shutdown::Write)
    }

    /// Reads until the server ends the stream (cleanly or not).
    pub fn read_to_end(&mut self) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        match self.stream.read_to_end(&mut out) {
            Ok(_) => Ok(out),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(out),
            Err(e) => Err(e),
        }
    }

    /// Reads exactly `n` bytes.
    pub fn read_exact(&mut self, n: usize) -> io::Result<Vec<u8>> {
        let mut out = vec![0; n];
        self.stream.read_exact(&mut out)?;
        Ok(out)
    }

    /// Sends `request` while reading what comes back, both at once on one non-blocking
    /// socket (so neither side's buffers can fill up and stall the other), until `done` says
    /// the bytes read are complete. Consumes the client.
    pub fn duplex(self, request: &[u8], done: impl Fn(&[u8]) -> bool) -> io::Result<Vec<u8>> {
        assert!(self.stream.buffer().is_empty(), "nothing read before");
        let StreamOwned { mut conn, mut sock } = self.stream.into_inner();
        sock.set_nonblocking(true)?;
        let deadline = std::time::Instant::now() + READ_TIMEOUT;
        let (mut sent, mut got) = (0, Vec::new());
        let would_block = |e: &io::Error| e.kind() == io::ErrorKind::WouldBlock;
        while !done(&got) {
            let mut progress = false;
            if sent < request.len() && !conn.wants_write() {
                let end = request.len().min(sent + 16 * 1024);
                sent += conn.writer().write(&request[sent..end])?;
            }
            while conn.wants_write() {
                match conn.write_tls(&mut sock) {
                    Ok(_) => progress = true,
                    Err(e) if would_block(&e) => break,
                    Err(e) => return Err(e),
                }
            }
            match conn.read_tls(&mut sock) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(_) => {
                    progress = true;
                    conn.process_new_packets().map_err(io::Error::other)?;
                    let mut reader = conn.reader();
                    match reader.read_to_end(&mut got) {
                        Ok(_) => {}
                        Err(e) if would_block(&e) => {}
                        Err(e) => return Err(e),
                    }
                }
                Err(e) if would_block(&e) => {}
                Err(e) => return Err(e),
            }
            if !progress {
                if std::time::Instant::now() > deadline {
                    let tail = &got[got.len().saturating_sub(64)..];
                    let why = format!(
                        "timed out: {sent} of {} bytes sent, {} read, ending {tail:?}",
                        request.len(),
                        got.len()
                    );
                    return Err(io::Error::new(io::ErrorKind::TimedOut, why));
                }
                thread::sleep(Duration::from_micros(200));
            }
        }
        Ok(got)
    }

    /// A keep-alive GET and its response (framed by `Content-Length` or chunked).
    pub fn get(&mut self, host: &str, path: &str) -> io::Result<TlsResponse> {
        let req =
            format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nX-Forwarded-Proto: gopher\r\n\r\n");
        self.send(req.as_bytes())?;
        self.response()
    }

    /// The next response.
    pub fn response(&mut self) -> io::Result<TlsResponse> {
        let mut line = String::new();
        self.stream.read_line(&mut line)?;
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::other(format!("bad status line {line:?}")))?;
        let mut headers = Vec::new();
        loop {
            line.clear();
            self.stream.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (n, v) = l
                .split_once(':')
                .ok_or_else(|| io::Error::other("bad field"))?;
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
        let mut response = TlsResponse {
            status,
            headers,
            body: String::new(),
        };
        let mut body = Vec::new();
        if let Some(len) = response.header("content-length") {
            let len: usize = len.parse().map_err(io::Error::other)?;
            body = vec![0; len];
            self.stream.read_exact(&mut body)?;
        } else if response.header("transfer-encoding") == Some("chunked") {
            loop {
                line.clear();
                self.stream.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim(), 16).map_err(io::Error::other)?;
                let mut chunk = vec![0; size + 2];
                self.stream.read_exact(&mut chunk)?;
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        }
        response.body = String::from_utf8_lossy(&body).into_owned();
        Ok(response)
    }
}
