//! `strait-dataplane`: the Strait data plane.

mod dpdk_args;

use std::{
    path::PathBuf,
    sync::{Arc, atomic::AtomicBool},
    time::Duration,
};

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use clap::Parser;
use strait_dataplane::{
    DataplaneOptions, L7AccessLog, L7Driver, L7Options, PacketOptions, allowed_cores, options,
    parse_cores,
};
use strait_device::{DeviceConfig, DeviceKind, RingSizes, XdpMode, parse_mac};
use strait_fastpath::{Exception, NoBackend, NodeConfig, RouteError, Routes};

// The L7 workers allocate per request and per I/O operation (heads, buffers, the runtime's
// operation records, the h2 crate's frames); mimalloc's per-thread heaps serve that without
// glibc's arena locking. The L4 path allocates nothing per packet either way.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The Strait data plane: one pinned poll-mode worker per core, running the tables the agent
/// publishes through shared memory.
#[derive(Debug, Parser)]
#[command(name = "strait-dataplane", version)]
struct Args {
    /// Cores to run workers on, one worker each: e.g. 0,1 or 0-3. Default: every allowed core.
    #[arg(long, value_parser = |s: &str| parse_cores(s).map(CoreList))]
    cores: Option<CoreList>,
    /// The agent's link socket.
    #[arg(long, env = "STRAIT_LINK_SOCKET", default_value = options::DEFAULT_LINK_SOCKET)]
    link_socket: PathBuf,
    /// Directory for the last good image.
    #[arg(long, env = "STRAIT_DATAPLANE_STATE_DIR", default_value = options::DEFAULT_STATE_DIR)]
    state_dir: PathBuf,
    /// Endpoints the health overlay can hold.
    #[arg(long, default_value_t = options::DEFAULT_HEALTH_SLOTS)]
    health_slots: u32,
    #[command(flatten)]
    packets: PacketArgs,
    /// Cores to run L7 (HTTP proxy) workers on, one worker each: e.g. 1 or 2-3 (may share
    /// cores with --cores). Default: no L7 worker.
    #[arg(long, value_parser = |s: &str| parse_cores(s).map(CoreList))]
    l7_cores: Option<CoreList>,
    /// The L7 workers' event loop: auto (io_uring, else epoll), io_uring, or poll (epoll).
    #[arg(long, default_value = "auto", value_parser = |s: &str| s.parse::<L7Driver>())]
    l7_driver: L7Driver,
    /// How long a client may take to send a request head, from its first byte (then 408 and
    /// close: slow clients cannot hold a worker's connections): e.g. 10s, 500ms.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    l7_header_timeout: Duration,
    /// How long a client connection may wait for its next request.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    l7_idle_timeout: Duration,
    /// The L7 access log, one JSON object per line per request (time, worker, client, method,
    /// authority, path, version, status, bytes_in, bytes_out, upstream, route, cluster,
    /// duration_us, retries, local): off, stdout, stderr, or a file path (appended to). Each
    /// worker buffers its lines and writes them once per loop tick.
    #[arg(long, default_value = "off", value_parser = |s: &str| s.parse::<L7AccessLog>())]
    access_log: L7AccessLog,
    /// Let TLS clients resume sessions (session IDs and tickets): on or off. Off makes every
    /// TLS connection a full handshake, as a handshake benchmark needs.
    #[arg(long, default_value = "on", value_parser = parse_on_off, action = clap::ArgAction::Set)]
    l7_tls_resumption: bool,
}

/// `500ms`, `10s` or `2m`.
fn parse_on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("{s:?} is neither on nor off")),
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let err = || format!("{s:?} is not a duration like 500ms, 10s or 2m");
    let (number, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?);
    let n: u64 = number.parse().map_err(|_| err())?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        _ => return Err(err()),
    };
    if d.is_zero() {
        return Err(format!("{s:?}: a timeout must be longer than zero"));
    }
    Ok(d)
}

