//! An HTTPS upstream on loopback for the tests of TLS towards endpoints: a rustls server (std
//! threads) that answers every HTTP/1.1 request on a connection with `200` and the body
//! `NAME sni=SNI` (`-` when the client sent none), keeping the connection open. It counts the
//! TLS sessions it completed and the requests it answered. Stopped when dropped.

use std::{
    io::{self, BufRead, BufReader, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    thread,
    time::Duration,
};

use rustls::{ServerConfig, ServerConnection, StreamOwned};

use crate::tls::{READ_TIMEOUT, TestCert};

/// See the module documentation.
#[derive(Debug)]
pub struct HttpsUpstream {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The certificate it presents.
    pub cert: TestCert,
    sessions: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl HttpsUpstream {
    /// Starts a server named `name` with a self-signed certificate for `names` (DNS names or
    /// IP addresses).
    pub fn start(name: &str, names: &[&str]) -> HttpsUpstream {
        let cert = TestCert::new(names);
        let config = cert.server_config();
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        listener.set_nonblocking(true).expect("non-blocking accept");
        let (sessions, requests) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let stop = Arc::new(AtomicBool::new(false));
        let (name, flag) = (name.to_owned(), stop.clone());
        let counts = (sessions.clone(), requests.clone());
        let thread = thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((tcp, _)) => {
                        let (config, name, counts) = (config.clone(), name.clone(), counts.clone());
                        thread::spawn(move || {
                            let _ = serve(tcp, config, &name, &counts.0, &counts.1);
                        });
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        HttpsUpstream {
            addr,
            cert,
            sessions,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// TLS sessions completed so far.
    pub fn sessions(&self) -> usize {
        self.sessions.load(Ordering::SeqCst)
    }

    /// Requests answered so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn serve(
    tcp: TcpStream,
    config: Arc<ServerConfig>,
    name: &str,
    sessions: &AtomicUsize,
    requests: &AtomicUsize,
) -> io::Result<()> {
    tcp.set_nonblocking(false)?;
    tcp.set_read_timeout(Some(READ_TIMEOUT))?;
    let conn = ServerConnection::new(config).map_err(io::Error::other)?;
    let mut tls = StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    sessions.fetch_add(1, Ordering::SeqCst);
    let sni = tls.conn.server_name().unwrap_or("-").to_owned();
    let mut reader = BufReader::new(tls);
    loop {
        // A head ends with an empty line; these requests have no body.
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        while line != "\r\n" {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
        }
        requests.fetch_add(1, Ordering::SeqCst);
        let body = format!("{name} sni={sni}\n");
        let tls = reader.get_mut();
        write!(
            tls,
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )?;
        tls.flush()?;
    }
}

impl Drop for HttpsUpstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
