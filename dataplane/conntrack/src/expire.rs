//! The incremental expiry sweep the worker runs once per burst.
//!
//! # Invariants
//! * A cursor walks the slots round-robin; one call visits at most `min(budget, capacity)`
//!   slots, so a call never visits a slot twice and costs O(budget).
//! * Any `capacity` consecutive slot visits cover every slot once: with a fixed budget `b`,
//!   every connection is checked within `ceil(capacity / b)` calls.

use crate::conn::{Reason, Released};
use crate::table::Conntrack;

impl Conntrack {
    /// Visits up to `budget` slots from the cursor, releasing each connection past its timeout
    /// at `now` through `on_release` (so the caller can free its SNAT port). Returns how many
    /// were released.
    pub fn expire(
        &mut self,
        now: u64,
        budget: usize,
        mut on_release: impl FnMut(Released),
    ) -> usize {
        let n = self.slots.len();
        let mut released = 0;
        for _ in 0..budget.min(n) {
            let index = self.cursor;
            self.cursor = if index + 1 == n { 0 } else { index + 1 };
            // `index < n <= MAX_CAPACITY`, so it fits in u32.
            let index = index as u32;
            if self.expired_at(index, now) {
                self.reclaim(index, Reason::Expired, &mut on_release);
                released += 1;
            }
        }
        released
    }
}
