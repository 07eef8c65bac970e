#!/usr/bin/env bash
# Hands a NIC from its kernel driver to DPDK (vfio-pci or uio_pci_generic) and back, through
# dpdk-devbind.py (Debian package dpdk). Needs root, except status and --dry-run.
#
#   scripts/bind-nic.sh bind IFACE|PCI [--driver vfio-pci|uio_pci_generic] [--force] [--dry-run]
#   scripts/bind-nic.sh restore PCI|IFACE|all [--dry-run]
#   scripts/bind-nic.sh status
#
# bind     resolves IFACE to its PCI function (/sys/class/net/IFACE/device; a virtio NIC's PCI
#          function is its parent) and refuses (exit 1, one line saying why) when the device is
#          not PCI (lo, veth, bridges…: use a DPDK vdev for those), or when one of its kernel
#          interfaces
#            - carries a default route, IPv4 or IPv6 (you would cut the node off the network),
#            - has an address other than an IPv6 link-local fe80::/10 (it is in use),
#            - is up and enslaved to a bridge, bond, team or VRF (traffic depends on it),
#          or the driver is mlx4/mlx5 (NVIDIA/Mellanox NICs stay on their kernel driver: DPDK's
#          mlx5 PMD works beside it). --force binds anyway, except for a device that is not PCI.
#          Before binding, it records the interface name(s), PCI address, kernel driver and link
#          state in /run/strait/bind-nic/PCI.state; then loads the driver (modprobe) and runs
#          dpdk-devbind.py -b DRIVER PCI, and checks the device really moved.
# restore  binds the device back to the recorded kernel driver, waits for its interface, gives
#          it back its recorded name and link state, and prints it. Refuses while a process (the
#          data plane, testpmd) holds the device's /dev/vfio or /dev/uio file. `all` restores
#          every recorded device.
# status   dpdk-devbind.py --status-dev net, then the recorded devices.
# --dry-run prints what would be done (and every refusal) and changes nothing.
#
# Bindings do not survive a reboot, and /run/strait/bind-nic neither. Self-contained (no other file
# of the repository is needed). Needs iproute2, and dpdk (dpdk-devbind.py) except for --dry-run;
# psmisc (fuser) is used when installed. STRAIT_DEVBIND overrides the path of dpdk-devbind.py.
set -euo pipefail

STATE_DIR=/run/strait/bind-nic
SYS_PCI=/sys/bus/pci/devices
DPDK_DRIVERS=(vfio-pci uio_pci_generic igb_uio)
DRY_RUN=0

# ---- helpers -----------------------------------------------------------------------------------

# say, warn, die.
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

# usage [STATUS]: the usage on standard error, then exit STATUS (2: a bad command line).
usage() {
    cat >&2 <<'USAGE'
usage: bind-nic.sh bind IFACE|PCI [--driver vfio-pci|uio_pci_generic] [--force] [--dry-run]
       bind-nic.sh restore PCI|IFACE|all [--dry-run]
       bind-nic.sh status
  --driver D   the DPDK driver to bind to (default vfio-pci, which needs the IOMMU on)
  --force      bind even an interface in use (default route, addresses, bridge or bond port)
  --dry-run    print what would be done, change nothing
USAGE
    exit "${1:-2}"
}

bad_usage() {
    printf 'error: %s\n' "$*" >&2
    usage
}

need_root() {
    [ "$(id -u)" = 0 ] || die "bind-nic.sh $1 needs root (it rebinds PCI devices): run it with sudo, or try --dry-run"
}

# run CMD...: runs CMD, or prints it under --dry-run.
run() {
    if ((DRY_RUN)); then
        echo "would run: $*"
    else
        "$@"
    fi
}

is_dpdk_driver() {
    local d
    for d in "${DPDK_DRIVERS[@]}"; do [ "$1" = "$d" ] && return 0; done
    return 1
}

# devbind: the path of dpdk-devbind.py, or a clear failure.
devbind() {
    local c
    for c in "${STRAIT_DEVBIND:-}" dpdk-devbind.py dpdk-devbind /usr/share/dpdk/usertools/dpdk-devbind.py; do
        [ -n "$c" ] || continue
        if command -v "$c" >/dev/null 2>&1; then
            command -v "$c"
            return 0
        fi
    done
    die "dpdk-devbind.py is missing: apt-get install dpdk (or point STRAIT_DEVBIND at it)"
}

