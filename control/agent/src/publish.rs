//! The apply pipeline: validate → compile → seal → persist → publish.
//!
//! Applies are serialised by one async mutex: each takes the next generation, and the state
//! only moves forward once the new config is durable on disk, so a restarted agent never
//! restores something older than what the data plane may already run. Parsing and compiling
//! run on the blocking pool so a large push does not stall the gRPC runtime.

use std::sync::Arc;

use strait_compile::{Compiler, HealthSlots};
use strait_config::FieldError;
use tokio::sync::Mutex;
use tracing::{error, info};

use crate::{
    link::{LinkServer, PublishedImage},
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
    generation: u64,
    config: String,
    slots: HealthSlots,
    /// Keeps the last generation's Maglev tables for reuse.
    compiler: Compiler,
}

/// Owns the published config and serialises applies.
#[derive(Debug)]
pub(crate) struct Publisher {
    store: Store,
    link: LinkServer,
    current: Mutex<Current>,
}

/// Compiles a persisted config again at start-up, so the agent can resend it.
pub(crate) fn restore(persisted: &Persisted) -> Result<(Arc<PublishedImage>, HealthSlots), String> {
    let config = strait_config::parse(&persisted.config).map_err(|errors| join(&errors))?;
    let mut slots = HealthSlots::from_map(persisted.health_slots.clone());
    let image = strait_compile::compile(&config, persisted.generation, &mut slots)
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
            Some((p, slots)) => Current {
                generation: p.generation,
                config: p.config,
                slots,
                compiler: Compiler::default(),
            },
            None => Current::default(),
        };
        Publisher {
            store,
            link,
            current: Mutex::new(current),
        }
    }

    /// The published config text and its generation.
    pub(crate) async fn get(&self) -> (String, u64) {
        let current = self.current.lock().await;
        (current.config.clone(), current.generation)
    }

    /// The published generation.
    pub(crate) async fn generation(&self) -> u64 {
        self.current.lock().await.generation
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
    pub(crate) async fn apply(&self, text: String) -> Outcome {
        let mut current = self.current.lock().await;
        if current.generation > 0 && current.config == text {
            return Outcome::Unchanged(current.generation);
        }
        // Past anything a data plane has run, in case the state directory was lost or restored.
        let generation = current.generation.max(self.link.max_dataplane_generation()) + 1;
        let mut slots = current.slots.clone();
        let mut compiler = std::mem::take(&mut current.compiler);
        let (compiler, compiled) = tokio::task::spawn_blocking(move || {
            let compiled = strait_config::parse(&text)
                .and_then(|config| compiler.compile(&config, generation, &mut slots))
                .map(|image| (text, image, slots));
            (compiler, compiled)
        })
        .await
        .expect("compile task");
        current.compiler = compiler;
        let (text, image, slots) = match compiled {
            Ok(c) => c,
            Err(errors) => return Outcome::Rejected(errors),
        };
        let sealed = match seal(generation, &image) {
            Ok(s) => s,
            Err(e) => return Outcome::Rejected(vec![internal(format!("sealing the image: {e}"))]),
        };
        // Persisting (an fsync of a few MiB) runs beside the publish rather than before it: the
        // answer waits for both, and an agent that dies in between never acknowledged this
        // apply, so restoring the previous config is then the right outcome.
        let persisted = Persisted {
            generation,
            config: text,
            health_slots: slots.to_map(),
        };
        let store = self.store.clone();
        let save = tokio::task::spawn_blocking(move || {
            let saved = store.save(&persisted);
            (persisted, saved)
        });
        self.link.publish(sealed);
        info!(generation, bytes = image.len(), "published");
        let (persisted, saved) = save.await.expect("persist task");
        current.generation = generation;
        current.config = persisted.config;
        current.slots = slots;
        let warning = saved.err().map(|e| {
            error!(generation, error = %e, "the published config could not be persisted");
            format!("published, but not persisted ({e}): a restarted agent would not restore it")
        });
        Outcome::Published {
            generation,
            warning,
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
