//! Builds the `Stats` answer from the counters the workers export into the stats region.
//!
//! Counter word `i` of a worker's record holds the pipeline counter named
//! `strait_fastpath::counters::NAMES[i]`; the L7 counters and latency buckets sit at the indexes
//! of `strait_shm::l7stats` (`l7_…` names, buckets as `l7_latency_us_le_BOUND`). The agent labels
//! those words and leaves the rest alone (a newer data plane may use more words, named only by
//! a newer agent). Order: [`read`] under the link's session lock, then [`build`] outside it.

use std::{collections::HashMap, sync::atomic::Ordering};

use strait_fastpath::counters::{COUNT, NAMES};
use strait_proto::v1::{StatsResponse, WorkerCounters};
use strait_shm::{StatsRegion, l7stats, stats::COUNTER_WORDS};

// Every named counter has a word in the record, and the pipeline's stay below the L7 ones.
const _: () = assert!(COUNT <= l7stats::L7_BASE && l7stats::L7_BASE < COUNTER_WORDS);

/// Every labelled counter index with its label.
fn labels() -> impl Iterator<Item = (usize, std::borrow::Cow<'static, str>)> {
    let pipeline = NAMES.iter().enumerate().map(|(i, n)| (i, (*n).into()));
    let l7 = (l7stats::NAMES.iter().enumerate()).map(|(i, n)| (l7stats::L7_BASE + i, (*n).into()));
    let latency = (0..l7stats::LATENCY_BUCKETS)
        .map(|b| (l7stats::LATENCY_BASE + b, l7stats::bucket_name(b).into()));
    pipeline.chain(l7).chain(latency)
}

/// Reads every worker's named counters.
///
/// Each word is loaded on its own with `Relaxed`: a worker stores its counters one by one, so
/// the values of one worker are not a snapshot of a single instant, only each one is exact.
pub(crate) fn read(region: &StatsRegion) -> Vec<WorkerCounters> {
    (0..region.worker_count())
        .filter_map(|i| region.worker(i).map(|w| (i, w)))
        .map(|(i, w)| WorkerCounters {
            index: i as u32,
            core: w.core() as u32,
            counters: labels()
                .map(|(i, name)| (name.into_owned(), w.counter(i).load(Ordering::Relaxed)))
                .collect(),
        })
        .collect()
}

/// Assembles the answer; `workers` is `None` when no data plane is connected.
pub(crate) fn build(generation: u64, workers: Option<Vec<WorkerCounters>>) -> StatsResponse {
    let Some(workers) = workers else {
        return StatsResponse {
            generation,
            ..StatsResponse::default()
        };
    };
    let mut total = HashMap::with_capacity(COUNT);
    for (name, value) in workers.iter().flat_map(|w| &w.counters) {
        // Counters wrap (the workers add with wrapping), so their sum does too.
        let sum: &mut u64 = total.entry(name.clone()).or_default();
        *sum = sum.wrapping_add(*value);
    }
    StatsResponse {
        generation,
        dataplane_connected: true,
        workers,
        total,
    }
}

#[cfg(test)]
mod tests {
    use strait_fastpath::counters::{PARSE_DROP_BASE, counter};

    use super::*;

    #[test]
    fn counters_are_named_and_summed_over_workers() {
        let (region, _fd) = StatsRegion::create(2).expect("stats region");
        let (w0, w1) = (region.worker(0).unwrap(), region.worker(1).unwrap());
        w0.set_core(3);
        w1.set_core(5);
        w0.add(counter::RX, 10);
        w1.add(counter::RX, 32);
        w1.add(counter::DROP_NO_BACKEND, 2);
        w0.add(PARSE_DROP_BASE, 1);
        // A word past the named ones is not reported.
        w0.add(COUNT, 99);
        w1.add(l7stats::L7_BASE + l7stats::counter::RETRIES, 4);

        let s = build(7, Some(read(&region)));
        assert_eq!(s.generation, 7);
        assert!(s.dataplane_connected);
        assert_eq!(s.workers.len(), 2);
        assert_eq!((s.workers[0].index, s.workers[0].core), (0, 3));
        assert_eq!((s.workers[1].index, s.workers[1].core), (1, 5));
        let labelled = COUNT + l7stats::NAMES.len() + l7stats::LATENCY_BUCKETS;
        for counters in s.workers.iter().map(|w| &w.counters).chain([&s.total]) {
            assert_eq!(counters.len(), labelled, "every counter, zeros included");
            assert!(l7stats::NAMES.iter().all(|n| counters.contains_key(*n)));
            assert!(NAMES.iter().all(|n| counters.contains_key(*n)));
        }
        assert_eq!(s.workers[0].counters["rx"], 10);
        assert_eq!(s.workers[1].counters["rx"], 32);
        assert_eq!(s.total["rx"], 42);
        assert_eq!(s.total["drop_no_backend"], 2);
        assert_eq!(s.total[NAMES[PARSE_DROP_BASE]], 1);
        assert_eq!(s.total["tx"], 0);
        assert_eq!(s.total["l7_retries"], 4);
        assert_eq!(s.total.values().sum::<u64>(), 49);
    }

    #[test]
    fn without_a_data_plane_there_is_nothing_to_count() {
        let s = build(3, None);
        assert_eq!(s.generation, 3);
        assert!(!s.dataplane_connected);
        assert!(s.workers.is_empty());
        assert!(s.total.is_empty());
    }
}
