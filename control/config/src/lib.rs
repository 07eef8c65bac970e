//! Strait configuration model, YAML/JSON parsing and validation with field paths.
#![forbid(unsafe_code)]
