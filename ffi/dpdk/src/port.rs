//! Ethernet ports: find one, configure it with one RX/TX queue pair per worker, and hand
//! each worker its [`RxQueue`] and [`TxQueue`].
//!
//! # Invariants
//! * Each queue id has exactly one `RxQueue` and one `TxQueue` value (neither is `Clone`
//!   nor `Sync`), so a DPDK queue is only ever polled by one thread: DPDK's fast path has no
//!   locks.
//! * A port is stopped and closed when its last queue or [`Port`] handle drops, and only
//!   then is its mempool freed (the port's rings hold mbufs until it stops).

use std::{
    ffi::{CStr, c_char},
    mem::MaybeUninit,
    ptr::NonNull,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
};

use dpdk_sys::rte_mbuf;

use crate::{
    DpdkError, Eal, Mbuf, Mempool, error, mbuf,
    received::{Header, Received},
};

/// How to set a port up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortConfig {
    /// RX/TX queue pairs: one per worker.
    pub queues: u16,
    /// Receive descriptors per queue (the driver may round them).
    pub rx_desc: u16,
    /// Transmit descriptors per queue.
    pub tx_desc: u16,
    /// Mbufs in the port's pool; `None` sizes it from the rings.
    pub mbufs: Option<u32>,
    /// Receive frames for any MAC.
    pub promiscuous: bool,
}

impl Default for PortConfig {
    fn default() -> Self {
        PortConfig {
            queues: 1,
            rx_desc: 1024,
            tx_desc: 1024,
            mbufs: None,
            promiscuous: false,
        }
    }
}

/// Per-lcore mempool cache size.
const MBUF_CACHE: u32 = 256;
/// The most frames one burst call moves.
pub const MAX_BURST: usize = 64;

/// What a port is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortInfo {
    /// Port id.
    pub id: u16,
    /// Its name: the PCI address or the vdev name.
    pub name: String,
    /// The driver.
    pub driver: String,
    /// Its MAC address.
    pub mac: [u8; 6],
    /// NUMA socket (`-1`: unknown).
    pub socket: i32,
    /// Queue limits.
    pub max_rx_queues: u16,
    /// Queue limits.
    pub max_tx_queues: u16,
    /// Hash functions the device can use for RSS (`0`: no RSS).
    pub rss_offloads: u64,
    /// Bytes of RSS key the device takes (`0`: it does not say).
    pub rss_key_size: u8,
}

/// Link state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    /// Carrier up.
    pub up: bool,
    /// Speed in Mb/s (`0`: unknown).
    pub speed_mbps: u32,
    /// Full duplex.
    pub full_duplex: bool,
}

/// Port counters from the device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EthStats {
    /// Frames received.
    pub ipackets: u64,
    /// Frames sent.
    pub opackets: u64,
    /// Bytes received.
    pub ibytes: u64,
    /// Bytes sent.
    pub obytes: u64,
    /// Frames the device dropped for lack of receive descriptors.
    pub imissed: u64,
    /// Receive errors.
    pub ierrors: u64,
    /// Transmit errors.
    pub oerrors: u64,
    /// Receive failures for lack of mbufs.
    pub rx_nombuf: u64,
}

/// The ports there are, as `(id, name)`.
pub fn ports(_eal: &Eal) -> Vec<(u16, String)> {
    (0..u16::try_from(dpdk_sys::RTE_MAX_ETHPORTS).expect("few ports"))
        .filter(|&id| {
            // SAFETY: a validity check on any id.
            (unsafe { dpdk_sys::rte_eth_dev_is_valid_port(id) }) == 1
        })
        .map(|id| (id, port_name(id)))
        .collect()
}

