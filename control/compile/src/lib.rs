//! Compiles a validated Strait config into a table image.
#![forbid(unsafe_code)]