# devbind_cmd: the command to show under --dry-run (the real path when there is one).
devbind_cmd() {
    if ((DRY_RUN)); then (devbind 2>/dev/null) || echo dpdk-devbind.py; else devbind; fi
}

# ---- devices -----------------------------------------------------------------------------------

# normalize_pci ADDR: 0000:01:00.0 from 01:00.0 or 0000:01:00.0 (lower case); fails otherwise.
normalize_pci() {
    local a=${1,,}
    [[ $a =~ ^([0-9a-f]{4}:)?[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$ ]] || return 1
    [[ $a =~ ^[0-9a-f]{4}: ]] || a=0000:$a
    echo "$a"
}

# pci_of_iface IFACE: the PCI function behind a kernel interface; refuses virtual interfaces
# and devices on other buses (USB…) with the reason.
pci_of_iface() {
    local ifc=$1 dev sub
    [ -e "/sys/class/net/$ifc/device" ] ||
        die "refusing to bind $ifc: it is a virtual interface (no device behind /sys/class/net/$ifc/device); only a PCI NIC can be bound, DPDK reaches other interfaces through a vdev (--dpdk-vdev net_af_xdp0,iface=$ifc)"
    dev=$(readlink -f "/sys/class/net/$ifc/device")
    sub=$(basename "$(readlink -f "$dev/subsystem")")
    # virtio-net: the interface hangs off a virtio device whose parent is the PCI function.
    if [ "$sub" = virtio ]; then
        dev=$(dirname "$dev")
        sub=$(basename "$(readlink -f "$dev/subsystem")")
    fi
    [ "$sub" = pci ] ||
        die "refusing to bind $ifc: its device is on the $sub bus, not PCI ($dev)"
    basename "$dev"
}

# resolve TARGET: the PCI address of an interface name or a PCI address.
resolve() {
    local t=$1 pci
    if [ -e "/sys/class/net/$t" ]; then
        pci_of_iface "$t"
    elif pci=$(normalize_pci "$t"); then
        [ -e "$SYS_PCI/$pci" ] || die "there is no PCI device $pci (lspci -D lists them)"
        echo "$pci"
    else
        die "no interface or PCI device named '$t' (ip -br link; dpdk-devbind.py --status-dev net)"
    fi
}

# driver_of PCI: the driver the device is bound to now (empty when none).
driver_of() {
    if [ -e "$SYS_PCI/$1/driver" ]; then basename "$(readlink -f "$SYS_PCI/$1/driver")"; fi
}

# netdevs_of PCI: the kernel interfaces of the device (a virtio NIC's are one level down).
netdevs_of() {
    local d
    for d in "$SYS_PCI/$1"/net/* "$SYS_PCI/$1"/virtio*/net/*; do
        [ -e "$d" ] && basename "$d"
    done
    return 0
}

# link_is_up IFACE: the interface is administratively up (IFF_UP).
link_is_up() {
    local flags
    flags=$(<"/sys/class/net/$1/flags")
    (((flags & 1) == 1))
}

# ---- refusals: each prints why IFACE must not be taken from the kernel, or nothing ------------

# why_default_route IFACE: a default route (any table, IPv4 or IPv6) goes through IFACE.
why_default_route() {
    local ifc=$1 fam routes
    for fam in 4 6; do
        routes=$(ip -"$fam" -o route show default table all 2>/dev/null |
            grep -Ev '^(unreachable|prohibit|blackhole|throw) ' |
            grep -E "(^|[[:space:]])dev $ifc([[:space:]]|$)" || true)
        if [ -n "$routes" ]; then
            local via
            via=$(grep -oE 'via [^ ]+' <<<"$routes" | head -1 || true)
            echo "it carries the IPv$fam default route${via:+ ($via)}"
        fi
    done
}

# why_addresses IFACE: IFACE has an IPv4 or IPv6 address other than a link-local fe80::/10.
why_addresses() {
    local ifc=$1 addrs
    addrs=$(ip -o addr show dev "$ifc" 2>/dev/null | awk '
        $3 == "inet" { print $4 }
        $3 == "inet6" && tolower($4) !~ /^fe[89ab][0-9a-f]:/ { print $4 }' | tr '\n' ' ')
    addrs=${addrs% }
    [ -z "$addrs" ] || echo "it has addresses configured ($addrs)"
}

# why_enslaved IFACE: IFACE is up and a port of a bridge, bond, team or VRF.
why_enslaved() {
    local ifc=$1 master kind=master
    [ -e "/sys/class/net/$ifc/master" ] || return 0
    link_is_up "$ifc" || return 0
    master=$(basename "$(readlink -f "/sys/class/net/$ifc/master")")
    if [ -d "/sys/class/net/$master/bridge" ]; then kind=bridge
    elif [ -d "/sys/class/net/$master/bonding" ]; then kind=bond
    else kind=$(ip -d -o link show dev "$master" 2>/dev/null | grep -oE '(team|vrf|openvswitch)' | head -1 || echo master)
    fi
    echo "it is up and a port of $kind $master"
}

# why_bifurcated DRIVER: NICs whose DPDK driver runs on top of the kernel driver.
why_bifurcated() {
    case $1 in
        mlx4_core | mlx5_core)
            echo "its driver $1 stays bound: DPDK's mlx4/mlx5 PMD runs beside the kernel driver (give the data plane --dpdk-allow PCI as is)" ;;
    esac
}

# refusals PCI DRIVER: every reason not to take the device from the kernel, one per line.
refusals() {
    local pci=$1 drv=$2 ifc
    while read -r ifc; do
        [ -n "$ifc" ] || continue
        why_default_route "$ifc"
        why_addresses "$ifc"
        why_enslaved "$ifc"
    done < <(netdevs_of "$pci")
    why_bifurcated "$drv"
}

# check_target_driver PCI DRIVER: the DPDK driver can take the device (vfio-pci: an IOMMU group).
check_target_driver() {
    local pci=$1 to=$2 group others
    if [ "$to" = vfio-pci ] && [ ! -e "$SYS_PCI/$pci/iommu_group" ]; then
        if [ "$(cat /sys/module/vfio/parameters/enable_unsafe_noiommu_mode 2>/dev/null)" = Y ]; then
            warn "$pci has no IOMMU group: vfio runs in unsafe no-IOMMU mode"
        else
            die "cannot bind $pci to vfio-pci: it has no IOMMU group (the IOMMU is off): boot with intel_iommu=on iommu=pt (AMD: amd_iommu=on iommu=pt), or use --driver uio_pci_generic"
        fi
    fi
    if [ "$to" = vfio-pci ] && [ -e "$SYS_PCI/$pci/iommu_group" ]; then
        group=$(readlink -f "$SYS_PCI/$pci/iommu_group")
        others=$(find "$group/devices" -mindepth 1 -maxdepth 1 ! -name "$pci" -printf '%f ' 2>/dev/null || true)
        [ -z "$others" ] ||
            warn "IOMMU group ${group##*/} also holds ${others% }: vfio needs every device of the group unbound or on vfio-pci"
    fi
}

