//! `strait-dataplane`: the Strait data plane.

use std::{
    path::PathBuf,
    sync::{Arc, atomic::AtomicBool},
};

use clap::Parser;
use strait_dataplane::{DataplaneOptions, allowed_cores, options, parse_cores};

/// The Strait data plane: one pinned poll-mode worker per core, running the tables the agent
/// publishes through shared memory.
#[derive(Debug, Parser)]
#[command(name = "strait-dataplane", version)]
struct Args {
    /// Cores to run workers on, one worker each: e.g. 0,1 or 0-3. Default: every allowed core.
    #[arg(long, value_parser = |s: &str| parse_cores(s).map(CoreList))]
    cores: Option<CoreList>,
    /// The agent's link socket.
    #[arg(long, env = "STRAIT_LINK_SOCKET", default_value = options::DEFAULT_LINK_SOCKET)]
    link_socket: PathBuf,
    /// Directory for the last good image.
    #[arg(long, env = "STRAIT_DATAPLANE_STATE_DIR", default_value = options::DEFAULT_STATE_DIR)]
    state_dir: PathBuf,
    /// Endpoints the health overlay can hold.
    #[arg(long, default_value_t = options::DEFAULT_HEALTH_SLOTS)]
    health_slots: u32,
}

/// A parsed `--cores` list.
#[derive(Clone, Debug)]
struct CoreList(Vec<usize>);

fn main() -> anyhow::Result<()> {
    rustix::process::umask(rustix::fs::Mode::from_bits_truncate(0o077));
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("STRAIT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cores = args.cores.map_or_else(allowed_cores, |c| c.0);
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone())?;
    }
    let opts = DataplaneOptions {
        cores,
        link_socket: args.link_socket,
        state_dir: args.state_dir,
        health_slots: args.health_slots,
    };
    strait_dataplane::run(opts, &stop)?;
    Ok(())
}
