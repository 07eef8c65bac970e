#!/usr/bin/env bash
# perf/nic.sh: Strait's data plane on one DPDK port, dpdk-testpmd txonly as the generator on
# another, each on its own core; packets/s and loss. Root. perf/run.sh nic -- ARGS builds the
# binaries (strait-dataplane with the dpdk feature) and runs this.
#
#   perf/nic.sh --generator-port PCI --strait-port PCI [--generator-mac MAC] [options]
#       bare metal: two DPDK-bound ports (scripts/bind-nic.sh), cabled to each other
#   perf/nic.sh --veth [options]
#       anywhere: namespaces P-gen and P-node joined by a veth pair (gen0, node0), each side
#       driven through DPDK's net_af_xdp vdev, without hugepages
#
# Options: --seconds N (measured, default 10), --warmup N (default 2), --generator-core N
# (default 0; testpmd's two lcores and the agent), --strait-core N (default 1: the data
# plane's one worker), --nice N (niceness of testpmd, the data plane, the agent and this
# script, default -20: ahead of other work on a shared machine), --no-huge (bare metal
# without hugepages; --veth always is).
#
# The generator: testpmd --forward-mode=txonly --txonly-multi-flow --txpkts=60 (64-byte
# frames) from 256 source addresses to UDP 198.18.0.100:80 (the VIP) at Strait's MAC (read
# from the data plane's "packet path ready" line), --stats-period=1. Strait: the agent, the
# data plane (--device dpdk, node address 198.18.0.2), and one full-NAT UDP service on the VIP
# with backends 198.18.0.11 and .12, static neighbours at the generator's MAC: every frame
# Strait forwards goes back to the generator (txonly does not poll its receive queue, so
# testpmd counts them as RX-missed; bare metal, testpmd's port is promiscuous, so the MAC given
# with --generator-mac, or a made-up one, reaches it too).
#
# After the warm-up, Strait's counters (straitctl stats --json) are read as soon as testpmd
# prints a statistics block, and again at the first block at least --seconds later.
# generator_kpps: what testpmd sent per second; strait_kpps: what the worker transmitted per
# second; loss = 1 - strait/generator.
# Everything started is stopped by PID and every namespace deleted on exit, error or signal.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/common.sh
. scripts/lib/common.sh

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

seconds=10 warmup=2 gen_core=0 strait_core=1 nice=-20 veth=0 no_huge=0
gen_port='' strait_port='' gen_mac=''
while (($#)); do
    case $1 in
        --veth) veth=1; shift; continue ;;
        --no-huge) no_huge=1; shift; continue ;;
        -h | --help) usage ;;
    esac
    (($# >= 2)) || usage
    case $1 in
        --seconds) seconds=$2 ;;
        --warmup) warmup=$2 ;;
        --generator-core) gen_core=$2 ;;
        --strait-core) strait_core=$2 ;;
        --nice) nice=$2 ;;
        --generator-port) gen_port=$2 ;;
        --strait-port) strait_port=$2 ;;
        --generator-mac) gen_mac=$2 ;;
        *) usage ;;
    esac
    shift 2
done
for n in "$seconds" "$warmup" "$gen_core" "$strait_core"; do
    [[ $n =~ ^[0-9]+$ ]] || die "not a number: $n"
done
((seconds > 0)) || die "--seconds must be positive"
if ! [[ $nice =~ ^-?[0-9]+$ ]] || ((nice < -20 || nice > 19)); then die "--nice must be -20..19"; fi
if ((!veth)) && { [ -z "$gen_port" ] || [ -z "$strait_port" ]; }; then
    die "give --generator-port PCI and --strait-port PCI, or --veth"
