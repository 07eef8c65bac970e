//! Strait table image ABI: format, writer, validating reader, Maglev tables.
#![forbid(unsafe_code)]
