//! [`EalArgs`]: the EAL command line built from typed settings, so a data plane never hands
//! DPDK a combination it refuses (`--in-memory` with `--no-huge`, say).

use std::path::PathBuf;

/// Where DPDK's memory comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Memory {
    /// Hugepages from a hugetlbfs mount (`dir`, or the first one mounted).
    Hugepages {
        /// `--huge-dir`.
        dir: Option<PathBuf>,
    },
    /// Anonymous memory (`--no-huge -m MB`): CI and laptops; about half the packet rate.
    NoHuge {
        /// `-m`: megabytes reserved up front.
        megabytes: u32,
    },
}

/// The settings `rte_eal_init` is started with.
///
/// Without a file prefix the EAL keeps nothing on disk: `--in-memory` with hugepages (no
/// `rtemap_*` files left behind, no lock shared with other DPDK processes), `--no-shconf`
/// without. A file prefix asks for DPDK's shared runtime files (for its multi-process tools).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EalArgs {
    /// `argv[0]`, shown in DPDK's logs.
    pub program: String,
    /// The core of the EAL's main lcore (`-l`). The calling thread's affinity is restored
    /// after init; workers register themselves as non-EAL lcores.
    pub main_core: usize,
    /// Hugepages or not.
    pub memory: Memory,
    /// `--file-prefix`; `None` keeps no runtime files.
    pub file_prefix: Option<String>,
    /// `--vdev` devices (`driver<n>,key=value,…`).
    pub vdevs: Vec<String>,
    /// `-a` PCI devices. With none and some vdevs, PCI is not scanned at all.
    pub allow: Vec<String>,
    /// More EAL arguments, passed as they are, last.
    pub extra: Vec<String>,
}

impl EalArgs {
    /// Hugepages, main lcore on `main_core`, nothing else.
    pub fn new(program: impl Into<String>, main_core: usize) -> Self {
        EalArgs {
            program: program.into(),
            main_core,
            memory: Memory::Hugepages { dir: None },
            file_prefix: None,
            vdevs: Vec::new(),
            allow: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// Without hugepages, reserving `megabytes`.
    pub fn no_huge(mut self, megabytes: u32) -> Self {
        self.memory = Memory::NoHuge { megabytes };
        self
    }

    /// Adds a `--vdev`.
    pub fn vdev(mut self, spec: impl Into<String>) -> Self {
        self.vdevs.push(spec.into());
        self
    }

    /// The argument vector, `argv[0]` first.
    pub fn to_argv(&self) -> Vec<String> {
        let mut argv = vec![
            self.program.clone(),
            "-l".into(),
            self.main_core.to_string(),
        ];
        match &self.memory {
            Memory::Hugepages { dir } => {
                if let Some(dir) = dir {
                    argv.push("--huge-dir".into());
                    argv.push(dir.display().to_string());
                }
                if self.file_prefix.is_none() {
                    argv.push("--in-memory".into());
                }
            }
            Memory::NoHuge { megabytes } => {
                argv.extend(["--no-huge".into(), "-m".into(), megabytes.to_string()]);
                if self.file_prefix.is_none() {
                    argv.push("--no-shconf".into());
                }
            }
        }
        if let Some(prefix) = &self.file_prefix {
            argv.extend(["--file-prefix".into(), prefix.clone()]);
        }
        if self.allow.is_empty() && !self.vdevs.is_empty() {
            argv.push("--no-pci".into());
        }
        for pci in &self.allow {
            argv.extend(["-a".into(), pci.clone()]);
        }
        for vdev in &self.vdevs {
            argv.extend(["--vdev".into(), vdev.clone()]);
        }
        argv.extend(self.extra.iter().cloned());
        argv
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_huge_keeps_no_shared_files_and_skips_pci_for_vdevs() {
        let args = EalArgs::new("strait", 1)
            .no_huge(512)
            .vdev("net_null0")
            .to_argv();
        assert_eq!(
            args,
            [
                "strait",
                "-l",
                "1",
                "--no-huge",
                "-m",
                "512",
                "--no-shconf",
                "--no-pci",
                "--vdev",
                "net_null0"
            ]
        );
    }

    #[test]
    fn hugepages_run_in_memory_unless_a_prefix_is_given() {
        let mut args = EalArgs::new("strait", 0);
        args.allow.push("0000:01:00.0".into());
        args.memory = Memory::Hugepages {
            dir: Some("/dev/hugepages".into()),
        };
        assert_eq!(
            args.to_argv(),
            [
                "strait",
                "-l",
                "0",
                "--huge-dir",
                "/dev/hugepages",
                "--in-memory",
                "-a",
                "0000:01:00.0"
            ]
        );
        args.file_prefix = Some("node1".into());
        let argv = args.to_argv();
        assert!(!argv.contains(&"--in-memory".to_string()));
        assert!(argv.windows(2).any(|w| w == ["--file-prefix", "node1"]));
    }
}
