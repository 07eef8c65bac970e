//! DPDK in a build without the `dpdk` feature: [`open`] refuses and says how to get it.

use crate::{DeviceConfig, DeviceError};

/// Always fails: this build has no DPDK support.
pub fn open(config: &DeviceConfig, ports: usize) -> Result<Vec<DpdkPort>, DeviceError> {
    let _ = ports;
    Err(DeviceError::Unsupported {
        device: "dpdk",
        interface: config.interface.clone(),
        reason: "this build has no DPDK support: rebuild with `--features dpdk` (needs \
                 libdpdk-dev dpdk-dev libclang-dev pkg-config)"
            .into(),
    })
}

/// A DPDK port; without the `dpdk` feature there are none.
#[derive(Debug)]
pub enum DpdkPort {}

impl DpdkPort {
    /// The port's MAC address.
    pub fn mac(&self) -> [u8; 6] {
        match *self {}
    }
}

port_without_values!(DpdkPort);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_says_how_to_build_with_dpdk() {
        let config = DeviceConfig {
            kind: crate::DeviceKind::Dpdk,
            ..DeviceConfig::default()
        };
        match open(&config, 1) {
            Err(DeviceError::Unsupported { reason, .. }) => {
                assert!(reason.contains("--features dpdk"), "{reason}");
            }
            other => panic!("expected Unsupported, got {other:?}"),
        }
    }
}
