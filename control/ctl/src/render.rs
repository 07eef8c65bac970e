//! How straitctl prints configs and status.

use std::fmt::Write as _;

use serde_json::json;
use strait_proto::v1::StatusResponse;

/// The config as YAML or JSON; the agent keeps it as the operator sent it.
pub(crate) fn config(text: &str, as_json: bool) -> Result<String, String> {
    let raw = strait_config::parse_raw(text).map_err(|error| {
        format!(
            "the agent's config does not parse here ({error}); is straitctl older than the agent?"
        )
    })?;
    Ok(if as_json {
        strait_config::to_json(&raw) + "\n"
    } else {
        strait_config::to_yaml(&raw)
    })
}

/// A status as JSON or as a table.
pub(crate) fn status(s: &StatusResponse, json: bool) -> String {
    if json {
        status_json(s)
    } else {
        status_table(s)
    }
}

/// A table for people.
pub(crate) fn status_table(s: &StatusResponse) -> String {
    let mut out = String::new();
    match s.generation {
        0 => out.push_str("agent:      no config applied\n"),
        g => writeln!(out, "agent:      publishes generation {g}").unwrap(),
    }
    if s.dataplane_connected {
        writeln!(
            out,
            "data plane: connected (pid {}), installed generation {}",
            s.dataplane_pid, s.dataplane_generation
        )
        .unwrap();
    } else {
        out.push_str("data plane: not connected\n");
    }
    if !s.last_rejection.is_empty() {
        writeln!(out, "rejected:   {}", s.last_rejection).unwrap();
    }
    if !s.workers.is_empty() {
        out.push_str("WORKER  CORE  GENERATION  STATE     HEARTBEAT\n");
        for w in &s.workers {
            writeln!(
                out,
                "{:<8}{:<6}{:<12}{:<10}{} ms ago",
                w.index, w.core, w.generation, w.state, w.heartbeat_age_ms
            )
            .unwrap();
        }
    }
    out
}

/// One JSON document per status.
pub(crate) fn status_json(s: &StatusResponse) -> String {
    let workers: Vec<_> = s
        .workers
        .iter()
        .map(|w| {
            json!({
                "index": w.index,
                "core": w.core,
                "generation": w.generation,
                "state": w.state,
                "heartbeat_age_ms": w.heartbeat_age_ms,
            })
        })
        .collect();
    let doc = json!({
        "generation": s.generation,
        "dataplane": {
            "connected": s.dataplane_connected,
            "pid": s.dataplane_pid,
            "generation": s.dataplane_generation,
            "last_rejection": s.last_rejection,
        },
        "workers": workers,
    });
    doc.to_string() + "\n"
}

#[cfg(test)]
mod tests {
    use strait_proto::v1::WorkerStatus;

    use super::*;

    fn sample() -> StatusResponse {
        StatusResponse {
            generation: 4,
            dataplane_connected: true,
            dataplane_pid: 77,
            dataplane_generation: 4,
            workers: vec![WorkerStatus {
                index: 0,
                core: 1,
                generation: 4,
                state: "running".into(),
                heartbeat_age_ms: 3,
            }],
            last_rejection: String::new(),
        }
    }

    #[test]
    fn table_and_json_show_every_worker() {
        let table = status_table(&sample());
        assert!(table.contains("publishes generation 4"));
        assert!(
            table
                .lines()
                .any(|l| l.starts_with("0") && l.contains("running"))
        );
        let v: serde_json::Value = serde_json::from_str(&status_json(&sample())).unwrap();
        assert_eq!(v["workers"][0]["generation"], 4);
        assert_eq!(v["dataplane"]["pid"], 77);
    }
}
