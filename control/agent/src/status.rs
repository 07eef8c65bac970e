//! Builds the `Status` answer from what the agent publishes and what the data plane reports.

use strait_proto::v1::{StatusResponse, WorkerStatus};

use crate::link::{DataplaneState, WorkerView};

/// Names a worker state word from the stats region.
fn state_name(state: u64) -> &'static str {
    match state {
        0 => "starting",
        1 => "running",
        2 => "stopped",
        _ => "unknown",
    }
}

/// Assembles a status; `now_ms` is CLOCK_MONOTONIC in milliseconds, as the workers use.
pub(crate) fn build(
    generation: u64,
    dp: &DataplaneState,
    workers: &[WorkerView],
    now_ms: u64,
) -> StatusResponse {
    StatusResponse {
        generation,
        dataplane_connected: dp.connected,
        dataplane_pid: if dp.connected { dp.pid } else { 0 },
        dataplane_generation: dp.installed,
        workers: workers
            .iter()
            .map(|w| WorkerStatus {
                index: w.index,
                core: w.core,
                generation: w.generation,
                state: state_name(w.state).to_owned(),
                heartbeat_age_ms: now_ms.saturating_sub(w.heartbeat_ms),
            })
            .collect(),
        last_rejection: dp
            .rejected
            .as_ref()
            .map(|(g, reason)| format!("generation {g}: {reason}"))
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_reports_workers_and_rejection() {
        let dp = DataplaneState {
            connected: true,
            pid: 42,
            workers: 1,
            installed: 3,
            live: 3,
            rejected: Some((4, "bad checksum".into())),
            session: 1,
        };
        let w = [WorkerView {
            index: 0,
            core: 1,
            generation: 3,
            state: 1,
            heartbeat_ms: 990,
        }];
        let s = build(4, &dp, &w, 1000);
        assert_eq!(s.dataplane_pid, 42);
        assert_eq!(s.workers[0].state, "running");
        assert_eq!(s.workers[0].heartbeat_age_ms, 10);
        assert_eq!(s.last_rejection, "generation 4: bad checksum");
        let gone = DataplaneState {
            connected: false,
            ..dp
        };
        assert_eq!(build(4, &gone, &[], 0).dataplane_pid, 0);
    }
}
