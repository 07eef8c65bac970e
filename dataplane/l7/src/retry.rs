//! Retry policy and retry budget, sans-IO: which failed try of a request may be tried again,
//! and whether the cluster can afford another retry now.
//!
//! Order per request: [`Policy::of`] once (route, method, whether the body is replayable) →
//! [`Tries::new`] with the request's [`Limits`] and the cluster's budget → before each try
//! [`Tries::try_limits`] (its timeouts, within the time left) and [`Tries::hold_back`] (which
//! statuses it keeps from the client) → per failed try
//! [`Tries::failed`] with its [`Failure`]: [`Policy::next_try`] decides, and a retry holds a
//! [`RetryGuard`] of the budget until the next one. The [`Tries`] hold a [`RequestGuard`] on
//! the budget for the request's whole life. HTTP/1.1 requests, HTTP/2 streams and HTTP/1.1
//! requests to HTTP/2 clusters all go through these.
//!
//! Invariants:
//! * A connect failure may be retried for any method: nothing of the request left the proxy.
//! * Any other failure (reset or close before a response, a 5xx status, a per-try timeout) is
//!   retried only for an idempotent method (GET, HEAD, OPTIONS, TRACE, PUT, DELETE) unless the
//!   route allows others, and only when the request is *replayable*: its body is empty or was
//!   held in memory whole (not larger than `hold_body_bytes`). A body streamed from the client
//!   is gone once it started going upstream, so such a request is never sent twice.
//! * A 5xx answer is retried only before any byte of it reached the client (the caller reads
//!   the head, asks [`Policy::allows`], and discards the response if it retries).
//! * Budget: per worker and per cluster (in one generation), retries in flight stay at most
//!   `percent` % of the requests in flight to the cluster, but at least [`MIN_RETRIES`] may
//!   always be in flight, so a lone request can retry; `percent == 0` means no budget limit.
//!   All counters are `Cell`s of the worker's thread: no atomics, no locks.

use std::{
    borrow::Cow,
    cell::Cell,
    io,
    net::SocketAddr,
    time::{Duration, Instant},
};

use strait_http1::Method;
use strait_shm::l7stats::counter;
use strait_table::{Cluster, Route, retry_flags, retry_on};
use tracing::debug;

use crate::L7Options;
use crate::io::millis;
use crate::metrics::Metrics;

/// Retries that may always be in flight per worker and cluster, whatever the percentage
/// (as Envoy's `min_retry_concurrency` and linkerd's minimum retries per second).
pub(crate) const MIN_RETRIES: u32 = 3;

/// Why one try failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The upstream connection could not be made (nothing was sent).
    Connect,
    /// The upstream reset or closed the connection before a response.
    Reset,
    /// The upstream answered with this status (nothing of it was sent to the client).
    Status(u16),
    /// No response head within the per-try timeout.
    PerTryTimeout,
}

/// Why [`Policy::next_try`] gives no retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NoRetry {
    /// The failure, the method, the body, the attempts or the deadline rule it out.
    Policy,
    /// The cluster's retry budget has no room (counted as `l7_retry_budget_exhausted`).
    Budget,
}

/// A route's retry policy as it applies to one request; see the module invariants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Policy {
    /// Retries after the first try.
    pub(crate) retries: u32,
    on: u8,
    /// The request may be sent again once something of it went upstream.
    resendable: bool,
    /// The budget's percentage (0: no limit).
    pub(crate) budget_percent: u8,
}

/// Whether `method` may be sent twice without changing the outcome (RFC 9110 §9.2.2).
pub(crate) fn idempotent(method: Method) -> bool {
    matches!(
        method,
        Method::Get | Method::Head | Method::Options | Method::Trace | Method::Put | Method::Delete
    )
}

impl Policy {
    /// The policy of `route` for a request with `method`; `replayable` says its body is empty
    /// or held in memory whole.
    pub(crate) fn of(route: &Route, method: Method, replayable: bool) -> Policy {
        let allowed =
            idempotent(method) || route.retry_flags & retry_flags::ALLOW_NON_IDEMPOTENT != 0;
        Policy {
            retries: u32::from(route.retry_attempts),
            on: route.retry_on,
            resendable: allowed && replayable,
            budget_percent: route.retry_budget_percent,
        }
    }

