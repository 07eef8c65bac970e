//! A tonic gRPC server for the L7 HTTP/2 tests, on loopback in a tokio runtime thread of its
//! own ([`Background`]), stopped (and joined) when dropped. It serves `echo.Echo` (tests/proto/echo.proto):
//! * `Say`: answers `echo: TEXT`; `missing` fails with `NOT_FOUND` ("no such greeting"),
//!   `sleep` answers after [`SLEEP`];
//! * `Chat`: answers each message with `re: TEXT` as soon as it arrives, and ends when the
//!   client's stream ends; `missing` ends it with `NOT_FOUND` ("no such message").

use std::{net::SocketAddr, pin::Pin, time::Duration};

use tokio::sync::mpsc;
use tokio_stream::{Stream, wrappers::ReceiverStream};
use tonic::{Request, Response, Status, Streaming};

use crate::background::Background;

/// The generated code of `echo.proto`.
#[allow(missing_docs, clippy::all, missing_debug_implementations)]
pub mod echo {
    tonic::include_proto!("echo");
}

use echo::{
    Msg,
    echo_server::{Echo, EchoServer},
};

/// How long `Say("sleep")` takes.
pub const SLEEP: Duration = Duration::from_secs(3);

/// A gRPC unary request as HTTP/1.1 bytes (as a client without HTTP/2 sends one):
/// `Say(text)` with `x-target: target`.
pub fn h1_say(text: &str, target: &str) -> Vec<u8> {
    let msg = prost::Message::encode_to_vec(&Msg { text: text.into() });
    let mut frame = vec![0u8];
    frame.extend_from_slice(&u32::try_from(msg.len()).expect("small").to_be_bytes());
    frame.extend_from_slice(&msg);
    let mut req = format!(
        "POST /echo.Echo/Say HTTP/1.1\r\nHost: grpc.example\r\nContent-Type: application/grpc\r\n\
         TE: trailers\r\nx-target: {target}\r\nContent-Length: {}\r\n\r\n",
        frame.len()
    )
    .into_bytes();
    req.extend_from_slice(&frame);
    req
}

/// A running server; see the module documentation.
#[derive(Debug)]
pub struct GrpcServer {
    /// Where it listens.
    pub addr: SocketAddr,
    _server: Background,
}

impl GrpcServer {
    /// Starts the server on a free loopback port.
    pub fn start() -> GrpcServer {
        GrpcServer::start_on("127.0.0.1:0".parse().expect("an address"))
    }

    /// Starts the server on `addr` (a stopped server's, to bring it back).
    pub fn start_on(addr: SocketAddr) -> GrpcServer {
        let listener = std::net::TcpListener::bind(addr).expect("a loopback port");
        let addr = listener.local_addr().expect("local addr");
        let server = Background::spawn(format!("grpc-{addr}"), listener, |listener| async {
            let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
            tonic::transport::Server::builder()
                .add_service(EchoServer::new(Service))
                .serve_with_incoming(incoming)
                .await
                .expect("the gRPC server");
        });
        GrpcServer {
            addr,
            _server: server,
        }
    }
}

struct Service;

type Replies = Pin<Box<dyn Stream<Item = Result<Msg, Status>> + Send>>;

#[tonic::async_trait]
impl Echo for Service {
    async fn say(&self, request: Request<Msg>) -> Result<Response<Msg>, Status> {
        let text = request.into_inner().text;
        match text.as_str() {
            "missing" => Err(Status::not_found("no such greeting")),
            "sleep" => {
                tokio::time::sleep(SLEEP).await;
                Ok(Response::new(Msg {
                    text: "slept".into(),
                }))
            }
            _ => Ok(Response::new(Msg {
                text: format!("echo: {text}"),
            })),
        }
    }

    type ChatStream = Replies;

    async fn chat(
        &self,
        request: Request<Streaming<Msg>>,
    ) -> Result<Response<Self::ChatStream>, Status> {
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            loop {
                let reply = match inbound.message().await {
                    Ok(Some(msg)) if msg.text == "missing" => {
                        // Ends the call with a status after messages: in trailers.
                        let _ = tx.send(Err(Status::not_found("no such message"))).await;
                        return;
                    }
                    Ok(Some(msg)) => Ok(Msg {
                        text: format!("re: {}", msg.text),
                    }),
                    Ok(None) => return,
                    Err(status) => Err(status),
                };
                if tx.send(reply).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}
