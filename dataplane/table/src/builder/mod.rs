//! The writer: [`ImageBuilder`] collects records, strings and Maglev tables, and lays them out
//! as one sealed image (see `write.rs` for the layout and for reusing a builder).
//!
//! Order of use: `new` (and `reserve*` when sizes are known) → intern strings with `string` /
//! `names` → push children before their owners, so an owner can be given the [`Range`] its
//! children got (`extend`, or `count` before and `range_from` after a run of `push`es) →
//! `finish` (or `image_len` + `write_to`). Indices of records pushed later (e.g. a virtual host's
//! listener) can be predicted with `count`, or a pushed record patched with `replace`.
//!
//! The builder does not validate references: the agent checks its config while compiling, and
//! should run [`crate::Image::parse`] on the result before publishing it. Each section is one
//! growing byte buffer (no allocation per record; strings are deduplicated through a hash of
//! their bytes, without allocating a key), Maglev tables are generated straight into the
//! `MAGLEV` buffer, and the output is written with one copy per section plus a checksum pass.
//!
//! Record counts and the string pool are limited to `u32::MAX`; exceeding them panics (a config
//! is many orders of magnitude smaller).

mod bytes;
mod strings;
mod write;

pub use bytes::ImageBytes;
pub use write::OutputLenError;

use crate::format::{KNOWN_KINDS, SectionKind};
use crate::maglev::{self, MaglevBackend, MaglevError};
use crate::records::{
    Certificate, Cluster, Endpoint, HeaderMod, L4Backend, L4Service, Listener, Match, Range,
    Record, Route, RouteBackend, StrRef, TcpRoute, VirtualHost,
};
use core::fmt;
use strings::StringPool;

/// Builds one image. See the module documentation for the order of calls.
#[derive(Clone)]
pub struct ImageBuilder {
    generation: u64,
    strings: StringPool,
    /// Raw bytes of each record section, indexed by kind slot (the STRINGS and MAGLEV slots
    /// are unused: those live in `strings` and `maglev`).
    sections: [Vec<u8>; KNOWN_KINDS],
    maglev: Vec<u32>,
}

/// Slot of a record kind, evaluated at compile time.
const fn slot_of(kind: SectionKind) -> usize {
    match kind.slot() {
        Some(slot) => slot,
        None => panic!("record kinds are known kinds"),
    }
}

fn to_u32(n: usize, what: &str) -> u32 {
    match u32::try_from(n) {
        Ok(n) => n,
        Err(_) => panic!("{what} exceeds u32::MAX"),
    }
}

impl ImageBuilder {
    /// An empty image of config `generation`.
    pub fn new(generation: u64) -> Self {
        Self {
            generation,
            strings: StringPool::default(),
            sections: Default::default(),
            maglev: Vec::new(),
        }
    }

    /// Reserves room for `additional` more records of type `R`.
    pub fn reserve<R: Record>(&mut self, additional: usize) {
        self.sections[const { slot_of(R::KIND) }].reserve(additional * size_of::<R>());
    }

    /// Reserves room for `bytes` more bytes of distinct strings.
    pub fn reserve_strings(&mut self, bytes: usize) {
        self.strings.reserve(bytes);
    }

    /// Reserves room for `entries` more Maglev entries.
    pub fn reserve_maglev(&mut self, entries: usize) {
        self.maglev.reserve(entries);
    }

    /// Interns `s` in the string pool; identical strings share one copy.
    pub fn string(&mut self, s: &str) -> StrRef {
        self.strings.intern(s)
    }