    /// Whether the request may be sent again once something of it went upstream: its method
    /// allows it and its body is replayable (the route's attempts aside).
    pub(crate) fn resendable(&self) -> bool {
        self.resendable
    }

    /// The retry of a try that failed with `failure` (`None`: a failure never retried), after
    /// `retries` retries, if the policy, the attempts, the request's deadline (`out_of_time`)
    /// and the cluster's `budget` allow it: the budget's guard for it (none without a budget).
    pub(crate) fn next_try<'b>(
        &self,
        failure: Option<Failure>,
        retries: u32,
        out_of_time: bool,
        budget: Option<&'b Budget>,
    ) -> Result<Option<RetryGuard<'b>>, NoRetry> {
        match failure {
            Some(f) if self.allows(f) && retries < self.retries && !out_of_time => {}
            _ => return Err(NoRetry::Policy),
        }
        match budget {
            None => Ok(None),
            Some(b) => b
                .try_retry(self.budget_percent)
                .map(Some)
                .ok_or(NoRetry::Budget),
        }
    }

    /// Whether a try that failed with `failure` may be retried (attempts and budget aside).
    pub(crate) fn allows(&self, failure: Failure) -> bool {
        if self.retries == 0 {
            return false;
        }
        let class = match failure {
            Failure::Connect => return self.on & retry_on::CONNECT_FAILURE != 0,
            Failure::Reset => retry_on::RESET,
            Failure::PerTryTimeout => retry_on::PER_TRY_TIMEOUT,
            Failure::Status(502..=504) => retry_on::STATUS_5XX | retry_on::GATEWAY_ERROR,
            Failure::Status(500..=599) => retry_on::STATUS_5XX,
            Failure::Status(_) => return false,
        };
        self.resendable && self.on & class != 0
    }

    /// Whether a status can be retried at all by this policy (so its response head must be
    /// read before anything goes to the client).
    pub(crate) fn retries_status(&self, status: u16) -> bool {
        self.allows(Failure::Status(status))
    }
}

/// Which response statuses a try holds back from the client because the request will be
/// retried on them: none on a last try, or when no retry would be allowed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct HoldBack(Option<Policy>);

impl HoldBack {
    /// Holds back what `policy` retries when `retry_left` (attempts, time and budget remain).
    pub(crate) fn new(policy: Policy, retry_left: bool) -> HoldBack {
        HoldBack(retry_left.then_some(policy))
    }

    /// Whether a response with `status` is held back.
    pub(crate) fn holds(&self, status: u16) -> bool {
        self.0.is_some_and(|p| p.retries_status(status))
    }
}

/// A request's time limits: each try's connection (the cluster's connect timeout), each try's
/// wait for a response head (the route's per-try timeout, else the worker's
/// `response_timeout`), and all tries together (the route's request timeout; `None`: none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) connect: Duration,
    pub(crate) per_try: Option<Duration>,
    pub(crate) response: Duration,
    pub(crate) request: Option<Duration>,
}

impl Limits {
    /// The limits of a request by `route` to `cluster` on a worker with `opts`.
    pub(crate) fn of(route: &Route, cluster: &Cluster, opts: &L7Options) -> Limits {
        Limits {
            connect: millis(cluster.connect_timeout_ms).unwrap_or(opts.connect_timeout),
            per_try: millis(route.per_try_timeout_ms),
            response: opts.response_timeout,
            request: millis(route.timeout_ms),
        }
    }
}

/// One try's limits, each within the time the request has left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TryLimits {
    /// For its connection.
    pub(crate) connect: Duration,
    /// For the response head.
    pub(crate) response: Duration,
    /// The try's own per-try timeout, not the request's deadline, bounds its wait for a head:
    /// a timeout of that wait may be retried ([`judged`]).
    pub(crate) per_try_bound: bool,
}

