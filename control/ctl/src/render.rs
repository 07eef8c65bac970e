//! How straitctl prints configs, status and counters.

use std::{
    collections::{BTreeMap, HashMap},
    fmt::Write as _,
};

use serde_json::json;
use strait_proto::v1::{StatsResponse, StatusResponse};

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

/// Counters as JSON or as text; counters that are zero only with `all`.
pub(crate) fn stats(s: &StatsResponse, json: bool, all: bool) -> String {
    if json {
        stats_json(s, all)
    } else {
        stats_text(s, all)
    }
}

/// Labels of an L7 worker's latency buckets (`l7_latency_us_le_BOUND`, `…_inf`, the layout of
/// `strait_shm::l7stats`): shown as percentiles, never listed.
const LATENCY_PREFIX: &str = "l7_latency_us_le_";

/// The counters to show, by name: the agent sends them unordered.
fn shown(counters: &HashMap<String, u64>, all: bool) -> BTreeMap<&str, u64> {
    counters
        .iter()
        .filter(|&(k, &v)| (all || v != 0) && !k.starts_with(LATENCY_PREFIX))
        .map(|(k, &v)| (k.as_str(), v))
        .collect()
}

/// p50 and p99 request latency in µs from the latency buckets (each the bound of the bucket it
/// falls in; `u64::MAX` past the last bound), or `None` when no request was counted.
fn latency(counters: &HashMap<String, u64>) -> Option<(u64, u64)> {
    let mut buckets: Vec<(u64, u64)> = counters
        .iter()
        .filter_map(|(k, &v)| {
            let bound = k.strip_prefix(LATENCY_PREFIX)?;
            Some((bound.parse().unwrap_or(u64::MAX), v))
        })
        .collect();
    buckets.sort_unstable();
    let total: u64 = buckets.iter().map(|&(_, v)| v).sum();
    let at = |q: f64| {
        let rank = ((total as f64 * q).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        buckets
            .iter()
            .find(|&&(_, v)| {
                seen += v;
                seen >= rank
            })
            .map_or(u64::MAX, |&(bound, _)| bound)
    };
    (total > 0).then(|| (at(0.5), at(0.99)))
}

/// A latency bound for people: `250us`, `1.5ms`, `2.1s`, `>67s`.
fn micros(us: u64) -> String {
    match us {
        u64::MAX => ">67s".into(),
        0..1_000 => format!("{us}us"),
        1_000..1_000_000 => format!("{:.1}ms", us as f64 / 1e3),
        _ => format!("{:.1}s", us as f64 / 1e6),
    }
}

/// The totals one per line, `name value` aligned, then one line per worker (with its L7
/// latency percentiles when it served requests).
pub(crate) fn stats_text(s: &StatsResponse, all: bool) -> String {
    if !s.dataplane_connected {
        return "data plane: not connected\n".into();
    }
    let mut out = String::new();
    let total = shown(&s.total, all);
    let name_width = total.keys().map(|k| k.len()).max().unwrap_or(0);
    let value_width = total
        .values()
        .map(|v| v.to_string().len())
        .max()
        .unwrap_or(0);
    for (name, value) in &total {
        writeln!(out, "{name:<name_width$}  {value:>value_width$}").unwrap();
    }
    if total.is_empty() {
        out.push_str("every counter is zero\n");
    }
    out.push('\n');
    for w in &s.workers {
        write!(out, "worker {} (core {}):", w.index, w.core).unwrap();
        let counters = shown(&w.counters, all);
        for (name, value) in &counters {
            write!(out, " {name}={value}").unwrap();
        }
        if counters.is_empty() {
            out.push_str(" all zero");
        }
        if let Some((p50, p99)) = latency(&w.counters) {
            write!(out, " latency p50<={} p99<={}", micros(p50), micros(p99)).unwrap();
        }
        out.push('\n');
    }
    out
}

/// One JSON document: the response's fields under their own names.
pub(crate) fn stats_json(s: &StatsResponse, all: bool) -> String {
    let workers: Vec<_> = s
        .workers
        .iter()
        .map(|w| {
            json!({
                "index": w.index,
                "core": w.core,
                "counters": shown(&w.counters, all),
                "latency_us": latency(&w.counters).map(|(p50, p99)| json!({"p50": p50, "p99": p99})),
            })
        })
        .collect();
    let doc = json!({
        "generation": s.generation,
        "dataplane_connected": s.dataplane_connected,
        "total": shown(&s.total, all),
        "workers": workers,
    });
    doc.to_string() + "\n"
}

#[cfg(test)]
mod tests {
    use strait_proto::v1::{WorkerCounters, WorkerStatus};

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

    fn counters(pairs: &[(&str, u64)]) -> HashMap<String, u64> {
        pairs.iter().map(|&(k, v)| (k.to_owned(), v)).collect()
    }

    fn stats_sample() -> StatsResponse {
        StatsResponse {
            generation: 2,
            dataplane_connected: true,
            workers: vec![
                WorkerCounters {
                    index: 0,
                    core: 2,
                    counters: counters(&[("rx", 1000), ("tx", 990), ("drop_no_backend", 10)]),
                },
                WorkerCounters {
                    index: 1,
                    core: 3,
                    counters: counters(&[("rx", 0), ("tx", 0), ("drop_no_backend", 0)]),
                },
            ],
            total: counters(&[("rx", 1000), ("tx", 990), ("drop_no_backend", 10)]),
        }
    }

    #[test]
    fn stats_text_aligns_totals_and_skips_zeros() {
        let text = stats_text(&stats_sample(), false);
        assert_eq!(
            text,
            "drop_no_backend    10\n\
             rx               1000\n\
             tx                990\n\
             \n\
             worker 0 (core 2): drop_no_backend=10 rx=1000 tx=990\n\
             worker 1 (core 3): all zero\n"
        );
        let all = stats_text(&stats_sample(), true);
        assert!(all.contains("worker 1 (core 3): drop_no_backend=0 rx=0 tx=0\n"));
        let mut idle = stats_sample();
        idle.total = counters(&[("rx", 0)]);
        assert!(stats_text(&idle, false).starts_with("every counter is zero\n"));
        assert!(stats_text(&idle, true).starts_with("rx  0\n"));
        let gone = StatsResponse::default();
        assert_eq!(stats_text(&gone, true), "data plane: not connected\n");
    }

    #[test]
    fn l7_latency_buckets_become_percentiles() {
        let mut s = stats_sample();
        s.workers[1].counters = counters(&[
            ("l7_requests", 100),
            ("l7_latency_us_le_112", 98),
            ("l7_latency_us_le_5120", 1),
            ("l7_latency_us_le_inf", 1),
            ("l7_latency_us_le_1", 0),
        ]);
        let text = stats_text(&s, false);
        assert!(
            text.contains("worker 1 (core 3): l7_requests=100 latency p50<=112us p99<=5.1ms\n"),
            "{text}"
        );
        let v: serde_json::Value = serde_json::from_str(&stats_json(&s, true)).unwrap();
        assert_eq!(
            v["workers"][1]["latency_us"],
            json!({"p50": 112, "p99": 5120})
        );
        assert_eq!(micros(u64::MAX), ">67s");
        assert_eq!(micros(2_100_000), "2.1s");
    }

    #[test]
    fn stats_json_has_every_worker_and_zeros_only_with_all() {
        let v: serde_json::Value =
            serde_json::from_str(&stats_json(&stats_sample(), false)).unwrap();
        assert_eq!(v["generation"], 2);
        assert_eq!(v["dataplane_connected"], true);
        assert_eq!(v["total"]["rx"], 1000);
        assert_eq!(v["workers"][0]["core"], 2);
        assert_eq!(v["workers"][0]["counters"]["drop_no_backend"], 10);
        assert_eq!(v["workers"][0]["latency_us"], serde_json::Value::Null);
        assert_eq!(v["workers"][1]["counters"], json!({}));
        let v: serde_json::Value =
            serde_json::from_str(&stats_json(&stats_sample(), true)).unwrap();
        assert_eq!(v["workers"][1]["counters"]["tx"], 0);
    }
}