/// The L4 packet path (off unless --device is given).
#[derive(Debug, clap::Args)]
struct PacketArgs {
    /// Packet device: af_packet (software fallback, runs anywhere), af_xdp, dpdk (a build
    /// with --features dpdk), or memory (tests).
    #[arg(long, value_parser = |s: &str| s.parse::<DeviceKind>())]
    device: Option<DeviceKind>,
    /// Interface the device drives (required with af_packet and af_xdp); with dpdk, the port:
    /// a PCI address or a vdev name (default: the first port).
    #[arg(long, required_if_eq_any([("device", "af_packet"), ("device", "af_xdp")]))]
    interface: Option<String>,
    /// XDP attach mode: auto (native if the driver has it), native or generic.
    #[arg(long, default_value = "auto", value_parser = |s: &str| s.parse::<XdpMode>())]
    xdp_mode: XdpMode,
    /// The node's IPv4 address on the segment, ADDR or ADDR/LEN: source of full-NAT flows,
    /// tunnels and ARP requests. The data plane answers ARP for it; do not configure it on the
    /// kernel. Repeat it to add full-NAT source addresses (each adds a full port range). With
    /// /LEN, the prefix is the segment: with --gateway-v4, peers outside it are reached
    /// through the gateway.
    #[arg(long, value_parser = parse_prefixed::<Ipv4Addr>)]
    node_v4: Vec<(Ipv4Addr, Option<u8>)>,
    /// The node's IPv6 address on the segment, ADDR or ADDR/LEN (as --node-v4, answered by ND).
    #[arg(long, value_parser = parse_prefixed::<Ipv6Addr>)]
    node_v6: Vec<(Ipv6Addr, Option<u8>)>,
    /// The IPv4 gateway: clients and backends outside the --node-v4 prefixes are reached
    /// through it (its MAC is resolved by ARP, or given with --neighbour).
    #[arg(long)]
    gateway_v4: Option<Ipv4Addr>,
    /// The IPv6 gateway, as --gateway-v4 for the --node-v6 prefixes.
    #[arg(long)]
    gateway_v6: Option<Ipv6Addr>,
    /// Full-NAT source ports, split evenly over the workers: LO-HI.
    #[arg(long, default_value = "1024-65535", value_parser = parse_port_range)]
    snat_ports: PortRange,
    /// What to do with traffic that is not for a service: kernel (leave it) or drop (count it).
    #[arg(long, default_value = "kernel", value_parser = |s: &str| s.parse::<Exception>())]
    exception: Exception,
    /// What to do with a new flow no backend takes (all down or draining): refuse (a TCP
    /// reset or an ICMP port unreachable, rate-limited) or drop (count it).
    #[arg(long, default_value = "refuse", value_parser = |s: &str| s.parse::<NoBackend>())]
    no_backend: NoBackend,
    /// Connections each worker tracks.
    #[arg(long, default_value_t = 1 << 20)]
    conntrack_capacity: usize,
    /// A static neighbour, IP=MAC (repeatable): a next hop whose MAC is not to be learned.
    #[arg(long = "neighbour", value_parser = parse_neighbour)]
    neighbours: Vec<(IpAddr, [u8; 6])>,
    /// The MAC to send from (default: the interface's).
    #[arg(long, value_parser = |s: &str| parse_mac(s).ok_or_else(|| format!("{s:?} is not a MAC address (aa:bb:cc:dd:ee:ff)")))]
    mac: Option<MacArg>,
    /// Largest IP packet the segment carries (bounds IPIP/GUE encapsulation).
    #[arg(long, default_value_t = 1500)]
    mtu: usize,
    /// Frames per burst.
    #[arg(long, default_value_t = options::DEFAULT_BURST, value_parser = parse_burst)]
    burst: usize,
    /// Receive and transmit ring frames per port (a power of two).
    #[arg(long, default_value_t = 4096, value_parser = parse_ring)]
    ring: u32,
    #[command(flatten)]
    dpdk: dpdk_args::DpdkArgs,
}

type MacArg = [u8; 6];

/// An inclusive port range.
#[derive(Clone, Debug)]
struct PortRange(u16, u16);

fn parse_port_range(s: &str) -> Result<PortRange, String> {
    let err = || format!("{s:?} is not a port range LO-HI (e.g. 1024-65535)");
    let (lo, hi) = s.split_once('-').ok_or_else(err)?;
    let (lo, hi): (u16, u16) = (
        lo.parse().map_err(|_| err())?,
        hi.parse().map_err(|_| err())?,
    );
    if lo == 0 || lo > hi {
        return Err(format!("{s:?}: the range must be 1..=65535 with LO <= HI"));
    }
    Ok(PortRange(lo, hi))
}

/// `ADDR` or `ADDR/LEN`.
fn parse_prefixed<A: std::str::FromStr>(s: &str) -> Result<(A, Option<u8>), String> {
    let err = || format!("{s:?} is not an address or address/prefix-length (e.g. 198.18.0.2/24)");
    let (addr, len) = match s.split_once('/') {
        Some((addr, len)) => (addr, Some(len.parse().map_err(|_| err())?)),
        None => (s, None),
    };
    Ok((addr.parse().map_err(|_| err())?, len))
}

fn parse_neighbour(s: &str) -> Result<(IpAddr, [u8; 6]), String> {
    let err = || format!("{s:?} is not IP=MAC (e.g. 198.18.0.11=02:00:00:00:00:0b)");
    let (ip, mac) = s.split_once('=').ok_or_else(err)?;
    Ok((
        ip.parse().map_err(|_| err())?,
        parse_mac(mac).ok_or_else(err)?,
    ))
}

fn parse_burst(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=256).contains(&n) => Ok(n),
        _ => Err(format!("{s:?}: a burst is 1 to 256 frames")),
    }
}

fn parse_ring(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(n) if n.is_power_of_two() && (64..=1 << 16).contains(&n) => Ok(n),
        _ => Err(format!(
            "{s:?}: a ring size is a power of two from 64 to 65536"
        )),
    }
}

