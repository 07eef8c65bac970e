//! Core lists (`0,2-3`) and pinning.

use rustix::thread::{CpuSet, sched_getaffinity, sched_setaffinity};

/// Parses a core list such as `0,1` or `0-3,6` and checks every core is one this process may
/// run on. The order is kept: worker `i` runs on the `i`-th core.
pub fn parse_cores(list: &str) -> Result<Vec<usize>, String> {
    let allowed = allowed_cores();
    let mut cores = Vec::new();
    for part in list.split(',').map(str::trim) {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a, b),
            None => (part, part),
        };
        let bad = || format!("{part:?} is not a core number or range (e.g. 0,1 or 0-3)");
        let lo: usize = lo.trim().parse().map_err(|_| bad())?;
        let hi: usize = hi.trim().parse().map_err(|_| bad())?;
        if lo > hi {
            return Err(bad());
        }
        for core in lo..=hi {
            if !allowed.contains(&core) {
                return Err(format!(
                    "core {core} is not available to this process (allowed: {})",
                    join(&allowed)
                ));
            }
            if cores.contains(&core) {
                return Err(format!("core {core} is listed twice"));
            }
            cores.push(core);
        }
    }
    if cores.is_empty() {
        return Err("no cores given".into());
    }
    Ok(cores)
}

/// The cores this process may run on.
pub fn allowed_cores() -> Vec<usize> {
    match sched_getaffinity(None) {
        Ok(set) => (0..CpuSet::MAX_CPU).filter(|&c| set.is_set(c)).collect(),
        Err(_) => (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect(),
    }
}

/// Pins the calling thread to one core.
pub(crate) fn pin(core: usize) -> rustix::io::Result<()> {
    let mut set = CpuSet::new();
    set.set(core);
    sched_setaffinity(None, &set)
}

fn join(cores: &[usize]) -> String {
    cores
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_ranges() {
        assert_eq!(parse_cores("0"), Ok(vec![0]));
        let all = allowed_cores();
        let last = *all.last().unwrap();
        assert_eq!(parse_cores(&format!("0-{last}")).unwrap().len(), all.len());
        assert!(parse_cores("0,0").unwrap_err().contains("twice"));
        assert!(parse_cores("9999").unwrap_err().contains("not available"));
        assert!(parse_cores("a").unwrap_err().contains("not a core"));
        assert!(parse_cores("3-1").is_err());
    }
}
