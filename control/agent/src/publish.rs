//! The apply pipeline: validate → compile → seal → persist → publish.
//!
//! Applies are serialised by one async mutex: each takes the next generation, and the state
//! only moves forward once the new config is durable on disk, so a restarted agent never
//! restores something older than what the data plane may already run. Parsing and compiling
//! run on the blocking pool so a large push does not stall the gRPC runtime.
//!
//! Between pushes the publisher keeps what the next one may reuse: the last config (handed
//! back to its [`ParseCache`], which takes the unchanged sections and routes from it), the
//! slot assignment (an unchanged endpoint list costs no lookup) and the compiler's Maglev
//! tables. What a push replaces is freed by the [`Reaper`], not on the answer's path.

use std::sync::Arc;

use strait_compile::{Compiler, HealthSlots};
use strait_config::{FieldError, ParseCache};
use tokio::sync::Mutex;
use tracing::{error, info};

use crate::{
    link::{LinkServer, PublishedImage},
    reaper::Reaper,
    store::{Persisted, Store},
};

/// What an apply did.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The config was invalid; nothing changed.
    Rejected(Vec<FieldError>),
    /// The config equals the published one; no new generation.
    Unchanged(u64),
    /// The config was published as this generation; `warning` says if it was not persisted.
    Published {
        /// The new generation.
        generation: u64,
        /// Why the config is not durable, if it is not.
        warning: Option<String>,
    },
}

#[derive(Debug, Default)]
struct Current {
    /// What is published, as persisted.
    persisted: Persisted,
    /// The slot map behind `persisted.health_slots`.
    slots: HealthSlots,
    /// Keeps the last generation's Maglev tables for reuse.
    compiler: Compiler,
    /// Keeps the last push's config for reuse.
    parse_cache: ParseCache,
}

/// Owns the published config and serialises applies.
#[derive(Debug)]
pub(crate) struct Publisher {
    store: Store,
    link: LinkServer,
    current: Mutex<Current>,
    /// Serialises writes of the endpoint states file.
    endpoints_saving: Mutex<()>,
    reaper: Reaper,
}

/// Compiles a persisted config again at start-up, so the agent can resend it.
pub(crate) fn restore(persisted: &Persisted) -> Result<(Arc<PublishedImage>, HealthSlots), String> {
    let config = strait_config::parse(&persisted.config).map_err(|errors| join(&errors))?;
    let slots = HealthSlots::restore(strait_compile::endpoints(&config), &persisted.health_slots)
        .ok_or("its health slots do not fit its config")?;
    let image = Compiler::default()
        .compile(&config, persisted.generation, &persisted.health_slots)
        .map_err(|errors| join(&errors))?;
    let image = seal(persisted.generation, &image).map_err(|e| e.to_string())?;
    Ok((image, slots))
}

impl Publisher {
    pub(crate) fn new(
        store: Store,
        link: LinkServer,
        restored: Option<(Persisted, HealthSlots)>,
    ) -> Self {
        let current = match restored {
            Some((persisted, slots)) => Current {
                persisted,
                slots,
                compiler: Compiler::default(),
                parse_cache: ParseCache::default(),
            },
            None => Current::default(),
        };
        Publisher {
            store,
            link,
            current: Mutex::new(current),
            endpoints_saving: Mutex::new(()),
            reaper: Reaper::start(),
        }
    }

    /// The published config text and its generation.
    pub(crate) async fn get(&self) -> (String, u64) {
        let current = self.current.lock().await;
        (
            current.persisted.config.clone(),
            current.persisted.generation,
        )
    }

    /// The published generation.
    pub(crate) async fn generation(&self) -> u64 {
        self.current.lock().await.persisted.generation
    }

    /// Validates and compiles without publishing; returns the image size.
    pub(crate) async fn validate(&self, text: String) -> Result<usize, Vec<FieldError>> {
        let mut slots = self.current.lock().await.slots.clone();
        tokio::task::spawn_blocking(move || {
            let config = strait_config::parse(&text)?;
            strait_compile::compile(&config, 1, &mut slots).map(|image| image.len())
        })
        .await
        .expect("validate task")
    }

