//! Generation switch for shared-memory tables.
