//! `AF_XDP` ports: kernel-bypass sockets. Not built yet.

use crate::{DeviceError, Port, PortStats, RingSizes, Verdict, XdpMode};

/// Opens one `AF_XDP` port per worker on `interface`.
pub fn open(
    interface: &str,
    ports: usize,
    rings: RingSizes,
    mode: XdpMode,
) -> Result<Vec<AfXdpPort>, DeviceError> {
    let _ = (ports, rings, mode);
    Err(DeviceError::Unsupported {
        device: "af_xdp",
        interface: interface.to_owned(),
        reason: "not built yet".into(),
    })
}

/// One `AF_XDP` socket with its rings.
#[derive(Debug)]
pub struct AfXdpPort {
    stats: PortStats,
}

impl Port for AfXdpPort {
    fn rx_burst<F>(&mut self, _max: usize, _f: F) -> usize
    where
        F: FnMut(&mut [u8], usize) -> Verdict,
    {
        0
    }

    fn send(&mut self, _frame: &[u8]) -> bool {
        false
    }

    fn flush(&mut self) {}

    fn stats(&self) -> PortStats {
        self.stats
    }
}
