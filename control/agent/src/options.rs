//! Command-line options of `strait-agent`.

use std::{fmt, net::SocketAddr, path::PathBuf, str::FromStr};

/// Default path of the gRPC API socket.
pub const DEFAULT_API_SOCKET: &str = "/run/strait/agent.sock";
/// Default path of the data-plane link socket.
pub const DEFAULT_LINK_SOCKET: &str = "/run/strait/dataplane.sock";
/// Default directory of the agent's persisted state.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/strait/agent";

/// Where the gRPC API listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listen {
    /// A Unix socket, created with mode 0600 (the default).
    Unix(PathBuf),
    /// A TCP address; only when asked for, since it has no access control of its own.
    Tcp(SocketAddr),
}

impl FromStr for Listen {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err("unix: needs a socket path, e.g. unix:/run/strait/agent.sock".into());
            }
            Ok(Listen::Unix(PathBuf::from(path)))
        } else if let Some(addr) = s.strip_prefix("tcp:") {
            addr.parse().map(Listen::Tcp).map_err(|_| {
                format!("invalid TCP address {addr:?}, expected e.g. tcp:127.0.0.1:7070")
            })
        } else if s.starts_with('/') {
            Ok(Listen::Unix(PathBuf::from(s)))
        } else {
            Err(format!(
                "{s:?}: expected unix:PATH, tcp:ADDR:PORT or an absolute socket path"
            ))
        }
    }
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listen::Unix(p) => write!(f, "unix:{}", p.display()),
            Listen::Tcp(a) => write!(f, "tcp:{a}"),
        }
    }
}

/// Everything the agent needs to start.
#[derive(Clone, Debug)]
pub struct AgentOptions {
    /// Where the gRPC API listens.
    pub listen: Listen,
    /// The data-plane link socket (SOCK_SEQPACKET, mode 0600).
    pub link_socket: PathBuf,
    /// Directory holding the last good config.
    pub state_dir: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_parses_both_kinds_and_rejects_others() {
        assert_eq!(
            "unix:/tmp/a.sock".parse(),
            Ok(Listen::Unix("/tmp/a.sock".into()))
        );
        assert_eq!(
            "/tmp/a.sock".parse(),
            Ok(Listen::Unix("/tmp/a.sock".into()))
        );
        assert_eq!(
            "tcp:127.0.0.1:7070".parse(),
            Ok(Listen::Tcp("127.0.0.1:7070".parse().unwrap()))
        );
        assert!(
            "tcp:localhost"
                .parse::<Listen>()
                .unwrap_err()
                .contains("invalid TCP address")
        );
        assert!("agent.sock".parse::<Listen>().is_err());
        assert!("unix:".parse::<Listen>().is_err());
    }
}
