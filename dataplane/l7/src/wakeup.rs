//! [`Wakeup`]: how another thread tells an idle L7 worker to take a new generation now.
//!
//! An idle worker runs its housekeeping turn (enter the tables, flush the access log, heartbeat,
//! sweep the pool) every [`crate::L7Options::tick`]. Waking it every millisecond to look for a
//! generation cost an idle worker about 0.05 of a core; instead it waits for the tick *or* a
//! wake-up, and whoever publishes tables wakes it.
//!
//! # Invariants
//! * A wake-up is never lost: one that comes while the worker is busy is kept (a flag) and ends
//!   its next wait at once. Several wake-ups before a wait count as one.

use std::{
    future::poll_fn,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    task::{Poll, Waker},
};

/// A handle that wakes one worker's housekeeping turn; cheap to clone, usable from any thread.
#[derive(Clone, Debug, Default)]
pub struct Wakeup(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    woken: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Wakeup {
    /// Ends the worker's current (or next) wait.
    pub fn wake(&self) {
        self.0.woken.store(true, Ordering::Release);
        if let Some(waker) = self.0.waker.lock().expect("wakeup lock").take() {
            waker.wake();
        }
    }

    /// Completes once [`Wakeup::wake`] was called since the last completion.
    pub(crate) async fn woken(&self) {
        poll_fn(|cx| {
            if self.0.woken.swap(false, Ordering::Acquire) {
                return Poll::Ready(());
            }
            *self.0.waker.lock().expect("wakeup lock") = Some(cx.waker().clone());
            // A wake between the swap and the store found no waker: look again.
            if self.0.woken.swap(false, Ordering::Acquire) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn a_wake_from_another_thread_ends_the_wait_and_none_is_lost() {
        let runtime = compio::runtime::Runtime::new().unwrap();
        let wakeup = Wakeup::default();
        // Woken before the wait: the wait ends at once, and only once.
        wakeup.wake();
        wakeup.wake();
        runtime.block_on(async {
            let started = Instant::now();
            wakeup.woken().await;
            let again = compio::time::timeout(Duration::from_millis(50), wakeup.woken()).await;
            assert!(again.is_err(), "two wakes before a wait count as one");
            // Woken from another thread while waiting.
            let remote = wakeup.clone();
            let thread = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                remote.wake();
            });
            let waited = compio::time::timeout(Duration::from_secs(5), wakeup.woken()).await;
            assert!(waited.is_ok(), "the wake reached the waiting runtime");
            assert!(started.elapsed() < Duration::from_secs(2));
            thread.join().unwrap();
        });
    }
}
