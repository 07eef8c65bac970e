//! A CPU budget: one cgroup per system under test, capped at `quota/period` of a core.
//!
//! Order: [`Budget::create`] makes `strait-bench-NAME-PID` (cgroup v2 when
//! `/sys/fs/cgroup/cgroup.controllers` exists: `cpu.max`; else v1 under `/sys/fs/cgroup/cpu`:
//! `cpu.cfs_quota_us` and `cpu.cfs_period_us`); [`Budget::procs_file`] is what a launcher
//! writes its own PID into before it execs the proxy, so every process the proxy forks is
//! inside from the start; [`Budget::adopt`] moves a running process (all its threads) in.
//! [`Budget::sample`] reads the CPU time its processes used and how many periods were
//! throttled, for the report.
//!
//! Dropping it stops whatever is still inside (the processes this benchmark put there, by
//! PID: SIGTERM, then SIGKILL) and removes the group, so an error or Ctrl-C leaves no group.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    thread,
    time::{Duration, Instant},
};

/// See the module documentation.
#[derive(Debug)]
pub struct Budget {
    dir: PathBuf,
    v2: bool,
}

/// CPU used by a budget's processes and its throttling, cumulative.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sample {
    /// CPU seconds of every process in the group.
    pub cpu_s: f64,
    /// Enforcement periods that ran.
    pub periods: u64,
    /// Periods in which the group hit its quota.
    pub throttled: u64,
    /// Times a thread of the group was given the CPU (each wake-up or preemption ends one).
    pub slices: u64,
    /// Seconds the group's threads were runnable but waiting for the CPU.
    pub wait_s: f64,
}

impl Budget {
    /// Creates the group for `name` with `quota_us` of CPU time every `period_us`.
    pub fn create(name: &str, quota_us: u64, period_us: u64) -> Result<Budget, String> {
        let v2 = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
        let root = if v2 {
            // The cpu controller must be on for the root's children (it usually is).
            let _ = fs::write("/sys/fs/cgroup/cgroup.subtree_control", "+cpu");
            PathBuf::from("/sys/fs/cgroup")
        } else {
            PathBuf::from("/sys/fs/cgroup/cpu")
        };
        let dir = root.join(format!("strait-bench-{name}-{}", std::process::id()));
        fs::create_dir(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        // From here on, Drop removes the group.
        let budget = Budget { dir, v2 };
        if v2 {
            budget.write("cpu.max", &format!("{quota_us} {period_us}"))?;
        } else {
            budget.write("cpu.cfs_period_us", &period_us.to_string())?;
            budget.write("cpu.cfs_quota_us", &quota_us.to_string())?;
        }
        Ok(budget)
    }

    fn write(&self, file: &str, value: &str) -> Result<(), String> {
        let path = self.dir.join(file);
        fs::write(&path, value).map_err(|e| format!("writing {value} to {}: {e}", path.display()))
    }

    /// The file a process writes its PID into to join the group.
    pub fn procs_file(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }

    /// Moves process `pid` (with all its threads) into the group.
    pub fn adopt(&self, pid: u32) -> Result<(), String> {
        self.write("cgroup.procs", &pid.to_string())
    }

    /// The processes in the group now.
    pub fn pids(&self) -> Vec<u32> {
        fs::read_to_string(self.procs_file())
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// CPU time and throttling so far.
    pub fn sample(&self) -> Sample {
        let stat = fs::read_to_string(self.dir.join("cpu.stat")).unwrap_or_default();
        let field = |key: &str| {
            stat.lines()
                .find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
                .unwrap_or(0)
        };
        let pids = self.pids();
        let (wait_ns, slices) = pids
            .iter()
            .flat_map(|&pid| threads(pid))
            .map(|tid| schedstat(tid.0, tid.1))
            .fold((0, 0), |(w, n), (dw, dn)| (w + dw, n + dn));
        Sample {
            cpu_s: pids.into_iter().map(cpu_seconds).sum(),
            periods: field("nr_periods "),
            throttled: field("nr_throttled "),
            slices,
            wait_s: wait_ns as f64 / 1e9,
        }
    }
}

impl Drop for Budget {
    fn drop(&mut self) {
        // Processes the benchmark put here and did not stop yet (its guards normally have).
        let mut signal = "-TERM";
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let pids = self.pids();
            if pids.is_empty() {
                break;
            }
            if Instant::now() > deadline {
                eprintln!("cgroup {}: {pids:?} would not stop", self.dir.display());
                break;
            }
            for pid in pids {
                let _ = Command::new("kill")
                    .arg(signal)
                    .arg(pid.to_string())
                    .status();
            }
            thread::sleep(Duration::from_millis(200));
            signal = "-KILL";
        }
        // The group is empty once its last process is reaped; retry briefly.
        for _ in 0..50 {
            if fs::remove_dir(&self.dir).is_ok() || !self.dir.exists() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        eprintln!(
            "could not remove cgroup {} (v2: {})",
            self.dir.display(),
            self.v2
        );
    }
}

/// Clock ticks per second of `/proc/PID/stat` times (`getconf CLK_TCK`, 100 on Linux).
fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// User plus system CPU seconds of process `pid` (all its threads), 0 if it is gone.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces, but ends at the last ')'):
    // state is field 3, utime 14, stime 15.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / clock_ticks()
}

/// The threads of process `pid`, as `(pid, tid)`.
fn threads(pid: u32) -> Vec<(u32, u32)> {
    fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .map(|tid| (pid, tid))
        .collect()
}

/// Run-queue wait (ns) and time slices of thread `tid` of `pid` so far, 0 if it is gone
/// (`schedstat`: time on the CPU, time waiting for it, slices run).
fn schedstat(pid: u32, tid: u32) -> (u64, u64) {
    let stat = fs::read_to_string(format!("/proc/{pid}/task/{tid}/schedstat")).unwrap_or_default();
    let mut fields = stat
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0));
    (fields.next().unwrap_or(0), fields.next().unwrap_or(0))
}
