#!/usr/bin/env bash
# The Strait demo: installs what it needs, builds, brings up the network-namespace testbed
# (a client, the node and three backends), starts the agent and the data plane in software
# fallback mode (af_packet on the node's eth0), applies configs/demo.yaml, opens 1000 TCP
# connections and 1000 UDP flows from the client to the VIP and shows how they spread over the
# backends (weights 1:1:2); then pushes a config with mistakes and shows it refused while the
# workers keep their tables. Everything it starts is stopped when it ends (or pass --keep to
# leave it running). Needs root (namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/common.sh

keep=0
for arg in "$@"; do
    case "$arg" in
        --keep) keep=1 ;;
        -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
        *) die "unknown option $arg (try --help)" ;;
    esac
done

[ "$(id -u)" = 0 ] || die "the demo needs root: it creates network namespaces"
ensure_packages "${BUILD_PACKAGES[@]}"
ensure_rust
say "building"
cargo build --workspace --bins --locked
bin=target/debug

run=${STRAIT_DEMO_DIR:-/tmp/strait-demo}
rm -rf "$run" && mkdir -p "$run"
api="unix:$run/agent.sock"
pids=()
export STRAIT_TESTBED=strait-demo STRAIT_BIN_DIR=$bin
testbed() { scripts/netns-testbed.sh "$@"; }
cleanup() {
    ((keep)) && { say "left running (pids ${pids[*]}, testbed $STRAIT_TESTBED); logs in $run"; return; }
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    testbed down >/dev/null 2>&1 || true
}
trap cleanup EXIT

say "bringing up the testbed: client 198.18.0.1, backends 198.18.0.11-13 (strait-echo on 8080), node eth0"
testbed up

# The first two cores this shell may run on (taskset prints lists such as 0-3,6).
cores=$(taskset -pc $$ | sed 's/.*: //' | tr ',' '\n' |
    while IFS=- read -r lo hi; do seq "$lo" "${hi:-$lo}"; done | head -n 2 | paste -sd, -)
say "starting strait-agent (API $api) and strait-dataplane (workers on cores $cores)"
"$bin/strait-agent" --listen "$api" --link-socket "$run/link.sock" --state-dir "$run/agent-state" \
    >"$run/agent.log" 2>&1 &
pids+=($!)
# `ip netns exec` execs the data plane, so $! is its PID.
ip netns exec "$STRAIT_TESTBED-node" "$bin/strait-dataplane" --cores "$cores" \
    --link-socket "$run/link.sock" --state-dir "$run/dataplane-state" \
    --device af_packet --interface eth0 --node-v4 198.18.0.2 --node-v6 2001:2::2 \
    >"$run/dataplane.log" 2>&1 &
pids+=($!)
ctl() { "$bin/straitctl" --agent "$api" "$@"; }
for _ in $(seq 100); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done

say "straitctl apply -f configs/demo.yaml --wait"
ctl apply -f configs/demo.yaml --wait
say "straitctl status"
ctl status

probe() { ip netns exec "$STRAIT_TESTBED-client" "$bin/strait-probe" "$@"; }
say "1000 TCP connections from the client to 198.18.0.100:80 (backend: connections):"
probe tcp --target 198.18.0.100:80 --connections 1000 --parallel 32
say "1000 UDP flows to 198.18.0.100:80:"
probe udp --target 198.18.0.100:80 --connections 1000
say "1000 TCP connections to [2001:2::100]:80:"
probe tcp --target '[2001:2::100]:80' --connections 1000 --parallel 32

say "a config with mistakes is refused, one line per mistake:"
ctl apply -f tests/fixtures/three-mistakes.yaml && die "the bad config was accepted" || true
say "and every worker still runs generation 1:"
ctl status
say "logs: $run/agent.log $run/dataplane.log"