fi
[ "$(id -u)" = 0 ] || die "needs root (DPDK, network namespaces)"
bin=${STRAIT_BIN_DIR:-target/release}
[[ $bin = /* ]] || bin=$PWD/$bin
for b in strait-agent strait-dataplane straitctl; do
    [ -x "$bin/$b" ] || die "$bin/$b is missing: run perf/run.sh nic (it builds them)"
done
command -v dpdk-testpmd >/dev/null || die "dpdk-testpmd is missing: install the Debian package dpdk-dev"
command -v jq >/dev/null || die "jq is missing: install the Debian package jq"

# Everything runs at --nice, this script too (it reads the counters: behind the busy-polling
# processes its readings would be late); the processes it starts inherit it.
renice -n "$nice" -p $$ >/dev/null

P=nic$$
dir=$(mktemp -d "/tmp/strait-$P.XXXXXX")
pids=()
namespaces=()

# alive PID: the process exists and is not a zombie.
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

# stop PID: SIGTERM, SIGKILL after 3 s, reap. PID is our child, so it cannot be recycled.
stop() {
    local i
    kill -TERM "$1" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do alive "$1" || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    # The generator first, the data plane before the agent.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop "${pids[i]}"; done
    for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "/var/run/dpdk/$P-gen" "/var/run/dpdk/$P-strait" "$dir"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Prefixes that run a command in the generator's and the node's namespace (bare metal: none).
# `ip netns exec`, `taskset` and `stdbuf` exec, so $! is the program's own PID.
gen_ns=() node_ns=()

if ((veth)); then
    no_huge=1
    say "namespaces $P-gen and $P-node, veth gen0 <-> node0"
    for ns in "$P-gen" "$P-node"; do
        ip netns add "$ns"
        namespaces+=("$ns")
        ip -n "$ns" link set lo up
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    done
    ip -n "$P-gen" link add gen0 type veth peer name node0 netns "$P-node"
    ip -n "$P-gen" addr add 198.18.0.1/24 dev gen0
    for end in "$P-gen gen0" "$P-node node0"; do
        read -r ns ifc <<<"$end"
        ip netns exec "$ns" ethtool -K "$ifc" tx off rx off tso off gso off gro off >/dev/null
        ip -n "$ns" link set "$ifc" up
    done
    gen_mac=$(ip -n "$P-gen" -j link show gen0 | jq -r '.[0].address')
    gen_ns=(ip netns exec "$P-gen") node_ns=(ip netns exec "$P-node")
    gen_dev=(--no-pci "--vdev=net_af_xdp0,iface=gen0")
    strait_dev=(--interface net_af_xdp0 --dpdk-vdev "net_af_xdp0,iface=node0")
else
    gen_mac=${gen_mac:-02:00:00:00:00:0b}
    gen_dev=(-a "$gen_port")
    strait_dev=(--interface "$strait_port" --dpdk-allow "$strait_port")
fi
if ((no_huge)); then
    gen_mem=(--no-huge -m 512 --no-shconf)
    strait_dev+=(--dpdk-no-huge)
else
    gen_mem=(--in-memory)
fi

say "agent on core $gen_core, data plane on core $strait_core"
api=unix:$dir/agent.sock
ctl() { "$bin/straitctl" --agent "$api" "$@"; }
taskset -c "$gen_core" "$bin/strait-agent" --listen "$api" --link-socket "$dir/link.sock" \
    --state-dir "$dir/agent" </dev/null >"$dir/agent.log" 2>&1 &
pids+=($!)
for ((i = 0; i < 200; i++)); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done
ctl status >/dev/null || die "the agent does not answer: $(cat "$dir/agent.log")"
"${node_ns[@]}" "$bin/strait-dataplane" --cores "$strait_core" --link-socket "$dir/link.sock" \
    --state-dir "$dir/dataplane" --device dpdk "${strait_dev[@]}" \
    --dpdk-eal-arg=--file-prefix="$P-strait" --node-v4 198.18.0.2 --exception drop \
    --neighbour "198.18.0.11=$gen_mac" --neighbour "198.18.0.12=$gen_mac" \
    </dev/null >"$dir/dataplane.log" 2>&1 &
pids+=($!)
for ((i = 0; i < 300; i++)); do
    grep -q "packet path ready" "$dir/dataplane.log" && break
    alive "${pids[-1]}" || die "strait-dataplane exited: $(cat "$dir/dataplane.log")"
    sleep 0.1
done
strait_mac=$(grep -o 'packet path ready.*' "$dir/dataplane.log" | grep -oE 'mac=[0-9a-f:]{17}' | cut -d= -f2) ||
    die "no packet path: $(cat "$dir/dataplane.log")"
cat >"$dir/nic.yaml" <<'EOF'
l4Services:
  - name: nic-udp
    vip: 198.18.0.100
    port: 80
    protocol: UDP
    mode: FullNat
    backends:
      - { address: 198.18.0.11, port: 8080, weight: 1 }
      - { address: 198.18.0.12, port: 8080, weight: 1 }
EOF
ctl apply -f "$dir/nic.yaml" --wait >/dev/null || die "straitctl apply failed: $(cat "$dir/dataplane.log")"
say "Strait's MAC $strait_mac; generator's $gen_mac; testpmd txonly on core $gen_core"

"${gen_ns[@]}" taskset -c "$gen_core" stdbuf -oL dpdk-testpmd --lcores="0@$gen_core,1@$gen_core" \
    "${gen_mem[@]}" --file-prefix="$P-gen" "${gen_dev[@]}" -- \
    --forward-mode=txonly --txonly-multi-flow --txpkts=60 --tx-ip=198.18.0.1,198.18.0.100 \
    --tx-udp=9,80 --eth-peer="0,$strait_mac" --total-num-mbufs=16384 --nb-cores=1 \
    --stats-period=1 </dev/null >"$dir/testpmd.log" 2>&1 &
pids+=($!)

# blocks: testpmd's statistics printed so far (one a second); wait_block N: until N were.
blocks() { grep -c 'Tx-pps' "$dir/testpmd.log" || true; }
wait_block() {
    local deadline=$((SECONDS + $1 + 30))
    while (($(blocks) < $1)); do
        alive "${pids[-1]}" || die "testpmd exited: $(tail -20 "$dir/testpmd.log")"
        ((SECONDS < deadline)) || die "testpmd printed no statistics: $(tail -20 "$dir/testpmd.log")"
        sleep 0.02
    done
}
# block_value N KEY: KEY's value in testpmd's Nth statistics block (cumulative counters).
block_value() {
    awk -v n="$1" -v key="$2" '/NIC statistics for port/ { b++ }
        b == n { for (i = 1; i < NF; i++) if ($i == key) { print $(i + 1); exit } }' "$dir/testpmd.log"
}
# sample: "microseconds tx rx drop_rx_ring": Strait's counters, now (the middle of the call).
sample() {
    local t0=${EPOCHREALTIME/./} json t1
    json=$(ctl stats --json)
    t1=${EPOCHREALTIME/./}
    jq -r --arg t "$(((t0 + t1) / 2))" '"\($t) \(.total.tx // 0) \(.total.rx // 0) \(.total.drop_rx_ring // 0)"' <<<"$json"
}

# testpmd prints its statistics about once a second (later on a busy core): the window runs
# from the statistics block after the warm-up to the first one --seconds later, and Strait's
# counters are read as soon as each of the two appears.
wait_block $((warmup + 1))
b0=$(blocks)
read -r t0 tx0 rx0 miss0 < <(sample)
b1=$b0
while :; do
    b1=$((b1 + 1))
    wait_block "$b1"
    ((${EPOCHREALTIME/./} - t0 >= seconds * 1000000)) && break
done
read -r t1 tx1 rx1 miss1 < <(sample)
alive "${pids[1]}" || die "strait-dataplane exited: $(cat "$dir/dataplane.log")"
sent=$(($(block_value "$b1" TX-packets:) - $(block_value "$b0" TX-packets:)))
back=$(($(block_value "$b1" RX-packets:) + $(block_value "$b1" RX-missed:) -
    $(block_value "$b0" RX-packets:) - $(block_value "$b0" RX-missed:)))
awk -v sent="$sent" -v back="$back" -v us="$((t1 - t0))" -v tx="$((tx1 - tx0))" \
    -v rx="$((rx1 - rx0))" -v miss="$((miss1 - miss0))" 'BEGIN {
    secs = us / 1e6; gen = sent / secs / 1e3; strait = tx / secs / 1e3
    loss = gen > 0 ? 1 - strait / gen : 0; if (loss < 0) loss = 0
    printf "in %.2f s: generator sent %.1f kpps; Strait received %.1f kpps and forwarded %.1f kpps, its port dropped %.1f kpps; back at the generator %.1f kpps\n",
        secs, gen, rx / secs / 1e3, strait, miss / secs / 1e3, back / secs / 1e3 > "/dev/stderr"
    printf "RESULT nic strait_kpps=%.3f generator_kpps=%.3f loss=%.3f\n", strait, gen, loss
}'
ctl stats | sed 's/^/strait: /' >&2