# load_driver DRIVER: the driver's module is loaded.
load_driver() {
    local to=$1
    [ -d "/sys/bus/pci/drivers/$to" ] && return 0
    if command -v modprobe >/dev/null 2>&1 || ((DRY_RUN)); then
        run modprobe "$to"
    else
        die "driver $to is not loaded and modprobe is missing (apt-get install kmod)"
    fi
}

# ---- state -------------------------------------------------------------------------------------

state_file() { echo "$STATE_DIR/$1.state"; }

# state_get FILE KEY: the value of KEY= in a state file (not sourced: nothing in it runs).
state_get() {
    sed -n "s/^$2=//p" "$1" | head -1
}

# write_state PCI IFACES DRIVER UP TO: records the device before binding it.
write_state() {
    local f
    f=$(state_file "$1")
    if ((DRY_RUN)); then
        echo "would record $f: iface=$2 driver=$3 up=$4"
        return 0
    fi
    mkdir -p "$STATE_DIR"
    {
        echo "# bind-nic.sh bind: what restore puts back"
        echo "pci=$1"
        echo "iface=$2"
        echo "driver=$3"
        echo "up=$4"
        echo "bound_to=$5"
        echo "bound_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    } >"$f.tmp"
    mv -f "$f.tmp" "$f"
}

# device_users PCI: PIDs holding the device's /dev/vfio/GROUP or /dev/uioN open.
device_users() {
    local pci=$1 files=() f
    if [ "$(driver_of "$pci")" = vfio-pci ] && [ -e "$SYS_PCI/$pci/iommu_group" ]; then
        files+=("/dev/vfio/$(basename "$(readlink -f "$SYS_PCI/$pci/iommu_group")")")
    fi
    for f in "$SYS_PCI/$pci"/uio/uio*; do
        [ -e "$f" ] && files+=("/dev/${f##*/}")
    done
    for f in "${files[@]}"; do
        [ -e "$f" ] || continue
        if command -v fuser >/dev/null 2>&1; then
            fuser "$f" 2>/dev/null | tr -s ' ' '\n' || true
        else
            find /proc/[0-9]*/fd -mindepth 1 -maxdepth 1 -lname "$f" 2>/dev/null |
                sed -n 's|^/proc/\([0-9]*\)/fd/.*|\1|p' || true
        fi
    done | { grep -E '^[0-9]+$' || true; } | sort -un
}

# ---- commands ----------------------------------------------------------------------------------

cmd_bind() {
    local target=$1 to=$2 force=$3 pci from ifaces up=0 ifc reasons
    pci=$(resolve "$target")
    from=$(driver_of "$pci")
    ifaces=$(netdevs_of "$pci" | tr '\n' ' ')
    ifaces=${ifaces% }
    local name="$pci${ifaces:+ ($ifaces)}"
    if [ "$from" = "$to" ]; then
        say "$name is bound to $to already"
        return 0
    fi
    if is_dpdk_driver "$from"; then
        die "refusing to bind $name: it is bound to $from already; restore it first (bind-nic.sh restore $pci)"
    fi
    reasons=$(refusals "$pci" "$from" | paste -sd';' - | sed 's/;/; /g')
    if [ -n "$reasons" ]; then
        ((force)) || die "refusing to bind $name: $reasons (--force binds it anyway)"
        warn "binding $name despite: $reasons (--force)"
    fi
    ((DRY_RUN)) || need_root bind
    check_target_driver "$pci" "$to"
    for ifc in $ifaces; do
        if link_is_up "$ifc"; then up=1; fi
    done
    local argv=("$(devbind_cmd)" -b "$to" "$pci")
    if ((force)); then argv+=(--force); fi
    load_driver "$to"
    write_state "$pci" "$ifaces" "${from:-none}" "$up" "$to"
    run "${argv[@]}"
    if ((DRY_RUN)); then
        echo "dry run: $name would be bound to $to (restore: bind-nic.sh restore $pci)"
        return 0
    fi
    local now
    now=$(driver_of "$pci")
    if [ "$now" != "$to" ]; then
        # Nothing changed: the record would only mislead a later restore.
        [ "$now" = "$from" ] && rm -f "$(state_file "$pci")"
        die "$pci is still bound to ${now:-no driver}, not $to (see the messages of dpdk-devbind.py above)"
    fi
    say "$name is bound to $to (was ${from:-no driver}); bind-nic.sh restore $pci gives it back"
}

# restore_one PCI: puts one recorded device back; prints its interface.
restore_one() {
    local pci=$1 f iface driver up now pids
    f=$(state_file "$pci")
    [ -f "$f" ] || die "nothing recorded for $pci in $STATE_DIR: bind it back by hand (dpdk-devbind.py -b KERNEL_DRIVER $pci; dpdk-devbind.py --status-dev net shows the driver in unused=)"
    iface=$(state_get "$f" iface)
    driver=$(state_get "$f" driver)
    up=$(state_get "$f" up)
    [ -e "$SYS_PCI/$pci" ] || die "$pci is gone (hot-unplugged?); remove $f"
    pids=$(device_users "$pci" | tr '\n' ' ')
    if [ -n "$pids" ]; then
        local p desc=''
        for p in $pids; do desc+="${desc:+, }$p ($(cat "/proc/$p/comm" 2>/dev/null || echo gone))"; done
        die "refusing to restore $pci: it is in use by $desc; stop it first (systemctl stop strait-dataplane)"
    fi
    now=$(driver_of "$pci")
    if [ "$driver" = none ]; then
        [ -z "$now" ] || run "$(devbind_cmd)" -u "$pci"
    elif [ "$now" != "$driver" ]; then
        load_driver "$driver"
        run "$(devbind_cmd)" -b "$driver" "$pci"
    fi
    if ((DRY_RUN)); then
        echo "dry run: $pci would be back on ${driver/#none/no driver}${iface:+ as $iface}"
        return 0
    fi
    now=$(driver_of "$pci")
    if [ "$driver" != none ] && [ "$now" != "$driver" ]; then
        die "$pci is bound to ${now:-no driver}, not $driver (see the messages of dpdk-devbind.py above)"
    fi
    rm -f "$f"
    [ "$driver" != none ] || { say "$pci: unbound (it had no driver when it was bound)"; return 0; }

    # The interface comes back under a name udev picks: wait for it, then give it its old name.
    local i got=''
    for ((i = 0; i < 50; i++)); do
        got=$(netdevs_of "$pci" | head -1)
        [ -z "$got" ] || break
        sleep 0.1
    done
    [ -n "$got" ] || die "$pci is on $driver but no interface appeared (dmesg says why)"
    local old=${iface%% *}
    if [ -n "$old" ] && [ "$got" != "$old" ] && [ "$(netdevs_of "$pci" | wc -l)" = 1 ]; then
        if [ -e "/sys/class/net/$old" ]; then
            warn "$pci came back as $got: the name $old is taken, left as is"
        else
            ip link set dev "$got" down
            ip link set dev "$got" name "$old"
            got=$old
        fi
    fi
    if [ "$up" = 1 ]; then ip link set dev "$got" up; fi
    say "$pci is back on $driver"
    echo "$pci $got"
}

cmd_restore() {
    local target=$1 pci f failed=0
    ((DRY_RUN)) || need_root restore
    if [ "$target" != all ]; then
        if pci=$(normalize_pci "$target"); then
            restore_one "$pci"
            return
        fi
        # An interface name: the one recorded for it (it no longer exists while DPDK has it).
        for f in "$STATE_DIR"/*.state; do
            [ -f "$f" ] || continue
            if [[ " $(state_get "$f" iface) " = *" $target "* ]]; then
                restore_one "$(state_get "$f" pci)"
                return
            fi
        done
        die "'$target' is neither a PCI address nor an interface recorded in $STATE_DIR"
    fi
    local any=0
    for f in "$STATE_DIR"/*.state; do
        [ -f "$f" ] || continue
        any=1
        (restore_one "$(state_get "$f" pci)") || failed=1
    done
    ((any)) || say "nothing recorded in $STATE_DIR: nothing to restore"
    return "$failed"
}

cmd_status() {
    local out f
    if out=$("$(devbind)" --status-dev net 2>&1); then
        # lspci on hosts without kmod's data complains once per device; that is noise here.
        grep -v 'Unable to load libkmod resources' <<<"$out" || true
    else
        printf '%s\n' "$out"
        warn "dpdk-devbind.py --status-dev net failed"
    fi
    echo
    echo "Recorded by bind-nic.sh bind ($STATE_DIR):"
    local any=0
    for f in "$STATE_DIR"/*.state; do
        [ -f "$f" ] || continue
        any=1
        local pci
        pci=$(state_get "$f" pci)
        echo "  $pci: was $(state_get "$f" iface) on $(state_get "$f" driver), bound to $(state_get "$f" bound_to) at $(state_get "$f" bound_at); now on $(driver_of "$pci" || true)"
    done
    ((any)) || echo "  nothing"
}

main() {
    local cmd=${1:-} target='' driver=vfio-pci force=0 arg
    [ $# -gt 0 ] && shift
    case "$cmd" in
        bind | restore | status) ;;
        -h | --help | help) usage 0 ;;
        '') bad_usage "no command given" ;;
        *) bad_usage "unknown command '$cmd'" ;;
    esac
    while [ $# -gt 0 ]; do
        arg=$1
        shift
        case "$cmd:$arg" in
            *:-h | *:--help) usage 0 ;;
            bind:--driver | bind:--driver=*)
                if [[ $arg = *=* ]]; then
                    driver=${arg#*=}
                else
                    [ $# -gt 0 ] || bad_usage "--driver needs a value"
                    driver=$1
                    shift
                fi
                is_dpdk_driver "$driver" || bad_usage "--driver must be vfio-pci or uio_pci_generic (or igb_uio), not '$driver'"
                ;;
            bind:--force) force=1 ;;
            bind:--dry-run | restore:--dry-run) DRY_RUN=1 ;;
            *:-*) bad_usage "unknown option '$arg' for $cmd" ;;
            bind:* | restore:*)
                [ -z "$target" ] || bad_usage "one device at a time ('$target' and '$arg')"
                target=$arg
                ;;
            *) bad_usage "$cmd takes no arguments ('$arg')" ;;
        esac
    done
    case "$cmd" in
        bind)
            [ -n "$target" ] || bad_usage "bind needs an interface or a PCI address"
            cmd_bind "$target" "$driver" "$force"
            ;;
        restore)
            [ -n "$target" ] || bad_usage "restore needs a PCI address, an interface name or 'all'"
            cmd_restore "$target"
            ;;
        status) cmd_status ;;
    esac
}

main "$@"
