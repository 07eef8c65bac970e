//! gRPC API strait.v1 (generated with tonic/prost).
#![forbid(unsafe_code)]
