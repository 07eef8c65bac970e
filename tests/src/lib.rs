//! Helpers for the end-to-end tests: locating binaries, starting and stopping processes.
#![forbid(unsafe_code)]
