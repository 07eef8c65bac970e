//! Connecting a `Control` client to the agent over its Unix socket or TCP.

use std::{error::Error as _, path::PathBuf};

use hyper_util::rt::TokioIo;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::v1::control_client::ControlClient;

/// The largest message a client sends or takes (configs of 100k endpoints are a few MiB).
pub const MAX_MESSAGE: usize = 256 << 20;
/// HTTP/2 flow-control window: a config of a few MiB crosses without waiting on window updates.
const WINDOW: u32 = 16 << 20;

/// Connects to the agent at `unix:/PATH`, `/PATH` or `tcp:ADDR:PORT`.
///
/// The error is one line that names the address, the cause and what to check.
pub async fn connect(agent: &str) -> Result<ControlClient<Channel>, String> {
    let channel = if let Some(addr) = agent.strip_prefix("tcp:") {
        Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|e| format!("invalid agent address {agent:?}: {e}"))?
            .initial_stream_window_size(WINDOW)
            .initial_connection_window_size(WINDOW)
            .connect()
            .await
    } else {
        let path = PathBuf::from(agent.strip_prefix("unix:").unwrap_or(agent));
        if !path.is_absolute() {
            return Err(format!(
                "invalid agent address {agent:?}: use unix:/PATH or tcp:ADDR:PORT"
            ));
        }
        Endpoint::from_static("http://strait-agent")
            .initial_stream_window_size(WINDOW)
            .initial_connection_window_size(WINDOW)
            .connect_with_connector(tower::service_fn(move |_: Uri| {
                let path = path.clone();
                async move {
                    Ok::<_, std::io::Error>(TokioIo::new(
                        tokio::net::UnixStream::connect(path).await?,
                    ))
                }
            }))
            .await
    };
    let channel = channel.map_err(|e| {
        let mut cause = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            cause = s.to_string();
            source = s.source();
        }
        format!("cannot reach the agent at {agent} ({cause}); is strait-agent running? (--agent / STRAIT_AGENT)")
    })?;
    Ok(ControlClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE))
}
