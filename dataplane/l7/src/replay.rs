//! What a forwarded HTTP/1.1 request keeps of its body so it can be sent again after a try
//! that used it up, sans-IO: a copy of the body's bytes as the client framed them, put back in
//! front of the client input buffer before the next try.
//!
//! Order per request: [`Replay::new`] once the body was held (`forward`), then per try on an
//! upstream connection [`Replay::before_try`] (whether a stale pooled connection may make the
//! request go again), and [`Replay::restore`] before sending it again.
//!
//! Invariants:
//! * A request without a body may always go again after a stale pooled connection: nothing of
//!   the client's input was used.
//! * A request with a body goes again only when its whole body was in the input buffer when the
//!   request was held and the retry policy says it may be sent twice ([`Policy::resendable`]:
//!   an idempotent method, or a route that allows others), so the rule is the one of `retry`.
//! * A copy is made only for a body: up front when the route retries, else only for a try on a
//!   pooled connection and only for a body of at most [`STALE_REPLAY_BYTES`]. A request without
//!   a body never allocates here.
//! * [`Replay::restore`] is right only while nothing was read from the client into the buffer
//!   since the copy; that holds because the whole body was buffered, so a pump never reads, and
//!   it consumes nothing after the body.

use crate::retry::Policy;

/// The largest body copied to survive a stale pooled connection when the route does not
/// retry (a route that retries holds any body up to `hold_body_bytes`).
pub(crate) const STALE_REPLAY_BYTES: usize = 64 * 1024;

/// A copy of the body's first bytes of the input buffer.
#[derive(Debug)]
struct Held {
    /// The body as framed by the client.
    body: Vec<u8>,
    /// The input buffer's length when the copy was made.
    buffered: usize,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Replay {
    /// The request has no body.
    bodiless: bool,
    /// The body may be sent twice, and its framed length when it is whole in the buffer.
    body_len: Option<usize>,
    held: Option<Held>,
}

impl Replay {
    /// For a request with `policy` whose body, when whole in `buf` (the client input buffer),
    /// is its first `body_len` bytes; `bodiless` when it has none.
    pub(crate) fn new(
        bodiless: bool,
        policy: &Policy,
        body_len: Option<usize>,
        buf: &[u8],
    ) -> Replay {
        let body_len = body_len.filter(|&n| !bodiless && policy.resendable() && n <= buf.len());
        let mut replay = Replay {
            bodiless,
            body_len,
            held: None,
        };
        if policy.retries > 0 {
            replay.hold(buf);
        }
        replay
    }

    /// Before a try on a connection (`reused`: it came from the pool), with the input buffer
    /// as the request found it: whether the request may be sent again should the connection
    /// turn out stale. Copies the body when that needs it.
    pub(crate) fn before_try(&mut self, reused: bool, buf: &[u8]) -> bool {
        if self.bodiless || self.held.is_some() {
            return true;
        }
        if reused && self.body_len.is_some_and(|n| n <= STALE_REPLAY_BYTES) {
            self.hold(buf);
        }
        self.held.is_some()
    }

    /// Puts back in front of `buf` what a try consumed of the body.
    pub(crate) fn restore(&self, buf: &mut Vec<u8>) {
        if let Some(held) = &self.held {
            let consumed = held.buffered.saturating_sub(buf.len()).min(held.body.len());
            buf.splice(0..0, held.body[..consumed].iter().copied());
        }
    }

    fn hold(&mut self, buf: &[u8]) {
        if let Some(body) = self.body_len.and_then(|n| buf.get(..n)) {
            self.held = Some(Held {
                body: body.to_vec(),
                buffered: buf.len(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use strait_http1::Method;
    use strait_table::{Route, retry_flags};

    use super::*;

    fn policy(attempts: u8, flags: u8, method: Method) -> Policy {
        let route = Route {
            retry_attempts: attempts,
            retry_flags: flags,
            ..Route::default()
        };
        Policy::of(&route, method, true)
    }

    #[test]
    fn a_small_idempotent_body_is_kept_for_a_pooled_connection_only() {
        let buf = b"bodyGET / HTTP/1.1\r\n".to_vec();
        let mut r = Replay::new(false, &policy(0, 0, Method::Put), Some(4), &buf);
        assert!(r.held.is_none(), "nothing copied up front without retries");
        assert!(!r.before_try(false, &buf), "a new connection is not stale");
        assert!(r.held.is_none());
        assert!(r.before_try(true, &buf));
        let mut used = buf[2..].to_vec();
        r.restore(&mut used);
        assert_eq!(used, buf, "the consumed part is back in front");
        let mut all = buf[4..].to_vec();
        r.restore(&mut all);
        assert_eq!(all, buf);
        let mut untouched = buf.clone();
        r.restore(&mut untouched);
        assert_eq!(untouched, buf);
    }

    #[test]
    fn a_post_goes_again_only_when_the_route_allows_it() {
        let buf = b"data".to_vec();
        let mut post = Replay::new(false, &policy(0, 0, Method::Post), Some(4), &buf);
        assert!(!post.before_try(true, &buf));
        let mut consumed = Vec::new();
        post.restore(&mut consumed);
        assert!(consumed.is_empty(), "nothing kept, nothing put back");
        let allowed = policy(0, retry_flags::ALLOW_NON_IDEMPOTENT, Method::Post);
        assert!(Replay::new(false, &allowed, Some(4), &buf).before_try(true, &buf));
    }

    #[test]
    fn bodiless_requests_always_go_again_and_copy_nothing() {
        let buf = b"GET / HTTP/1.1\r\n".to_vec();
        let mut r = Replay::new(true, &policy(2, 0, Method::Post), Some(0), &buf);
        assert!(r.before_try(true, &buf));
        assert!(r.held.is_none());
    }

    #[test]
    fn large_or_partial_bodies_are_not_copied_for_a_stale_connection() {
        let big = vec![7u8; STALE_REPLAY_BYTES + 1];
        let mut r = Replay::new(false, &policy(0, 0, Method::Put), Some(big.len()), &big);
        assert!(!r.before_try(true, &big));
        let mut partial = Replay::new(false, &policy(0, 0, Method::Put), None, &big);
        assert!(!partial.before_try(true, &big));
        let streamed = Policy::of(&Route::default(), Method::Put, false);
        assert!(!Replay::new(false, &streamed, Some(4), b"data").before_try(true, b"data"));
    }

    #[test]
    fn a_retrying_route_holds_any_whole_body_up_front() {
        let big = vec![7u8; STALE_REPLAY_BYTES + 1];
        let mut r = Replay::new(false, &policy(1, 0, Method::Put), Some(big.len()), &big);
        assert!(r.held.is_some());
        assert!(r.before_try(true, &big));
        let mut none = Vec::new();
        r.restore(&mut none);
        assert_eq!(none, big);
    }
}
