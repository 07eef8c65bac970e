//! Strait benchmarks: shared helpers for the programs under perf/.
#![forbid(unsafe_code)]
