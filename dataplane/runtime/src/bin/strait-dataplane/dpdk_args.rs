//! The `--dpdk-*` flags of `strait-dataplane`.

use std::path::PathBuf;

use strait_device::DpdkOptions;

/// DPDK's EAL and port (with `--device dpdk`).
#[derive(Debug, clap::Args)]
pub struct DpdkArgs {
    /// A DPDK virtual device to create (repeatable): e.g. net_af_xdp0,iface=eth1,queue_count=2
    /// or net_af_packet0,iface=eth1,qpairs=2. Name it with --interface.
    #[arg(long = "dpdk-vdev", value_name = "SPEC")]
    vdevs: Vec<String>,
    /// A PCI device for DPDK to probe (repeatable, EAL -a). With only vdevs, PCI is not scanned.
    #[arg(long = "dpdk-allow", value_name = "PCI")]
    allow: Vec<String>,
    /// Run DPDK without hugepages (anonymous memory: CI, laptops; about half the rate).
    #[arg(long)]
    dpdk_no_huge: bool,
    /// Megabytes DPDK reserves without hugepages.
    #[arg(long, default_value_t = 512, requires = "dpdk_no_huge")]
    dpdk_memory: u32,
    /// hugetlbfs mount DPDK takes its memory from (default: the first mounted).
    #[arg(long, conflicts_with = "dpdk_no_huge")]
    dpdk_huge_dir: Option<PathBuf>,
    /// Keep DPDK's runtime files under this prefix (for DPDK's multi-process tools).
    /// Default: none kept.
    #[arg(long)]
    dpdk_file_prefix: Option<String>,
    /// Mbufs in the port's pool (default: sized from the rings and workers).
    #[arg(long)]
    dpdk_mbufs: Option<u32>,
    /// Receive frames for any destination MAC.
    #[arg(long)]
    dpdk_promiscuous: bool,
    /// Another EAL argument, passed as is (repeatable; use --dpdk-eal-arg=--flag).
    #[arg(long = "dpdk-eal-arg", value_name = "ARG", allow_hyphen_values = true)]
    eal_args: Vec<String>,
}

impl DpdkArgs {
    /// The device options; the EAL's main lcore is `main_core`.
    pub fn options(self, main_core: usize) -> DpdkOptions {
        DpdkOptions {
            vdevs: self.vdevs,
            allow: self.allow,
            no_huge: self.dpdk_no_huge,
            memory_mb: self.dpdk_memory,
            huge_dir: self.dpdk_huge_dir,
            file_prefix: self.dpdk_file_prefix,
            mbufs: self.dpdk_mbufs,
            eal_args: self.eal_args,
            main_core,
            promiscuous: self.dpdk_promiscuous,
        }
    }
}