/// One request's tries: the endpoints tried so far, the retries made and the one held in the
/// cluster's budget, the last status held back, and the request's limits and deadline.
/// Decides, after each failed try, whether another is made ([`Tries::failed`]).
#[derive(Debug)]
pub(crate) struct Tries<'b> {
    policy: Policy,
    limits: Limits,
    deadline: Option<Instant>,
    budget: Option<&'b Budget>,
    _request: Option<RequestGuard<'b>>,
    _retry: Option<RetryGuard<'b>>,
    tried: Vec<u32>,
    retries: u32,
    last_status: Option<u16>,
}

/// What the client gets when no more try is made: a status and a reason.
pub(crate) type Final = (u16, Cow<'static, str>);

/// A try's failure as the policy weighs it: a per-try timeout is counted (`l7_timeouts`) and
/// retried only when the try's own limit ended it (`per_try_bound`), not the request's
/// deadline.
pub(crate) fn judged(
    metrics: &Metrics,
    failure: Option<Failure>,
    per_try_bound: bool,
) -> Option<Failure> {
    match failure {
        Some(Failure::PerTryTimeout) => {
            metrics.inc(counter::TIMEOUTS);
            per_try_bound.then_some(Failure::PerTryTimeout)
        }
        other => other,
    }
}

/// A try whose connection to `endpoint` of `cluster` could not be made: counted
/// (`l7_connect_failures`) and logged; its failure and the answer it would get.
pub(crate) fn connect_failed(
    metrics: &Metrics,
    cluster: &str,
    endpoint: SocketAddr,
    error: &io::Error,
) -> (Option<Failure>, u16, Cow<'static, str>) {
    metrics.inc(counter::CONNECT_FAILURES);
    debug!(cluster, %endpoint, %error, "connect failed");
    let reason = format!("cannot connect to an endpoint of cluster {cluster}");
    (Some(Failure::Connect), 502, reason.into())
}

impl<'b> Tries<'b> {
    /// The tries of a request with `policy` and `limits` (its request timeout counted from
    /// now); counted in flight on `budget` until dropped.
    pub(crate) fn new(policy: Policy, limits: Limits, budget: Option<&'b Budget>) -> Self {
        Tries {
            policy,
            limits,
            deadline: limits.request.map(|t| Instant::now() + t),
            budget,
            _request: budget.map(Budget::request),
            _retry: None,
            tried: Vec::new(),
            retries: 0,
            last_status: None,
        }
    }

    /// The next try's limits, within the time left before the request's deadline.
    pub(crate) fn try_limits(&self) -> TryLimits {
        let left = self
            .deadline
            .map(|d| d.saturating_duration_since(Instant::now()));
        let within = |limit: Duration| left.map_or(limit, |l| l.min(limit));
        let Limits {
            connect, per_try, ..
        } = self.limits;
        let wait = per_try.unwrap_or(self.limits.response);
        TryLimits {
            connect: within(connect),
            response: within(wait),
            per_try_bound: per_try.is_some() && left.is_none_or(|l| wait <= l),
        }
    }

    /// Which statuses the next try holds back: those its policy retries, if a retry is still
    /// possible after it (attempts left, room in the budget).
    pub(crate) fn hold_back(&self) -> HoldBack {
        let retry_left = self.retries < self.policy.retries
            && self
                .budget
                .is_none_or(|b| b.has_room(self.policy.budget_percent));
        HoldBack::new(self.policy, retry_left)
    }

    /// Whether the endpoint in health slot `slot` was not tried yet.
    pub(crate) fn untried(&self, slot: u32) -> bool {
        !self.tried.contains(&slot)
    }

    /// After a try on endpoint `slot` failed with `failure` (`None`: one that is never
    /// retried), whose own answer would be `status` and `reason`: `Ok` when another try is
    /// made (a retry of the budget is held for it; counted in `l7_retries`), else what the
    /// client gets: the last status held back, else 504 when the deadline passed, else this
    /// try's answer (a retry the budget alone refused is counted in
    /// `l7_retry_budget_exhausted`).
    pub(crate) fn failed(
        &mut self,
        metrics: &Metrics,
        slot: u32,
        failure: Option<Failure>,
        status: u16,
        reason: Cow<'static, str>,
    ) -> Result<(), Final> {
        let decided = self.decide(slot, failure, status, reason);
        match &decided {
            Ok(()) => metrics.inc(counter::RETRIES),
            Err((_, NoRetry::Budget)) => metrics.inc(counter::RETRY_BUDGET_EXHAUSTED),
            Err((_, NoRetry::Policy)) => {}
        }
        decided.map_err(|(answer, _)| answer)
    }

    fn decide(
        &mut self,
        slot: u32,
        failure: Option<Failure>,
        status: u16,
        reason: Cow<'static, str>,
    ) -> Result<(), (Final, NoRetry)> {
        self.tried.push(slot);
        if let Some(Failure::Status(s)) = failure {
            self.last_status = Some(s);
        }
        let out_of_time = self.deadline.is_some_and(|d| Instant::now() >= d);
        match self
            .policy
            .next_try(failure, self.retries, out_of_time, self.budget)
        {
            Ok(guard) => {
                self._retry = guard;
                self.retries += 1;
                Ok(())
            }
            Err(why) => {
                let answer = match self.last_status {
                    Some(s) => (s, format!("upstream answered {s}").into()),
                    None if out_of_time => (504, "upstream did not answer in time".into()),
                    None => (status, reason),
                };
                Err((answer, why))
            }
        }
    }
}

/// One cluster's requests and retries in flight in one worker.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    requests: Cell<u32>,
    retries: Cell<u32>,
}

