#!/usr/bin/env bash
# Strait's network-namespace testbed: a client, a Strait node and three backends on one L2
# segment, for end-to-end tests, the demo and benchmarks. Needs root.
#
#   scripts/netns-testbed.sh up [--kernel-nat]   (re)create it and start the backends
#   scripts/netns-testbed.sh down                stop the backends, delete the namespaces
#   scripts/netns-testbed.sh status              namespaces, addresses, backend PIDs
#
# Environment:
#   STRAIT_TESTBED          name prefix P of everything (default strait), so testbeds can coexist
#   STRAIT_TESTBED_QUEUES   rx/tx queues on both ends of the node's link (default 2)
#   STRAIT_BIN_DIR          where strait-echo is, relative to the repository root unless absolute
#                           (default target/release); this script builds and installs nothing
#
# Topology: namespace P-sw holds bridge br0 (no STP, forward delay 0, multicast snooping off,
# no IPv6 of its own) with ports p-client, p-node, p-b1, p-b2, p-b3; each of the namespaces
# P-client, P-node, P-b1, P-b2, P-b3 has one interface, eth0, a veth to its bridge port. Every
# veth has checksum offload, TSO, GSO and GRO off, so every frame carries a full checksum and fits
# the MTU.
#
# Addresses (benchmarking ranges, RFC 2544 / RFC 5180); everyone is on-link, no gateways, every
# IPv6 address nodad:
#   client  eth0  198.18.0.1/24           2001:2::1/64
#   node    eth0  none, not even a link-local: the Strait data plane owns the VIP
#                 198.18.0.100 / 2001:2::100 and the full-NAT source 198.18.0.2 / 2001:2::2 on it
#   bK      eth0  198.18.0.1K/24          2001:2::1K/64          (K = 1, 2, 3)
#           lo    198.18.0.100/32         2001:2::100/128        (the VIP, for direct server return)
# The backends never answer ARP for the VIP (arp_ignore=1, arp_announce=2) nor ND (it is on lo
# only, and Linux answers neighbour solicitations only for addresses of the receiving interface).
# rp_filter is off everywhere.
#
# Backends run `strait-echo --name bK --port 8080` (TCP and UDP, IPv4 and IPv6) through
# `ip netns exec`; PIDs and logs are in /run/strait-testbed/P/. `down` stops them by PID (TERM,
# then KILL) and deletes the namespaces; it is fine on a missing testbed, and `up` on an existing
# one tears it down first.
#
# up --kernel-nat: the kernel-forwarding baseline for benchmarks, instead of a Strait data plane
# (do not run both). The node's eth0 gets 198.18.0.2/24, 198.18.0.100/24, 2001:2::2/64 and
# 2001:2::100/64, forwarding is on, and the nftables table `inet strait_baseline` in P-node DNATs
# VIP:80 (TCP and UDP) to port 8080 of a backend picked by `numgen random mod 3` (once per
# connection: NAT rules only see a conntrack entry's first packet), then SNATs it to 198.18.0.2 /
# 2001:2::2: the same full NAT Strait does, done by the kernel.
#
# Needs the Debian packages iproute2, ethtool, procps (sysctl) and, for --kernel-nat, nftables.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/common.sh
. scripts/lib/common.sh

P=${STRAIT_TESTBED:-strait}
QUEUES=${STRAIT_TESTBED_QUEUES:-2}
BIN_DIR=${STRAIT_BIN_DIR:-target/release}
RUN_DIR=/run/strait-testbed/$P
HOSTS=(client node b1 b2 b3)
BACKENDS=(b1 b2 b3)
ECHO_PORT=8080
VIP4=198.18.0.100 VIP6=2001:2::100
SNAT4=198.18.0.2 SNAT6=2001:2::2

# ---- helpers ---------------------------------------------------------------------------------

# ns HOST: the namespace of a host (sw, client, node, b1…).
ns() { printf '%s-%s' "$P" "$1"; }
# in_ns HOST CMD...: runs CMD inside the host's namespace.
in_ns() { local h=$1; shift; ip netns exec "$(ns "$h")" "$@"; }
# sysctls HOST KEY=VALUE...: sets kernel parameters in the host's namespace.
sysctls() { local h=$1; shift; in_ns "$h" sysctl -qw "$@" >/dev/null; }
ns_exists() { [ -e "/run/netns/$(ns "$1")" ]; }

