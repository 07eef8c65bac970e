#!/usr/bin/env bash
# perf/run.sh NAME: builds Strait in release mode (LTO), runs one benchmark with its baseline in
# the same invocation, and ends with `RESULT NAME key=value …`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/common.sh

usage() {
    cat >&2 <<USAGE
usage: perf/run.sh NAME
  control       push→live latency of config applies (1k and 10k routes, 100k endpoints)
  l4-pipeline   the L4 pipeline on the memory device, one core, vs. a touch-and-forward loop
  l4-testbed    Strait af_xdp and af_packet vs. kernel NAT on the netns testbed, packets/s
                (root; options: --seconds N --warmup N --rounds N --xdp-mode M --nice N)
  dpdk          the L4 pipeline on a DPDK net_ring vdev vs. dpdk-testpmd io and macswap on the
                same vdev, one core (options: --rounds N --seconds N --warmup N
                --in-flight N --flows N --core N --huge)
  l7            Strait's L7 proxy vs. HAProxy and nginx, each capped at the same CPU budget:
                HTTP/1.1, HTTPS, TLS handshakes, HTTP/2 req/s, p99 at a fixed rate, and
                io_uring vs. epoll (root: cgroups; options: --seconds N --rounds N
                --connections N --quota-us N, see l7-bench --help)
  nic           Strait's data plane on one DPDK port, testpmd txonly on another: packets/s and
                loss (root; perf/run.sh nic -- --generator-port PCI --strait-port PCI, or
                -- --veth for a veth pair over net_af_xdp; see perf/nic.sh --help)
USAGE
    exit 2
}
[ $# -ge 1 ] || usage
name=$1; shift

# ensure_oha: sets $oha to an oha binary: on PATH, else in the tools cache, else installed there
# with `cargo install --locked` (the version whose JSON output l7-bench parses).
OHA_VERSION=1.16.0
ensure_oha() {
    local tools=${STRAIT_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/strait/tools}
    oha=$(command -v oha || true)
    [ -n "$oha" ] && return 0
    oha=$tools/bin/oha
    [ -x "$oha" ] && return 0
    say "installing oha $OHA_VERSION into $tools (cargo install, once)"
    cargo install --locked --version "$OHA_VERSION" --root "$tools" oha
}

ensure_packages "${BUILD_PACKAGES[@]}"
ensure_rust
target=${CARGO_TARGET_DIR:-target}
case "$name" in
    control)
        cargo build --release --locked --bins -p strait-agent -p strait-dataplane -p straitctl -p strait-perf
        exec "$target/release/control-bench" "$@"
        ;;
    l4-pipeline)
        cargo build --release --locked -p strait-perf --bin l4-pipeline
        core=$(( $(nproc) > 1 ? 1 : 0 ))
        exec taskset -c "$core" "$target/release/l4-pipeline" "$@"
        ;;
    l4-testbed)
        # testpmd (the generator) is in dpdk-dev; nftables (the kernel baseline's NAT and the
        # backends' drop rule) and libxdp's build tools are in BUILD_PACKAGES.
        ensure_packages dpdk dpdk-dev
        bins=(--bins -p strait-agent -p strait-dataplane -p straitctl -p strait-e2e -p strait-perf)
        # AF_XDP is a default feature of strait-dataplane.
        cargo build --release --locked "${bins[@]}"
        exec "$target/release/l4-testbed" "$@"
        ;;
    dpdk)
        # testpmd is in dpdk-dev; Strait's DPDK port links libdpdk (bindgen needs libclang).
        # dpdk-bench pins itself: both sides forward on --core (default 0).
        ensure_packages dpdk dpdk-dev libdpdk-dev libclang-dev pkg-config
        cargo build --release --locked -p strait-perf --features strait-perf/dpdk --bin dpdk-bench
        exec "$target/release/dpdk-bench" "$@"
        ;;
    l7)
        # Peers and load generators from Debian; oha (handshakes, fixed-rate latency) from
        # crates.io into a cache directory, once.
        ensure_packages haproxy nginx wrk nghttp2-client curl openssl util-linux
        ensure_oha
        cargo build --release --locked --bins -p strait-agent -p strait-dataplane -p straitctl
        cargo build --release --locked -p strait-perf --bin l7-bench
        OHA=$oha exec "$target/release/l7-bench" "$@"
        ;;
    nic)
        [ "${1:-}" = -- ] && shift
        ensure_packages dpdk dpdk-dev libdpdk-dev libclang-dev pkg-config jq
        cargo build --release --locked --bins -p strait-agent -p straitctl -p strait-dataplane \
            --features strait-dataplane/dpdk
        STRAIT_BIN_DIR=$target/release exec perf/nic.sh "$@"
        ;;
    *) echo "unknown benchmark: $name" >&2; usage ;;
esac
