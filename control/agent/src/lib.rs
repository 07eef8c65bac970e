//! The Strait control agent: gRPC API, validation, publication.
#![forbid(unsafe_code)]
