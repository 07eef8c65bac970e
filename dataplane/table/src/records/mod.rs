//! Record layouts: the `#[repr(C)]` structs stored in the sections of an image.
//!
//! Rules every record follows, so that a record can be read in place from a mapped image:
//! * `#[repr(C)]`, `Pod + Zeroable`, no implicit padding (explicit `_pad` fields, written as zero
//!   and ignored by readers), alignment at most 4, size frozen by a compile-time assertion;
//! * no `bool` or enum fields: a flag is a `u8` that is 0 or 1, a choice is a `u8` code whose
//!   typed getter returns `Option<Enum>` (always `Some` once the image has been validated);
//! * strings are [`StrRef`]s into `STRINGS`; lists are [`Range`]s into another section;
//! * an IP address is `[u8; 16]` plus a `family` byte (4 or 6); a v4 address fills the first
//!   four bytes and the other twelve are zero.

mod cluster;
mod codes;
mod l4;
mod l7;
mod route;

pub use cluster::{Cluster, Endpoint};
pub use codes::{
    Family, HashOn, HeaderOp, HostKind, L4Mode, LbPolicy, ListenerProtocol, MatchKind, MatchTarget,
    ModDirection, PathMatch, Protocol, RouteAction, TlsMode, UpstreamProtocol,
};
pub use l4::{L4Backend, L4Service, l4_flags};
pub use l7::{Certificate, HeaderMod, Listener, Match, RouteBackend, TcpRoute, VirtualHost};
pub use route::{Route, method, retry_flags, retry_on};

use crate::format::SectionKind;
use bytemuck::{Pod, Zeroable};
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A string: `len` bytes at `off` in the `STRINGS` section. Also the record of `NAMES`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Pod, Zeroable)]
pub struct StrRef {
    /// Byte offset into `STRINGS`.
    pub off: u32,
    /// Length in bytes.
    pub len: u32,
}

impl StrRef {
    /// The empty string (valid in every image, even one without `STRINGS`).
    pub const EMPTY: Self = Self { off: 0, len: 0 };

    /// True for a zero-length string.
    pub const fn is_empty(self) -> bool {
        self.len == 0
    }
}

/// A run of `count` records starting at index `first` of another section.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Pod, Zeroable)]
pub struct Range {
    /// Index of the first record.
    pub first: u32,
    /// Number of records.
    pub count: u32,
}

impl Range {
    /// The empty range.
    pub const EMPTY: Self = Self { first: 0, count: 0 };

    /// True when the range holds no record.
    pub const fn is_empty(self) -> bool {
        self.count == 0
    }

    /// The range as `usize` bounds, `None` if the end does not fit.
    pub fn bounds(self) -> Option<core::ops::Range<usize>> {
        let first = usize::try_from(self.first).ok()?;
        let count = usize::try_from(self.count).ok()?;
        Some(first..first.checked_add(count)?)
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A record type stored in its own section. Sealed: only the types of this crate implement it.
pub trait Record: Pod + sealed::Sealed {
    /// The section holding records of this type.
    const KIND: SectionKind;
}

macro_rules! records {
    ($($ty:ty => $kind:ident, $size:literal;)+) => {
        $(
            impl sealed::Sealed for $ty {}
            impl Record for $ty {
                const KIND: SectionKind = SectionKind::$kind;
            }
            const _: () = assert!(size_of::<$ty>() == $size && align_of::<$ty>() <= 8);
        )+

        /// Size of one record of a known kind (1 for byte sections), `None` for an unknown kind.
        pub const fn record_size(kind: SectionKind) -> Option<usize> {
            $(
                if kind.0 == SectionKind::$kind.0 {
                    return Some(size_of::<$ty>());
                }
            )+
            match kind {
                SectionKind::STRINGS | SectionKind::POLICIES => Some(1),
                SectionKind::MAGLEV => Some(size_of::<u32>()),
                _ => None,
            }
        }
    };
}

records! {
    StrRef => NAMES, 8;
    L4Service => L4_SERVICES, 52;
    L4Backend => L4_BACKENDS, 36;
    Listener => LISTENERS, 56;
    Certificate => CERTIFICATES, 24;
    VirtualHost => VIRTUAL_HOSTS, 24;
    Route => ROUTES, 96;
    Match => MATCHES, 20;
    RouteBackend => ROUTE_BACKENDS, 8;
    HeaderMod => HEADER_MODS, 20;
    TcpRoute => TCP_ROUTES, 24;
    Cluster => CLUSTERS, 56;
    Endpoint => ENDPOINTS, 28;
}

/// Encodes an IP address as the `([u8; 16], family)` pair records store.
pub fn encode_ip(ip: IpAddr) -> ([u8; 16], u8) {
    let mut bytes = [0u8; 16];
    match ip {
        IpAddr::V4(v4) => {
            bytes[..4].copy_from_slice(&v4.octets());
            (bytes, Family::V4.code())
        }
        IpAddr::V6(v6) => (v6.octets(), Family::V6.code()),
    }
}

/// Decodes a stored address; `None` for an unknown family or a v4 address with a non-zero tail.
pub fn decode_ip(bytes: &[u8; 16], family: u8) -> Option<IpAddr> {
    match Family::from_code(family)? {
        Family::V4 => {
            let [a, b, c, d, tail @ ..] = *bytes;
            tail.iter()
                .all(|&x| x == 0)
                .then(|| IpAddr::V4(Ipv4Addr::new(a, b, c, d)))
        }
        Family::V6 => Some(IpAddr::V6(Ipv6Addr::from(*bytes))),
    }
}
