#!/usr/bin/env bash
# The Strait demo: installs what it needs, builds, starts the agent and the data plane in
# software fallback mode, applies configs/demo.yaml and shows every worker running it; then
# pushes a config with mistakes and shows it refused while the workers keep their tables.
# Everything it starts is stopped when it ends (or pass --keep to leave it running).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/common.sh

keep=0
for arg in "$@"; do
    case "$arg" in
        --keep) keep=1 ;;
        -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
        *) die "unknown option $arg (try --help)" ;;
    esac
done

ensure_packages "${BUILD_PACKAGES[@]}"
ensure_rust
say "building"
cargo build --workspace --bins --locked
bin=target/debug

run=${STRAIT_DEMO_DIR:-/tmp/strait-demo}
rm -rf "$run" && mkdir -p "$run"
api="unix:$run/agent.sock"
pids=()
cleanup() {
    ((keep)) && { say "left running (pids ${pids[*]}); logs in $run"; return; }
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# The first two cores this shell may run on (taskset prints lists such as 0-3,6).
cores=$(taskset -pc $$ | sed 's/.*: //' | tr ',' '\n' |
    while IFS=- read -r lo hi; do seq "$lo" "${hi:-$lo}"; done | head -n 2 | paste -sd, -)
say "starting strait-agent (API $api) and strait-dataplane (workers on cores $cores)"
"$bin/strait-agent" --listen "$api" --link-socket "$run/link.sock" --state-dir "$run/agent-state" \
    >"$run/agent.log" 2>&1 &
pids+=($!)
"$bin/strait-dataplane" --cores "$cores" --link-socket "$run/link.sock" --state-dir "$run/dataplane-state" \
    >"$run/dataplane.log" 2>&1 &
pids+=($!)
ctl() { "$bin/straitctl" --agent "$api" "$@"; }
for _ in $(seq 100); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done

say "straitctl apply -f configs/demo.yaml --wait"
ctl apply -f configs/demo.yaml --wait
say "straitctl status"
ctl status

say "a config with mistakes is refused, one line per mistake:"
ctl apply -f tests/fixtures/three-mistakes.yaml && die "the bad config was accepted" || true
say "and every worker still runs generation 1:"
ctl status
say "logs: $run/agent.log $run/dataplane.log"
