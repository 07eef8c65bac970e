//! Benchmarks that stop cleanly on SIGINT and SIGTERM.
//!
//! A signal's default action kills the benchmark on the spot and leaves behind what it set up
//! (namespaces, processes it started). [`Stop::install`] turns SIGINT and SIGTERM into a flag
//! instead; the benchmark waits through [`Stop::sleep`], which unwinds with an [`Interrupted`]
//! payload once the flag is up, so every guard on the stack cleans up. [`run`] runs the
//! benchmark, keeps that payload out of the panic output and exits 130 for it.

use std::{
    panic::UnwindSafe,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

/// The panic payload of an interrupted benchmark.
#[derive(Debug)]
pub struct Interrupted;

/// Set once SIGINT or SIGTERM arrived.
#[derive(Clone, Debug)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// Installs the handlers (before this returns) and a thread that raises the flag.
    pub fn install() -> Stop {
        use tokio::signal::unix::{SignalKind, signal};
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (mut int, mut term) = runtime.block_on(async {
            (
                signal(SignalKind::interrupt()).expect("SIGINT handler"),
                signal(SignalKind::terminate()).expect("SIGTERM handler"),
            )
        });
        let flag = Arc::new(AtomicBool::new(false));
        let raise = flag.clone();
        thread::spawn(move || {
            runtime.block_on(async {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            });
            eprintln!("interrupted: cleaning up");
            raise.store(true, Ordering::Relaxed);
        });
        Stop(flag)
    }

    /// Sleeps `d` (zero just checks), unwinding with [`Interrupted`] if a signal came.
    pub fn sleep(&self, d: Duration) {
        let end = Instant::now() + d;
        loop {
            if self.0.load(Ordering::Relaxed) {
                std::panic::panic_any(Interrupted);
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            thread::sleep(left.min(Duration::from_millis(50)));
        }
    }
}

/// Runs `bench`; if it unwinds with [`Interrupted`], says so and exits 130. Whatever `bench`
/// owns has been dropped by then.
pub fn run(name: &str, bench: impl FnOnce() + UnwindSafe) {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !info.payload().is::<Interrupted>() {
            hook(info);
        }
    }));
    if let Err(panic) = std::panic::catch_unwind(bench) {
        if panic.is::<Interrupted>() {
            eprintln!("{name}: interrupted; everything it started is stopped");
            std::process::exit(130);
        }
        std::panic::resume_unwind(panic);
    }
}