/// The port named `wanted` (its name, or its id in decimal), or the first port if `None`.
pub fn find_port(eal: &Eal, wanted: Option<&str>) -> Result<u16, DpdkError> {
    let all = ports(eal);
    let found = match wanted {
        None => all.first().map(|&(id, _)| id),
        Some(w) => all
            .iter()
            .find(|(id, name)| name == w || id.to_string() == w)
            .map(|&(id, _)| id),
    };
    found.ok_or_else(|| DpdkError::NoPort {
        wanted: wanted.map_or_else(|| "to drive".to_owned(), |w| format!("{w:?}")),
        available: if all.is_empty() {
            "none".into()
        } else {
            all.iter()
                .map(|(id, name)| format!("{id}={name}"))
                .collect::<Vec<_>>()
                .join(", ")
        },
        probe: eal.init_failures(),
    })
}

fn port_name(id: u16) -> String {
    let mut buf = [0 as c_char; 64];
    // SAFETY: buf is larger than RTE_ETH_NAME_MAX_LEN and NUL-terminated by DPDK on success.
    let rc = unsafe { dpdk_sys::rte_eth_dev_get_name_by_port(id, buf.as_mut_ptr()) };
    if rc != 0 {
        return format!("port{id}");
    }
    // SAFETY: NUL-terminated above.
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// What a port is. Errors if the id is not a port.
pub fn port_info(id: u16) -> Result<PortInfo, DpdkError> {
    let name = port_name(id);
    let mut info = MaybeUninit::<dpdk_sys::rte_eth_dev_info>::zeroed();
    // SAFETY: info is a writable rte_eth_dev_info.
    let rc = unsafe { dpdk_sys::rte_eth_dev_info_get(id, info.as_mut_ptr()) };
    check(rc, id, &name, "rte_eth_dev_info_get")?;
    // SAFETY: filled by DPDK on success (and zeroed before).
    let info = unsafe { info.assume_init() };
    let driver = if info.driver_name.is_null() {
        String::new()
    } else {
        // SAFETY: a static NUL-terminated string of the driver.
        unsafe { CStr::from_ptr(info.driver_name) }
            .to_string_lossy()
            .into_owned()
    };
    let mut mac = dpdk_sys::rte_ether_addr::default();
    // SAFETY: mac is a writable rte_ether_addr.
    let rc = unsafe { dpdk_sys::rte_eth_macaddr_get(id, &mut mac) };
    check(rc, id, &name, "rte_eth_macaddr_get")?;
    Ok(PortInfo {
        id,
        name,
        driver,
        mac: mac.addr_bytes,
        // SAFETY: a lookup on a valid port.
        socket: unsafe { dpdk_sys::rte_eth_dev_socket_id(id) },
        max_rx_queues: info.max_rx_queues,
        max_tx_queues: info.max_tx_queues,
        rss_offloads: info.flow_type_rss_offloads,
        rss_key_size: info.hash_key_size,
    })
}

fn check(rc: i32, port: u16, name: &str, what: &str) -> Result<(), DpdkError> {
    if rc < 0 {
        Err(DpdkError::Port {
            port,
            name: name.to_owned(),
            what: what.to_owned(),
            reason: error::strerror(-rc),
        })
    } else {
        Ok(())
    }
}

/// A started port. Queues and this handle share it; it stops when the last goes.
#[derive(Clone, Debug)]
pub struct Port(Arc<PortInner>);

#[derive(Debug)]
struct PortInner {
    info: PortInfo,
    pool: Mempool,
}

impl Drop for PortInner {
    fn drop(&mut self) {
        // SAFETY: no queue handle is left (each holds this), so no thread polls the port.
        unsafe {
            dpdk_sys::rte_eth_dev_stop(self.info.id);
            dpdk_sys::rte_eth_dev_close(self.info.id);
        }
    }
}

impl Port {
    /// Configures and starts port `id`: `config.queues` RX/TX queue pairs, RSS over IP,
    /// TCP and UDP with a symmetric key where the device hashes (so both directions of a
    /// flow meet on one queue) and more than one queue is asked for.
    pub fn open(
        eal: &Eal,
        id: u16,
        config: &PortConfig,
    ) -> Result<(Port, Vec<(RxQueue, TxQueue)>), DpdkError> {
        let info = port_info(id)?;
        let name = info.name.clone();
        let fail = |what: String, reason: String| DpdkError::Port {
            port: id,
            name: name.clone(),
            what,
            reason,
        };
        let queues = config.queues.max(1);
        if queues > info.max_rx_queues || queues > info.max_tx_queues {
            return Err(fail(
                format!("{queues} queue pairs (one per worker)"),
                format!(
                    "the device has at most {} RX and {} TX queues: use fewer cores, or give \
                     the vdev more queues (qpairs=, queue_count=)",
                    info.max_rx_queues, info.max_tx_queues
                ),
            ));
        }
        let mut conf = dpdk_sys::rte_eth_conf::default();
        let rss_hf = dpdk_sys_rss() & info.rss_offloads;
        let mut key = (queues > 1 && rss_hf != 0).then(|| symmetric_rss_key(info.rss_key_size));
        if let Some(key) = &mut key {
            conf.rxmode.mq_mode = dpdk_sys::rte_eth_rx_mq_mode::RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_key = key.as_mut_ptr();
            conf.rx_adv_conf.rss_conf.rss_key_len = u8::try_from(key.len()).unwrap_or(40);
            conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
        }
        // SAFETY: conf (and the key it points at) live across the call; DPDK copies them.
        let rc = unsafe { dpdk_sys::rte_eth_dev_configure(id, queues, queues, &conf) };
        check(rc, id, &name, "rte_eth_dev_configure")?;
        let (mut rx_desc, mut tx_desc) = (config.rx_desc, config.tx_desc);
        // SAFETY: the port is configured; the counts are adjusted in place.
        let rc =
            unsafe { dpdk_sys::rte_eth_dev_adjust_nb_rx_tx_desc(id, &mut rx_desc, &mut tx_desc) };
        check(rc, id, &name, "rte_eth_dev_adjust_nb_rx_tx_desc")?;
        let per_queue = u32::from(rx_desc) + u32::from(tx_desc) + 2 * MAX_BURST as u32;
        let mbufs = config.mbufs.unwrap_or_else(|| {
            // Rings, bursts in flight and caches, rounded to 2^n - 1 (DPDK's best size).
            let need = u32::from(queues) * (per_queue + MBUF_CACHE) + 1024;
            need.next_power_of_two().max(8192) - 1
        });
        // A closed vdev gives its port id back before its pool is freed, so a port opened
        // meanwhile can get the same id: the pool's name carries a per-process sequence
        // number as well (at most 27 bytes: "strait-port65535.4294967295").
        static POOLS: AtomicU32 = AtomicU32::new(0);
        let seq = POOLS.fetch_add(1, Ordering::Relaxed);
        let pool = Mempool::new(
            eal,
            &format!("strait-port{id}.{seq}"),
            mbufs,
            MBUF_CACHE,
            info.socket,
        )?;
        let socket = u32::try_from(info.socket).unwrap_or(dpdk_sys::SOCKET_ID_ANY as u32);
        for q in 0..queues {
            // SAFETY: configured port, valid pool; a null conf means the driver's defaults.
            let rc = unsafe {
                dpdk_sys::rte_eth_rx_queue_setup(
                    id,
                    q,
                    rx_desc,
                    socket,
                    std::ptr::null(),
                    pool.as_ptr(),
                )
            };
            check(rc, id, &name, &format!("rx queue {q} setup"))?;
            // SAFETY: as above.
            let rc = unsafe {
                dpdk_sys::rte_eth_tx_queue_setup(id, q, tx_desc, socket, std::ptr::null())
            };
            check(rc, id, &name, &format!("tx queue {q} setup"))?;
        }
        // SAFETY: every queue is set up.
        let rc = unsafe { dpdk_sys::rte_eth_dev_start(id) };
        check(rc, id, &name, "rte_eth_dev_start")?;
        let port = Port(Arc::new(PortInner { info, pool }));
        if config.promiscuous {
            // SAFETY: a started port.
            let rc = unsafe { dpdk_sys::rte_eth_promiscuous_enable(id) };
            check(rc, id, &name, "rte_eth_promiscuous_enable")?;
        }
        let queues = (0..queues)
            .map(|q| {
                (
                    RxQueue {
                        port: port.0.clone(),
                        queue: q,
                    },
                    TxQueue {
                        port: port.0.clone(),
                        queue: q,
                        pending: [std::ptr::null_mut(); MAX_BURST],
                        len: 0,
                    },
                )
            })
            .collect();
        Ok((port, queues))
    }

    /// What the port is.
    pub fn info(&self) -> &PortInfo {
        &self.0.info
    }

    /// The port's mempool.
    pub fn pool(&self) -> &Mempool {
        &self.0.pool
    }

    /// Link state, without waiting.
    pub fn link(&self) -> Link {
        let mut link = dpdk_sys::rte_eth_link::default();
        // SAFETY: a started port; link is writable.
        unsafe { dpdk_sys::rte_eth_link_get_nowait(self.0.info.id, &mut link) };
        Link {
            up: u32::from(link.link_status()) == dpdk_sys::RTE_ETH_LINK_UP,
            speed_mbps: link.link_speed,
            full_duplex: u32::from(link.link_duplex()) == dpdk_sys::RTE_ETH_LINK_FULL_DUPLEX,
        }
    }

    /// The device's counters.
    pub fn stats(&self) -> EthStats {
        stats(self.0.info.id)
    }

    /// Extended statistics, by name.
    pub fn xstats(&self) -> Vec<(String, u64)> {
        xstats(self.0.info.id)
    }
}

fn dpdk_sys_rss() -> u64 {
    // SAFETY: returns a constant.
    unsafe { dpdk_sys::strait_rss_hf_ip_tcp_udp() }
}

/// A Toeplitz key of repeated `6d 5a`: it hashes (a, b) and (b, a) alike, so a flow's two
/// directions land on one queue. Sized as the device asks (40 bytes when it does not say).
fn symmetric_rss_key(hash_key_size: u8) -> Vec<u8> {
    let size = match hash_key_size {
        0 => 40,
        n => usize::from(n),
    };
    (0..size)
        .map(|i| if i % 2 == 0 { 0x6d } else { 0x5a })
        .collect()
}

fn stats(id: u16) -> EthStats {
    let mut s = dpdk_sys::rte_eth_stats::default();
    // SAFETY: s is writable; left zero on failure.
    unsafe { dpdk_sys::rte_eth_stats_get(id, &mut s) };
    EthStats {
        ipackets: s.ipackets,
        opackets: s.opackets,
        ibytes: s.ibytes,
        obytes: s.obytes,
        imissed: s.imissed,
        ierrors: s.ierrors,
        oerrors: s.oerrors,
        rx_nombuf: s.rx_nombuf,
    }
}

fn xstats(id: u16) -> Vec<(String, u64)> {
    // SAFETY: a null array asks for the count.
    let n = unsafe { dpdk_sys::rte_eth_xstats_get(id, std::ptr::null_mut(), 0) };
    let Ok(n) = usize::try_from(n) else {
        return Vec::new();
    };
    let mut names = vec![dpdk_sys::rte_eth_xstat_name::default(); n];
    let mut values = vec![dpdk_sys::rte_eth_xstat::default(); n];
    let cap = u32::try_from(n).unwrap_or(u32::MAX);
    // SAFETY: both arrays hold `n` entries.
    let got_names = unsafe { dpdk_sys::rte_eth_xstats_get_names(id, names.as_mut_ptr(), cap) };
    // SAFETY: as above.
    let got = unsafe { dpdk_sys::rte_eth_xstats_get(id, values.as_mut_ptr(), cap) };
    if got_names < 0 || got < 0 {
        return Vec::new();
    }
    values
        .iter()
        .take(usize::try_from(got).unwrap_or(0).min(n))
        .filter_map(|v| {
            let name = names.get(usize::try_from(v.id).ok()?)?;
            // SAFETY: DPDK NUL-terminates names within their fixed array.
            let name = unsafe { CStr::from_ptr(name.name.as_ptr()) };
            Some((name.to_string_lossy().into_owned(), v.value))
        })
        .collect()
}

/// The receive side of one queue. See the module invariants.
#[derive(Debug)]
pub struct RxQueue {
    port: Arc<PortInner>,
    queue: u16,
}

// SAFETY: a queue may move to the thread that polls it; it is not Sync, so only that
// thread polls it.
unsafe impl Send for RxQueue {}

impl RxQueue {
    /// Receives up to `max` (at most [`MAX_BURST`]) frames and hands each to `f`.
    #[inline]
    pub fn rx_burst<F>(&mut self, max: usize, mut f: F) -> usize
    where
        F: FnMut(Mbuf<'_>),
    {
        self.rx_burst_ahead(max, &mut (), |_, _| {}, |_, r| f(r.into_mbuf()))
    }

    /// [`RxQueue::rx_burst`], first showing each received frame's data to `ahead`, in order,
    /// before any frame goes to `f` (both with `cx`): a caller can start the table lookups of
    /// the whole burst before it processes the first frame.
    ///
    /// Three passes over the burst: the first asks for the cache lines of every frame (each
    /// mbuf's header and the line its frame starts on), so the burst waits for its buffers
    /// once rather than once per frame; the second reads each header once and shows the frame
    /// to `ahead`; the third hands each frame to `f` as a [`Received`], which does not read
    /// the header again.
    #[inline]
    pub fn rx_burst_ahead<C, A, F>(
        &mut self,
        max: usize,
        cx: &mut C,
        mut ahead: A,
        mut f: F,
    ) -> usize
    where
        A: FnMut(&mut C, &[u8]),
        F: FnMut(&mut C, Received<'_>),
    {
        let mut raw = [std::ptr::null_mut::<rte_mbuf>(); MAX_BURST];
        let max = u16::try_from(max.min(MAX_BURST)).expect("MAX_BURST fits");
        // SAFETY: this thread alone polls (port, queue) (invariants); raw holds `max` slots.
        let n = unsafe {
            dpdk_sys::strait_rte_eth_rx_burst(self.port.info.id, self.queue, raw.as_mut_ptr(), max)
        };
        let n = usize::from(n);
        // A received mbuf is never null; one that were would be dropped from the burst here,
        // never dereferenced.
        let mut count = 0;
        for i in 0..n {
            if let Some(m) = NonNull::new(raw[i]) {
                // SAFETY: a received mbuf is valid, ours, and from the port's pool, made by
                // `Mempool::new`.
                unsafe { mbuf::prefetch(m) };
                raw[count] = m.as_ptr();
                count += 1;
            }
        }
        // From here on, frees what `f` has not taken if `ahead` or `f` panics.
        let mut rest = Rest {
            raw: &raw[..count],
            taken: 0,
        };
        let mut headers = [const { MaybeUninit::<Header>::uninit() }; MAX_BURST];
        for (slot, &m) in headers.iter_mut().zip(rest.raw) {
            // SAFETY: a received mbuf is valid and not null (compacted above).
            let header = unsafe { Header::read(NonNull::new_unchecked(m)) };
            // SAFETY: the mbuf is ours and nothing writes it until `f` takes it, after the
            // view is gone.
            ahead(cx, unsafe { header.frame() });
            slot.write(header);
        }
        for header in &headers[..count] {
            // SAFETY: the first `count` headers were written above.
            let header = unsafe { header.assume_init() };
            rest.taken += 1;
            // SAFETY: a received mbuf is ours, taken once, here; its pool lives as long as
            // the port, which `self` holds for the borrow.
            f(cx, unsafe { header.take() });
        }
        n
    }

    /// The queue id.
    pub fn queue(&self) -> u16 {
        self.queue
    }
}

/// The received mbufs of a burst (none null) that `f` has not taken yet, `raw[taken..]`:
/// freed on drop, which finds any only if `ahead` or `f` panicked.
struct Rest<'a> {
    raw: &'a [*mut rte_mbuf],
    taken: usize,
}

impl Drop for Rest<'_> {
    #[inline]
    fn drop(&mut self) {
        for &m in self.raw.get(self.taken..).unwrap_or_default() {
            // SAFETY: received and not taken by `f`: still ours, freed once, here.
            unsafe { dpdk_sys::strait_rte_pktmbuf_free(m) };
        }
    }
}

/// The transmit side of one queue, with a burst of frames waiting for [`TxQueue::flush`].
#[derive(Debug)]
pub struct TxQueue {
    port: Arc<PortInner>,
    queue: u16,
    pending: [*mut rte_mbuf; MAX_BURST],
    len: usize,
}

// SAFETY: as for RxQueue; the pending mbufs are owned by this value.
unsafe impl Send for TxQueue {}

/// What a flush did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flushed {
    /// Frames the device took.
    pub sent: usize,
    /// Frames dropped because its ring was full.
    pub dropped: usize,
}

