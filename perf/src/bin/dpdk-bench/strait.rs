//! The Strait side: the data plane's DPDK port and pipeline on `net_ring0`, in this process.

use std::time::{Duration, Instant};

use strait_device::{AnyPort, DeviceConfig, Port, Verdict, open};
use strait_fastpath::{Action, Pipeline};
use strait_perf::l4bench::{self, FRAME_LEN, healthy};
use strait_table::{Image, ImageBytes};

use crate::{Args, BURST, RuntimeDir};

/// The Strait side. Fields drop in order: the port (and with it the EAL) before its runtime
/// directory is removed.
pub(crate) struct Strait {
    pub(crate) port: AnyPort,
    pub(crate) pipeline: Pipeline,
    image: Image<ImageBytes>,
    frames: Vec<[u8; FRAME_LEN]>,
    /// The flow whose client frame goes out next.
    next: usize,
    /// The pipeline's clock (ns); it runs only while the pipeline does.
    now: u64,
    /// Frames the pipeline did not forward (must stay 0).
    pub(crate) not_tx: u64,
    _runtime: RuntimeDir,
}

impl Strait {
    /// Opens `net_ring0` through the data plane's device layer, builds the pipeline and
    /// primes the ring with `in_flight` client frames.
    pub(crate) fn start(args: &Args, prefix: &str) -> Strait {
        let runtime = RuntimeDir::new(prefix);
        let mut config = DeviceConfig::dpdk_vdev("net_ring0", args.core);
        config.dpdk.no_huge = !args.huge;
        config.dpdk.memory_mb = 512;
        config.dpdk.mbufs = Some(16384);
        config.dpdk.eal_args = vec![format!("--file-prefix={prefix}")];
        let mut port = open(&config, 1)
            .unwrap_or_else(|e| panic!("opening net_ring0: {e}"))
            .pop()
            .expect("one port");
        let frames: Vec<[u8; FRAME_LEN]> = (0..args.flows)
            .map(|i| l4bench::frame(i).try_into().expect("60-byte frame"))
            .collect();
        for f in frames.iter().cycle().take(args.in_flight) {
            assert!(port.send(f), "priming the ring: no room");
        }
        port.flush();
        assert_eq!(port.stats().tx, args.in_flight as u64, "primed");
        Strait {
            port,
            pipeline: l4bench::pipeline(),
            image: l4bench::image(),
            next: args.in_flight % frames.len(),
            frames,
            now: 1_000_000_000,
            not_tx: 0,
            _runtime: runtime,
        }
    }

    /// One burst: receive, process, write the next flow's frame, send. Returns the frames.
    #[inline]
    fn burst(&mut self) -> usize {
        let Strait {
            port,
            pipeline,
            image,
            frames,
            next,
            now,
            not_tx,
            ..
        } = self;
        pipeline.begin_burst(Some(&*image), *now);
        let n = port.rx_burst_ahead(
            BURST,
            pipeline,
            |pipeline, frame| pipeline.ahead(frame),
            |pipeline, buf, len| {
                if !matches!(
                    pipeline.process(Some(&*image), buf, len, false, &healthy),
                    Action::Tx(_)
                ) {
                    *not_tx += 1;
                }
                buf[..FRAME_LEN].copy_from_slice(&frames[*next]);
                // The frames are read in order, but a burst's worth at a time with the
                // pipeline's work in between: ask for the line (and page) two bursts on.
                if let Some(later) = frames.get(*next + 2 * BURST) {
                    strait_cpu::prefetch(later);
                }
                *next += 1;
                if *next == frames.len() {
                    *next = 0;
                }
                Verdict::Tx(FRAME_LEN)
            },
        );
        pipeline.end_burst();
        port.flush();
        n
    }

    /// Forwards for `d`; returns the frames and the seconds it took.
    pub(crate) fn run_for(&mut self, d: Duration) -> (u64, f64) {
        let (start, base) = (Instant::now(), self.now);
        let mut frames = 0u64;
        loop {
            let elapsed = start.elapsed();
            self.now = base + elapsed.as_nanos() as u64;
            if elapsed >= d {
                return (frames, elapsed.as_secs_f64());
            }
            frames += self.burst() as u64;
        }
    }

    /// Forwards until `frames` more frames went through.
    pub(crate) fn run_frames(&mut self, frames: u64) {
        let (start, base) = (Instant::now(), self.now);
        let mut done = 0u64;
        while done < frames {
            self.now = base + start.elapsed().as_nanos() as u64;
            done += self.burst() as u64;
        }
    }

    /// Frames in the ring: sent minus received, by the device's counters.
    pub(crate) fn circulating(&self) -> u64 {
        match &self.port {
            AnyPort::Dpdk(p) => {
                let s = p.device().stats();
                s.opackets - s.ipackets
            }
            _ => unreachable!("a DPDK port"),
        }
    }
}
