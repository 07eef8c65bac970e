//! Compiles a validated Strait config into a table image.
//!
//! The image is what workers read: everything a lookup needs is precomputed here, off the hot
//! path. Virtual hosts hold their routes in Gateway API precedence order (see [`routes`]), so a
//! worker takes the first route that matches; Maglev tables are built here; every endpoint gets
//! its health-overlay slot from [`HealthSlots`].
//!
//! Call order: keep one [`Compiler`] (it caches Maglev tables between generations) and one
//! [`HealthSlots`] for the life of the agent; for each config, [`HealthSlots::assign`] the
//! slots of its [`endpoints`], then [`Compiler::compile`] with them. The image is parsed back
//! before it is returned, so a compiler bug surfaces as an error here and never as an image the
//! data plane refuses.
#![forbid(unsafe_code)]

mod clusters;
mod l4;
mod listeners;
mod maglev;
pub mod routes;
mod slots;

use strait_config::{Config, FieldError};
use strait_table::{Image, ImageBuilder, ImageBytes};

pub use maglev::{MaglevCache, table_size_for};
pub use slots::HealthSlots;

/// Compiles configs into images; keeps what can be reused between generations: Maglev
/// tables, and the builder's buffers (a push of the same size as the last allocates nothing
/// while building).
#[derive(Debug)]
pub struct Compiler {
    maglev: MaglevCache,
    builder: ImageBuilder,
}

impl Default for Compiler {
    fn default() -> Self {
        Compiler {
            maglev: MaglevCache::default(),
            builder: ImageBuilder::new(0),
        }
    }
}

impl Compiler {
    /// Compiles `config` as `generation`; `slots` are the health slots of its [`endpoints`], in
    /// order. On error the Maglev cache stays as it was.
    pub fn compile(
        &mut self,
        config: &Config,
        generation: u64,
        slots: &[u32],
    ) -> Result<ImageBytes, Vec<FieldError>> {
        let (cluster_slots, l4_slots) = slots.split_at(slots.len().min(cluster_endpoints(config)));
        let mut maglev = self.maglev.begin();
        let b = &mut self.builder;
        b.clear(generation);
        let mut errors = Vec::new();
        clusters::compile(b, config, cluster_slots, &mut maglev, &mut errors);
        l4::compile(b, config, l4_slots, &mut maglev, &mut errors);
        listeners::compile(b, config);
        let used = maglev.finish();
        if !errors.is_empty() {
            return Err(errors);
        }
        let image = b.to_image();
        if let Err(e) = Image::parse(image.as_bytes()) {
            return Err(vec![FieldError {
                path: "<compiler>".into(),
                reason: format!("internal error, the compiled image is invalid: {e}"),
            }]);
        }
        self.maglev.commit(used);
        Ok(image)
    }
}

/// Compiles with a fresh [`Compiler`], assigning slots from `slots` (no Maglev tables reused).
pub fn compile(
    config: &Config,
    generation: u64,
    slots: &mut HealthSlots,
) -> Result<ImageBytes, Vec<FieldError>> {
    let assigned = slots.assign(endpoints(config));
    Compiler::default().compile(config, generation, &assigned)
}

fn cluster_endpoints(config: &Config) -> usize {
    config.clusters.iter().map(|c| c.endpoints.len()).sum()
}

/// Every endpoint address of the config, in document order: cluster endpoints, then L4 backends
/// (validation has already given a backend without a port the service's). Health slots follow
/// this order.
pub fn endpoints(config: &Config) -> impl Iterator<Item = std::net::SocketAddr> + Clone + '_ {
    let clusters = config
        .clusters
        .iter()
        .flat_map(|c| c.endpoints.iter().map(|e| e.addr));
    let l4 = config.l4_services.iter().flat_map(|s| {
        s.backends
            .iter()
            .map(|b| std::net::SocketAddr::new(b.addr, b.port))
    });
    clusters.chain(l4)
}

#[cfg(test)]
mod tests;
