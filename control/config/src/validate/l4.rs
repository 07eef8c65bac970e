//! L4 services: VIP, unique `(vip, port, protocol)`, forwarding-mode constraints, backends.
//!
//! `FullNat` and `DSR` forward the client's packet in its own family, so backends must share
//! the VIP's family; `IPIP`/`GUE` encapsulate and may cross families. Only `FullNat` rewrites the
//! destination port, so in the other modes a backend's port must be the service port.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::duration::Duration;
use crate::error::{Errors, Loc};
use crate::kinds::{ForwardMode, L4Protocol};
use crate::model::{L4Backend, L4Service};
use crate::names::Name;
use crate::raw::RawL4Service;

use super::{duration_or, ip, port, require_nonzero, weight};

/// Idle timeout of TCP flows when none is given.
pub const DEFAULT_TCP_IDLE: Duration = match Duration::from_millis(300_000) {
    Some(d) => d,
    None => unreachable!(),
};

/// Idle timeout of UDP flows when none is given.
pub const DEFAULT_UDP_IDLE: Duration = match Duration::from_millis(30_000) {
    Some(d) => d,
    None => unreachable!(),
};

/// Validates every L4 service.
pub(crate) fn services(errs: &mut Errors, raw: &[RawL4Service]) -> Vec<L4Service> {
    let root = Loc::Root;
    let list = root.field("l4Services");
    let mut seen: HashMap<(IpAddr, u16, L4Protocol), usize> = HashMap::with_capacity(raw.len());
    let mut out = Vec::with_capacity(raw.len());
    for (i, s) in raw.iter().enumerate() {
        let at = list.index(i);
        let vip = ip(errs, &at.field("vip"), &s.vip);
        let svc_port = port(errs, &at.field("port"), s.port);
        let protocol = s.protocol.unwrap_or_default();
        let mode = s.mode.unwrap_or_default();
        if let (Some(vip), Some(p)) = (vip, svc_port)
            && let Some(first) = seen.insert((vip, p, protocol), i)
        {
            seen.insert((vip, p, protocol), first);
            let proto = match protocol {
                L4Protocol::Tcp => "TCP",
                L4Protocol::Udp => "UDP",
            };
            let addr = std::net::SocketAddr::new(vip, p);
            let reason = format!("{proto} {addr} already used by l4Services[{first}]");
            errs.at(&at.field("vip"), reason);
        }
        let default_idle = match protocol {
            L4Protocol::Tcp => DEFAULT_TCP_IDLE,
            L4Protocol::Udp => DEFAULT_UDP_IDLE,
        };
        let idle_timeout = duration_or(
            errs,
            &at.field("idleTimeout"),
            s.idle_timeout.as_deref(),
            Some(default_idle),
        );

        let list_at = at.field("backends");
        if s.backends.is_empty() {
            errs.at(&list_at, "must have at least one backend");
        }
        let mut backends = Vec::with_capacity(s.backends.len());
        for (j, b) in s.backends.iter().enumerate() {
            let here = list_at.index(j);
            let weight = weight(errs, &here, b.weight);
            let addr = ip(errs, &here.field("address"), &b.address);
            let port = match b.port {
                None => svc_port,
                Some(p) => port(errs, &here.field("port"), p),
            };
            if let (Some(p), Some(sp)) = (port, svc_port)
                && p != sp
                && !mode.translates()
            {
                let reason = format!(
                    "must equal the service port {sp} in {} mode (only FullNat translates ports)",
                    mode_name(mode)
                );
                errs.at(&here.field("port"), reason);
            }
            if let (Some(a), Some(v)) = (addr, vip)
                && a.is_ipv4() != v.is_ipv4()
                && matches!(mode, ForwardMode::FullNat | ForwardMode::Dsr)
            {
                let reason = format!(
                    "{} backend {a} for {} VIP {v} in {} mode (only IPIP/GUE cross families)",
                    family(a),
                    family(v),
                    mode_name(mode)
                );
                errs.at(&here.field("address"), reason);
            }
            let mac = b.mac.as_deref().and_then(|m| {
                parse_mac(m)
                    .ok_or_else(|| errs.at(&here.field("mac"), format!("invalid MAC address {m:?}")))
                    .ok()
            });
            if let (Some(addr), Some(port)) = (addr, port) {
                backends.push(L4Backend { addr, port, weight, mac });
            }
        }
        let weights = s.backends.iter().map(|b| b.weight.unwrap_or(1));
        require_nonzero(errs, &list_at, weights, "backend");

        if let (Ok(name), Some(vip), Some(port), Some(idle_timeout)) =
            (Name::new(&s.name), vip, svc_port, idle_timeout)
        {
            out.push(L4Service {
                name,
                vip,
                port,
                protocol,
                mode,
                idle_timeout,
                backends,
            });
        }
    }
    out
}

fn family(a: IpAddr) -> &'static str {
    if a.is_ipv4() { "IPv4" } else { "IPv6" }
}

fn mode_name(m: ForwardMode) -> &'static str {
    match m {
        ForwardMode::FullNat => "FullNat",
        ForwardMode::Dsr => "DSR",
        ForwardMode::Ipip => "IPIP",
        ForwardMode::Gue => "GUE",
    }
}

/// Parses `aa:bb:cc:dd:ee:ff` (hex, either case).
pub(crate) fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for byte in &mut mac {
        let part = parts.next()?;
        if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        *byte = u8::from_str_radix(part, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}
