//! Starting the agent: restore state, start the link server, serve the gRPC API.

use std::{io, path::Path, sync::Arc};

use strait_proto::v1::control_server::ControlServer;
use tokio::net::{TcpListener, UnixListener};
use tokio_stream::wrappers::{TcpListenerStream, UnixListenerStream};
use tracing::{error, info, warn};

use crate::{
    endpoints::EndpointStates,
    link::LinkServer,
    options::{AgentOptions, Listen},
    publish::{self, Publisher},
    service::ControlService,
    store::Store,
};

/// The largest config message the API accepts (a 100k-endpoint config is a few MiB).
const MAX_MESSAGE: usize = 256 << 20;
/// HTTP/2 flow-control window of the API.
const WINDOW: u32 = 16 << 20;
/// Largest HTTP/2 frame a client may send (1 MiB rather than 16 KiB).
const FRAME: u32 = 1 << 20;

/// Errors that stop the agent from starting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The state directory is unusable.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The link socket could not be bound.
    #[error("data-plane link socket: {0}")]
    Link(#[from] strait_shm::link::LinkError),
    /// The API socket could not be bound.
    #[error("API socket {what}: {source}")]
    Listen {
        /// What was being bound.
        what: String,
        /// The cause.
        source: io::Error,
    },
    /// The gRPC server failed.
    #[error("gRPC server: {0}")]
    Serve(#[from] tonic::transport::Error),
}

/// Runs the agent until SIGINT or SIGTERM.
pub async fn run(opts: AgentOptions) -> Result<(), StartError> {
    let store = Store::open(&opts.state_dir)?;
    let (persisted, load_error) = store.load();
    if let Some(e) = load_error {
        error!("{e}; starting without a config, the data plane keeps its tables");
    }
    let restored = persisted.and_then(|p| match publish::restore(&p) {
        Ok((image, slots)) => {
            info!(generation = p.generation, "restored the last good config");
            Some((p, slots, image))
        }
        Err(e) => {
            error!(
                generation = p.generation,
                "the persisted config no longer compiles: {e}"
            );
            None
        }
    });
    let image = restored.as_ref().map(|(_, _, image)| image.clone());
    let endpoints = match &restored {
        Some((p, slots, _)) => {
            let (states, load_error) = store.load_endpoints();
            if let Some(e) = load_error {
                error!("{e}; every endpoint starts active");
            }
            EndpointStates::new(p.generation, slots.clone(), states)
        }
        None => EndpointStates::default(),
    };
    if !endpoints.desired().is_empty() {
        info!(
            endpoints = endpoints.desired().len(),
            "restored the endpoint states"
        );
    }
    let (link, dataplane) = LinkServer::start(&opts.link_socket, image, endpoints)?;
    info!(socket = %opts.link_socket.display(), "data-plane link listening");
    let publisher = Arc::new(Publisher::new(
        store,
        link.clone(),
        restored.map(|(p, s, _)| (p, s)),
    ));
    let service = ControlServer::new(ControlService {
        publisher,
        link,
        dataplane,
    })
    .max_decoding_message_size(MAX_MESSAGE)
    .max_encoding_message_size(MAX_MESSAGE);
    // Configs of a few MiB cross in one go instead of a window update per 64 KiB.
    let router = tonic::transport::Server::builder()
        .initial_stream_window_size(Some(WINDOW))
        .initial_connection_window_size(Some(WINDOW))
        .max_frame_size(Some(FRAME))
        .add_service(service);
    match &opts.listen {
        Listen::Unix(path) => {
            let listener = bind_unix(path).map_err(|source| StartError::Listen {
                what: path.display().to_string(),
                source,
            })?;
            info!(listen = %opts.listen, "API listening");
            router
                .serve_with_incoming_shutdown(UnixListenerStream::new(listener), shutdown())
                .await?;
            let _ = std::fs::remove_file(path);
        }
        Listen::Tcp(addr) => {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|source| StartError::Listen {
                    what: addr.to_string(),
                    source,
                })?;
            warn!(listen = %opts.listen, "API listening on TCP: anyone who can reach it can change the config");
            router
                .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown())
                .await?;
        }
    }
    info!("agent stopped");
    Ok(())
}

/// Binds the API socket with mode 0600, replacing a stale socket file.
fn bind_unix(path: &Path) -> io::Result<UnixListener> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => std::fs::remove_file(path)?,
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "exists and is not a socket; refusing to replace it",
            ));
        }
        Err(_) => {}
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

async fn shutdown() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    info!("shutting down");
}
