//! `strait-echo`: the backend of the network-namespace testbed (`scripts/netns-testbed.sh`).
//!
//! For every `--port P` it listens on TCP and UDP, on `0.0.0.0:P` and on `[::]:P` (IPv6 only, so
//! both can be bound). TCP: on accept it writes `NAME\n`, then echoes every byte back until EOF.
//! UDP: it answers each datagram with `NAME\n` followed by the datagram's bytes. A probe
//! (`strait_e2e::probe`) thus learns which backend served it and checks the path both ways.
//!
//! Once every socket is bound it logs a line containing `ready` (the testbed waits for it). It
//! logs to stderr and exits 0 on SIGTERM or SIGINT.
#![forbid(unsafe_code)]

use std::{
    io,
    net::{Ipv4Addr, Ipv6Addr, SocketAddr},
    os::fd::OwnedFd,
    sync::Arc,
    time::Duration,
};

use anyhow::Context;
use clap::Parser;
use rustix::net::{AddressFamily, SocketFlags, SocketType, sockopt};
use tokio::{
    io::AsyncWriteExt,
    net::{TcpListener, TcpStream, UdpSocket},
    signal::unix::{SignalKind, signal},
};

/// Largest UDP datagram we accept (and so echo, plus the name line).
const MAX_DATAGRAM: usize = 65_536;

#[derive(Debug, Parser)]
#[command(
    about = "Echo backend for Strait's testbed: names itself, then echoes (TCP and UDP, IPv4 and IPv6)"
)]
struct Args {
    /// Name sent as the first line of every TCP connection and every UDP reply.
    #[arg(long)]
    name: String,
    /// Port to listen on with TCP and UDP, IPv4 and IPv6; repeat for more ports.
    #[arg(long = "port", required = true)]
    ports: Vec<u16>,
    /// Also serve UDP on this address (repeatable): datagrams to it are answered from it, as
    /// direct server return needs for a VIP held on `lo` (a wildcard socket would answer from
    /// the interface's address).
    #[arg(long = "udp-address")]
    udp_addresses: Vec<std::net::IpAddr>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        !args.name.is_empty() && !args.name.contains(char::is_whitespace),
        "--name must be one word"
    );
    let name: Arc<str> = args.name.as_str().into();
    // Catch the signals before announcing readiness, so a prompt TERM is never lost.
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;

    let mut bound = Vec::new();
    for &port in &args.ports {
        for ip in [Ipv4Addr::UNSPECIFIED.into(), Ipv6Addr::UNSPECIFIED.into()] {
            let addr = SocketAddr::new(ip, port);
            let tcp = tcp_listener(addr).with_context(|| format!("listening on tcp {addr}"))?;
            let udp = udp_socket(addr).with_context(|| format!("binding udp {addr}"))?;
            tokio::spawn(serve_tcp(tcp, name.clone()));
            tokio::spawn(serve_udp(udp, name.clone()));
            bound.push(addr.to_string());
        }
        for &ip in &args.udp_addresses {
            let addr = SocketAddr::new(ip, port);
            let udp = udp_socket(addr).with_context(|| format!("binding udp {addr}"))?;
            tokio::spawn(serve_udp(udp, name.clone()));
            bound.push(format!("udp:{addr}"));
        }
    }
    eprintln!(
        "strait-echo {name}: ready, tcp and udp on {}",
        bound.join(" ")
    );

    tokio::select! {
        _ = term.recv() => eprintln!("strait-echo {name}: SIGTERM, exiting"),
        _ = int.recv() => eprintln!("strait-echo {name}: SIGINT, exiting"),
    }
    Ok(())
}

/// A non-blocking socket of type `ty` bound to `addr`; IPv6 sockets are IPv6-only.
fn bound_socket(addr: SocketAddr, ty: SocketType) -> io::Result<OwnedFd> {
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    let flags = SocketFlags::CLOEXEC | SocketFlags::NONBLOCK;
    let fd = rustix::net::socket_with(family, ty, flags, None)?;
    // TCP: a restarted backend can listen again while old connections sit in TIME_WAIT.
    // UDP: a socket on a specific address (--udp-address) beside the wildcard one.
    sockopt::set_socket_reuseaddr(&fd, true)?;
    if addr.is_ipv6() {
        sockopt::set_ipv6_v6only(&fd, true)?;
    }
    rustix::net::bind(&fd, &addr)?;
    Ok(fd)
}

fn tcp_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    let fd = bound_socket(addr, SocketType::STREAM)?;
    rustix::net::listen(&fd, 4096)?;
    TcpListener::from_std(fd.into())
}

fn udp_socket(addr: SocketAddr) -> io::Result<UdpSocket> {
    UdpSocket::from_std(bound_socket(addr, SocketType::DGRAM)?.into())
}

async fn serve_tcp(listener: TcpListener, name: Arc<str>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(echo_tcp(stream, name.clone()));
            }
            Err(e) => {
                // Typically out of file descriptors: back off instead of spinning.
                eprintln!("strait-echo {name}: accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Name line, then echo until EOF. Errors (a reset by the peer, mostly) end the connection
/// quietly: they are the prober's business, which counts them.
async fn echo_tcp(mut stream: TcpStream, name: Arc<str>) {
    let _ = async {
        stream.set_nodelay(true)?;
        stream.write_all(format!("{name}\n").as_bytes()).await?;
        let (mut rx, mut tx) = stream.split();
        tokio::io::copy(&mut rx, &mut tx).await?;
        tx.shutdown().await
    }
    .await;
}

async fn serve_udp(socket: UdpSocket, name: Arc<str>) {
    let mut buf = vec![0; MAX_DATAGRAM];
    let mut reply = Vec::with_capacity(MAX_DATAGRAM + name.len() + 1);
    loop {
        let (n, peer) = match socket.recv_from(&mut buf).await {
            Ok(got) => got,
            Err(e) => {
                eprintln!("strait-echo {name}: udp receive: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        reply.clear();
        reply.extend_from_slice(name.as_bytes());
        reply.push(b'\n');
        reply.extend_from_slice(&buf[..n]);
        if let Err(e) = socket.send_to(&reply, peer).await {
            eprintln!("strait-echo {name}: udp reply to {peer}: {e}");
        }
    }
}
