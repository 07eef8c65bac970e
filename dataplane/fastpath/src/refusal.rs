//! Answering new flows no backend takes ([`crate::NoBackend::Refuse`]) and packets to a SNAT
//! address of no connection: the reset or ICMP port unreachable of `strait_l4::refuse`; and
//! packets too large for a tunnel: the ICMP
//! "fragmentation needed" / "packet too big" of `strait_l4::too_big`. Both at a bounded rate.
//!
//! # Invariants
//! * A worker sends at most [`BURST`] refusals at once and [`PER_SECOND`] a second after
//!   that (a token bucket on the pipeline's clock), so a flood at a VIP without backends is
//!   answered at a bounded rate, never amplified: each answer is no larger than its packet
//!   or an ICMP error's quote limit.
//! * A flow without a backend is answered (`tx` and `refused_no_backend`) or dropped
//!   (`drop_no_backend`), never both; so is a packet to a SNAT address of no connection
//!   (`refused_no_connection` or `drop_no_connection`); a packet too big for its tunnel is answered (`tx` and
//!   `too_big_sent`) or dropped (`drop_too_big`), never both. Neither is ever sent on.

use strait_l4::refuse;
use strait_packet::Parsed;

use crate::counters::counter;
use crate::node::NoBackend;
use crate::pipeline::{Action, Pipeline};

/// Refusals a worker sends a second, once its burst allowance is spent.
pub const PER_SECOND: u64 = 1000;
/// Refusals a worker may send at once.
pub const BURST: u64 = 100;

const NS_PER_TOKEN: u64 = 1_000_000_000 / PER_SECOND;

/// A token bucket: [`BURST`] tokens, one more every [`NS_PER_TOKEN`].
#[derive(Debug)]
pub(crate) struct Refusals {
    tokens: u64,
    /// When the bucket last gained a token (ns, the pipeline's clock).
    refilled: u64,
}

impl Default for Refusals {
    fn default() -> Self {
        Refusals {
            tokens: BURST,
            refilled: 0,
        }
    }
}

impl Refusals {
    /// True if a token is left at `now` (after adding those earned since the last refill).
    fn available(&mut self, now: u64) -> bool {
        let earned = now.saturating_sub(self.refilled) / NS_PER_TOKEN;
        if earned > 0 {
            self.tokens = (self.tokens + earned).min(BURST);
            self.refilled += earned * NS_PER_TOKEN;
        }
        self.tokens > 0
    }

    /// Takes a token at `now`, if there is one.
    fn take(&mut self, now: u64) -> bool {
        let ok = self.available(now);
        if ok {
            self.tokens -= 1;
        }
        ok
    }
}

impl Pipeline {
    /// A new flow no backend takes: refused or dropped, by the node's policy.
    #[cold]
    #[inline(never)]
    pub(crate) fn no_backend(&mut self, buf: &mut [u8], len: usize, parsed: &Parsed) -> Action {
        // A frame that is not refused (a reset) spends no token.
        if self.node.no_backend == NoBackend::Refuse
            && self.refusals.available(self.now)
            && let Ok(n) = refuse(buf, len, parsed)
        {
            self.refusals.take(self.now);
            self.counters.inc(counter::REFUSED_NO_BACKEND);
            self.counters.inc(counter::TX);
            return Action::Tx(n);
        }
        self.counters.inc(counter::DROP_NO_BACKEND);
        Action::Drop
    }

    /// A packet to a SNAT address that belongs to no connection (one that expired or was
    /// evicted while its backend still sends): answered as a host answers a segment for no
    /// socket, a reset (or an ICMP port unreachable for UDP), so the backend lets go at once
    /// instead of retransmitting into silence.
    #[cold]
    #[inline(never)]
    pub(crate) fn no_connection(&mut self, buf: &mut [u8], len: usize, parsed: &Parsed) -> Action {
        if self.refusals.available(self.now)
            && let Ok(n) = refuse(buf, len, parsed)
        {
            self.refusals.take(self.now);
            self.counters.inc(counter::REFUSED_NO_CONNECTION);
            self.counters.inc(counter::TX);
            return Action::Tx(n);
        }
        self.counters.inc(counter::DROP_NO_CONNECTION);
        Action::Drop
    }

    /// A packet too large for the tunnel to its backend: not sent on; its source is told the
    /// path takes `mtu` bytes ("fragmentation needed" / "packet too big", within the same
    /// rate as refusals) unless it is IPv4 that may be fragmented.
    #[cold]
    #[inline(never)]
    pub(crate) fn too_big(
        &mut self,
        buf: &mut [u8],
        len: usize,
        parsed: &Parsed,
        mtu: usize,
    ) -> Action {
        if self.refusals.available(self.now)
            && let Ok(n) = strait_l4::too_big(buf, len, parsed, mtu)
        {
            self.refusals.take(self.now);
            self.counters.inc(counter::TOO_BIG_SENT);
            self.counters.inc(counter::TX);
            return Action::Tx(n);
        }
        self.counters.inc(counter::DROP_TOO_BIG);
        Action::Drop
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_allows_a_burst_then_the_rate() {
        let mut r = Refusals::default();
        let t0 = 5_000_000_000;
        let burst = (0..BURST * 2).filter(|_| r.take(t0)).count() as u64;
        // The first call also earned tokens for the time since 0, capped at BURST.
        assert_eq!(burst, BURST);
        assert!(!r.take(t0 + NS_PER_TOKEN - 1));
        assert!(r.take(t0 + NS_PER_TOKEN));
        assert!(!r.take(t0 + NS_PER_TOKEN));
        // One second later: PER_SECOND more, but never above BURST.
        let later = t0 + NS_PER_TOKEN + 1_000_000_000;
        assert_eq!(
            (0..PER_SECOND).filter(|_| r.take(later)).count() as u64,
            BURST
        );
    }
}
