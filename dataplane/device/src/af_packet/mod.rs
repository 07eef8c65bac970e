//! `AF_PACKET` ports: the software fallback. Not built yet.

use crate::{DeviceError, Port, PortStats, RingSizes, Verdict};

/// Opens one `AF_PACKET` port per worker on `interface`.
pub fn open(
    interface: &str,
    ports: usize,
    rings: RingSizes,
) -> Result<Vec<AfPacketPort>, DeviceError> {
    let _ = (ports, rings);
    Err(DeviceError::Unsupported {
        device: "af_packet",
        interface: interface.to_owned(),
        reason: "not built yet".into(),
    })
}

/// One `AF_PACKET` socket with its rings.
#[derive(Debug)]
pub struct AfPacketPort {
    stats: PortStats,
}

impl Port for AfPacketPort {
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
