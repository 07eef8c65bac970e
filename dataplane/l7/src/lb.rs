//! Load balancing, sans-IO: a route's weighted cluster, then an endpoint of that cluster by its
//! policy (round robin, least request by two random choices, random, consistent hash).
//!
//! Invariants: an endpoint is chosen only if it is *usable* (weight above zero and, in the
//! health overlay, neither unhealthy nor draining); a choice is a position in the cluster's
//! endpoint range. State ([`ClusterState`]) is per worker and per generation, mutated through
//! `Cell`s on one thread: nothing is shared or locked. Choosing never allocates.

use std::cell::Cell;

use strait_table::{Endpoint, LbPolicy, RouteBackend};

use crate::retry::Budget;

/// A small, fast, per-worker random source (SplitMix64); not for anything secret.
#[derive(Debug)]
pub(crate) struct Rng(Cell<u64>);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(Cell::new(seed))
    }

    pub(crate) fn next(&self) -> u64 {
        let s = self.0.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
        self.0.set(s);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
}

/// Picks a route backend with probability proportional to its weight; `None` when every
/// weight is zero.
pub(crate) fn pick_backend<'a>(
    backends: &'a [RouteBackend],
    rng: &Rng,
) -> Option<&'a RouteBackend> {
    let total: u64 = backends.iter().map(|b| u64::from(b.weight)).sum();
    if total == 0 {
        return None;
    }
    let mut r = rng.below(total);
    backends.iter().find(|b| {
        let w = u64::from(b.weight);
        if r < w {
            return true;
        }
        r -= w;
        false
    })
}

/// Why a cluster gave no endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NoEndpoint {
    /// The cluster has no endpoint with a weight.
    Empty,
    /// Every weighted endpoint is unhealthy or draining.
    Unhealthy,
}

impl NoEndpoint {
    /// Why cluster `cluster` gave no endpoint, for a 503's body.
    pub(crate) fn describe(self, cluster: &str) -> String {
        match self {
            NoEndpoint::Empty => format!("cluster {cluster} has no endpoint"),
            NoEndpoint::Unhealthy => format!("no healthy endpoint in cluster {cluster}"),
        }
    }
}

/// Counts a request (or stream) in flight on endpoint `pos` of a cluster until dropped.
#[derive(Debug)]
pub(crate) struct InFlight<'g> {
    state: Option<&'g ClusterState>,
    pos: usize,
}

impl<'g> InFlight<'g> {
    pub(crate) fn begin(state: Option<&'g ClusterState>, pos: usize) -> InFlight<'g> {
        if let Some(s) = state {
            s.begin(pos);
        }
        InFlight { state, pos }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.state {
            s.end(self.pos);
        }
    }
}

/// Largest weighted round-robin schedule, and the most work spent building one.
const MAX_SCHEDULE: u64 = 4096;
const MAX_SCHEDULE_WORK: u64 = 1 << 20;

/// One cluster's balancing state in one worker.
#[derive(Debug)]
pub(crate) struct ClusterState {
    rr: Cell<u32>,
    /// Positions of weighted endpoints in smooth weighted round-robin order.
    schedule: Box<[u32]>,
    /// Requests in flight per endpoint position.
    active: Box<[Cell<u32>]>,
    /// Requests and retries in flight to the cluster (its retry budget).
    pub(crate) budget: Budget,
}

impl ClusterState {
    pub(crate) fn new(endpoints: &[Endpoint], seed: u32) -> ClusterState {
        ClusterState {
            rr: Cell::new(seed),
            schedule: schedule(endpoints),
            active: endpoints.iter().map(|_| Cell::new(0)).collect(),
            budget: Budget::default(),
        }
    }

    /// Counts a request in flight to endpoint `pos` (for least request).
    pub(crate) fn begin(&self, pos: usize) {
        if let Some(c) = self.active.get(pos) {
            c.set(c.get().saturating_add(1));
        }
    }

    /// Ends what [`ClusterState::begin`] counted.
    pub(crate) fn end(&self, pos: usize) {
        if let Some(c) = self.active.get(pos) {
            c.set(c.get().saturating_sub(1));
        }
    }