impl PacketArgs {
    fn options(self, main_core: usize) -> Result<Option<PacketOptions>, RouteError> {
        let Some(kind) = self.device else {
            return Ok(None);
        };
        let mut node = NodeConfig::new(self.mac.unwrap_or([0; 6]));
        let v4 = self.node_v4.iter().map(|&(a, len)| (IpAddr::V4(a), len));
        let v6 = self.node_v6.iter().map(|&(a, len)| (IpAddr::V6(a), len));
        let prefixes: Vec<(IpAddr, u8)> = v4
            .chain(v6)
            .filter_map(|(a, len)| Some((a, len?)))
            .collect();
        node.routes = Routes::new(
            &prefixes,
            self.gateway_v4.map(IpAddr::V4),
            self.gateway_v6.map(IpAddr::V6),
        )?;
        node.snat_v4 = self.node_v4.iter().map(|&(a, _)| a).collect();
        node.snat_v6 = self.node_v6.iter().map(|&(a, _)| a).collect();
        node.snat_ports = self.snat_ports.0..=self.snat_ports.1;
        node.exception = self.exception;
        node.no_backend = self.no_backend;
        node.conntrack_capacity = self.conntrack_capacity;
        node.max_frame = self.mtu + 14;
        if kind == DeviceKind::Memory && self.mac.is_none() {
            node.mac = [2, 0, 0, 0, 0, 1];
        }
        Ok(Some(PacketOptions {
            device: DeviceConfig {
                kind,
                interface: self.interface.unwrap_or_default(),
                rings: RingSizes {
                    rx: self.ring,
                    tx: self.ring,
                },
                xdp_mode: self.xdp_mode,
                dpdk: self.dpdk.options(main_core),
            },
            node,
            neighbours: self.neighbours,
            burst: self.burst,
        }))
    }
}

/// A parsed `--cores` list.
#[derive(Clone, Debug)]
struct CoreList(Vec<usize>);

fn main() -> std::process::ExitCode {
    rustix::process::umask(rustix::fs::Mode::from_bits_truncate(0o077));
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("STRAIT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("strait-dataplane: {}", one_line(e.as_ref()));
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let cores = args.cores.map_or_else(allowed_cores, |c| c.0);
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone())?;
    }
    let main_core = cores.first().copied().unwrap_or(0);
    let opts = DataplaneOptions {
        cores,
        link_socket: args.link_socket,
        state_dir: args.state_dir,
        health_slots: args.health_slots,
        packets: args.packets.options(main_core)?,
        l7_cores: args.l7_cores.map_or_else(Vec::new, |c| c.0),
        l7: L7Options {
            driver: args.l7_driver,
            header_read_timeout: args.l7_header_timeout,
            idle_timeout: args.l7_idle_timeout,
            access_log: args.access_log,
            tls_resumption: args.l7_tls_resumption,
            ..L7Options::default()
        },
    };
    strait_dataplane::run(opts, &stop)?;
    Ok(())
}

/// An error and its causes on one line, each cause only if the text so far does not
/// already say it.
fn one_line(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Args;

    fn parse(flags: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(["strait-dataplane", "--cores", "0"].iter().chain(flags))
    }

    #[test]
    fn tls_resumption_takes_on_or_off() {
        assert!(parse(&[]).unwrap().l7_tls_resumption);
        assert!(
            !parse(&["--l7-tls-resumption", "off"])
                .unwrap()
                .l7_tls_resumption
        );
        assert!(
            !parse(&["--l7-tls-resumption=off"])
                .unwrap()
                .l7_tls_resumption
        );
        assert!(
            parse(&["--l7-tls-resumption", "on"])
                .unwrap()
                .l7_tls_resumption
        );
        let err = parse(&["--l7-tls-resumption", "maybe"]).err().unwrap();
        assert!(err.to_string().contains("neither on nor off"), "{err}");
    }

    #[test]
    fn node_prefixes_and_gateways_make_the_routes() {
        let opts = |flags: &[&str]| {
            let mut all = vec!["--device", "memory"];
            all.extend_from_slice(flags);
            parse(&all).unwrap().packets.options(0)
        };
        let ok = opts(&[
            "--node-v4=198.18.0.2/24",
            "--node-v4=198.18.0.3",
            "--node-v6=2001:2::2/64",
            "--gateway-v4=198.18.0.254",
            "--gateway-v6=2001:2::fe",
        ]);
        let node = ok.unwrap().unwrap().node;
        assert_eq!(node.snat_v4.len(), 2, "both addresses source full NAT");
        let far = strait_packet::flow::v4_mapped([198, 19, 0, 1]);
        let gateway = strait_packet::flow::v4_mapped([198, 18, 0, 254]);
        assert_eq!(
            node.routes.next_hop(&far, strait_packet::Family::V4),
            &gateway
        );
        let err = opts(&["--node-v4=198.18.0.2/24", "--gateway-v4=198.18.1.1"]).unwrap_err();
        assert!(
            err.to_string().contains("not on the node's segment"),
            "{err}"
        );
        let err = parse(&["--node-v4", "198.18.0.2/x"]).err().unwrap();
        assert!(err.to_string().contains("address/prefix-length"), "{err}");
    }
}
