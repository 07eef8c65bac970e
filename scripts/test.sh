#!/usr/bin/env bash
# Installs what Strait's tests need and runs every test: formatting, lints, unit, property,
# loom and end-to-end tests. Root-only network-namespace tests fail instead of skipping when
# STRAIT_REQUIRE_NETNS=1 (CI sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/common.sh

ensure_packages "${BUILD_PACKAGES[@]}"
ensure_rust

say "formatting"
cargo fmt --all --check
say "lints"
cargo clippy --workspace --all-targets --locked -- -D warnings
say "building the binaries the end-to-end tests run"
cargo build --workspace --bins --locked
say "tests"
cargo test --workspace --locked
say "loom model of the generation switch"
RUSTFLAGS="--cfg loom" cargo test -p strait-rcu --test loom --release --locked --target-dir target/loom
say "building the fuzz targets (cargo fuzz run needs nightly; CI builds them on stable)"
for fuzz in dataplane/table/fuzz dataplane/packet/fuzz control/config/fuzz; do
    cargo build --manifest-path "$fuzz/Cargo.toml" --target-dir target/fuzz
done
say "all tests passed"
