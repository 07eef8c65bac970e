//! Listeners: socket address, protocol/TLS consistency, certificates, and no overlapping binds.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::error::{Errors, Loc};
use crate::kinds::{ListenerProtocol, TlsMode};
use crate::model::{Certificate, Listener, ListenerTls};
use crate::names::{Hostname, Name};
use crate::raw::{RawListener, RawListenerTls};

use super::{file, ip, port, protocol_name};

/// Validates every listener; also returns each listener's protocol and effective TLS mode so
/// routes can check what they attach to.
pub(crate) fn listeners(
    errs: &mut Errors,
    raw: &[RawListener],
) -> (Vec<Listener>, Vec<Option<(ListenerProtocol, TlsMode)>>) {
    let list = Loc::Root;
    let list = list.field("listeners");
    let mut out = Vec::with_capacity(raw.len());
    let mut kinds = Vec::with_capacity(raw.len());
    let mut binds = Binds::default();
    for (i, l) in raw.iter().enumerate() {
        let at = list.index(i);
        let addr = ip(errs, &at.field("address"), &l.address);
        let port = port(errs, &at.field("port"), l.port);
        let addr = addr.zip(port).map(|(ip, port)| SocketAddr::new(ip, port));
        if let Some(addr) = addr {
            binds.claim(errs, &at, i, raw, addr);
        }
        let Some(protocol) = l.protocol else {
            errs.at(
                &at.field("protocol"),
                "must be set to HTTP, HTTPS, TLS or TCP",
            );
            kinds.push(None);
            continue;
        };
        let tls = tls(errs, &at, protocol, l.tls.as_ref());
        kinds.push(Some((
            protocol,
            tls.as_ref().map_or(TlsMode::Passthrough, |t| t.mode),
        )));
        if let (Ok(name), Some(addr)) = (Name::new(&l.name), addr) {
            out.push(Listener {
                name,
                addr,
                protocol,
                tls,
            });
        }
    }
    (out, kinds)
}

/// The TLS settings a listener of `protocol` ends up with.
fn tls(
    errs: &mut Errors,
    at: &Loc<'_>,
    protocol: ListenerProtocol,
    raw: Option<&RawListenerTls>,
) -> Option<ListenerTls> {
    let here = at.field("tls");
    let (default_mode, raw) = match (protocol, raw) {
        (ListenerProtocol::Http | ListenerProtocol::Tcp, None) => return None,
        (ListenerProtocol::Http | ListenerProtocol::Tcp, Some(_)) => {
            let p = protocol_name(protocol);
            errs.at(&here, format!("not allowed on {p} listeners"));
            return None;
        }
        (ListenerProtocol::Https, None) => {
            errs.at(&here, "required for HTTPS listeners");
            return None;
        }
        (ListenerProtocol::Https, Some(raw)) => (TlsMode::Terminate, raw),
        (ListenerProtocol::Tls, None) => {
            return Some(ListenerTls {
                mode: TlsMode::Passthrough,
                certificates: Vec::new(),
            });
        }
        (ListenerProtocol::Tls, Some(raw)) => (TlsMode::Passthrough, raw),
    };
    let mode = raw.mode.unwrap_or(default_mode);
    let certs_at = here.field("certificates");
    match mode {
        TlsMode::Passthrough if protocol == ListenerProtocol::Https => {
            errs.at(&here.field("mode"), "HTTPS listeners must use Terminate");
        }
        TlsMode::Passthrough if !raw.certificates.is_empty() => {
            errs.at(&certs_at, "must be empty in Passthrough mode");
        }
        TlsMode::Terminate if raw.certificates.is_empty() => {
            errs.at(
                &certs_at,
                "at least one certificate is required to terminate TLS",
            );
        }
        _ => {}
    }
    let mut default_cert: Option<usize> = None;
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut certificates = Vec::with_capacity(raw.certificates.len());
    for (j, c) in raw.certificates.iter().enumerate() {
        let cat = certs_at.index(j);
        let cert_file = file(errs, &cat.field("certFile"), &c.cert_file);
        let key_file = file(errs, &cat.field("keyFile"), &c.key_file);
        if c.server_names.is_empty() {
            if let Some(first) = default_cert {
                let reason = format!(
                    "only one certificate may omit serverNames (first at certificates[{first}])"
                );
                errs.at(&cat.field("serverNames"), reason);
            }
            default_cert.get_or_insert(j);
        }
        let names_at = cat.field("serverNames");
        let mut server_names = Vec::with_capacity(c.server_names.len());
        for (k, name) in c.server_names.iter().enumerate() {
            match Hostname::new(name) {
                Err(e) => errs.at(&names_at.index(k), e),
                Ok(h) => {
                    if let Some(first) = seen.insert(name.as_str(), j) {
                        let reason =
                            format!("server name {name:?} already served by certificates[{first}]");
                        errs.at(&names_at.index(k), reason);
                    }
                    server_names.push(h);
                }
            }
        }
        certificates.push(Certificate {
            cert_file,
            key_file,
            server_names,
        });
    }
    Some(ListenerTls { mode, certificates })
}

/// Sockets claimed so far. Two listeners conflict if they bind the same address and port, or
/// if one binds the unspecified address (`0.0.0.0`/`::`) and the other any address of the same
/// family on the same port.
#[derive(Default)]
struct Binds {
    /// Listener index and address, by address.
    exact: HashMap<SocketAddr, (usize, SocketAddr)>,
    /// First listener per (is IPv6, port).
    any: HashMap<(bool, u16), (usize, SocketAddr)>,
    /// First unspecified-address listener per (is IPv6, port).
    wildcard: HashMap<(bool, u16), (usize, SocketAddr)>,
}

impl Binds {
    fn claim(
        &mut self,
        errs: &mut Errors,
        at: &Loc<'_>,
        i: usize,
        raw: &[RawListener],
        addr: SocketAddr,
    ) {
        let key = (addr.is_ipv6(), addr.port());
        let clash = if let Some(&first) = self.exact.get(&addr) {
            Some(first)
        } else if addr.ip().is_unspecified() {
            self.any.get(&key).copied()
        } else {
            self.wildcard.get(&key).copied()
        };
        if let Some((first, other)) = clash {
            let name = &raw[first].name;
            let reason =
                format!("{addr} overlaps {other} of listener {name:?} (listeners[{first}])");
            errs.at(&at.field("address"), reason);
            return;
        }
        self.exact.insert(addr, (i, addr));
        self.any.entry(key).or_insert((i, addr));
        if addr.ip().is_unspecified() {
            self.wildcard.entry(key).or_insert((i, addr));
        }
    }
}
