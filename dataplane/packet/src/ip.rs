//! IP-level constants shared by IPv4 and IPv6: protocol / next-header numbers.
//!
//! No invariants: plain constants.

/// IANA protocol numbers (IPv4 `protocol`, IPv6 `next header`).
pub mod protocol {
    /// IPv6 hop-by-hop options (an extension header).
    pub const HOP_BY_HOP: u8 = 0;
    /// ICMP for IPv4.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// IPv6 routing header.
    pub const IPV6_ROUTE: u8 = 43;
    /// IPv6 fragment header.
    pub const IPV6_FRAG: u8 = 44;
    /// Encapsulating security payload.
    pub const ESP: u8 = 50;
    /// Authentication header.
    pub const AH: u8 = 51;
    /// ICMP for IPv6.
    pub const ICMPV6: u8 = 58;
    /// IPv6 "no next header".
    pub const IPV6_NO_NEXT: u8 = 59;
    /// IPv6 destination options.
    pub const IPV6_OPTS: u8 = 60;
    /// Mobility header.
    pub const MOBILITY: u8 = 135;
    /// Host identity protocol.
    pub const HIP: u8 = 139;
    /// Shim6.
    pub const SHIM6: u8 = 140;
}

/// True if `next_header` names an IPv6 extension header (RFC 8200 §4, RFC 7045) rather than
/// an upper-layer protocol. Such headers are not walked by this crate yet.
pub const fn is_ipv6_extension_header(next_header: u8) -> bool {
    use protocol::*;
    matches!(
        next_header,
        HOP_BY_HOP | IPV6_ROUTE | IPV6_FRAG | ESP | AH | IPV6_OPTS | MOBILITY | HIP | SHIM6
    )
}
