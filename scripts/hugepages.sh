#!/usr/bin/env bash
# Hugepages for the DPDK data plane: reserve them, mount a hugetlbfs for them, remove the files a
# dead DPDK process left there, give them back. Needs root.
#
#   scripts/hugepages.sh reserve [--pages N] [--size 2M|1G] [--mount DIR] [--node NUMA]
#   scripts/hugepages.sh clean   [--mount DIR]
#   scripts/hugepages.sh release [--mount DIR]
#   scripts/hugepages.sh status
#
# reserve  makes sure at least N pages of SIZE are reserved (default 1024 x 2M), system-wide or,
#          with --node, on one NUMA node; checks how many the kernel really granted (it grants
#          fewer when memory is fragmented: a warning, or an error when it granted none); mounts
#          hugetlbfs with that page size at DIR (default /dev/hugepages-strait) unless it is
#          mounted there already; then cleans DIR. The values it changed are recorded in
#          /run/strait/hugepages.prev, for release.
# clean    removes the stale DPDK hugepage files in DIR: rtemap_* and PREFIXmap_* (one PREFIX per
#          --file-prefix) that no live process maps or holds open, per fuser(1) and a scan of
#          /proc/*/maps, and that nobody holds an flock on. A file a live process uses is never
#          removed.
# release  cleans DIR, unmounts it and sets the page count back to what reserve found (or to 0
#          when reserve recorded nothing). Refuses while a live process uses a file in DIR.
# status   per page size: total, free, reserved, surplus (and per NUMA node); hugetlbfs mounts;
#          the DPDK files in each, in use (by which process) or stale.
#
# Self-contained (no other file of the repository is needed), so that it can be installed on its
# own as /usr/local/lib/strait/hugepages.sh for the strait-dataplane unit. Uses psmisc (fuser)
# when it is installed.
set -euo pipefail

DEFAULT_PAGES=1024
DEFAULT_SIZE=2M
DEFAULT_MOUNT=/dev/hugepages-strait
STATE_DIR=/run/strait
STATE=$STATE_DIR/hugepages.prev
SYS_HP=/sys/kernel/mm/hugepages
SYS_NODES=/sys/devices/system/node

# ---- helpers -----------------------------------------------------------------------------------

say() {
    if [ -t 2 ]; then printf '\033[1m==> %s\033[0m\n' "$*" >&2; else printf '==> %s\n' "$*" >&2; fi
}
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# usage [STATUS]: the usage on standard error, then exit STATUS (2: a bad command line).
usage() {
    cat >&2 <<USAGE
usage: hugepages.sh reserve [--pages N] [--size 2M|1G] [--mount DIR] [--node NUMA]
       hugepages.sh clean   [--mount DIR]
       hugepages.sh release [--mount DIR]
       hugepages.sh status
  --pages N     hugepages to have reserved, at least (default $DEFAULT_PAGES)
  --size S      page size: 2M or 1G, or any size this kernel has (default $DEFAULT_SIZE)
  --mount DIR   the hugetlbfs mount point (default $DEFAULT_MOUNT)
  --node NUMA   reserve on this NUMA node only (default: system-wide, spread over the nodes)
USAGE
    exit "${1:-2}"
}

# bad_usage MESSAGE: a mistake on the command line: the message, the usage, exit 2.
bad_usage() {
    printf 'error: %s\n' "$*" >&2
    usage
}

need_root() {
    [ "$(id -u)" = 0 ] || die "hugepages.sh needs root (it writes /sys and mounts hugetlbfs): run it with sudo"
}

# size_kb SIZE: the size in kB of 2M, 1G, 2048k, 2MB, 1GiB…; fails on anything else.
size_kb() {
    local s=${1,,}
    [[ $s =~ ^([1-9][0-9]*)([kmg])(i?b)?$ ]] || return 1
    local n=${BASH_REMATCH[1]}
    case ${BASH_REMATCH[2]} in
        k) echo "$n" ;;
        m) echo $((n * 1024)) ;;
        g) echo $((n * 1024 * 1024)) ;;
    esac
}

