//! L4 services: VIP, unique `(vip, port, protocol)`, forwarding-mode constraints, backends.
//!
//! `FullNat` and `DSR` forward the client's packet in its own family, so backends must share
//! the VIP's family; `IPIP`/`GUE` encapsulate and may cross families. Only `FullNat` rewrites the
//! destination port, so in the other modes a backend's port must be the service port.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use crate::duration::Duration;
use crate::error::{Errors, Loc};
use crate::kinds::{ForwardMode, L4Protocol};
use crate::model::{L4Backend, L4Service};
use crate::names::Name;
use crate::raw::{RawL4Backend, RawL4Service};

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

/// The service fields a backend is checked against.
struct Service {
    vip: Option<IpAddr>,
    port: Option<u16>,
    mode: ForwardMode,
}

/// Validates every L4 service.
pub(crate) fn services(errs: &mut Errors, raw: &[RawL4Service]) -> Vec<L4Service> {
    let root = Loc::Root;
    let list = root.field("l4Services");
    let mut seen: HashMap<(IpAddr, u16, L4Protocol), usize> = HashMap::with_capacity(raw.len());
    let mut out = Vec::with_capacity(raw.len());
    for (i, s) in raw.iter().enumerate() {
        let at = list.index(i);
        let svc = Service {
            vip: ip(errs, &at.field("vip"), &s.vip),
            port: port(errs, &at.field("port"), s.port),
            mode: s.mode.unwrap_or_default(),
        };
        let protocol = s.protocol.unwrap_or_default();
        if let (Some(vip), Some(p)) = (svc.vip, svc.port)
            && let Some(first) = seen.insert((vip, p, protocol), i)
        {
            seen.insert((vip, p, protocol), first);
            let proto = match protocol {
                L4Protocol::Tcp => "TCP",
                L4Protocol::Udp => "UDP",
            };
            let addr = SocketAddr::new(vip, p);
            let reason = format!("{proto} {addr} already used by l4Services[{first}]");
            errs.at(&at.field("vip"), reason);
        }
        let default_idle = match protocol {
            L4Protocol::Tcp => DEFAULT_TCP_IDLE,
            L4Protocol::Udp => DEFAULT_UDP_IDLE,
        };
        let idle = s.idle_timeout.as_deref();
        let idle_timeout = duration_or(errs, &at.field("idleTimeout"), idle, Some(default_idle));

        let list_at = at.field("backends");
        if s.backends.is_empty() {
            errs.at(&list_at, "must have at least one backend");
        }
        let mut backends = Vec::with_capacity(s.backends.len());
        for (j, b) in s.backends.iter().enumerate() {
            backends.extend(backend(errs, &list_at.index(j), &svc, b));
        }
        let weights = s.backends.iter().map(|b| b.weight.unwrap_or(1));
        require_nonzero(errs, &list_at, weights, "backend");

        if let (Ok(name), Some(vip), Some(port), Some(idle_timeout)) =
            (Name::new(&s.name), svc.vip, svc.port, idle_timeout)
        {
            out.push(L4Service {
                name,
                vip,
                port,
                protocol,
                mode: svc.mode,
                idle_timeout,
                backends,
            });
        }
    }
    out
}

fn backend(errs: &mut Errors, at: &Loc<'_>, svc: &Service, b: &RawL4Backend) -> Option<L4Backend> {
    let weight = weight(errs, at, b.weight);
    let addr = ip(errs, &at.field("address"), &b.address);
    let port = match b.port {
        None => svc.port,
        Some(p) => port(errs, &at.field("port"), p),
    };
    let mode = mode_name(svc.mode);
    if let (Some(p), Some(sp)) = (port, svc.port)
        && p != sp
        && !svc.mode.translates()
    {
        let reason = format!(
            "must equal the service port {sp} in {mode} mode (only FullNat translates ports)"
        );
        errs.at(&at.field("port"), reason);
    }
    if let (Some(a), Some(v)) = (addr, svc.vip)
        && a.is_ipv4() != v.is_ipv4()
        && matches!(svc.mode, ForwardMode::FullNat | ForwardMode::Dsr)
    {
        let (fa, fv) = (family(a), family(v));
        let reason = format!(
            "{fa} backend {a} for {fv} VIP {v} in {mode} mode (only IPIP/GUE cross families)"
        );
        errs.at(&at.field("address"), reason);
    }
    let mac = match b.mac.as_deref().map(|m| (m, parse_mac(m))) {
        None => None,
        Some((_, Some(mac))) => Some(mac),
        Some((m, None)) => {
            return errs.fail(&at.field("mac"), format!("invalid MAC address {m:?}"));
        }
    };
    Some(L4Backend {
        addr: addr?,
        port: port?,
        weight,
        mac,
    })
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
fn parse_mac(s: &str) -> Option<[u8; 6]> {
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

#[cfg(test)]
mod tests {
    use super::parse_mac;

    #[test]
    fn mac_addresses() {
        assert_eq!(parse_mac("02:00:0a:FF:01:02"), Some([2, 0, 10, 255, 1, 2]));
        for bad in [
            "",
            "02:00:00:00:01",
            "02:00:00:00:01:02:03",
            "2:00:00:00:01:02",
            "+2:00:00:00:01:02",
            "02-00-00-00-01-02",
        ] {
            assert_eq!(parse_mac(bad), None, "{bad}");
        }
    }
}
