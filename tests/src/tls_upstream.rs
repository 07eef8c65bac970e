//! The upstreams of the TLS and TCP route tests, on loopback, each a std thread that accepts
//! until the value is dropped: a TLS server that terminates the client's own handshake (SNI
//! pass-through) and a TCP echo that shows half-closes both ways.

use std::{
    io::{self, Read, Write},
    net::{Shutdown, SocketAddr, TcpListener, TcpStream},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::Duration,
};

use rustls::{ServerConfig, ServerConnection, StreamOwned};

use crate::tls::{READ_TIMEOUT, TestCert};

/// A TLS upstream on loopback: a rustls server thread that answers every connection with
/// `NAME:` followed by each piece it reads, until the client closes. Stopped when dropped.
#[derive(Debug)]
pub struct TlsUpstream {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The certificate it presents.
    pub cert: TestCert,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl TlsUpstream {
    /// Starts a server named `name` with a certificate for `names`.
    pub fn start(name: &str, names: &[&str]) -> TlsUpstream {
        let cert = TestCert::new(names);
        let config = cert.server_config();
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        listener.set_nonblocking(true).expect("non-blocking accept");
        let stop = Arc::new(AtomicBool::new(false));
        let (name, flag) = (name.to_owned(), stop.clone());
        let thread = thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((tcp, _)) => {
                        let (config, name) = (config.clone(), name.clone());
                        thread::spawn(move || {
                            let _ = tls_echo(tcp, config, &name);
                        });
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        TlsUpstream {
            addr,
            cert,
            stop,
            thread: Some(thread),
        }
    }
}

fn tls_echo(tcp: TcpStream, config: Arc<ServerConfig>, name: &str) -> io::Result<()> {
    tcp.set_nonblocking(false)?;
    tcp.set_read_timeout(Some(READ_TIMEOUT))?;
    let conn = ServerConnection::new(config).map_err(io::Error::other)?;
    let mut s = StreamOwned::new(conn, tcp);
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        s.write_all(format!("{name}:").as_bytes())?;
        s.write_all(&buf[..n])?;
        s.flush()?;
    }
}

impl Drop for TlsUpstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A TCP upstream on loopback that echoes what it reads and, when the client ends its side,
/// sends `<eof>` and ends its own. Stopped when dropped.
#[derive(Debug)]
pub struct EchoUpstream {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl EchoUpstream {
    /// Starts one.
    pub fn start() -> EchoUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        listener.set_nonblocking(true).expect("non-blocking accept");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((tcp, _)) => {
                        thread::spawn(move || {
                            let _ = echo(tcp);
                        });
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        EchoUpstream {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

fn echo(mut tcp: TcpStream) -> io::Result<()> {
    tcp.set_nonblocking(false)?;
    tcp.set_read_timeout(Some(READ_TIMEOUT))?;
    let mut buf = [0u8; 4096];
    loop {
        let n = tcp.read(&mut buf)?;
        if n == 0 {
            tcp.write_all(b"<eof>")?;
            return tcp.shutdown(Shutdown::Write);
        }
        tcp.write_all(&buf[..n])?;
    }
}

impl Drop for EchoUpstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
