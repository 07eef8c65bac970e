# Shared by Strait's scripts: installing what they need, logging.
# shellcheck shell=bash

say() {
    if [ -t 2 ]; then printf '\033[1m==> %s\033[0m\n' "$*" >&2; else printf '==> %s\n' "$*" >&2; fi
}
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ensure_packages PKG...: installs the Debian packages that are missing (apt-get update first).
ensure_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    [ "$(id -u)" = 0 ] || die "need root to install: ${missing[*]} (run as root, or install them yourself)"
    say "installing ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# ensure_rust: the toolchain pinned in rust-toolchain.toml, through rustup.
ensure_rust() {
    if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    command -v cargo >/dev/null 2>&1 || die "Rust is not installed: install rustup (https://rustup.rs); rust-toolchain.toml pins the version"
    cargo --version >/dev/null || die "cargo cannot run the toolchain pinned in rust-toolchain.toml"
}

# The system packages every build needs.
BUILD_PACKAGES=(build-essential pkg-config ca-certificates iproute2 procps ethtool iputils-ping nftables
    m4 clang llvm libelf-dev zlib1g-dev libpcap-dev libclang-dev)
# The `dpdk` feature: the system DPDK (libdpdk-dev, found by pkg-config; bindgen needs
# libclang-dev) and its tools (dpdk-testpmd, dpdk-devbind.py).
DPDK_PACKAGES=(libdpdk-dev dpdk-dev dpdk)
