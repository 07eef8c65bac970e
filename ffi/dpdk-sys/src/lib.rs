//! Raw bindings to the system DPDK (22.11 or later), found with `pkg-config libdpdk`.
//!
//! Only what Strait uses is bound (allowlisted in `build.rs`): EAL start and stop, thread
//! registration, mempools, ethdev set-up and stats, vdevs and the ring PMD. DPDK's fast-path
//! calls are `static inline` in its headers; `src/shim.c` gives each an out-of-line
//! `strait_*` twin compiled with DPDK's own cflags.
//!
//! Everything here is `unsafe` and follows DPDK's C contracts; the safe layer is
//! `strait-dpdk`.

#![allow(
    non_upper_case_globals,
    non_camel_case_types,
    non_snake_case,
    dead_code,
    unsafe_op_in_unsafe_fn,
    missing_debug_implementations,
    clippy::all,
    clippy::undocumented_unsafe_blocks
)]

include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