# size_label KB: 2048 → 2M, 1048576 → 1G (the spelling of hugetlbfs' pagesize= option).
size_label() {
    local kb=$1
    if ((kb % 1048576 == 0)); then echo "$((kb / 1048576))G"
    elif ((kb % 1024 == 0)); then echo "$((kb / 1024))M"
    else echo "${kb}K"; fi
}

# supported_kb: the page sizes (kB) this kernel has, one per line, smallest first.
supported_kb() {
    local d
    for d in "$SYS_HP"/hugepages-*kB; do
        [ -d "$d" ] || continue
        d=${d##*/hugepages-}
        echo "${d%kB}"
    done | sort -n
}

supported_labels() {
    local kb out=()
    while read -r kb; do out+=("$(size_label "$kb")"); done < <(supported_kb)
    echo "${out[*]:-none}"
}

# default_kb: the kernel's default hugepage size in kB.
default_kb() {
    awk '$1 == "Hugepagesize:" { print $2 }' /proc/meminfo
}

# nr_path KB [NODE]: the nr_hugepages file of that page size, system-wide or on a NUMA node.
nr_path() {
    if [ -n "${2:-}" ]; then
        echo "$SYS_NODES/node$2/hugepages/hugepages-$1kB/nr_hugepages"
    else
        echo "$SYS_HP/hugepages-$1kB/nr_hugepages"
    fi
}

# check_dir DIR: an absolute mount point the rest of the script can handle, without a trailing /.
check_dir() {
    local d=$1
    [[ $d = /* ]] || bad_usage "--mount needs an absolute path, not '$d'"
    [[ $d != *[[:space:]\\]* ]] || bad_usage "--mount: no spaces or backslashes in the path, please ('$d')"
    d=$(realpath -m -- "$d")
    [ "$d" != / ] || bad_usage "--mount /: no"
    echo "$d"
}

# mount_line DIR: "TYPE OPTIONS" of what is mounted at DIR (the last mount wins); fails if nothing is.
mount_line() {
    local dst type opts found=''
    while read -r _ dst type opts _; do
        [ "$dst" = "$1" ] && found="$type $opts"
    done </proc/mounts
    [ -n "$found" ] && echo "$found"
}

# mount_kb OPTIONS: the page size (kB) of a hugetlbfs mount from its options.
mount_kb() {
    local o
    for o in ${1//,/ }; do
        if [[ $o = pagesize=* ]]; then
            size_kb "${o#pagesize=}" && return 0
        fi
    done
    default_kb
}

# hugetlbfs_mounts: "DIR OPTIONS" of every hugetlbfs mount.
hugetlbfs_mounts() {
    awk '$3 == "hugetlbfs" { print $2, $4 }' /proc/mounts
}

# is_hugetlbfs DIR: a hugetlbfs is mounted at DIR.
is_hugetlbfs() {
    local m
    m=$(mount_line "$1") || return 1
    [ "${m%% *}" = hugetlbfs ]
}

# map_files DIR: the DPDK hugepage files in DIR (rtemap_0, straitmap_3, …), one per line.
map_files() {
    find "$1" -mindepth 1 -maxdepth 1 -type f -name '*map_*' -print 2>/dev/null | sort -V
}

# users_of FILE: the PIDs of live processes that map FILE or hold it open, one per line. The
# /proc/*/maps scan matches the device and inode, so it also sees processes in other mount
# namespaces; fuser adds open descriptors (without fuser, a scan of /proc/*/fd does).
users_of() {
    local f=$1 major minor inode key pid
    read -r major minor inode < <(stat -c '%Hd %Ld %i' -- "$f") || return 0
    key=$(printf ' %02x:%02x %s ' "$major" "$minor" "$inode")
    {
        grep -sF -- "$key" /proc/[0-9]*/maps | sed -n 's|^/proc/\([0-9]*\)/maps:.*|\1|p' || true
        if command -v fuser >/dev/null 2>&1; then
            fuser "$f" 2>/dev/null | tr -s ' ' '\n' || true
        else
            find -L /proc/[0-9]*/fd -mindepth 1 -maxdepth 1 -samefile "$f" 2>/dev/null |
                sed -n 's|^/proc/\([0-9]*\)/fd/.*|\1|p' || true
        fi
    } | { grep -E '^[0-9]+$' || true; } | sort -un | while read -r pid; do
        # Only those still alive (find itself holds FILE open while it searches).
        if [ -d "/proc/$pid" ]; then echo "$pid"; fi
    done
}

# describe PID...: "1234 (strait-dataplane), 99 (testpmd)".
describe() {
    local pid desc=''
    for pid in "$@"; do
        desc+="${desc:+, }$pid ($(cat "/proc/$pid/comm" 2>/dev/null || echo gone))"
    done
    echo "$desc"
}

# ---- state -------------------------------------------------------------------------------------
# /run/strait/hugepages.prev, one record per line:
#   nr DIR PATH PREVIOUS   reserve changed PATH (an nr_hugepages file) for the mount DIR
#   dir DIR                reserve created the directory DIR

# state_has_nr PATH: a previous value of PATH is recorded already.
state_has_nr() {
    [ -f "$STATE" ] && awk -v p="$1" '$1 == "nr" && $3 == p { found = 1 } END { exit !found }' "$STATE"
}

state_add() {
    mkdir -p "$STATE_DIR"
    [ -f "$STATE" ] || echo "# hugepages.sh reserve: what release puts back" >"$STATE"
    echo "$*" >>"$STATE"
}

# state_for DIR: the records of the mount DIR.
state_for() {
    [ -f "$STATE" ] || return 0
    awk -v d="$1" '($1 == "nr" || $1 == "dir") && $2 == d' "$STATE"
}

# state_drop DIR: forgets the records of the mount DIR (the file goes when it is empty).
state_drop() {
    [ -f "$STATE" ] || return 0
    local rest
    rest=$(awk -v d="$1" '!(($1 == "nr" || $1 == "dir") && $2 == d)' "$STATE")
    if grep -qv '^#' <<<"$rest"; then
        printf '%s\n' "$rest" >"$STATE.tmp" && mv -f "$STATE.tmp" "$STATE"
    else
        rm -f "$STATE"
    fi
}

# ---- commands ----------------------------------------------------------------------------------

# remove_unlocked FILE: removes FILE under an exclusive flock, as DPDK itself does with the
# files of its prefix: a DPDK process holds a shared lock on every hugepage file it uses, so a
# process that mapped FILE since users_of looked keeps it.
remove_unlocked() {
    if command -v flock >/dev/null 2>&1; then
        flock -n -x "$1" rm -f -- "$1"
    else
        rm -f -- "$1"
    fi
}

# clean_dir DIR: removes the stale DPDK files in the hugetlbfs at DIR, keeps those in use.
clean_dir() {
    local dir=$1 f pids removed=0 kept=0
    if ! is_hugetlbfs "$dir"; then
        say "$dir is not a hugetlbfs mount: nothing to clean"
        return 0
    fi
    while read -r f; do
        [ -n "$f" ] || continue
        pids=$(users_of "$f")
        if [ -n "$pids" ]; then
            # shellcheck disable=SC2086 # one PID per word
            echo "  kept    $f: in use by $(describe $pids)" >&2
            kept=$((kept + 1))
        elif remove_unlocked "$f"; then
            echo "  removed $f: stale (no live process uses it)" >&2
            removed=$((removed + 1))
        else
            echo "  kept    $f: locked (a DPDK process is starting or still has it)" >&2
            kept=$((kept + 1))
        fi
    done < <(map_files "$dir")
    say "$dir: $removed stale file(s) removed, $kept in use kept"
}

cmd_reserve() {
    local pages=$1 size=$2 dir=$3 node=$4
    local kb label path prev granted what
    kb=$(size_kb "$size") || bad_usage "--size must be like 2M or 1G, not '$size'"
    label=$(size_label "$kb")
    [ -d "$SYS_HP/hugepages-${kb}kB" ] ||
        die "this kernel has no $label hugepages (it has: $(supported_labels))"
    if [ -n "$node" ]; then
        [ -d "$SYS_NODES/node$node" ] ||
            die "there is no NUMA node $node (nodes: $(cd "$SYS_NODES" && echo node[0-9]*))"
        what="$label pages on NUMA node $node"
    else
        what="$label pages"
    fi
    path=$(nr_path "$kb" "$node")
    [ -w "$path" ] || die "$path is missing or read-only (a container without /sys access?)"
    # What is mounted at DIR first: a mount point that cannot be used changes nothing.
    local m mkb mounted=0
    if m=$(mount_line "$dir"); then
        [ "${m%% *}" = hugetlbfs ] || die "$dir is a ${m%% *} mount, not hugetlbfs: use another --mount"
        mkb=$(mount_kb "${m#* }")
        [ "$mkb" = "$kb" ] ||
            die "$dir is a hugetlbfs of $(size_label "$mkb") pages, not $label: release it first or use another --mount"
        mounted=1
    fi

    prev=$(<"$path")
    # The first value seen is the one release puts back (a second reserve keeps it).
    state_has_nr "$path" || state_add "nr $dir $path $prev"
    if ((prev >= pages)); then
        say "$prev $what reserved already (asked for $pages): left as is"
        granted=$prev
    else
        say "reserving $pages $what ($prev now)"
        printf '%s\n' "$pages" 2>/dev/null >"$path" || die "the kernel refused to set $path to $pages"
        granted=$(<"$path")
        if ((granted == 0)); then
            die "the kernel granted 0 of $pages $what: not enough contiguous free memory. Reserve them at boot (hugepagesz=$label hugepages=$pages on the kernel command line), or free memory and try again"
        fi
        if ((granted < pages)); then
            warn "the kernel granted only $granted of $pages $what (memory is fragmented); reserve them at boot for the full count"
        fi
    fi

    if ((mounted)); then
        say "$dir: hugetlbfs (pagesize=$label) mounted already"
    else
        if [ ! -d "$dir" ]; then
            mkdir -p -- "$dir"
            state_add "dir $dir"
        fi
        mount -t hugetlbfs -o "pagesize=$label" nodev "$dir"
        say "$dir: hugetlbfs mounted (pagesize=$label)"
    fi
    clean_dir "$dir"
    say "$granted $what reserved ($(<"${path%/nr_hugepages}/free_hugepages") free); give DPDK --huge-dir $dir"
}

cmd_clean() {
    clean_dir "$1"
}

cmd_release() {
    local dir=$1 f pids busy=() m kb=
    if m=$(mount_line "$dir"); then
        [ "${m%% *}" = hugetlbfs ] || die "$dir is a ${m%% *} mount, not hugetlbfs: not touching it"
        kb=$(mount_kb "${m#* }")
        clean_dir "$dir"
        while read -r f; do
            [ -n "$f" ] || continue
            pids=$(users_of "$f")
            # shellcheck disable=SC2086 # one PID per word
            [ -z "$pids" ] || busy+=("$f: $(describe $pids)")
        done < <(map_files "$dir")
        if ((${#busy[@]})); then
            printf '  in use: %s\n' "${busy[@]}" >&2
            die "$dir is in use by a live DPDK process: stop it first (systemctl stop strait-dataplane)"
        fi
        umount -- "$dir" || die "cannot unmount $dir (fuser -vm $dir shows who holds it)"
        say "$dir: unmounted"
    else
        say "$dir is not mounted"
    fi

    local records kind d path prev now
    records=$(state_for "$dir")
    if [ -n "$records" ]; then
        while read -r kind d path prev; do
            case $kind in
                nr)
                    printf '%s\n' "$prev" >"$path" 2>/dev/null || warn "cannot write $path"
                    now=$(<"$path")
                    say "$path: back to $prev (now $now)"
                    ((now == prev)) || warn "$((now - prev)) page(s) are still in use elsewhere; the kernel frees them when they are unmapped"
                    ;;
                dir)
                    if rmdir -- "$d" 2>/dev/null; then say "$d: removed (reserve created it)"; fi
                    ;;
            esac
        done <<<"$records"
        state_drop "$dir"
    else
        [ -n "$kb" ] || kb=$(default_kb)
        path=$(nr_path "$kb")
        printf '0\n' >"$path" 2>/dev/null || warn "cannot write $path"
        now=$(<"$path")
        say "nothing recorded in $STATE for $dir: $path set to 0 (now $now)"
        ((now == 0)) || warn "$now page(s) are still in use elsewhere; the kernel frees them when they are unmapped"
    fi
}

cmd_status() {
    local kb d label
    echo "hugepages (system-wide):"
    printf '  %-6s %8s %8s %9s %8s\n' size total free reserved surplus
    while read -r kb; do
        d=$SYS_HP/hugepages-${kb}kB
        printf '  %-6s %8s %8s %9s %8s\n' "$(size_label "$kb")" "$(<"$d/nr_hugepages")" \
            "$(<"$d/free_hugepages")" "$(<"$d/resv_hugepages")" "$(<"$d/surplus_hugepages")"
    done < <(supported_kb)
    local boot
    boot=$(grep -oE '(default_)?hugepages?z?=[^ ]+' /proc/cmdline | tr '\n' ' ' || true)
    echo "  default size $(size_label "$(default_kb)"); on the kernel command line: ${boot:-nothing}"
    if [ -d "$SYS_NODES" ]; then
        echo "per NUMA node:"
        local n
        for n in "$SYS_NODES"/node[0-9]*; do
            [ -d "$n/hugepages" ] || continue
            local line=
            while read -r kb; do
                d=$n/hugepages/hugepages-${kb}kB
                [ -d "$d" ] || continue
                line+="${line:+; }$(size_label "$kb") $(<"$d/nr_hugepages") total $(<"$d/free_hugepages") free"
            done < <(supported_kb)
            echo "  ${n##*/}: $line"
        done
    fi

    echo "hugetlbfs mounts:"
    local dir opts any=0 f pids
    while read -r dir opts; do
        [ -n "$dir" ] || continue
        any=1
        echo "  $dir (pagesize=$(size_label "$(mount_kb "$opts")"))"
        local files=0
        while read -r f; do
            [ -n "$f" ] || continue
            files=1
            pids=$(users_of "$f")
            if [ -n "$pids" ]; then
                # shellcheck disable=SC2086 # one PID per word
                echo "    $f: in use by $(describe $pids)"
            else
                echo "    $f: stale (hugepages.sh clean --mount $dir removes it)"
            fi
        done < <(map_files "$dir")
        ((files)) || echo "    no DPDK files"
    done < <(hugetlbfs_mounts)
    ((any)) || echo "  none (hugepages.sh reserve mounts one at $DEFAULT_MOUNT)"

    if [ -f "$STATE" ]; then
        echo "recorded by reserve ($STATE):"
        grep -v '^#' "$STATE" | sed 's/^/  /'
    fi
}

main() {
    local cmd=${1:-}
    [ $# -gt 0 ] && shift
    case "$cmd" in
        reserve | clean | release | status) ;;
        -h | --help | help) usage 0 ;;
        '') bad_usage "no command given" ;;
        *) bad_usage "unknown command '$cmd'" ;;
    esac
    local pages=$DEFAULT_PAGES size=$DEFAULT_SIZE dir=$DEFAULT_MOUNT node='' flag value
    while [ $# -gt 0 ]; do
        flag=$1
        shift
        case "${flag%%=*}" in
            -h | --help) usage 0 ;;
            --pages | --size | --mount | --node) ;;
            -*) bad_usage "unknown option '${flag%%=*}'" ;;
            *) bad_usage "unexpected argument '$flag'" ;;
        esac
        if [[ $flag = *=* ]]; then
            value=${flag#*=}
            flag=${flag%%=*}
        else
            [ $# -gt 0 ] || bad_usage "$flag needs a value"
            value=$1
            shift
        fi
        case "$cmd:$flag" in
            reserve:--pages)
                [[ $value =~ ^[1-9][0-9]{0,7}$ ]] || bad_usage "--pages must be a number of pages (1 or more), not '$value'"
                pages=$value
                ;;
            reserve:--size) size=$value ;;
            reserve:--node)
                [[ $value =~ ^[0-9]{1,4}$ ]] || bad_usage "--node must be a NUMA node number, not '$value'"
                node=$value
                ;;
            reserve:--mount | clean:--mount | release:--mount) dir=$(check_dir "$value") ;;
            *) bad_usage "$cmd does not take $flag" ;;
        esac
    done
    need_root
    case "$cmd" in
        reserve) cmd_reserve "$pages" "$size" "$dir" "$node" ;;
        clean) cmd_clean "$dir" ;;
        release) cmd_release "$dir" ;;
        status) cmd_status ;;
    esac
}

main "$@"
