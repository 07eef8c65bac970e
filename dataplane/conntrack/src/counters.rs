//! Per-table counters: plain integers, owned by the worker that owns the table.
//!
//! # Invariants
//! * Every field except `live` only grows; `live` equals `inserts - expired - evicted - removed`
//!   (entries that are expired but not yet reclaimed still count as live).

/// Event counts of one table, read by the worker's stats exporter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Connections inserted.
    pub inserts: u64,
    /// `lookup` calls that found a live connection.
    pub lookup_hits: u64,
    /// `lookup` calls that found nothing, or only an expired entry.
    pub lookup_misses: u64,
    /// Connections reclaimed because they were past their timeout.
    pub expired: u64,
    /// Live connections evicted to make room for a new one.
    pub evicted: u64,
    /// Inserts refused with `InsertError::Full`.
    pub full: u64,
    /// Inserts refused with `InsertError::Exists`.
    pub exists: u64,
    /// Connections removed by the caller.
    pub removed: u64,
    /// Occupied slots right now.
    pub live: u64,
}
