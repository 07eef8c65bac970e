//! `strait-agent`: the Strait control agent.

use std::path::PathBuf;

use clap::Parser;
use strait_agent::{AgentOptions, Listen, options};

/// The Strait control agent: validates config, compiles it into tables and publishes them to
/// the data plane through shared memory.
#[derive(Debug, Parser)]
#[command(name = "strait-agent", version)]
struct Args {
    /// Where the gRPC API listens: unix:PATH (mode 0600) or tcp:ADDR:PORT.
    #[arg(long, env = "STRAIT_AGENT_LISTEN", default_value = concat!("unix:", "/run/strait/agent.sock"))]
    listen: Listen,
    /// The data-plane link socket.
    #[arg(long, env = "STRAIT_LINK_SOCKET", default_value = options::DEFAULT_LINK_SOCKET)]
    link_socket: PathBuf,
    /// Directory for the last good config.
    #[arg(long, env = "STRAIT_AGENT_STATE_DIR", default_value = options::DEFAULT_STATE_DIR)]
    state_dir: PathBuf,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

// Parsing a large config is allocation-bound; mimalloc makes applies markedly faster.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    // Every file and socket the agent creates is private to its user.
    rustix::process::umask(rustix::fs::Mode::from_bits_truncate(0o077));
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("STRAIT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match args.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    let opts = AgentOptions {
        listen: args.listen,
        link_socket: args.link_socket,
        state_dir: args.state_dir,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("agent")
        .enable_all()
        .build()?;
    runtime.block_on(strait_agent::run(opts))?;
    Ok(())
}
