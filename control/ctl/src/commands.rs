//! The subcommands. Each returns the process exit status.

use std::{io::Read, path::Path};

use strait_proto::v1::{
    ApplyRequest, FieldError, GetRequest, StatsRequest, StatusRequest, ValidateRequest,
    WatchRequest,
};

use crate::{Command, Format, endpoints, render};

/// Exit status when the agent refused something.
pub(crate) const REFUSED: i32 = 1;
/// Exit status when the agent could not be reached or failed.
const UNREACHABLE: i32 = 3;

pub(crate) async fn run(agent: &str, command: Command) -> i32 {
    match execute(agent, command).await {
        Ok(code) => code,
        Err(message) => {
            eprintln!("straitctl: {message}");
            UNREACHABLE
        }
    }
}

async fn execute(agent: &str, command: Command) -> Result<i32, String> {
    // Read the file before connecting, so a typo in the path is reported as such.
    let config = match &command {
        Command::Apply { file, .. } | Command::Validate { file } => match read_config(file) {
            Ok(text) => Some(text),
            Err(message) => {
                eprintln!("straitctl: {message}");
                return Ok(USAGE);
            }
        },
        _ => None,
    };
    let mut client = strait_proto::connect(agent).await?;
    match command {
        Command::Apply { wait, timeout, .. } => {
            let req = ApplyRequest {
                config: config.unwrap_or_default(),
                wait,
                wait_timeout_ms: timeout,
            };
            let resp = client.apply(req).await.map_err(rpc)?.into_inner();
            if !resp.accepted {
                print_errors(&resp.errors);
                return Ok(REFUSED);
            }
            if !resp.warning.is_empty() {
                eprintln!("straitctl: warning: {}", resp.warning);
            }
            if resp.unchanged {
                println!(
                    "unchanged: generation {} is already published",
                    resp.generation
                );
            } else {
                println!("applied: generation {}", resp.generation);
            }
            if wait {
                if resp.live {
                    println!(
                        "live: every worker runs generation {} ({:.1} ms)",
                        resp.generation,
                        resp.live_after_us as f64 / 1000.0
                    );
                } else {
                    eprintln!(
                        "straitctl: generation {} is published but not live: {}",
                        resp.generation, resp.dataplane_error
                    );
                    return Ok(REFUSED);
                }
            }
            Ok(if resp.warning.is_empty() { 0 } else { REFUSED })
        }
        Command::Validate { .. } => {
            let resp = client
                .validate(ValidateRequest {
                    config: config.unwrap_or_default(),
                })
                .await
                .map_err(rpc)?
                .into_inner();
            if resp.valid {
                println!("valid ({} bytes of tables)", resp.image_bytes);
                Ok(0)
            } else {
                print_errors(&resp.errors);
                Ok(REFUSED)
            }
        }
        Command::Get { output } => {
            let resp = client.get(GetRequest {}).await.map_err(rpc)?.into_inner();
            if resp.generation == 0 {
                eprintln!("straitctl: no config has been applied yet");
                return Ok(REFUSED);
            }
            print!("{}", render::config(&resp.config, output == Format::Json)?);
            Ok(0)
        }
        Command::Status { json, watch: false } => {
            let status = client
                .status(StatusRequest {})
                .await
                .map_err(rpc)?
                .into_inner();
            print!("{}", render::status(&status, json));
            Ok(0)
        }
        Command::Status { json, watch: true } => {
            let mut stream = client
                .watch(WatchRequest {})
                .await
                .map_err(rpc)?
                .into_inner();
            while let Some(status) = stream.message().await.map_err(rpc)? {
                print!("{}", render::status(&status, json));
            }
            Ok(0)
        }
        Command::Stats { json, all } => {
            let stats = client
                .stats(StatsRequest {})
                .await
                .map_err(rpc)?
                .into_inner();
            print!("{}", render::stats(&stats, json, all));
            Ok(0)
        }
        Command::Endpoint { command } => endpoints::run(&mut client, command).await,
    }
}

/// An error the agent answered with, as straitctl reports it.
pub(crate) fn rpc(e: tonic::Status) -> String {
    format!("agent error: {}", e.message())
}

/// Exit status of a bad command line (as clap uses).
pub(crate) const USAGE: i32 = 2;

fn read_config(file: &Path) -> Result<String, String> {
    if file == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("reading standard input: {e}"))?;
        return Ok(text);
    }
    std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))
}

/// One line per error, `path: reason`, on standard error.
fn print_errors(errors: &[FieldError]) {
    for e in errors {
        eprintln!("{}: {}", e.path, e.reason);
    }
}
