//! The `dpdk` port over `strait-dpdk` queues.

use strait_dpdk::{Eal, EalArgs, Memory, Port as EthPort, PortConfig, RxQueue, TxQueue};
use tracing::info;

use crate::{DeviceConfig, DeviceError, Port, PortStats, Verdict};

/// One queue pair of a DPDK port, owned by one worker.
#[derive(Debug)]
pub struct DpdkPort {
    rx: RxQueue,
    tx: TxQueue,
    port: EthPort,
    stats: PortStats,
}

fn dpdk_error(interface: &str, e: strait_dpdk::DpdkError) -> DeviceError {
    DeviceError::Dpdk {
        interface: interface.to_owned(),
        reason: e.to_string(),
    }
}

/// Starts the EAL and opens one queue pair per port. See the module documentation.
pub fn open(config: &DeviceConfig, ports: usize) -> Result<Vec<DpdkPort>, DeviceError> {
    let opts = &config.dpdk;
    let interface = config.interface.as_str();
    let err = |e| dpdk_error(interface, e);
    let args = EalArgs {
        program: "strait-dataplane".into(),
        main_core: opts.main_core,
        memory: if opts.no_huge {
            Memory::NoHuge {
                megabytes: opts.memory_mb,
            }
        } else {
            Memory::Hugepages {
                dir: opts.huge_dir.clone(),
            }
        },
        file_prefix: opts.file_prefix.clone(),
        vdevs: opts.vdevs.clone(),
        allow: opts.allow.clone(),
        extra: opts.eal_args.clone(),
    };
    let eal = Eal::init(&args).map_err(err)?;
    let id =
        strait_dpdk::find_port(&eal, (!interface.is_empty()).then_some(interface)).map_err(err)?;
    let queues = u16::try_from(ports).map_err(|_| DeviceError::Unsupported {
        device: "dpdk",
        interface: interface.to_owned(),
        reason: format!("{ports} workers: too many queues"),
    })?;
    let clamp = |n: u32| u16::try_from(n).unwrap_or(u16::MAX);
    let (port, pairs) = EthPort::open(
        &eal,
        id,
        &PortConfig {
            queues,
            rx_desc: clamp(config.rings.rx),
            tx_desc: clamp(config.rings.tx),
            mbufs: opts.mbufs,
            promiscuous: opts.promiscuous,
        },
    )
    .map_err(err)?;
    let info = port.info();
    let link = port.link();
    info!(
        port = info.id,
        name = %info.name,
        driver = %info.driver,
        queues,
        rss = info.rss_offloads != 0,
        link_up = link.up,
        speed_mbps = link.speed_mbps,
        mbufs = port.pool().available(),
        "DPDK port started"
    );
    Ok(pairs
        .into_iter()
        .map(|(rx, tx)| DpdkPort {
            rx,
            tx,
            port: port.clone(),
            stats: PortStats::default(),
        })
        .collect())
}

impl DpdkPort {
    /// The port's MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.port.info().mac
    }

    /// The DPDK port behind this queue pair (link, counters, extended stats).
    pub fn device(&self) -> &EthPort {
        &self.port
    }
}

/// Counts what a transmit flush did.
fn count(stats: &mut PortStats, f: strait_dpdk::Flushed) {
    stats.tx += f.sent as u64;
    stats.tx_full += f.dropped as u64;
}

impl Port for DpdkPort {
    #[inline]
    fn rx_burst<F>(&mut self, max: usize, mut f: F) -> usize
    where
        F: FnMut(&mut [u8], usize) -> Verdict,
    {
        self.rx_burst_ahead(max, &mut (), |_, _| {}, |_, buf, len| f(buf, len))
    }

    #[inline]
    fn rx_burst_ahead<C, A, F>(&mut self, max: usize, cx: &mut C, ahead: A, mut f: F) -> usize
    where
        A: FnMut(&mut C, &[u8]),
        F: FnMut(&mut C, &mut [u8], usize) -> Verdict,
    {
        strait_dpdk::register_thread();
        let (tx, stats) = (&mut self.tx, &mut self.stats);
        let n = self.rx.rx_burst_ahead(max, cx, ahead, |cx, mut frame| {
            if !frame.is_contiguous() {
                stats.rx_dropped += 1;
                return;
            }
            let len = frame.len();
            if let Verdict::Tx(n) = f(cx, frame.room_mut(), len)
                && frame.set_len(n)
            {
                count(stats, tx.push(frame.into_mbuf()));
            }
        });
        self.stats.rx += n as u64;
        n
    }

    #[inline]
    fn send(&mut self, frame: &[u8]) -> bool {
        match self.tx.push_copy(frame) {
            Some(flushed) => {
                count(&mut self.stats, flushed);
                true
            }
            None => {
                self.stats.tx_full += 1;
                false
            }
        }
    }

    #[inline]
    fn flush(&mut self) {
        count(&mut self.stats, self.tx.flush());
    }

    fn stats(&self) -> PortStats {
        let mut stats = self.stats;
        if self.rx.queue() == 0 {
            // The device counts drops per port: queue 0 reports them.
            let dev = self.port.stats();
            stats.rx_dropped += dev.imissed + dev.rx_nombuf;
        }
        stats
    }
}
