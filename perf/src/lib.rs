//! Shared pieces of Strait's benchmark programs: percentiles and the `RESULT` line.
#![forbid(unsafe_code)]

pub mod stages;
pub mod synth;

/// The `q`-quantile (0..=1) of `samples` by nearest rank; `samples` need not be sorted.
pub fn quantile(samples: &[f64], q: f64) -> f64 {
    assert!(!samples.is_empty(), "no samples");
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len());
    s[rank - 1]
}

/// Formats the last line of a benchmark: `RESULT name k=v k=v …`.
pub fn result_line(name: &str, pairs: &[(&str, f64)]) -> String {
    let mut line = format!("RESULT {name}");
    for (k, v) in pairs {
        line.push_str(&format!(" {k}={v:.3}"));
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
    fn result_line_format() {
        assert_eq!(
            result_line("x", &[("a", 1.0), ("b_ms", 2.5)]),
            "RESULT x a=1.000 b_ms=2.500"
        );
    }
}
