//! Shared memory between agent and data plane.
