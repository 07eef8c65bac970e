//! `AF_XDP` in a build without the `af-xdp` feature: [`open`] refuses and says how to get it.

use crate::{DeviceError, RingSizes, XdpMode};

/// Bytes per UMEM frame (the same as in a build with `AF_XDP`).
pub const FRAME_SIZE: u32 = 4096;

/// Always fails: this build has no `AF_XDP` support.
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
        reason: "this build has no AF_XDP support: rebuild with `--features af-xdp` \
                 (needs libxdp's build tools: m4 clang llvm libelf-dev zlib1g-dev \
                 libpcap-dev libclang-dev pkg-config)"
            .into(),
    })
}

/// An `AF_XDP` port; without the `af-xdp` feature there are none.
#[derive(Debug)]
pub enum AfXdpPort {}

impl AfXdpPort {
    /// The XDP attach mode in use: `Native` or `Generic`.
    pub fn mode(&self) -> XdpMode {
        match *self {}
    }

    /// Whether the socket is bound in zero-copy mode.
    pub fn zero_copy(&self) -> bool {
        match *self {}
    }
}

port_without_values!(AfXdpPort);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_says_how_to_build_with_af_xdp() {
        match open("eth0", 1, RingSizes::default(), XdpMode::Auto) {
            Err(DeviceError::Unsupported { reason, .. }) => {
                assert!(reason.contains("--features af-xdp"), "{reason}");
            }
            other => panic!("expected Unsupported, got {other:?}"),
        }
    }
}
