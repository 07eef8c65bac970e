//! `strait-upstream`: an HTTP/1.1 upstream server for the demo (`scripts/demo.sh`), the L7
//! tests' [`strait_e2e::upstream::Upstream`] as a process.
//!
//! It listens on `--listen` and answers every request with its `--name` as the body and an
//! `x-upstream: NAME` field (see the upstream module for `/echo`, `/count`, `/stream`), so a
//! client learns which upstream served it. It logs a line containing `ready` once it listens,
//! and on SIGTERM or SIGINT how many requests it served, then exits 0.
#![forbid(unsafe_code)]

use std::net::SocketAddr;

use anyhow::Context;
use clap::Parser;
use strait_e2e::upstream::Upstream;
use tokio::signal::unix::{SignalKind, signal};

#[derive(Debug, Parser)]
#[command(about = "HTTP/1.1 upstream for Strait's demo: answers every request with its name")]
struct Args {
    /// Name sent as the body of every answer and in `x-upstream`.
    #[arg(long)]
    name: String,
    /// Address to listen on, e.g. 127.0.0.1:9101.
    #[arg(long)]
    listen: SocketAddr,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    // Catch the signals before announcing readiness, so a prompt TERM is never lost.
    let (mut term, mut int) = runtime.block_on(async {
        anyhow::Ok((
            signal(SignalKind::terminate()).context("SIGTERM handler")?,
            signal(SignalKind::interrupt()).context("SIGINT handler")?,
        ))
    })?;
    let upstream = Upstream::start_on(&args.name, args.listen)
        .with_context(|| format!("listening on {}", args.listen))?;
    eprintln!(
        "strait-upstream {}: ready on http://{}",
        args.name, upstream.addr
    );
    runtime.block_on(async {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    });
    eprintln!(
        "strait-upstream {}: served {} requests on {} connections",
        args.name,
        upstream.requests(),
        upstream.connections()
    );
    Ok(())
}
