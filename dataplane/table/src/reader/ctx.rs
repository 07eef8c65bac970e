//! The checks a record field can need, each producing an error that names the record and the
//! field. [`Ctx`] knows the string pool, the record count of every known section and the Maglev
//! entries, which is all a record's references can point into.

use super::{Span, records_in};
use crate::error::{At, ImageError};
use crate::format::{KNOWN_KINDS, SectionKind};
use crate::records::{Family, Range, StrRef, decode_ip, record_size};

/// What record checks look references up in.
pub(super) struct Ctx<'a> {
    strings: &'a str,
    /// Record count of each known section, by slot.
    lens: [usize; KNOWN_KINDS],
    maglev: &'a [u32],
}

impl<'a> Ctx<'a> {
    pub(super) fn new(bytes: &'a [u8], spans: &[Span; KNOWN_KINDS], strings: &'a str) -> Self {
        let mut lens = [0; KNOWN_KINDS];
        for ((len, span), kind) in lens.iter_mut().zip(spans).zip(SectionKind::KNOWN) {
            *len = span.end.saturating_sub(span.start) / record_size(kind).unwrap_or(1);
        }
        let maglev_slot = SectionKind::MAGLEV.slot().unwrap_or_default();
        Self {
            strings,
            lens,
            maglev: records_in(bytes, spans[maglev_slot]),
        }
    }

    fn len_of(&self, kind: SectionKind) -> usize {
        kind.slot().map_or(0, |slot| self.lens[slot])
    }

    /// The string `r` names, if it resolves.
    fn get(&self, r: StrRef) -> Option<&'a str> {
        let start = r.off as usize;
        self.strings.get(start..start.checked_add(r.len as usize)?)
    }

    /// True if `r` resolves to a string longer than one byte that starts with `.`.
    pub(super) fn str_starts_with_dot(&self, r: StrRef) -> bool {
        self.get(r)
            .is_some_and(|s| s.len() > 1 && s.starts_with('.'))
    }

    /// `r` lies inside STRINGS on character boundaries.
    pub(super) fn str(&self, at: At, field: &'static str, r: StrRef) -> Result<(), ImageError> {
        if self.get(r).is_some() {
            return Ok(());
        }
        Err(ImageError::BadStr {
            at,
            field,
            off: r.off,
            len: r.len,
            strings_len: self.strings.len(),
        })
    }

    /// `r` lies inside section `target`.
    pub(super) fn range(
        &self,
        at: At,
        field: &'static str,
        r: Range,
        target: SectionKind,
    ) -> Result<(), ImageError> {
        let end = u64::from(r.first) + u64::from(r.count);
        let target_len = self.len_of(target);
        if end <= target_len as u64 {
            return Ok(());
        }
        Err(ImageError::BadRange {
            at,
            field,
            first: r.first,
            end,
            target,
            target_len,
        })
    }

    /// `index` names a record of section `target`.
    pub(super) fn index(
        &self,
        at: At,
        field: &'static str,
        index: u32,
        target: SectionKind,
    ) -> Result<(), ImageError> {
        let target_len = self.len_of(target);
        if (index as usize) < target_len {
            return Ok(());
        }
        Err(ImageError::BadIndex {
            at,
            field,
            index,
            target,
            target_len,
        })
    }

    /// `known` says whether `code` decoded; if not, the field is refused.
    pub(super) fn code(
        at: At,
        field: &'static str,
        code: u8,
        known: bool,
    ) -> Result<(), ImageError> {
        if known {
            Ok(())
        } else {
            Err(ImageError::BadCode { at, field, code })
        }
    }

    /// A 0/1 flag byte.
    pub(super) fn flag(at: At, field: &'static str, value: u8) -> Result<(), ImageError> {
        Self::code(at, field, value, value <= 1)
    }

    /// A bitmask uses only the bits of `mask`.
    pub(super) fn bits(
        at: At,
        field: &'static str,
        value: u32,
        mask: u32,
    ) -> Result<(), ImageError> {
        match value & !mask {
            0 => Ok(()),
            bits => Err(ImageError::BadFlags { at, field, bits }),
        }
    }

    /// An address field and its family byte.
    pub(super) fn addr(at: At, addr: &[u8; 16], family: u8) -> Result<(), ImageError> {
        Self::code(at, "family", family, Family::from_code(family).is_some())?;
        if decode_ip(addr, family).is_none() {
            return Err(ImageError::BadField {
                at,
                field: "address",
                problem: "IPv4 address with non-zero bytes 4..16",
            });
        }
        Ok(())
    }

    /// A Maglev range lies inside MAGLEV and each entry is below `backends`, the owner's count.
    pub(super) fn maglev(&self, at: At, table: Range, backends: u32) -> Result<(), ImageError> {
        self.range(at, "maglev", table, SectionKind::MAGLEV)?;
        let entries = table
            .bounds()
            .and_then(|b| self.maglev.get(b))
            .unwrap_or_default();
        if entries.iter().all(|&v| v < backends) {
            return Ok(());
        }
        let (slot, &value) = (0u32..)
            .zip(entries)
            .find(|&(_, &v)| v >= backends)
            .unwrap_or((0, &0));
        Err(ImageError::BadMaglevEntry {
            at,
            slot,
            value,
            backends,
        })
    }
}