    /// Interns each name and appends the list to `NAMES`.
    pub fn names<I, S>(&mut self, names: I) -> Range
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let first = self.count::<StrRef>();
        for name in names {
            let r = self.strings.intern(name.as_ref());
            self.push(r);
        }
        self.range_from::<StrRef>(first)
    }

    /// Appends a record to its section and returns its index.
    pub fn push<R: Record>(&mut self, record: R) -> u32 {
        let index = self.count::<R>();
        self.sections[const { slot_of(R::KIND) }].extend_from_slice(bytemuck::bytes_of(&record));
        index
    }

    /// Appends records to their section and returns the range they occupy.
    pub fn extend<R: Record>(&mut self, records: &[R]) -> Range {
        let first = self.count::<R>();
        self.sections[const { slot_of(R::KIND) }].extend_from_slice(bytemuck::cast_slice(records));
        self.range_from::<R>(first)
    }

    /// Number of records of type `R` so far, which is the index the next one will get.
    pub fn count<R: Record>(&self) -> u32 {
        let bytes = self.sections[const { slot_of(R::KIND) }].len();
        to_u32(bytes / size_of::<R>(), R::KIND.name().unwrap_or("section"))
    }

    /// The range from index `first` to the current end of `R`'s section.
    pub fn range_from<R: Record>(&self, first: u32) -> Range {
        let end = self.count::<R>();
        Range {
            first,
            count: end.saturating_sub(first),
        }
    }

    /// A copy of record `index` of type `R`, if it exists.
    pub fn record<R: Record>(&self, index: u32) -> Option<R> {
        let size = size_of::<R>();
        let start = usize::try_from(index).ok()?.checked_mul(size)?;
        let bytes =
            self.sections[const { slot_of(R::KIND) }].get(start..start.checked_add(size)?)?;
        Some(bytemuck::pod_read_unaligned(bytes))
    }

    /// Overwrites record `index` of type `R` and returns the old one; `None` (and no change) if
    /// there is no such record.
    pub fn replace<R: Record>(&mut self, index: u32, record: R) -> Option<R> {
        let old = self.record::<R>(index)?;
        let start = index as usize * size_of::<R>();
        let bytes =
            self.sections[const { slot_of(R::KIND) }].get_mut(start..start + size_of::<R>())?;
        bytes.copy_from_slice(bytemuck::bytes_of(&record));
        Some(old)
    }

    /// Appends Maglev entries (indices relative to the owner's first backend) to `MAGLEV`.
    pub fn maglev(&mut self, entries: &[u32]) -> Range {
        let first = to_u32(self.maglev.len(), "MAGLEV");
        self.maglev.extend_from_slice(entries);
        self.maglev_range_from(first)
    }

    /// Builds a Maglev table of `table_size` slots over `backends` straight into `MAGLEV`.
    pub fn maglev_table(
        &mut self,
        backends: &[MaglevBackend],
        table_size: u32,
    ) -> Result<Range, MaglevError> {
        let first = to_u32(self.maglev.len(), "MAGLEV");
        maglev::build_into(backends, table_size, &mut self.maglev)?;
        Ok(self.maglev_range_from(first))
    }

    /// Appends `backends` and a Maglev table of `table_size` slots over them (each keyed by
    /// [`maglev::backend_key`] of its address and effective port, weighted by its weight), then
    /// pushes `service` with its `backends` and `maglev` ranges set. Returns its index. On a
    /// Maglev error nothing is pushed but the backends.
    pub fn push_l4_service_with(
        &mut self,
        mut service: L4Service,
        backends: &[L4Backend],
        table_size: u32,
    ) -> Result<u32, MaglevError> {
        let keys: Vec<MaglevBackend> = backends
            .iter()
            .map(|b| MaglevBackend {
                key: maglev::backend_key(&b.addr, b.family, b.port_for(service.port)),
                weight: b.weight,
            })
            .collect();
        service.backends = self.extend(backends);
        service.maglev = self.maglev_table(&keys, table_size)?;
        Ok(self.push_l4_service(service))
    }

    fn maglev_range_from(&self, first: u32) -> Range {
        let end = to_u32(self.maglev.len(), "MAGLEV");
        Range {
            first,
            count: end - first,
        }
    }

    /// Appends opaque bytes to the optional `POLICIES` section (reserved for policy data).
    pub fn policies(&mut self, bytes: &[u8]) {
        self.sections[const { slot_of(SectionKind::POLICIES) }].extend_from_slice(bytes);
    }
}

impl fmt::Debug for ImageBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ImageBuilder");
        d.field("generation", &self.generation)
            .field("strings_bytes", &self.strings.len())
            .field("maglev_entries", &self.maglev.len());
        for (kind, bytes) in SectionKind::KNOWN.iter().zip(&self.sections) {
            if !bytes.is_empty() {
                d.field(kind.name().unwrap_or("?"), &bytes.len());
            }
        }
        d.finish()
    }
}

// Named push methods, one per record kind: thin wrappers over `push` for callers who prefer
// `push_route(r)` to `push::<Route>(r)`.
macro_rules! named_push {
    ($($(#[$doc:meta])* $name:ident($ty:ty);)+) => {
        impl ImageBuilder {
            $(
                $(#[$doc])*
                pub fn $name(&mut self, record: $ty) -> u32 {
                    self.push(record)
                }
            )+
        }
    };
}

named_push! {
    /// Appends an L4 service to `L4_SERVICES`.
    push_l4_service(L4Service);
    /// Appends an L4 backend to `L4_BACKENDS`.
    push_l4_backend(L4Backend);
    /// Appends a listener to `LISTENERS`.
    push_listener(Listener);
    /// Appends a certificate to `CERTIFICATES`.
    push_certificate(Certificate);
    /// Appends a virtual host to `VIRTUAL_HOSTS`.
    push_virtual_host(VirtualHost);
    /// Appends a route to `ROUTES`.
    push_route(Route);
    /// Appends a header or query match to `MATCHES`.
    push_match(Match);
    /// Appends a weighted cluster reference to `ROUTE_BACKENDS`.
    push_route_backend(RouteBackend);
    /// Appends a header modification to `HEADER_MODS`.
    push_header_mod(HeaderMod);
    /// Appends a TCP route to `TCP_ROUTES`.
    push_tcp_route(TcpRoute);
    /// Appends a cluster to `CLUSTERS`.
    push_cluster(Cluster);
    /// Appends an endpoint to `ENDPOINTS`.
    push_endpoint(Endpoint);
}
