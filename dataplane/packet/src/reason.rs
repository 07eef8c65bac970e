//! Drop reasons: why a frame was rejected by a view or by [`crate::parse_frame`].
//!
//! Invariant: `DropReason::ALL[d.index()] == d` for every reason, and `index() < DropReason::COUNT`, so a
//! worker can keep a plain `[u64; DropReason::COUNT]` of counters and label them with [`DropReason::name`].
//! Adding a variant means adding it to `ALL` and `name` (a unit test checks both).

/// Why a frame was dropped: a fieldless `Copy` error for the packet path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// The buffer ends inside a fixed-size header (Ethernet, VLAN tag, IPv4/IPv6 fixed part).
    TooShort,
    /// The (inner) ethertype is not IPv4, IPv6 or ARP (includes stacked VLAN tags).
    UnsupportedEthertype,
    /// The IP version nibble does not match the ethertype.
    BadIpVersion,
    /// IPv4 IHL below 5 words or beyond the buffer.
    BadIpHeaderLength,
    /// IPv4 total length below the header length or beyond the buffer; IPv6 payload length
    /// beyond the buffer.
    BadIpTotalLength,
    /// IPv4 header checksum does not verify.
    BadIpChecksum,
    /// TTL / hop limit is 0 or 1: forwarding would have to decrement it to zero.
    TtlExpired,
    /// A non-first fragment (IPv4 offset, or an IPv6 fragment header's, ≠ 0): it carries no
    /// L4 header.
    Fragment,
    /// An IPv6 extension header that is not walked: AH, ESP, mobility and the like, a routing
    /// header with segments left, hop-by-hop after the first, a truncated header, or more
    /// than eight of them.
    Ipv6ExtensionHeader,
    /// The L4 protocol is not TCP, UDP, ICMP (on IPv4) or ICMPv6 (on IPv6).
    UnsupportedProtocol,
    /// TCP header shorter than 20 bytes, data offset below 5, or beyond the segment.
    BadTcpHeader,
    /// UDP header truncated, or UDP length below 8 or beyond the IP payload.
    BadUdpLength,
    /// ICMP / ICMPv6 message shorter than its 8-byte header.
    BadIcmp,
    /// ARP packet truncated or not Ethernet/IPv4 ARP.
    BadArp,
}

impl DropReason {
    /// Number of reasons; the length of a per-reason counter array.
    pub const COUNT: usize = 14;

    /// Every reason, in `index()` order.
    pub const ALL: [DropReason; DropReason::COUNT] = [
        DropReason::TooShort,
        DropReason::UnsupportedEthertype,
        DropReason::BadIpVersion,
        DropReason::BadIpHeaderLength,
        DropReason::BadIpTotalLength,
        DropReason::BadIpChecksum,
        DropReason::TtlExpired,
        DropReason::Fragment,
        DropReason::Ipv6ExtensionHeader,
        DropReason::UnsupportedProtocol,
        DropReason::BadTcpHeader,
        DropReason::BadUdpLength,
        DropReason::BadIcmp,
        DropReason::BadArp,
    ];

    /// Position of this reason in [`DropReason::ALL`], for indexing a counter array.
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Stable snake_case name, suitable as a metrics label value.
    pub const fn name(self) -> &'static str {
        match self {
            DropReason::TooShort => "too_short",
            DropReason::UnsupportedEthertype => "unsupported_ethertype",
            DropReason::BadIpVersion => "bad_ip_version",
            DropReason::BadIpHeaderLength => "bad_ip_header_length",
            DropReason::BadIpTotalLength => "bad_ip_total_length",
            DropReason::BadIpChecksum => "bad_ip_checksum",
            DropReason::TtlExpired => "ttl_expired",
            DropReason::Fragment => "fragment",
            DropReason::Ipv6ExtensionHeader => "ipv6_extension_header",
            DropReason::UnsupportedProtocol => "unsupported_protocol",
            DropReason::BadTcpHeader => "bad_tcp_header",
            DropReason::BadUdpLength => "bad_udp_length",
            DropReason::BadIcmp => "bad_icmp",
            DropReason::BadArp => "bad_arp",
        }
    }
}

impl core::fmt::Display for DropReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::DropReason;

    #[test]
    fn all_is_indexed_and_names_are_unique() {
        for (i, d) in DropReason::ALL.iter().enumerate() {
            assert_eq!(d.index(), i);
        }
        let mut names: Vec<_> = DropReason::ALL.iter().map(|d| d.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DropReason::COUNT);
    }
}
