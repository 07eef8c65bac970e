//! Maglev tables, reused between generations when their input is unchanged.
//!
//! Building one 65537-entry table costs about a millisecond, and a node may have dozens; most
//! pushes change a few of them. The cache keys a table by its exact input (backend keys,
//! weights, size); a generation's build starts from the previous generation's tables and only
//! the tables it used survive it.

use std::{collections::HashMap, sync::Arc};

use strait_table::maglev::{
    self, DEFAULT_TABLE_SIZE, MAX_TABLE_SIZE, MaglevBackend, MaglevError, is_prime,
};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    size: u32,
    backends: Vec<(u64, u32)>,
}

/// Tables of the last committed generation.
#[derive(Debug, Default)]
pub struct MaglevCache {
    tables: HashMap<Key, Arc<[u32]>>,
}

/// One generation's use of the cache.
#[derive(Debug)]
pub(crate) struct Build<'a> {
    previous: &'a HashMap<Key, Arc<[u32]>>,
    used: HashMap<Key, Arc<[u32]>>,
}

impl MaglevCache {
    pub(crate) fn begin(&self) -> Build<'_> {
        Build {
            previous: &self.tables,
            used: HashMap::new(),
        }
    }

    /// Keeps exactly the tables the committed generation used.
    pub(crate) fn commit(&mut self, used: Used) {
        self.tables = used.0;
    }

    /// Tables held.
    pub fn len(&self) -> usize {
        self.tables.len()
    }

    /// True when no table is held.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
}

/// The tables one generation used, detached from the cache so it can be committed.
#[derive(Debug)]
pub(crate) struct Used(HashMap<Key, Arc<[u32]>>);

impl Build<'_> {
    /// Ends the build.
    pub(crate) fn finish(self) -> Used {
        Used(self.used)
    }

    /// The table for `backends` at `size`, from the cache or built now.
    pub(crate) fn table(
        &mut self,
        backends: &[MaglevBackend],
        size: u32,
    ) -> Result<Arc<[u32]>, MaglevError> {
        let key = Key {
            size,
            backends: backends.iter().map(|b| (b.key, b.weight)).collect(),
        };
        if let Some(t) = self.used.get(&key).or_else(|| self.previous.get(&key)) {
            let t = t.clone();
            self.used.insert(key, t.clone());
            return Ok(t);
        }
        let table: Arc<[u32]> = maglev::build(backends, size)?.into();
        self.used.insert(key, table.clone());
        Ok(table)
    }
}

/// Table size for `backends` backends: at least 100 slots per backend (Maglev's imbalance stays
/// around 1% there), the default 65537 for up to 655, a larger prime beyond.
pub fn table_size_for(backends: usize) -> u32 {
    let want = (backends as u64 * 100).max(u64::from(DEFAULT_TABLE_SIZE));
    if want <= u64::from(DEFAULT_TABLE_SIZE) {
        return DEFAULT_TABLE_SIZE;
    }
    let mut n = want.min(u64::from(MAX_TABLE_SIZE)) as u32 | 1;
    while !is_prime(n) && n > 2 {
        n -= 2;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_prime_and_grow_with_backends() {
        assert_eq!(table_size_for(3), DEFAULT_TABLE_SIZE);
        assert_eq!(table_size_for(655), DEFAULT_TABLE_SIZE);
        let big = table_size_for(10_000);
        assert!(is_prime(big) && big >= 999_000, "{big}");
        assert!(is_prime(table_size_for(1000)) && table_size_for(1000) >= 99_000);
    }

    #[test]
    fn unchanged_tables_are_reused_and_unused_ones_dropped() {
        let a = [
            MaglevBackend { key: 1, weight: 1 },
            MaglevBackend { key: 2, weight: 1 },
        ];
        let b = [
            MaglevBackend { key: 3, weight: 1 },
            MaglevBackend { key: 4, weight: 2 },
        ];
        let mut cache = MaglevCache::default();
        let mut build = cache.begin();
        let ta = build.table(&a, 1021).unwrap();
        let _ = build.table(&b, 1021).unwrap();
        cache.commit(build.finish());
        assert_eq!(cache.len(), 2);
        let mut build = cache.begin();
        let again = build.table(&a, 1021).unwrap();
        assert!(Arc::ptr_eq(&ta, &again), "same input, same table");
        cache.commit(build.finish());
        assert_eq!(cache.len(), 1, "b was not used by the last generation");
    }
}
