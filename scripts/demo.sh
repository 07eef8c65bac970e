#!/usr/bin/env bash
# The Strait demo: installs what it needs, builds, brings up the network-namespace testbed
# (a client, the node and three backends), starts the agent and the data plane in software
# fallback mode (af_packet on the node's eth0, plus an L7 worker), applies configs/demo.yaml,
# opens 1000 TCP connections and 1000 UDP flows from the client to the VIP and shows how they
# spread over the backends (weights 1:1:2); sends 200 HTTP requests through the L7 listener
# 127.0.0.1:8080 to two upstreams in the node's namespace and shows the 70/30 split, then 200
# HTTPS requests through the TLS listener 127.0.0.1:8443 (a self-signed certificate made at
# demo time) and one HTTP/2 request over TLS; then pushes a config with mistakes and shows it
# refused while the workers keep their tables. Everything it starts is stopped when it ends (or
# pass --keep to leave it running). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/common.sh
. scripts/lib/common.sh

keep=0
for arg in "$@"; do
    case "$arg" in
        --keep) keep=1 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) die "unknown option $arg (try --help)" ;;
    esac
done

[ "$(id -u)" = 0 ] || die "the demo needs root: it creates network namespaces"
ensure_packages "${BUILD_PACKAGES[@]}" curl openssl
ensure_rust
say "building"
cargo build --workspace --bins --locked
bin=${CARGO_TARGET_DIR:-target}/debug

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
l7_core=${cores%%,*}
say "starting strait-agent (API $api) and strait-dataplane (workers on cores $cores, L7 worker on core $l7_core)"
"$bin/strait-agent" --listen "$api" --link-socket "$run/link.sock" --state-dir "$run/agent-state" \
    >"$run/agent.log" 2>&1 &
pids+=($!)
# `ip netns exec` execs the data plane, so $! is its PID.
ip netns exec "$STRAIT_TESTBED-node" "$bin/strait-dataplane" --cores "$cores" \
    --link-socket "$run/link.sock" --state-dir "$run/dataplane-state" \
    --device af_packet --interface eth0 --node-v4 198.18.0.2 --node-v6 2001:2::2 \
    --l7-cores "$l7_core" >"$run/dataplane.log" 2>&1 &
pids+=($!)
# The L7 listener (127.0.0.1:8080) and its upstreams web-a and web-b are on the node's loopback.
# (`ip netns exec` itself, not a function around it, so that $! is the upstream's PID.)
for upstream in web-a:9101 web-b:9102; do
    name=${upstream%%:*}
    ip netns exec "$STRAIT_TESTBED-node" "$bin/strait-upstream" --name "$name" \
        --listen "127.0.0.1:${upstream#*:}" >"$run/$name.log" 2>&1 &
    pids+=($!)
done
in_node() { ip netns exec "$STRAIT_TESTBED-node" "$@"; }
for name in web-a web-b; do
    for _ in $(seq 100); do grep -q ready "$run/$name.log" 2>/dev/null && break; sleep 0.1; done
    grep -q ready "$run/$name.log" || die "upstream $name did not start: $(cat "$run/$name.log")"
done
ctl() { "$bin/straitctl" --agent "$api" "$@"; }
for _ in $(seq 100); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done

# The HTTPS listener's certificate, where configs/demo.yaml expects it: self-signed, for the
# name the requests below use and for 127.0.0.1.
tls_name=demo.strait.test
say "a self-signed certificate for $tls_name in $run/tls (openssl req -x509, ECDSA P-256)"
mkdir -p "$run/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj "/CN=$tls_name" -addext "subjectAltName=DNS:$tls_name,IP:127.0.0.1" \
    -keyout "$run/tls/demo.key" -out "$run/tls/demo.crt" 2>"$run/tls/openssl.log" ||
    die "openssl could not make the certificate: $(cat "$run/tls/openssl.log")"
config=configs/demo.yaml
if [ "$run" != /tmp/strait-demo ]; then
    # STRAIT_DEMO_DIR moved the certificate: apply a copy that points there.
    config=$run/demo.yaml
    sed "s|/tmp/strait-demo/|$run/|g" configs/demo.yaml >"$config"
