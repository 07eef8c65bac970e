//! Where an L7 worker keeps its counters and latency histogram in its stats record, and how a
//! reader labels them.
//!
//! An L7 worker's record has the same header words as an L4 worker's; its counters sit at
//! counter index [`L7_BASE`] and up (so they never meet the packet pipeline's, which start at
//! 0), in this layout:
//!
//! | counter index | meaning |
//! | --- | --- |
//! | `L7_BASE + i`, `i < COUNT` | the counter named [`NAMES`]`[i]` (see [`counter`]) |
//! | [`LATENCY_BASE`]` + b`, `b < `[`LATENCY_BUCKETS`] | requests whose duration fell in bucket `b` |
//!
//! Latency buckets are log-linear in microseconds: bucket `b` counts durations `d` with
//! `bound(b-1) < d <= bound(b)` ([`bound`]); the bounds are 1, 2, 3, 4, then four equal steps per
//! power of two (5, 6, 7, 8, 10, 12, 14, 16, 20, …) up to 2^26 µs (about 67 s); the last bucket
//! counts everything longer. Counts are cumulative since the worker started, so a reader may
//! subtract two reads. The worker is the only writer of its words (plain `Relaxed` stores).

/// First counter index of the L7 counters.
pub const L7_BASE: usize = 512;

/// Indices of the L7 counters, relative to [`L7_BASE`].
pub mod counter {
    /// Requests ended (answered, or cut off after their head was read or refused).
    pub const REQUESTS: usize = 0;
    /// Responses with a 1xx status (the first of five: `RESPONSES_1XX + class - 1`).
    pub const RESPONSES_1XX: usize = 1;
    /// Responses with a 2xx status.
    pub const RESPONSES_2XX: usize = 2;
    /// Responses with a 3xx status.
    pub const RESPONSES_3XX: usize = 3;
    /// Responses with a 4xx status.
    pub const RESPONSES_4XX: usize = 4;
    /// Responses with a 5xx status.
    pub const RESPONSES_5XX: usize = 5;
    /// Requests answered by the proxy itself (no route, no endpoint, errors, redirects).
    pub const LOCAL: usize = 6;
    /// Upstream connections that could not be made.
    pub const CONNECT_FAILURES: usize = 7;
    /// Tries after the first.
    pub const RETRIES: usize = 8;
    /// Retries not made because the cluster's retry budget was spent.
    pub const RETRY_BUDGET_EXHAUSTED: usize = 9;
    /// Tries that ended without a response in time (per-try or request timeout).
    pub const TIMEOUTS: usize = 10;
    /// Bytes received from clients (heads and bodies as forwarded; HTTP/2 streams: bodies).
    pub const BYTES_IN: usize = 11;
    /// Bytes sent to clients (HTTP/2 streams: bodies).
    pub const BYTES_OUT: usize = 12;
    /// Client connections accepted.
    pub const CONNECTIONS: usize = 13;
    /// Client connections open now (a gauge).
    pub const ACTIVE_CONNECTIONS: usize = 14;
    /// Number of L7 counters.
    pub const COUNT: usize = 15;
}

/// Labels of the L7 counters, by index relative to [`L7_BASE`].
pub const NAMES: [&str; counter::COUNT] = [
    "l7_requests",
    "l7_responses_1xx",
    "l7_responses_2xx",
    "l7_responses_3xx",
    "l7_responses_4xx",
    "l7_responses_5xx",
    "l7_local_answers",
    "l7_connect_failures",
    "l7_retries",
    "l7_retry_budget_exhausted",
    "l7_timeouts",
    "l7_bytes_in",
    "l7_bytes_out",
    "l7_connections",
    "l7_active_connections",
];

/// First counter index of the latency histogram.
pub const LATENCY_BASE: usize = L7_BASE + 64;
/// Buckets of the latency histogram (the last one is unbounded).
pub const LATENCY_BUCKETS: usize = 4 + 4 * 24 + 1;
/// Prefix of the latency buckets' labels (`l7_latency_us_le_BOUND`, `…_le_inf`).
pub const LATENCY_PREFIX: &str = "l7_latency_us_le_";

const _: () = assert!(LATENCY_BASE + LATENCY_BUCKETS <= crate::stats::COUNTER_WORDS);
const _: () = assert!(L7_BASE + counter::COUNT <= LATENCY_BASE);

/// The bucket of a duration of `us` microseconds.
pub fn bucket(us: u64) -> usize {
    if us <= 4 {
        return us.saturating_sub(1) as usize;
    }
    let k = 63 - u64::leading_zeros(us - 1) as usize; // us in (2^k, 2^(k+1)]
    if k >= 26 {
        return LATENCY_BUCKETS - 1;
    }
    let step = 1u64 << (k - 2);
    let sub = (us - (1 << k)).div_ceil(step) as usize; // 1..=4
    4 + (k - 2) * 4 + sub - 1
}

/// The largest duration (µs) of bucket `b`; `None` for the last, unbounded one.
pub fn bound(b: usize) -> Option<u64> {
    match b {
        0..=3 => Some(b as u64 + 1),
        _ if b < LATENCY_BUCKETS - 1 => {
            let k = (b - 4) / 4 + 2;
            let sub = (b - 4) % 4 + 1;
            Some((1u64 << k) + sub as u64 * (1u64 << (k - 2)))
        }
        _ => None,
    }
}

/// The label of bucket `b`.
pub fn bucket_name(b: usize) -> String {
    match bound(b) {
        Some(us) => format!("{LATENCY_PREFIX}{us}"),
        None => format!("{LATENCY_PREFIX}inf"),
    }
}

/// The upper bound (µs) of the bucket holding quantile `q` (0..=1) of `counts` (one per
/// bucket); `None` when nothing was counted, `Some(u64::MAX)` past the last bound.
pub fn quantile(counts: &[u64], q: f64) -> Option<u64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((total as f64 * q).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for (b, &c) in counts.iter().enumerate() {
        seen += c;
        if seen >= rank {
            return Some(bound(b).unwrap_or(u64::MAX));
        }
    }
    Some(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_log_linear_and_match_their_bounds() {
        let bounds: Vec<u64> = (0..12).map(|b| bound(b).unwrap()).collect();
        assert_eq!(bounds, [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16]);
        assert_eq!(bound(LATENCY_BUCKETS - 2), Some(1 << 26));
        assert_eq!(bound(LATENCY_BUCKETS - 1), None);
        for b in 0..LATENCY_BUCKETS - 1 {
            let hi = bound(b).unwrap();
            assert_eq!(bucket(hi), b, "bound {hi}");
            assert_eq!(bucket(hi + 1), b + 1, "past bound {hi}");
        }
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(u64::MAX), LATENCY_BUCKETS - 1);
        assert!(
            bound(LATENCY_BUCKETS - 2).unwrap() > 60_000_000,
            "covers 60 s"
        );
    }

    #[test]
    fn quantiles_come_from_the_buckets() {
        let mut counts = [0u64; LATENCY_BUCKETS];
        assert_eq!(quantile(&counts, 0.5), None);
        counts[bucket(100)] = 98;
        counts[bucket(5000)] = 2;
        assert_eq!(quantile(&counts, 0.5), Some(112));
        assert_eq!(quantile(&counts, 0.99), Some(5120));
        counts[LATENCY_BUCKETS - 1] = 1000;
        assert_eq!(quantile(&counts, 0.99), Some(u64::MAX));
    }
}
