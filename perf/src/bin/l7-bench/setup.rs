//! What every system under test shares: a temporary directory (configs, logs, the
//! certificate), a self-signed certificate, and the two upstream servers.
//!
//! The upstreams are nginx in single-process mode (`master_process off`), pinned to the load
//! core, each answering every request on one loopback port with the same small fixed body over
//! HTTP/1.1 keep-alive (`keepalive_requests` high enough that no proxy connection is ever
//! closed for its count). They run for the whole benchmark; dropping [`Upstreams`] stops them
//! by PID, dropping [`Workdir`] removes the directory.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use strait_e2e::{Proc, l7::free_port, wait_until};

/// The fixed answer body of the upstreams.
pub const BODY: &str = "hello from the upstream\n";

/// A temporary directory, removed on drop.
#[derive(Debug)]
pub struct Workdir(PathBuf);

impl Workdir {
    /// Creates `$TMPDIR/strait-l7-bench-PID`.
    pub fn create() -> Workdir {
        let dir = std::env::temp_dir().join(format!("strait-l7-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating the work directory");
        Workdir(dir)
    }

    /// A path inside it.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes `text` to file `name` inside it; returns the path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        path
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A certificate and its key (PEM), and both in one file (HAProxy's `crt`).
#[derive(Debug)]
pub struct Cert {
    /// The certificate.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
    /// Certificate then key.
    pub combined: PathBuf,
}

/// A self-signed ECDSA P-256 certificate for `localhost` and 127.0.0.1, made with the openssl
/// CLI. Every system serves the same one, so each handshake signs with the same key type.
pub fn cert(dir: &Workdir) -> Cert {
    let (cert, key) = (dir.path("cert.pem"), dir.path("key.pem"));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("running openssl");
    assert!(
        out.status.success(),
        "openssl req failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |p: &Path| std::fs::read_to_string(p).expect("reading the PEM");
    let combined = dir.write("combined.pem", &(read(&cert) + &read(&key)));
    Cert {
        cert,
        key,
        combined,
    }
}

/// nginx directives every nginx of the benchmark has: files in the work directory, no access
/// log, keep-alive without a request limit.
pub fn nginx_common(dir: &Workdir, name: &str) -> String {
    let tmp = dir.path(&format!("{name}-tmp"));
    std::fs::create_dir_all(&tmp).expect("nginx temp dir");
    let t = tmp.display();
    format!(
        "daemon off;
pid {pid};
error_log stderr warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    client_body_temp_path {t}/body;
    proxy_temp_path {t}/proxy;
    fastcgi_temp_path {t}/fastcgi;
    uwsgi_temp_path {t}/uwsgi;
    scgi_temp_path {t}/scgi;
",
        pid = dir.path(&format!("{name}.pid")).display(),
    )
}

/// Starts nginx on config `conf` (`-e stderr`: no error log file before the config is read).
pub fn nginx_command(conf: &Path, prefix: &Path) -> Vec<String> {
    [
        "nginx",
        "-e",
        "stderr",
        "-p",
        &prefix.display().to_string(),
        "-c",
        &conf.display().to_string(),
    ]
    .map(str::to_owned)
    .to_vec()
}

/// The two upstream servers.
#[derive(Debug)]
pub struct Upstreams {
    /// Their `127.0.0.1:PORT`s.
    pub addrs: [String; 2],
    _procs: Vec<Proc>,
}

impl Upstreams {
    /// Starts both on `core` and waits until each answers.
    pub fn start(dir: &Workdir, core: usize) -> Upstreams {
        let addrs = [0, 1].map(|_| format!("127.0.0.1:{}", free_port()));
        let mut procs = Vec::new();
        for (i, addr) in addrs.iter().enumerate() {
            let name = format!("upstream{}", i + 1);
            let conf = format!(
                "{common}    server {{
        listen {addr} backlog=4096;
        location / {{ add_header x-upstream u{n}; return 200 \"{body}\"; }}
    }}
}}
master_process off;
worker_processes 1;
",
                common = nginx_common(dir, &name),
                n = i + 1,
                body = BODY.escape_default(),
            );
            let conf = dir.write(&format!("{name}.conf"), &conf);
            let mut cmd = Command::new("taskset");
            cmd.arg("-c").arg(core.to_string());
            cmd.args(nginx_command(&conf, &dir.path("")));
            procs.push(Proc::spawn(&name, cmd, dir.path(&format!("{name}.log"))));
        }
        for (addr, proc) in addrs.iter().zip(&mut procs) {
            let url = format!("http://{addr}/");
            wait_until(Duration::from_secs(10), &format!("upstream {addr}"), || {
                assert!(proc.alive(), "upstream {addr} exited:\n{}", proc.log());
                (http_status(&url, &[]).as_deref() == Some("200 1.1")).then_some(())
            });
        }
        Upstreams {
            addrs,
            _procs: procs,
        }
    }
}

/// `STATUS VERSION` of one request with curl (e.g. `200 2`), `None` if it failed.
pub fn http_status(url: &str, extra: &[&str]) -> Option<String> {
    let out = Command::new("curl")
        .args(["-sk", "--max-time", "3", "-o", "/dev/null"])
        .args(["-w", "%{http_code} %{http_version}"])
        .args(extra)
        .arg(url)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !text.starts_with("000")).then_some(text)
}