fi
say "straitctl apply -f $config --wait"
ctl apply -f "$config" --wait
say "straitctl status"
ctl status

# show_split FILE: the table of which upstream answered how many of the $requests requests (one
# answer, the upstream's name, per line); dies unless web-a or web-b answered every request.
show_split() {
    sort "$1" | uniq -c | awk -v total="$requests" '
        BEGIN { printf "%-10s %8s %7s\n", "upstream", "requests", "share" }
        { printf "%-10s %8d %6.1f%%\n", $2, $1, 100 * $1 / total; served += $1 }
        END { if (served != total) exit 1 }' || die "not every request was answered ($1)"
    if grep -qvx -e web-a -e web-b "$1"; then
        die "answers from something other than web-a and web-b in $1"
    fi
}
probe() { ip netns exec "$STRAIT_TESTBED-client" "$bin/strait-probe" "$@"; }
say "1000 TCP connections from the client to 198.18.0.100:80 (backend: connections):"
probe tcp --target 198.18.0.100:80 --connections 1000 --parallel 32
say "1000 UDP flows to 198.18.0.100:80:"
probe udp --target 198.18.0.100:80 --connections 1000
say "1000 TCP connections to [2001:2::100]:80:"
probe tcp --target '[2001:2::100]:80' --connections 1000 --parallel 32

say "the L7 listener, from the node: GET http://127.0.0.1:8080/healthz (answered by the data plane itself):"
in_node curl -sS --max-time 5 http://127.0.0.1:8080/healthz
requests=200
say "$requests HTTP requests to http://127.0.0.1:8080/ (route: web-a 70, web-b 30) on one keep-alive connection:"
urls=()
for _ in $(seq "$requests"); do urls+=(http://127.0.0.1:8080/); done
# Every answer's body is the upstream's name; -w ends each with a newline.
in_node curl -sS --max-time 30 -w '\n' "${urls[@]}" >"$run/http-answers.txt" ||
    die "HTTP requests through the data plane failed (answers in $run/http-answers.txt)"
show_split "$run/http-answers.txt"

# The same over TLS: curl checks the certificate against the one just made (--cacert) for the
# name $tls_name, which --resolve points at the listener.
https=(--cacert "$run/tls/demo.crt" --resolve "$tls_name:8443:127.0.0.1")
# The data plane opens the TLS listener once it has loaded the certificate: wait for it.
for _ in $(seq 50); do
    in_node curl -sS --max-time 2 -o /dev/null "${https[@]}" "https://$tls_name:8443/healthz" \
        2>/dev/null && break
    sleep 0.2
done
say "$requests HTTPS requests to https://$tls_name:8443/ (TLS terminated by the data plane," \
    "HTTP/1.1 inside) on one keep-alive connection:"
urls=()
for _ in $(seq "$requests"); do urls+=("https://$tls_name:8443/"); done
in_node curl -sS --max-time 30 --http1.1 "${https[@]}" -w '\n' "${urls[@]}" \
    >"$run/https-answers.txt" ||
    die "HTTPS requests through the data plane failed (answers in $run/https-answers.txt," \
        "log in $run/dataplane.log)"
show_split "$run/https-answers.txt"
say "one HTTP/2 request over TLS (ALPN h2): curl --http2 -i https://$tls_name:8443/"
in_node curl -sS --max-time 5 --http2 -i "${https[@]}" "https://$tls_name:8443/" \
    >"$run/h2-answer.txt" ||
    die "the HTTP/2 request failed (see $run/dataplane.log)"
cat "$run/h2-answer.txt"
echo
head -n 1 "$run/h2-answer.txt" | grep -q '^HTTP/2 200' || die "the answer is not HTTP/2 200"

say "a config with mistakes is refused, one line per mistake:"
if ctl apply -f tests/fixtures/three-mistakes.yaml; then die "the bad config was accepted"; fi
say "and every worker still runs generation 1:"
ctl status
say "logs: $run/agent.log $run/dataplane.log"
