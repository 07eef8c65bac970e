//! Where a push's time goes: each stage of the apply pipeline timed in-process.

use std::time::Instant;

use strait_compile::{Compiler, HealthSlots};
use strait_config::Config;

/// The stages after parsing, in the order [`after_parse`] times them.
const AFTER_PARSE: [&str; 4] = ["assign_slots", "compile", "seal", "dataplane_load"];

/// Median milliseconds of each stage over `runs` runs on `text`, each a whole parse.
pub fn breakdown(text: &str, runs: usize) -> Vec<(&'static str, f64)> {
    let mut times: Vec<Vec<f64>> = Vec::new();
    let mut compiler = Compiler::default();
    let mut slots = HealthSlots::default();
    for generation in 1..=runs as u64 {
        let t = Instant::now();
        let raw = strait_config::parse_raw(text).expect("parses");
        let parse = ms(t);
        let t = Instant::now();
        let config = strait_config::validate(raw).expect("valid");
        let validate = ms(t);
        let rest = after_parse(&config, generation, &mut compiler, &mut slots);
        times.push([parse, validate].into_iter().chain(rest).collect());
    }
    medians(&["parse", "validate"], &times)
}

/// Median milliseconds of each stage of a warm push, as the agent does it: `texts[0]` is
/// applied first, then each further text (each changing a little) in turn, reusing the parse
/// cache, the health slots and the Maglev tables of the push before.
pub fn warm_breakdown(texts: &[String]) -> Vec<(&'static str, f64)> {
    let mut times: Vec<Vec<f64>> = Vec::new();
    let mut cache = strait_config::ParseCache::default();
    let mut compiler = Compiler::default();
    let mut slots = HealthSlots::default();
    for (generation, text) in (1u64..).zip(texts) {
        let t = Instant::now();
        let config = cache.parse(text).expect("valid");
        let parse = ms(t);
        let rest = after_parse(&config, generation, &mut compiler, &mut slots);
        drop(cache.keep(config));
        if generation > 1 {
            times.push([parse].into_iter().chain(rest).collect());
        }
    }
    medians(&["parse"], &times)
}

/// Times the [`AFTER_PARSE`] stages of publishing `config` as `generation`.
fn after_parse(
    config: &Config,
    generation: u64,
    compiler: &mut Compiler,
    slots: &mut HealthSlots,
) -> [f64; 4] {
    let t = Instant::now();
    let ordered = slots.assign(strait_compile::endpoints(config));
    let assign = ms(t);
    let t = Instant::now();
    let image = compiler
        .compile(config, generation, &ordered)
        .expect("compiles");
    let compile = ms(t);
    let t = Instant::now();
    let fd = strait_shm::seal_image(&image, "stages").expect("seal");
    let seal = ms(t);
    let t = Instant::now();
    let mapped = strait_shm::MappedImage::from_fd(fd).expect("map");
    strait_table::Image::parse(mapped).expect("valid image");
    let load = ms(t);
    [assign, compile, seal, load]
}

/// The median of each column of `times`, named by `first` and then [`AFTER_PARSE`].
fn medians(first: &[&'static str], times: &[Vec<f64>]) -> Vec<(&'static str, f64)> {
    first
        .iter()
        .chain(&AFTER_PARSE)
        .enumerate()
        .map(|(i, name)| {
            let column: Vec<f64> = times.iter().map(|t| t[i]).collect();
            (*name, crate::quantile(&column, 0.5))
        })
        .collect()
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}
