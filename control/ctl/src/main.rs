//! `straitctl`: the operator CLI of the Strait agent.
//!
//! Exit status: 0 success; 1 the agent refused (an invalid config, a data plane that did not
//! take it, an `endpoint` address that is no endpoint of the published config); 2 bad
//! command line; 3 the agent could not be reached.
#![forbid(unsafe_code)]

mod commands;
mod endpoints;
mod render;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Operate a Strait node: push config to the agent and see what the data plane runs.
#[derive(Debug, Parser)]
#[command(name = "straitctl", version, propagate_version = true)]
struct Cli {
    /// The agent's API: unix:PATH, tcp:ADDR:PORT, or an absolute socket path.
    #[arg(
        long,
        global = true,
        env = "STRAIT_AGENT",
        default_value = "unix:/run/strait/agent.sock"
    )]
    agent: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate and publish a config (YAML or JSON); `-f -` reads standard input.
    Apply {
        /// The config file.
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
        /// Wait until every data-plane worker runs the new generation.
        #[arg(long)]
        wait: bool,
        /// How long to wait with --wait, e.g. 500ms, 10s.
        #[arg(long, default_value = "10s", value_parser = parse_duration_ms)]
        timeout: u32,
    },
    /// Check a config without publishing it.
    Validate {
        /// The config file.
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
    },
    /// Print the published config.
    Get {
        /// Output format.
        #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Yaml)]
        output: Format,
    },
    /// Show the published generation and what every worker runs.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Keep printing on every change.
        #[arg(long)]
        watch: bool,
    },
    /// Show the data-plane counters: the totals, then each worker's.
    Stats {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Include counters that are zero.
        #[arg(long)]
        all: bool,
    },
    /// Drain endpoints, mark them down or up, and list their states.
    Endpoint {
        #[command(subcommand)]
        command: endpoints::EndpointCommand,
    },
}

/// Output formats of `get`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Yaml,
    Json,
}

/// Parses `500ms`, `10s`, `2m` into milliseconds.
fn parse_duration_ms(s: &str) -> Result<u32, String> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u32 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a number and a unit, e.g. 10s"))?;
    let factor = match unit {
        "ms" => 1,
        "s" | "" => 1000,
        "m" => 60_000,
        _ => return Err(format!("{s:?}: unit must be ms, s or m")),
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("{s:?} is too long"))
}

fn main() {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let code = runtime.block_on(commands::run(&cli.agent, cli.command));
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("500ms"), Ok(500));
        assert_eq!(parse_duration_ms("10s"), Ok(10_000));
        assert_eq!(parse_duration_ms("2m"), Ok(120_000));
        assert!(parse_duration_ms("10h").is_err());
        assert!(parse_duration_ms("fast").is_err());
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