need_root() {
    [ "$(id -u)" = 0 ] || die "the testbed needs root (network namespaces): run it with sudo"
}

# need_tools CMD:PACKAGE...: fails naming the Debian package of each missing command.
need_tools() {
    local t
    for t in "$@"; do
        command -v "${t%%:*}" >/dev/null 2>&1 || die "${t%%:*} is missing: install the Debian package ${t#*:}"
    done
}

check_settings() {
    [[ $P =~ ^[A-Za-z0-9_.-]{1,40}$ ]] || die "STRAIT_TESTBED must be 1-40 of [A-Za-z0-9_.-], not '$P'"
    [[ $QUEUES =~ ^[1-9][0-9]{0,2}$ ]] || die "STRAIT_TESTBED_QUEUES must be a number of queues, not '$QUEUES'"
}

# echo_binary: the path of strait-echo, or a clear failure.
echo_binary() {
    local dir=$BIN_DIR
    [[ $dir = /* ]] || dir=$PWD/$dir
    [ -x "$dir/strait-echo" ] ||
        die "$dir/strait-echo is missing: build it first (cargo build --release -p strait-e2e --bins), or point STRAIT_BIN_DIR at it"
    printf '%s' "$dir/strait-echo"
}

# wait_for SECONDS WHAT CMD...: polls CMD every 0.1 s until it succeeds.
wait_for() {
    local secs=$1 what=$2 i
    shift 2
    for ((i = 0; i < secs * 10; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    die "timed out after ${secs}s waiting for $what"
}

# alive PID: the process exists and is not a zombie.
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

# any_alive PID...: at least one of the processes is alive.
any_alive() {
    local pid
    for pid in "$@"; do alive "$pid" && return 0; done
    return 1
}

# is_echo PID: the process is a strait-echo (so a recycled PID is never signalled).
is_echo() { [ "$(cat "/proc/$1/comm" 2>/dev/null)" = strait-echo ]; }

# ---- up ----------------------------------------------------------------------------------------

# The switch: a namespace with bridge br0 that stays silent itself (no IPv6 on it or its ports).
create_switch() {
    ip netns add "$(ns sw)"
    ip -n "$(ns sw)" link set lo up
    sysctls sw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    # With br_netfilter loaded on the host, bridged frames would go through netfilter, which
    # drops malformed IP before it reaches the node (the tests send some on purpose).
    if ip netns exec "$(ns sw)" test -e /proc/sys/net/bridge/bridge-nf-call-iptables; then
        sysctls sw net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0 \
            net.bridge.bridge-nf-call-arptables=0
    fi
    ip -n "$(ns sw)" link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0 \
        nf_call_iptables 0 nf_call_ip6tables 0 nf_call_arptables 0
    ip -n "$(ns sw)" link set br0 up
}

# create_host HOST: the host's namespace and its eth0, a veth to bridge port p-HOST. The node's
# link gets $QUEUES queues on both ends.
create_host() {
    local h=$1 q=()
    [ "$h" = node ] && q=(numtxqueues "$QUEUES" numrxqueues "$QUEUES")
    ip netns add "$(ns "$h")"
    ip -n "$(ns "$h")" link set lo up
    ip -n "$(ns sw)" link add "p-$h" "${q[@]}" type veth peer name eth0 "${q[@]}" netns "$(ns "$h")"
    ip -n "$(ns sw)" link set "p-$h" master br0
    in_ns sw ethtool -K "p-$h" tx off rx off tso off gso off gro off >/dev/null
    in_ns "$h" ethtool -K eth0 tx off rx off tso off gso off gro off >/dev/null
    # No DAD (the link-local address too), no router advertisements, no ICMP redirects, no
    # reverse-path filter: an on-link lab whose hosts act at once.
    sysctls "$h" net.ipv6.conf.eth0.accept_dad=0 net.ipv6.conf.eth0.accept_ra=0 \
        net.ipv4.conf.all.accept_redirects=0 net.ipv6.conf.all.accept_redirects=0 \
        net.ipv6.conf.eth0.accept_redirects=0 net.ipv4.conf.eth0.accept_redirects=0 \
        net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0
    # The node's kernel stays silent on the link: no link-local address, nothing to announce.
    [ "$h" = node ] && ip -n "$(ns node)" link set eth0 addrgenmode none
    ip -n "$(ns sw)" link set "p-$h" up
    ip -n "$(ns "$h")" link set eth0 up
}

# bridge_forwarding: every bridge port is in the forwarding state.
bridge_forwarding() {
    local states
    states=$(in_ns sw bridge link show) || return 1
    [ "$(grep -c 'state forwarding' <<<"$states")" -eq "${#HOSTS[@]}" ]
}

# addresses HOST V4 V6: the host's addresses on eth0.
addresses() {
    ip -n "$(ns "$1")" addr add "$2/24" dev eth0
    ip -n "$(ns "$1")" -6 addr add "$3/64" dev eth0 nodad
}

# configure_backend K: backend bK's addresses, plus the VIP on lo for direct server return
# without ever answering ARP or ND for it.
configure_backend() {
    local b=b$1 dev
    local keys=()
    for dev in all default lo eth0; do
        keys+=("net.ipv4.conf.$dev.arp_ignore=1" "net.ipv4.conf.$dev.arp_announce=2"
            "net.ipv4.conf.$dev.rp_filter=0")
    done
    sysctls "$b" "${keys[@]}" net.ipv6.conf.all.proxy_ndp=0 net.ipv6.conf.eth0.proxy_ndp=0
    addresses "$b" "198.18.0.1$1" "2001:2::1$1"
    ip -n "$(ns "$b")" addr add "$VIP4/32" dev lo
    ip -n "$(ns "$b")" -6 addr add "$VIP6/128" dev lo nodad
}

# start_echo BACKEND BINARY: strait-echo in the backend's namespace, PID and log in $RUN_DIR.
# `ip netns exec` execs the program, so $! is strait-echo's own PID.
start_echo() {
    local b=$1 bin=$2
    ip netns exec "$(ns "$b")" "$bin" --name "$b" --port "$ECHO_PORT" \
        --udp-address "$VIP4" --udp-address "$VIP6" \
        </dev/null >"$RUN_DIR/$b.log" 2>&1 &
    echo $! >"$RUN_DIR/$b.pid"
}

# echo_ready BACKEND: its strait-echo bound every socket; fails loudly if it died.
echo_ready() {
    local b=$1 pid
    pid=$(<"$RUN_DIR/$b.pid")
    alive "$pid" || die "strait-echo $b exited: $(cat "$RUN_DIR/$b.log")"
    grep -q ' ready' "$RUN_DIR/$b.log"
}

# The kernel NAT ruleset of --kernel-nat (see the header).
nat_ruleset() {
    cat <<EOF
table inet strait_baseline {
    chain prerouting {
        type nat hook prerouting priority dstnat; policy accept;
        ip daddr $VIP4 meta l4proto { tcp, udp } th dport 80 dnat ip to numgen random mod 3 map { 0 : 198.18.0.11 . $ECHO_PORT, 1 : 198.18.0.12 . $ECHO_PORT, 2 : 198.18.0.13 . $ECHO_PORT }
        ip6 daddr $VIP6 meta l4proto { tcp, udp } th dport 80 dnat ip6 to numgen random mod 3 map { 0 : 2001:2::11 . $ECHO_PORT, 1 : 2001:2::12 . $ECHO_PORT, 2 : 2001:2::13 . $ECHO_PORT }
    }
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        ct status dnat ip daddr 198.18.0.0/24 snat ip to $SNAT4
        ct status dnat ip6 daddr 2001:2::/64 snat ip6 to $SNAT6
    }
}
EOF
}

# kernel_nat: the node forwards and NATs in the kernel (the benchmark baseline).
kernel_nat() {
    # The SNAT address first: it is the primary one, which masquerade would pick too.
    addresses node "$SNAT4" "$SNAT6"
    addresses node "$VIP4" "$VIP6"
    sysctls node net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
        net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0
    nat_ruleset | in_ns node nft -f -
}

cmd_up() {
    local kernel_nat=$1 echo_bin
    need_tools ip:iproute2 bridge:iproute2 ethtool:ethtool sysctl:procps
    ((kernel_nat)) && need_tools nft:nftables
    echo_bin=$(echo_binary)
    teardown
    # A failed `up` leaves nothing behind.
    trap 'teardown' EXIT
    mkdir -p "$RUN_DIR"
    say "testbed $P: namespaces, bridge and links"
    create_switch
    local h b
    for h in "${HOSTS[@]}"; do create_host "$h"; done
    wait_for 10 "the bridge ports to forward" bridge_forwarding
    addresses client 198.18.0.1 2001:2::1
    for b in 1 2 3; do configure_backend "$b"; done
    if ((kernel_nat)); then
        say "testbed $P: kernel NAT baseline on the node"
        kernel_nat
    fi
    say "testbed $P: starting strait-echo on the backends"
    for b in "${BACKENDS[@]}"; do start_echo "$b" "$echo_bin"; done
    for b in "${BACKENDS[@]}"; do wait_for 10 "strait-echo $b" echo_ready "$b"; done
    trap - EXIT
    say "testbed $P is up (scripts/netns-testbed.sh status)"
}

# ---- down --------------------------------------------------------------------------------------

# stop_backends: TERM every backend by PID, KILL those still there after 3 s.
stop_backends() {
    local pidfile pid pids=() i
    for pidfile in "$RUN_DIR"/*.pid; do
        [ -e "$pidfile" ] || continue
        pid=$(<"$pidfile")
        if alive "$pid" && is_echo "$pid"; then
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
        fi
    done
    for ((i = 0; i < 30; i++)); do
        any_alive "${pids[@]}" || return 0
        sleep 0.1
    done
    for pid in "${pids[@]}"; do
        if alive "$pid" && is_echo "$pid"; then
            say "strait-echo $pid ignored SIGTERM: killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
}

teardown() {
    stop_backends
    local h
    for h in sw "${HOSTS[@]}"; do
        if ns_exists "$h"; then ip netns del "$(ns "$h")"; fi
    done
    rm -rf "$RUN_DIR"
}

cmd_down() {
    teardown
    say "testbed $P is down"
}

# ---- status ------------------------------------------------------------------------------------

cmd_status() {
    local h pidfile pid b
    echo "testbed $P"
    for h in sw "${HOSTS[@]}"; do
        if ! ns_exists "$h"; then
            echo "  $(ns "$h"): missing"
            continue
        fi
        echo "  $(ns "$h"):"
        ip -n "$(ns "$h")" -br addr show | sed 's/^/    /'
    done
    for pidfile in "$RUN_DIR"/*.pid; do
        [ -e "$pidfile" ] || continue
        pid=$(<"$pidfile")
        b=$(basename "$pidfile" .pid)
        if alive "$pid" && is_echo "$pid"; then
            echo "  backend $b: strait-echo pid $pid running (log $RUN_DIR/$b.log)"
        else
            echo "  backend $b: strait-echo pid $pid NOT running (log $RUN_DIR/$b.log)"
        fi
    done
    if ns_exists node && in_ns node nft list table inet strait_baseline >/dev/null 2>&1; then
        echo "  kernel NAT baseline: on (nft list table inet strait_baseline in $(ns node))"
    fi
}

main() {
    local cmd=${1:-} kernel_nat=0
    [ $# -gt 0 ] && shift
    case "$cmd" in
        up)
            for arg in "$@"; do
                case "$arg" in
                    --kernel-nat) kernel_nat=1 ;;
                    *) die "unknown option to up: $arg" ;;
                esac
            done
            ;;
        down | status) [ $# -eq 0 ] || die "$cmd takes no options" ;;
        -h | --help | help) sed -n '2,7p' "$0"; exit 0 ;;
        *) die "usage: scripts/netns-testbed.sh up [--kernel-nat] | down | status" ;;
    esac
    check_settings
    need_root
    "cmd_$cmd" "$kernel_nat"
}

main "$@"
