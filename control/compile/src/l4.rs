//! L4 services: VIPs, weighted backends and their Maglev tables.

use strait_config::{Config, FieldError, kinds};
use strait_table::{
    ImageBuilder, L4Backend, L4Mode, L4Service, Protocol, encode_ip,
    maglev::{MaglevBackend, backend_key},
};

use crate::{maglev::Build, maglev::table_size_for};

pub(crate) fn compile(
    b: &mut ImageBuilder,
    config: &Config,
    slots: &[u32],
    maglev: &mut Build<'_>,
    errors: &mut Vec<FieldError>,
) {
    let mut slots = slots.iter().copied();
    for (i, s) in config.l4_services.iter().enumerate() {
        let first = b.count::<L4Backend>();
        let mut keys = Vec::with_capacity(s.backends.len());
        for be in &s.backends {
            let (addr, family) = encode_ip(be.addr);
            keys.push(MaglevBackend {
                key: backend_key(&addr, family, be.port),
                weight: be.weight,
            });
            b.push_l4_backend(L4Backend {
                addr,
                family,
                port: be.port,
                weight: be.weight,
                health_slot: slots.next().unwrap_or(u32::MAX),
                mac: be.mac.unwrap_or_default(),
                has_mac: u8::from(be.mac.is_some()),
                ..Default::default()
            });
        }
        let backends = b.range_from::<L4Backend>(first);
        let table = match maglev.table(&keys, table_size_for(keys.len())) {
            Ok(t) => b.maglev(&t),
            Err(e) => {
                errors.push(FieldError {
                    path: format!("l4Services[{i}].backends"),
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let (vip, family) = encode_ip(s.vip);
        let service = L4Service {
            name: b.string(s.name.as_str()),
            vip,
            backends,
            maglev: table,
            idle_timeout_s: u32::try_from(s.idle_timeout.as_millis().div_ceil(1000))
                .unwrap_or(u32::MAX),
            port: s.port,
            family,
            protocol: match s.protocol {
                kinds::L4Protocol::Tcp => Protocol::Tcp,
                kinds::L4Protocol::Udp => Protocol::Udp,
            }
            .code(),
            mode: match s.mode {
                kinds::ForwardMode::FullNat => L4Mode::FullNat,
                kinds::ForwardMode::Dsr => L4Mode::Dsr,
                kinds::ForwardMode::Ipip => L4Mode::Ipip,
                kinds::ForwardMode::Gue => L4Mode::Gue,
            }
            .code(),
            ..Default::default()
        };
        b.push_l4_service(service);
    }
}
