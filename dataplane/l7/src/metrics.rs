//! A worker's L7 counters and request latency histogram, kept in memory on its thread and
//! exported into its stats record by the worker loop.
//!
//! Order: the request path calls [`Metrics::inc`], [`Metrics::add`], [`Metrics::response`] and
//! [`Metrics::latency`] (plain `Cell` updates and an `hdrhistogram` record: no atomics, no
//! locks); every heartbeat the loop calls [`Metrics::export`], which hands the counters and the
//! histogram folded into the fixed bucket layout of [`strait_shm::l7stats`] to the
//! [`Report`](crate::Report), whose implementation stores them into the worker's own record
//! (single writer: `Relaxed` stores).
//!
//! Invariants: counters only grow, except [`counter::ACTIVE_CONNECTIONS`], a gauge; the
//! histogram records microseconds from 1 µs to one hour with two significant digits (longer
//! durations are recorded as one hour, which lands in the unbounded last bucket).

use std::cell::{Cell, RefCell};

use hdrhistogram::Histogram;
use strait_shm::l7stats::{self, LATENCY_BUCKETS, counter};

use crate::worker::Report;

/// Longest duration the histogram tells apart (one hour, in µs).
const HIGHEST_US: u64 = 3_600_000_000;

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Metrics {
    counters: [Cell<u64>; counter::COUNT],
    latency: RefCell<Histogram<u64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            counters: Default::default(),
            latency: RefCell::new(
                Histogram::new_with_bounds(1, HIGHEST_US, 2).expect("valid histogram bounds"),
            ),
        }
    }
}

impl Metrics {
    /// Adds `n` to counter `idx` (a [`counter`] constant).
    pub(crate) fn add(&self, idx: usize, n: u64) {
        let c = &self.counters[idx];
        c.set(c.get().wrapping_add(n));
    }

    /// Adds one to counter `idx`.
    pub(crate) fn inc(&self, idx: usize) {
        self.add(idx, 1);
    }

    /// Takes one from the gauge `idx`.
    pub(crate) fn dec(&self, idx: usize) {
        let c = &self.counters[idx];
        c.set(c.get().saturating_sub(1));
    }

    /// Counts an accepted connection, open until the guard is dropped.
    pub(crate) fn connection(&self) -> Open<'_> {
        self.inc(counter::CONNECTIONS);
        self.inc(counter::ACTIVE_CONNECTIONS);
        Open(self)
    }

    /// Counts a response by its status class.
    pub(crate) fn response(&self, status: u16) {
        if (100..600).contains(&status) {
            self.inc(counter::RESPONSES_1XX + usize::from(status / 100) - 1);
        }
    }

    /// Records a request's duration.
    pub(crate) fn latency(&self, us: u64) {
        self.latency
            .borrow_mut()
            .saturating_record(us.clamp(1, HIGHEST_US));
    }

    /// The value of counter `idx`.
    #[cfg(test)]
    pub(crate) fn get(&self, idx: usize) -> u64 {
        self.counters[idx].get()
    }

    /// The histogram folded into the export layout: requests per bucket.
    pub(crate) fn buckets(&self) -> [u64; LATENCY_BUCKETS] {
        let mut out = [0; LATENCY_BUCKETS];
        for v in self.latency.borrow().iter_recorded() {
            out[l7stats::bucket(v.value_iterated_to())] += v.count_at_value();
        }
        out
    }

    /// Hands everything to `report`; see the module documentation.
    pub(crate) fn export(&self, report: &mut dyn Report) {
        let values: [u64; counter::COUNT] = std::array::from_fn(|i| self.counters[i].get());
        report.counters(l7stats::L7_BASE, &values);
        report.counters(l7stats::LATENCY_BASE, &self.buckets());
    }
}

/// An open client connection (see [`Metrics::connection`]).
#[derive(Debug)]
pub(crate) struct Open<'m>(&'m Metrics);

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.dec(counter::ACTIVE_CONNECTIONS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_and_latencies_land_in_their_words() {
        let m = Metrics::default();
        for s in [200, 204, 503, 404, 101, 0] {
            m.response(s);
        }
        assert_eq!(m.get(counter::RESPONSES_2XX), 2);
        assert_eq!(m.get(counter::RESPONSES_5XX), 1);
        assert_eq!(m.get(counter::RESPONSES_1XX), 1);
        m.inc(counter::ACTIVE_CONNECTIONS);
        m.dec(counter::ACTIVE_CONNECTIONS);
        m.dec(counter::ACTIVE_CONNECTIONS);
        assert_eq!(
            m.get(counter::ACTIVE_CONNECTIONS),
            0,
            "a gauge never wraps below zero"
        );
        for us in [0, 100, 100, 110, 5000, u64::MAX] {
            m.latency(us);
        }
        let b = m.buckets();
        assert_eq!(b.iter().sum::<u64>(), 6);
        assert_eq!(b[0], 1);
        assert_eq!(
            b[l7stats::bucket(100)],
            3,
            "100 and 110 share the (96, 112] bucket"
        );
        assert_eq!(b[LATENCY_BUCKETS - 1], 1);
        assert_eq!(l7stats::quantile(&b, 0.5), Some(112));
    }
}