impl TxQueue {
    /// Queues a copy of `frame` in a buffer from the port's pool. `None` (nothing queued) if
    /// the pool is dry or the frame larger than a buffer; otherwise what a flush on a full
    /// burst did, as [`TxQueue::push`].
    #[inline]
    pub fn push_copy(&mut self, frame: &[u8]) -> Option<Flushed> {
        let mut m = self.port.pool.alloc()?;
        if !m.set_len(frame.len()) {
            return None;
        }
        m.as_mut().copy_from_slice(frame);
        let raw = m.into_raw();
        // SAFETY: `raw` came from this port's pool, which `self` holds.
        Some(self.push(unsafe { Mbuf::from_raw(NonNull::new(raw).expect("non-null")) }))
    }

    /// Queues `m`; when the burst is full it is flushed first, and what that flush did is
    /// returned.
    #[inline(always)]
    pub fn push(&mut self, m: Mbuf<'_>) -> Flushed {
        let flushed = if self.len == MAX_BURST {
            self.flush_full()
        } else {
            Flushed::default()
        };
        self.pending[self.len] = m.into_raw();
        self.len += 1;
        flushed
    }

    /// [`TxQueue::flush`] from [`TxQueue::push`] on a full burst: out of line, so the
    /// per-frame push stays a store and an increment.
    #[cold]
    #[inline(never)]
    fn flush_full(&mut self) -> Flushed {
        self.flush()
    }

