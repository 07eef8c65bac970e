#!/usr/bin/env bash
# Installs what Strait's tests need and runs every test: formatting, lints, unit, property,
# loom and end-to-end tests. Root-only network-namespace tests fail instead of skipping when
# STRAIT_REQUIRE_NETNS=1 (CI sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/common.sh

# wrk loads the L7 path while its routes change (tests/tests/l7.rs).
ensure_packages "${BUILD_PACKAGES[@]}" "${DPDK_PACKAGES[@]}" wrk
ensure_rust

# Everything is built and tested with the DPDK device; the default build (no DPDK) is built
# and linted too, so it keeps working without libdpdk.
dpdk=(--features "strait-e2e/dpdk strait-perf/dpdk")
say "formatting"
cargo fmt --all --check
say "lints (default features, then with DPDK)"
cargo clippy --all-targets --locked -- -D warnings
cargo clippy --workspace --all-targets --locked "${dpdk[@]}" -- -D warnings
say "building the binaries the end-to-end tests run (with DPDK)"
cargo build --workspace --bins --locked "${dpdk[@]}"
say "tests"
cargo test --workspace --locked "${dpdk[@]}"
say "loom model of the generation switch"
RUSTFLAGS="--cfg loom" cargo test -p strait-rcu --test loom --release --locked --target-dir target/loom
say "building the fuzz targets (cargo fuzz run needs nightly; CI builds them on stable)"
for fuzz in dataplane/table/fuzz dataplane/packet/fuzz control/config/fuzz; do
    cargo build --manifest-path "$fuzz/Cargo.toml" --target-dir target/fuzz
done
say "all tests passed"