    fn active(&self, pos: usize) -> u64 {
        self.active.get(pos).map_or(0, |c| u64::from(c.get()))
    }
}

/// Smooth weighted round robin (as nginx), weights reduced by their gcd; plain order of the
/// weighted endpoints when the weights are equal or the schedule would be too costly.
fn schedule(endpoints: &[Endpoint]) -> Box<[u32]> {
    let weighted: Vec<(u32, u64)> = (0u32..)
        .zip(endpoints)
        .filter(|(_, e)| e.weight > 0)
        .map(|(i, e)| (i, u64::from(e.weight)))
        .collect();
    let plain = || weighted.iter().map(|&(i, _)| i).collect();
    let g = weighted.iter().fold(0, |g, &(_, w)| gcd(g, w));
    if weighted.iter().all(|&(_, w)| w == g) {
        return plain();
    }
    let mut weights: Vec<u64> = weighted.iter().map(|&(_, w)| w / g).collect();
    let mut total: u64 = weights.iter().sum();
    if total > MAX_SCHEDULE {
        weights
            .iter_mut()
            .for_each(|w| *w = (*w * MAX_SCHEDULE / total).max(1));
        total = weights.iter().sum();
    }
    if total * weights.len() as u64 > MAX_SCHEDULE_WORK {
        return plain();
    }
    let mut current = vec![0i64; weights.len()];
    let mut out = Vec::with_capacity(total as usize);
    for _ in 0..total {
        let mut best = 0;
        for (i, w) in weights.iter().enumerate() {
            current[i] += *w as i64;
            if current[i] > current[best] {
                best = i;
            }
        }
        current[best] -= total as i64;
        out.push(weighted[best].0);
    }
    out.into_boxed_slice()
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Chooses an endpoint position of a cluster; see the module invariants. `table` is the
/// cluster's Maglev table (hashing policies) and `hash` the request's key, if it has one.
pub(crate) fn choose(
    policy: LbPolicy,
    endpoints: &[Endpoint],
    state: &ClusterState,
    table: &[u32],
    hash: Option<u64>,
    usable: &dyn Fn(&Endpoint) -> bool,
    rng: &Rng,
) -> Result<usize, NoEndpoint> {
    if !endpoints.iter().any(|e| e.weight > 0) {
        return Err(NoEndpoint::Empty);
    }
    let ok = |pos: usize| endpoints.get(pos).is_some_and(usable);
    let found = match policy {
        LbPolicy::RoundRobin => {
            let len = state.schedule.len();
            let start = state.rr.get() as usize;
            state.rr.set(state.rr.get().wrapping_add(1));
            (0..len)
                .map(|k| state.schedule[(start + k) % len] as usize)
                .find(|&pos| ok(pos))
        }
        LbPolicy::LeastRequest => least_request(endpoints, state, &ok, rng),
        LbPolicy::RingHash | LbPolicy::Maglev => match hash {
            Some(h) if !table.is_empty() => {
                let len = table.len();
                let start = (h % len as u64) as usize;
                (0..len)
                    .map(|k| table[(start + k) % len] as usize)
                    .find(|&pos| ok(pos))
            }
            _ => weighted_random(endpoints, &ok, rng),
        },
        LbPolicy::Random => weighted_random(endpoints, &ok, rng),
    };
    found.ok_or(NoEndpoint::Unhealthy)
}

/// Two random usable endpoints; the one with fewer requests in flight per unit of weight.
fn least_request(
    endpoints: &[Endpoint],
    state: &ClusterState,
    ok: &dyn Fn(usize) -> bool,
    rng: &Rng,
) -> Option<usize> {
    let n = endpoints.len() as u64;
    let sample = |avoid: Option<usize>| {
        (0..8)
            .map(|_| rng.below(n) as usize)
            .find(|&p| ok(p) && Some(p) != avoid)
    };
    let a = sample(None).or_else(|| (0..endpoints.len()).find(|&p| ok(p)))?;
    let Some(b) = sample(Some(a)) else {
        return Some(a);
    };
    let load = |p: usize, other: usize| state.active(p) * u64::from(endpoints[other].weight);
    Some(if load(b, a) < load(a, b) { b } else { a })
}

fn weighted_random(endpoints: &[Endpoint], ok: &dyn Fn(usize) -> bool, rng: &Rng) -> Option<usize> {
    let total: u64 = (0..endpoints.len())
        .filter(|&p| ok(p))
        .map(|p| u64::from(endpoints[p].weight))
        .sum();
    if total == 0 {
        return None;
    }
    let mut r = rng.below(total);
    (0..endpoints.len()).filter(|&p| ok(p)).find(|&p| {
        let w = u64::from(endpoints[p].weight);
        if r < w {
            return true;
        }
        r -= w;
        false
    })
}

#[cfg(test)]
mod tests;