impl Budget {
    /// Counts a request in flight until the guard is dropped.
    pub(crate) fn request(&self) -> RequestGuard<'_> {
        self.requests.set(self.requests.get().saturating_add(1));
        RequestGuard(self)
    }

    /// Whether a retry would fit in the budget now.
    pub(crate) fn has_room(&self, percent: u8) -> bool {
        if percent == 0 {
            return true;
        }
        let share = u64::from(self.requests.get()) * u64::from(percent) / 100;
        u64::from(self.retries.get()) < share.max(u64::from(MIN_RETRIES))
    }

    /// A retry in flight, if it fits in the budget.
    pub(crate) fn try_retry(&self, percent: u8) -> Option<RetryGuard<'_>> {
        self.has_room(percent).then(|| {
            self.retries.set(self.retries.get().saturating_add(1));
            RetryGuard(self)
        })
    }

    /// Retries in flight now.
    #[cfg(test)]
    pub(crate) fn retries(&self) -> u32 {
        self.retries.get()
    }
}

/// A request in flight to a cluster.
#[derive(Debug)]
pub(crate) struct RequestGuard<'b>(&'b Budget);

impl Drop for RequestGuard<'_> {
    fn drop(&mut self) {
        let r = &self.0.requests;
        r.set(r.get().saturating_sub(1));
    }
}

/// A retry in flight to a cluster.
#[derive(Debug)]
pub(crate) struct RetryGuard<'b>(&'b Budget);