    /// Applies a whole config.
    ///
    /// Parse and validate, assign health slots; then persist the new state while compiling,
    /// sealing and publishing; answer when both are done. If compiling fails after all, the
    /// previous state is written back.
    pub(crate) async fn apply(&self, text: String) -> Outcome {
        let mut current = self.current.lock().await;
        if current.persisted.generation > 0 && current.persisted.config == text {
            return Outcome::Unchanged(current.persisted.generation);
        }
        // Past anything a data plane has run, in case the state directory was lost or restored.
        let generation = current
            .persisted
            .generation
            .max(self.link.max_dataplane_generation())
            + 1;
        let started = std::time::Instant::now();
        let slots = current.slots.clone();
        let mut cache = std::mem::take(&mut current.parse_cache);
        let (cache, parsed) = tokio::task::spawn_blocking(move || {
            let parsed = cache.parse(&text).map(|config| {
                let mut slots = slots;
                let ordered = slots.assign(strait_compile::endpoints(&config));
                (text, config, slots, ordered)
            });
            (cache, parsed)
        })
        .await
        .expect("parse task");
        current.parse_cache = cache;
        let (text, config, slots, ordered) = match parsed {
            Ok(p) => p,
            Err(errors) => return Outcome::Rejected(errors),
        };

        // Persisting (an fsync of a few MiB) runs beside compiling and publishing rather than
        // before them: the answer waits for both, and an agent that dies in between never
        // acknowledged this apply, so restoring the previous config is then the right outcome.
        let parsed_at = started.elapsed();
        let persisted = Persisted {
            generation,
            config: text,
            health_slots: ordered.clone(),
        };
        let store = self.store.clone();
        let save = tokio::task::spawn_blocking(move || {
            let saved = store.save(&persisted);
            (persisted, saved)
        });
        let mut compiler = std::mem::take(&mut current.compiler);
        let (compiler, compiled, config) = tokio::task::spawn_blocking(move || {
            let compiled = compiler.compile(&config, generation, &ordered);
            (compiler, compiled, config)
        })
        .await
        .expect("compile task");
        current.compiler = compiler;
        // Freeing what the next push will not reuse takes a while: not on the answer's path.
        self.reaper.drop_later(current.parse_cache.keep(config));
        let sealed = compiled.and_then(|image| {
            seal(generation, &image)
                .map(|sealed| (sealed, image))
                .map_err(|e| vec![internal(format!("sealing the image: {e}"))])
        });
        let (sealed, image) = match sealed {
            Ok(s) => s,
            Err(errors) => {
                let _ = save.await;
                self.write_back(&current).await;
                return Outcome::Rejected(errors);
            }
        };
        let bytes = image.len();
        let compiled_at = started.elapsed();
        let forgot = self.link.publish(sealed, slots.clone());
        self.reaper.drop_later(image);
        let (persisted, saved) = save.await.expect("persist task");
        info!(
            generation,
            bytes,
            parse_ms = ms(parsed_at),
            compile_ms = ms(compiled_at - parsed_at),
            persist_wait_ms = ms(started.elapsed() - compiled_at),
            "published"
        );
        self.reaper
            .drop_later(std::mem::replace(&mut current.persisted, persisted));
        current.slots = slots;
        if forgot && let Err(e) = self.save_endpoints().await {
            error!(generation, "{e}");
        }
        let warning = saved.err().map(|e| {
            error!(generation, error = %e, "the published config could not be persisted");
            format!("published, but not persisted ({e}): a restarted agent would not restore it")
        });
        Outcome::Published {
            generation,
            warning,
        }
    }

    /// Persists the endpoint states the link holds. Saves are serialised, so the file ends
    /// with the latest states.
    pub(crate) async fn save_endpoints(&self) -> Result<(), String> {
        let _serial = self.endpoints_saving.lock().await;
        let (store, states) = (self.store.clone(), self.link.endpoint_states());
        tokio::task::spawn_blocking(move || store.save_endpoints(&states))
            .await
            .expect("persist task")
            .map_err(|e| {
                format!("the endpoint states could not be persisted ({e}): a restarted agent would not restore them")
            })
    }

    /// Writes the current state back after a failed apply had already persisted its own.
    async fn write_back(&self, current: &Current) {
        let (store, persisted) = (self.store.clone(), current.persisted.clone());
        let result = tokio::task::spawn_blocking(move || {
            if persisted.generation == 0 {
                store.clear()
            } else {
                store.save(&persisted)
            }
        })
        .await
        .expect("persist task");
        if let Err(e) = result {
            error!(error = %e, "could not write the previous state back");
        }
    }
}

fn seal(generation: u64, image: &[u8]) -> Result<Arc<PublishedImage>, strait_shm::ShmError> {
    let fd = strait_shm::seal_image(image, &format!("strait-gen-{generation}"))?;
    Ok(Arc::new(PublishedImage {
        generation,
        fd,
        len: image.len() as u64,
    }))
}

fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e4).round() / 10.0
}

fn internal(reason: String) -> FieldError {
    FieldError {
        path: "<agent>".into(),
        reason,
    }
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
