//! Frees large values (a replaced config of 100k endpoints, its image) away from the apply
//! path: on one thread at the lowest CPU priority (nice 19), so that on a machine where the
//! agent has a single core the frees wait until the core has nothing better to do instead of
//! taking turns with the next push.
//!
//! Invariant: nothing sent here is needed again; dropping it is the whole job. If the thread
//! cannot be started (or has ended), values are dropped where they are sent, which is only
//! slower.

use std::{any::Any, sync::mpsc, thread};

use tracing::debug;

type Garbage = Box<dyn Any + Send>;

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Reaper {
    tx: Option<mpsc::Sender<Garbage>>,
}

impl Reaper {
    /// Starts the thread.
    pub(crate) fn start() -> Reaper {
        let (tx, rx) = mpsc::channel::<Garbage>();
        let started = thread::Builder::new()
            .name("strait-reaper".into())
            .spawn(move || {
                let tid = rustix::thread::gettid();
                if let Err(e) = rustix::process::setpriority_process(Some(tid), 19) {
                    debug!(error = %e, "the reaper keeps the agent's priority");
                }
                for garbage in rx {
                    drop(garbage);
                }
            });
        Reaper {
            tx: started.ok().map(|_| tx),
        }
    }

    /// Drops `value` on the reaper thread.
    pub(crate) fn drop_later<T: Send + 'static>(&self, value: T) {
        if let Some(tx) = &self.tx {
            // A failed send hands the value back inside the error, dropped here.
            let _ = tx.send(Box::new(value));
        }
    }
}
