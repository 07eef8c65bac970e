//! Next hops: whether a destination is on the node's segment or behind its gateway.
//!
//! The node's addresses may carry the segment's prefix (`--node-v4 198.18.0.2/24`). With a
//! gateway for a family, a destination of that family outside every such prefix is reached
//! through the gateway: the frame goes to the gateway's MAC, and the gateway's address is the
//! one resolved by ARP / neighbour discovery. Without a gateway every destination of the
//! family is on-link, as on a flat segment.
//!
//! # Invariants
//! * [`Routes::next_hop`] returns `dst` itself or a configured gateway; it never allocates.
//! * A gateway lies inside one of its family's prefixes ([`Routes::new`] refuses one that
//!   does not, which could never be resolved).
//! * Addresses are in the 16-byte flow-key form (IPv4-mapped for IPv4).

use core::net::IpAddr;

use strait_packet::Family;
use strait_packet::flow::key_addr;

/// A prefix of the node's segment, as the flow-key form's 128-bit value and mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Prefix {
    family: Family,
    net: u128,
    mask: u128,
}

impl Prefix {
    fn contains(&self, addr: u128, family: Family) -> bool {
        family == self.family && addr & self.mask == self.net
    }
}

/// Why [`Routes::new`] refused a gateway.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// The gateway is not on any of the node's prefixes of its family.
    #[error(
        "gateway {0} is not on the node's segment: give the node's address of its family with \
         the segment's prefix length (--node-v4 198.18.0.2/24, --node-v6 2001:2::2/64) so \
         that it covers the gateway"
    )]
    GatewayOffLink(IpAddr),
    /// A prefix length beyond the address's bits.
    #[error("prefix length /{len} is too long for {addr}")]
    PrefixLength {
        /// The address.
        addr: IpAddr,
        /// The length given.
        len: u8,
    },
}

/// The node's segment prefixes and gateways (see the module documentation).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Routes {
    prefixes: Vec<Prefix>,
    gateway_v4: Option<[u8; 16]>,
    gateway_v6: Option<[u8; 16]>,
}

impl Routes {
    /// Routes for the segment `prefixes` (an address and its prefix length) with the given
    /// gateways.
    pub fn new(
        prefixes: &[(IpAddr, u8)],
        gateway_v4: Option<IpAddr>,
        gateway_v6: Option<IpAddr>,
    ) -> Result<Routes, RouteError> {
        let mut routes = Routes::default();
        for &(addr, len) in prefixes {
            // IPv4 lengths count within the last 32 bits of the mapped form.
            let (family, bits, extra) = match addr {
                IpAddr::V4(_) => (Family::V4, 32, 96),
                IpAddr::V6(_) => (Family::V6, 128, 0),
            };
            if len > bits {
                return Err(RouteError::PrefixLength { addr, len });
            }
            let total = u32::from(len) + extra;
            let mask = u128::MAX.checked_shl(128 - total).unwrap_or(0);
            let value = u128::from_be_bytes(key_addr(addr));
            routes.prefixes.push(Prefix {
                family,
                net: value & mask,
                mask,
            });
        }
        for gateway in [gateway_v4, gateway_v6].into_iter().flatten() {
            let g = key_addr(gateway);
            let family = match gateway {
                IpAddr::V4(_) => Family::V4,
                IpAddr::V6(_) => Family::V6,
            };
            if !routes.on_link(&g, family) {
                return Err(RouteError::GatewayOffLink(gateway));
            }
            match family {
                Family::V4 => routes.gateway_v4 = Some(g),
                Family::V6 => routes.gateway_v6 = Some(g),
            }
        }
        Ok(routes)
    }

    fn on_link(&self, addr: &[u8; 16], family: Family) -> bool {
        let a = u128::from_be_bytes(*addr);
        self.prefixes.iter().any(|p| p.contains(a, family))
    }

    /// The address whose MAC a frame to `dst` (of `family`) is sent to: `dst` if it is on the
    /// segment or its family has no gateway, else the gateway.
    #[inline]
    pub fn next_hop<'a>(&'a self, dst: &'a [u8; 16], family: Family) -> &'a [u8; 16] {
        let gateway = match family {
            Family::V4 => &self.gateway_v4,
            Family::V6 => &self.gateway_v6,
        };
        match gateway {
            Some(g) if !self.on_link(dst, family) => g,
            _ => dst,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn off_segment_destinations_go_to_the_gateway() {
        let r = Routes::new(
            &[(ip("198.18.0.2"), 24), (ip("2001:2::2"), 64)],
            Some(ip("198.18.0.254")),
            Some(ip("2001:2::fe")),
        )
        .expect("routes");
        let k = |s: &str| key_addr(ip(s));
        let (g4, g6) = (k("198.18.0.254"), k("2001:2::fe"));
        for (dst, family, want) in [
            ("198.18.0.11", Family::V4, k("198.18.0.11")),
            ("198.18.0.255", Family::V4, k("198.18.0.255")),
            ("198.18.1.11", Family::V4, g4),
            ("198.19.5.5", Family::V4, g4),
            ("2001:2::11", Family::V6, k("2001:2::11")),
            ("2001:2:0:1::11", Family::V6, g6),
        ] {
            assert_eq!(r.next_hop(&k(dst), family), &want, "{dst}");
        }
    }

    #[test]
    fn without_a_gateway_everything_is_on_link() {
        let r = Routes::new(&[(ip("198.18.0.2"), 24)], None, None).expect("routes");
        let far = key_addr(ip("198.19.5.5"));
        assert_eq!(r.next_hop(&far, Family::V4), &far);
        let r = Routes::default();
        assert_eq!(r.next_hop(&far, Family::V4), &far);
    }

    #[test]
    fn a_gateway_off_the_segment_or_a_bad_length_is_refused() {
        assert_eq!(
            Routes::new(&[(ip("198.18.0.2"), 24)], Some(ip("198.18.1.1")), None),
            Err(RouteError::GatewayOffLink(ip("198.18.1.1")))
        );
        assert_eq!(
            Routes::new(&[], None, Some(ip("2001:2::fe"))),
            Err(RouteError::GatewayOffLink(ip("2001:2::fe")))
        );
        assert!(matches!(
            Routes::new(&[(ip("198.18.0.2"), 33)], None, None),
            Err(RouteError::PrefixLength { len: 33, .. })
        ));
        // /0 covers everything of its family, and only its family.
        let r = Routes::new(&[(ip("0.0.0.0"), 0)], Some(ip("198.18.0.1")), None);
        assert!(r.is_ok());
        assert!(Routes::new(&[(ip("0.0.0.0"), 0)], None, Some(ip("2001:2::1"))).is_err());
        assert!(Routes::new(&[(ip("::"), 0)], Some(ip("198.18.0.1")), None).is_err());
    }
}
