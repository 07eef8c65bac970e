//! Shared pieces of Strait's benchmark programs: percentiles and the `RESULT` line.
#![forbid(unsafe_code)]

pub mod interrupt;
pub mod l4bench;
pub mod stages;
pub mod synth;
pub mod testbed;
pub mod txgen;

/// The `q`-quantile (0..=1) of `samples` by nearest rank; `samples` need not be sorted.
pub fn quantile(samples: &[f64], q: f64) -> f64 {
    assert!(!samples.is_empty(), "no samples");
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len());
    s[rank - 1]
}

/// Arguments that run a command at niceness `target`: `nice -n ADJ`, where ADJ is relative to
/// this thread's own niceness, as nice(1) counts it.
pub fn nice_prefix(target: i32) -> [String; 3] {
    let own = rustix::process::getpriority_process(None).unwrap_or(0);
    ["nice".into(), "-n".into(), (target - own).to_string()]
}

/// The median of `samples` (the mean of the middle two for an even count); need not be sorted.
pub fn median(samples: &[f64]) -> f64 {
    assert!(!samples.is_empty(), "no samples");
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let mid = s.len() / 2;
    if s.len().is_multiple_of(2) {
        (s[mid - 1] + s[mid]) / 2.0
    } else {
        s[mid]
    }
}

/// Formats the last line of a benchmark: `RESULT name k=v k=v …`.
pub fn result_line(name: &str, pairs: &[(&str, f64)]) -> String {
    let pairs: Vec<(&str, Option<f64>)> = pairs.iter().map(|&(k, v)| (k, Some(v))).collect();
    result_line_opt(name, &pairs)
}

/// As [`result_line`], for values that may be missing: those print as `k=na`.
pub fn result_line_opt(name: &str, pairs: &[(&str, Option<f64>)]) -> String {
    let mut line = format!("RESULT {name}");
    for (k, v) in pairs {
        match v {
            Some(v) => line.push_str(&format!(" {k}={v:.3}")),
            None => line.push_str(&format!(" {k}=na")),
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), 50.0);
        assert_eq!(quantile(&v, 0.99), 99.0);
        assert_eq!(quantile(&v, 1.0), 100.0);
        assert_eq!(quantile(&[3.0], 0.99), 3.0);
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0]), 2.5);
    }

    #[test]
    fn result_line_with_missing_values() {
        assert_eq!(
            result_line_opt("x", &[("a", Some(1.0)), ("b", None)]),
            "RESULT x a=1.000 b=na"
        );
    }

    #[test]
    fn result_line_format() {
        assert_eq!(
            result_line("x", &[("a", 1.0), ("b_ms", 2.5)]),
            "RESULT x a=1.000 b_ms=2.500"
        );
    }
}
