//! An HTTP/2 client for the L7 tests: the `h2` crate on the caller's tokio runtime, over plain
//! TCP (prior-knowledge h2c) or over rustls offering ALPN `h2`. One [`H2Client`] is one
//! connection; its requests are streams on it, and may run at once (it is cheap to clone).

use std::{io, net::SocketAddr, sync::Arc};

use bytes::Bytes;
use h2::{
    SendStream,
    client::{ResponseFuture, SendRequest},
};
use http::{HeaderMap, Method, Request};
use rustls::{ClientConfig, pki_types::ServerName};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpStream,
};

/// One HTTP/2 connection; see the module documentation.
#[derive(Debug, Clone)]
pub struct H2Client {
    send: SendRequest<Bytes>,
    /// The protocol ALPN agreed on (TLS only).
    pub alpn: Option<Vec<u8>>,
}

/// A whole response.
#[derive(Debug, Clone, Default)]
pub struct H2Response {
    /// Status code.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body, whole.
    pub body: Vec<u8>,
    /// Trailers, if the response had any.
    pub trailers: Option<HeaderMap>,
}

impl H2Response {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn other(e: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::other(e)
}

impl H2Client {
    /// Prior-knowledge h2c to `addr`.
    pub async fn plain(addr: SocketAddr) -> io::Result<H2Client> {
        let tcp = TcpStream::connect(addr).await?;
        H2Client::handshake(tcp, None).await
    }

    /// h2 over TLS to `addr` with server name `sni`; `config` should offer `h2`.
    pub async fn tls(
        addr: SocketAddr,
        sni: &str,
        config: Arc<ClientConfig>,
    ) -> io::Result<H2Client> {
        let tcp = TcpStream::connect(addr).await?;
        let name = ServerName::try_from(sni.to_owned()).map_err(other)?;
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await?;
        let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
        H2Client::handshake(tls, alpn).await
    }

    async fn handshake<T>(io: T, alpn: Option<Vec<u8>>) -> io::Result<H2Client>
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (send, conn) = h2::client::handshake(io).await.map_err(other)?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(H2Client { send, alpn })
    }

    /// Sends `method` `path` to `authority` with `headers` and a body made of `chunks` (none:
    /// the request ends with its headers), and reads the whole response.
    pub async fn request(
        &self,
        method: Method,
        authority: &str,
        path: &str,
        headers: &[(&str, &str)],
        chunks: &[&[u8]],
    ) -> Result<H2Response, h2::Error> {
        self.request_with_trailers(method, authority, path, headers, chunks, None)
            .await
    }

    /// [`H2Client::request`], the body followed by `trailers` when given.
    pub async fn request_with_trailers(
        &self,
        method: Method,
        authority: &str,
        path: &str,
        headers: &[(&str, &str)],
        chunks: &[&[u8]],
        trailers: Option<HeaderMap>,
    ) -> Result<H2Response, h2::Error> {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("http://{authority}{path}"));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let req = req.body(()).expect("a valid request");
        let mut send = self.send.clone().ready().await?;
        let bodiless = chunks.is_empty() && trailers.is_none();
        let (response, mut body) = send.send_request(req, bodiless)?;
        for (i, chunk) in chunks.iter().enumerate() {
            let last = i + 1 == chunks.len() && trailers.is_none();
            body.send_data(Bytes::copy_from_slice(chunk), last)?;
        }
        if let Some(trailers) = trailers {
            body.send_trailers(trailers)?;
        }
        let (parts, mut recv) = response.await?.into_parts();
        let mut out = H2Response {
            status: parts.status.as_u16(),
            headers: parts.headers,
            ..H2Response::default()
        };
        while let Some(data) = recv.data().await {
            let data = data?;
            out.body.extend_from_slice(&data);
            let _ = recv.flow_control().release_capacity(data.len());
        }
        out.trailers = recv.trailers().await?;
        Ok(out)
    }

    /// Opens a stream: `method` `path` at `authority`, its body started with `chunk` and left
    /// open. The caller goes on with the stream (or resets it) and awaits the response.
    pub async fn open(
        &self,
        method: Method,
        authority: &str,
        path: &str,
        chunk: &[u8],
    ) -> Result<(ResponseFuture, SendStream<Bytes>), h2::Error> {
        let req = Request::builder()
            .method(method)
            .uri(format!("http://{authority}{path}"))
            .body(())
            .expect("a valid request");
        let mut send = self.send.clone().ready().await?;
        let (response, mut body) = send.send_request(req, false)?;
        body.send_data(Bytes::copy_from_slice(chunk), false)?;
        Ok((response, body))
    }

    /// A GET of `path` at `authority`.
    pub async fn get(&self, authority: &str, path: &str) -> Result<H2Response, h2::Error> {
        self.request(Method::GET, authority, path, &[], &[]).await
    }
}
