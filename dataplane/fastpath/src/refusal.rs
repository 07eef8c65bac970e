//! Answering a frame in place instead of forwarding it, at a bounded rate: a new flow no
//! backend takes ([`crate::NoBackend::Refuse`]) and a packet to a SNAT address of no
//! connection get the reset or ICMP port unreachable of `strait_l4::refuse`; a packet too large
//! for its tunnel gets the ICMP "fragmentation needed" / "packet too big" of
//! `strait_l4::too_big`.
//!
//! # Invariants
//! * A worker sends at most [`BURST`] answers at once and [`PER_SECOND`] a second after that
//!   (one token bucket on the pipeline's clock for all three), so a flood is answered at a
//!   bounded rate, never amplified: each answer is no larger than its packet or an ICMP
//!   error's quote limit. A frame that gets no answer (a reset, a group source) spends no
//!   token.
//! * Each frame is answered (`tx` and its answer's counter: `refused_no_backend`,
//!   `refused_no_connection`, `too_big_sent`) or dropped (`drop_no_backend`,
//!   `drop_no_connection`, `drop_too_big`), never both, and never sent on.

use strait_l4::{RefuseError, refuse};
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

    /// Spends a token [`Refusals::available`] found.
    fn spend(&mut self) {
        self.tokens = self.tokens.saturating_sub(1);
    }
}

impl Pipeline {
    /// A new flow no backend takes: refused or dropped, by the node's policy.
    #[cold]
    #[inline(never)]
    pub(crate) fn no_backend(&mut self, buf: &mut [u8], len: usize, parsed: &Parsed) -> Action {
        let sent = counter::REFUSED_NO_BACKEND;
        match self.node.no_backend {
            NoBackend::Refuse => {
                self.answer(buf, len, parsed, refuse, sent, counter::DROP_NO_BACKEND)
            }
            NoBackend::Drop => {
                self.counters.inc(counter::DROP_NO_BACKEND);
                Action::Drop
            }
        }
    }

    /// A packet to a SNAT address that belongs to no connection (one that expired or was
    /// evicted while its backend still sends): answered as a host answers a segment for no
    /// socket, a reset (or an ICMP port unreachable for UDP), so the backend lets go at once
    /// instead of retransmitting into silence.
    #[cold]
    #[inline(never)]
    pub(crate) fn no_connection(&mut self, buf: &mut [u8], len: usize, parsed: &Parsed) -> Action {
        let (sent, dropped) = (counter::REFUSED_NO_CONNECTION, counter::DROP_NO_CONNECTION);
        self.answer(buf, len, parsed, refuse, sent, dropped)
    }

    /// A packet too large for the tunnel to its backend: not sent on; its source is told the
    /// path takes `mtu` bytes unless it is IPv4 that may be fragmented.
    #[cold]
    #[inline(never)]
    pub(crate) fn too_big(
        &mut self,
        buf: &mut [u8],
        len: usize,
        parsed: &Parsed,
        mtu: usize,
    ) -> Action {
        let build = |b: &mut [u8], n, p: &Parsed| strait_l4::too_big(b, n, p, mtu);
        self.answer(
            buf,
            len,
            parsed,
            build,
            counter::TOO_BIG_SENT,
            counter::DROP_TOO_BIG,
        )
    }

    /// Turns the frame into the answer `build` makes of it and sends it back, counting `sent`
    /// (and `tx`), when the rate allows and `build` gives one; else drops it, counting
    /// `dropped` (see the module invariants).
    fn answer(
        &mut self,
        buf: &mut [u8],
        len: usize,
        parsed: &Parsed,
        build: impl FnOnce(&mut [u8], usize, &Parsed) -> Result<usize, RefuseError>,
        sent: usize,
        dropped: usize,
    ) -> Action {
        if self.refusals.available(self.now)
            && let Ok(n) = build(buf, len, parsed)
        {
            self.refusals.spend();
            self.counters.inc(sent);
            self.counters.inc(counter::TX);
            return Action::Tx(n);
        }
        self.counters.inc(dropped);
        Action::Drop
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_allows_a_burst_then_the_rate() {
        let mut r = Refusals::default();
        let mut take = |now: u64| {
            let ok = r.available(now);
            if ok {
                r.spend();
            }
            ok
        };
        let t0 = 5_000_000_000;
        let burst = (0..BURST * 2).filter(|_| take(t0)).count() as u64;
        // The first call also earned tokens for the time since 0, capped at BURST.
        assert_eq!(burst, BURST);
        assert!(!take(t0 + NS_PER_TOKEN - 1));
        assert!(take(t0 + NS_PER_TOKEN));
        assert!(!take(t0 + NS_PER_TOKEN));
        // One second later: PER_SECOND more, but never above BURST.
        let later = t0 + NS_PER_TOKEN + 1_000_000_000;
        assert_eq!(
            (0..PER_SECOND).filter(|_| take(later)).count() as u64,
            BURST
        );
    }
}