    /// Hands the queued frames to the device; frees what it does not take.
    #[inline]
    pub fn flush(&mut self) -> Flushed {
        if self.len == 0 {
            return Flushed::default();
        }
        let n = u16::try_from(self.len).expect("MAX_BURST fits");
        // SAFETY: this thread alone uses (port, queue); pending[..len] are owned mbufs, and
        // the device takes ownership of the first `sent`.
        let sent = unsafe {
            dpdk_sys::strait_rte_eth_tx_burst(
                self.port.info.id,
                self.queue,
                self.pending.as_mut_ptr(),
                n,
            )
        };
        let sent = usize::from(sent);
        let dropped = self.len - sent;
        if dropped > 0 {
            // SAFETY: the unsent mbufs are still ours, each freed once.
            unsafe {
                dpdk_sys::rte_pktmbuf_free_bulk(
                    self.pending[sent..].as_mut_ptr(),
                    u32::try_from(dropped).expect("MAX_BURST fits"),
                );
            }
        }
        self.len = 0;
        Flushed { sent, dropped }
    }
}

impl Drop for TxQueue {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: pending[..len] are owned mbufs; freed once, before the port (held
            // by this value) can close.
            unsafe {
                dpdk_sys::rte_pktmbuf_free_bulk(
                    self.pending.as_mut_ptr(),
                    u32::try_from(self.len).expect("MAX_BURST fits"),
                );
            }
        }
    }
}