impl Drop for RetryGuard<'_> {
    fn drop(&mut self) {
        let r = &self.0.retries;
        r.set(r.get().saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        connect: Duration::from_secs(1),
        per_try: None,
        response: Duration::from_secs(30),
        request: None,
    };

    fn route(attempts: u8, on: u8, flags: u8) -> Route {
        Route {
            retry_attempts: attempts,
            retry_on: on,
            retry_flags: flags,
            ..Route::default()
        }
    }

    #[test]
    fn failures_are_retried_by_their_class() {
        let all = route(2, retry_on::ALL & !retry_on::STATUS_5XX, 0);
        let p = Policy::of(&all, Method::Get, true);
        assert!(p.allows(Failure::Connect));
        assert!(p.allows(Failure::Reset));
        assert!(p.allows(Failure::PerTryTimeout));
        assert!(p.allows(Failure::Status(503)));
        assert!(
            !p.allows(Failure::Status(500)),
            "500 is not a gateway error"
        );
        let five = Policy::of(&route(1, retry_on::STATUS_5XX, 0), Method::Get, true);
        assert!(five.allows(Failure::Status(500)) && five.allows(Failure::Status(504)));
        assert!(!five.allows(Failure::Status(404)) && !five.allows(Failure::Reset));
        assert!(!five.allows(Failure::Connect));
        let none = Policy::of(&route(0, retry_on::ALL, 0), Method::Get, true);
        assert!(!none.allows(Failure::Connect), "no attempts, no retry");
    }

    #[test]
    fn a_next_try_needs_the_policy_an_attempt_the_time_and_the_budget() {
        let p = Policy::of(&route(2, retry_on::ALL, 0), Method::Get, true);
        let reset = Some(Failure::Reset);
        assert!(matches!(p.next_try(reset, 0, false, None), Ok(None)));
        assert_eq!(
            p.next_try(None, 0, false, None).err(),
            Some(NoRetry::Policy)
        );
        assert_eq!(
            p.next_try(reset, 2, false, None).err(),
            Some(NoRetry::Policy)
        );
        assert_eq!(
            p.next_try(reset, 0, true, None).err(),
            Some(NoRetry::Policy)
        );
        let budget = Budget::default();
        let _requests: Vec<_> = (0..100).map(|_| budget.request()).collect();
        let held: Vec<_> = (0..MIN_RETRIES)
            .map(|_| p.next_try(reset, 0, false, Some(&budget)))
            .collect();
        assert!(held.iter().all(|g| matches!(g, Ok(Some(_)))));
        let capped = Policy {
            budget_percent: 1,
            ..p
        };
        assert_eq!(
            capped.next_try(reset, 0, false, Some(&budget)).err(),
            Some(NoRetry::Budget),
            "1 % of 100 requests is below the minimum already held"
        );
    }

    #[test]
    fn only_idempotent_replayable_requests_are_sent_twice() {
        let r = route(1, retry_on::ALL, 0);
        for m in [
            Method::Get,
            Method::Head,
            Method::Put,
            Method::Delete,
            Method::Options,
        ] {
            assert!(Policy::of(&r, m, true).allows(Failure::Reset), "{m:?}");
        }
        let post = Policy::of(&r, Method::Post, true);
        assert!(!post.allows(Failure::Status(503)) && !post.allows(Failure::Reset));
        assert!(
            post.allows(Failure::Connect),
            "nothing was sent on a connect failure"
        );
        let streamed = Policy::of(&r, Method::Put, false);
        assert!(!streamed.allows(Failure::PerTryTimeout));
        assert!(streamed.allows(Failure::Connect));
        assert!(!post.resendable() && !streamed.resendable());
        assert!(Policy::of(&route(0, 0, 0), Method::Put, true).resendable());
        let allowed = route(1, retry_on::ALL, retry_flags::ALLOW_NON_IDEMPOTENT);
        assert!(Policy::of(&allowed, Method::Post, true).resendable());
        assert!(Policy::of(&allowed, Method::Post, true).allows(Failure::Status(502)));
        assert!(!Policy::of(&allowed, Method::Post, false).allows(Failure::Status(502)));
    }

    #[test]
    fn tries_retry_untried_endpoints_then_answer_the_last_held_status() {
        let p = Policy::of(&route(2, retry_on::ALL, 0), Method::Get, true);
        let (budget, m) = (Budget::default(), Metrics::default());
        let mut tries = Tries::new(p, LIMITS, Some(&budget));
        assert!(tries.hold_back().holds(503));
        assert!(tries.untried(7));
        let reset = Some(Failure::Reset);
        assert!(tries.failed(&m, 7, reset, 502, "reset".into()).is_ok());
        assert!(!tries.untried(7) && tries.untried(8));
        assert_eq!(budget.retries(), 1, "the retry holds the budget");
        let held = Some(Failure::Status(503));
        assert!(tries.failed(&m, 8, held, 502, "x".into()).is_ok());
        assert_eq!(m.get(counter::RETRIES), 2);
        let last_try = tries.hold_back();
        assert!(!last_try.holds(503), "the last try holds nothing back");
        let (status, reason) = tries.failed(&m, 9, reset, 502, "reset".into()).unwrap_err();
        assert_eq!((status, reason.as_ref()), (503, "upstream answered 503"));
        assert_eq!(m.get(counter::RETRIES), 2);
        drop(tries);
        assert_eq!((budget.retries(), budget.requests.get()), (0, 0));

        let mut never = Tries::new(p, LIMITS, None);
        let (status, reason) = never.failed(&m, 1, None, 400, "bad".into()).unwrap_err();
        assert_eq!((status, reason.as_ref()), (400, "bad"));
        let no_time = Limits {
            request: Some(Duration::ZERO),
            ..LIMITS
        };
        let mut late = Tries::new(p, no_time, None);
        let (status, _) = late.failed(&m, 1, reset, 502, "r".into()).unwrap_err();
        assert_eq!(status, 504, "out of time");
        assert_eq!(m.get(counter::RETRY_BUDGET_EXHAUSTED), 0);
        let capped = Policy {
            budget_percent: 1,
            ..p
        };
        let full = Budget::default();
        let _held: Vec<_> = (0..MIN_RETRIES)
            .map(|_| full.try_retry(1).unwrap())
            .collect();
        let mut refused = Tries::new(capped, LIMITS, Some(&full));
        let no_room = refused.hold_back();
        assert!(!no_room.holds(503), "no room: nothing held back");
        let (status, _) = refused.failed(&m, 1, reset, 502, "r".into()).unwrap_err();
        assert_eq!(status, 502);
        assert_eq!(m.get(counter::RETRY_BUDGET_EXHAUSTED), 1);
    }

    #[test]
    fn a_try_waits_its_per_try_timeout_within_the_time_left() {
        let p = Policy::of(&route(2, retry_on::ALL, 0), Method::Get, true);
        let ms = Duration::from_millis;
        let limits = |per_try, request| {
            Tries::new(
                p,
                Limits {
                    per_try,
                    request,
                    ..LIMITS
                },
                None,
            )
        };
        let plain = limits(None, None).try_limits();
        let expected = TryLimits {
            connect: LIMITS.connect,
            response: LIMITS.response,
            per_try_bound: false,
        };
        assert_eq!(plain, expected, "the worker's limits");
        let per_try = limits(Some(ms(500)), Some(ms(60_000))).try_limits();
        assert_eq!((per_try.response, per_try.per_try_bound), (ms(500), true));
        let short = limits(Some(ms(500)), Some(ms(200))).try_limits();
        assert!(short.response <= ms(200) && short.connect <= ms(200));
        assert!(!short.per_try_bound, "the request's deadline ends the wait");
        let spent = limits(None, Some(Duration::ZERO)).try_limits();
        assert_eq!(
            (spent.connect, spent.response),
            (Duration::ZERO, Duration::ZERO)
        );
    }

    #[test]
    fn a_per_try_timeout_is_counted_and_retried_only_when_the_try_ended_it() {
        let m = Metrics::default();
        let timeout = Some(Failure::PerTryTimeout);
        assert_eq!(judged(&m, timeout, true), timeout);
        assert_eq!(judged(&m, timeout, false), None, "the request's deadline");
        assert_eq!(
            judged(&m, Some(Failure::Reset), false),
            Some(Failure::Reset)
        );
        assert_eq!(m.get(counter::TIMEOUTS), 2);
    }

    #[test]
    fn budget_keeps_a_minimum_then_a_percentage() {
        let b = Budget::default();
        let _lone = b.request();
        let guards: Vec<_> = (0..MIN_RETRIES).map(|_| b.try_retry(20).unwrap()).collect();
        assert!(
            b.try_retry(20).is_none(),
            "past the minimum with one request"
        );
        assert!(b.try_retry(0).is_some(), "0 percent: no limit");
        drop(guards);
        assert_eq!(b.retries(), 0);
        let many: Vec<_> = (0..100).map(|_| b.request()).collect();
        let retries: Vec<_> = (0..50).map_while(|_| b.try_retry(20)).collect();
        assert_eq!(retries.len(), 20, "20% of 101 requests in flight");
        drop(retries);
        drop(many);
        assert!(b.has_room(20));
    }
}
