//! Finds the system DPDK with `pkg-config libdpdk`, compiles the shim with DPDK's own cflags
//! and generates allowlisted bindings with the same flags.

use std::{env, path::PathBuf, process::Command};

const HINT: &str = "DPDK is needed for the `dpdk` feature: apt-get install -y libdpdk-dev dpdk-dev \
                    libclang-dev pkg-config (or build without `--features dpdk`)";

fn main() {
    println!("cargo:rerun-if-changed=src/shim.c");
    println!("cargo:rerun-if-changed=src/shim.h");
    println!("cargo:rerun-if-changed=src/wrapper.h");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");

    let library = pkg_config::Config::new()
        .atleast_version("22.11")
        .probe("libdpdk")
        .unwrap_or_else(|e| panic!("pkg-config libdpdk: {e}\n{HINT}"));
    println!("cargo:version={}", library.version);
    // Drivers are not in libdpdk.pc: the vdev bus (rte_vdev_init) and the ring PMD
    // (rte_eth_from_rings) are linked by name.
    for lib in ["rte_bus_vdev", "rte_net_ring"] {
        println!("cargo:rustc-link-lib=dylib={lib}");
    }

    let cflags = cflags();
    let mut shim = cc::Build::new();
    shim.file("src/shim.c").include("src").warnings(false);
    for flag in &cflags {
        shim.flag(flag);
    }
    shim.compile("strait_dpdk_shim");

    let bindings = bindgen::Builder::default()
        .header("src/wrapper.h")
        .clang_arg("-Isrc")
        .clang_args(&cflags)
        .rust_target(bindgen::RustTarget::stable(85, 0).expect("a stable Rust target"))
        .rust_edition(bindgen::RustEdition::Edition2024)
        .allowlist_function("strait_.*")
        .allowlist_function("rte_eal_(init|cleanup|process_type)")
        .allowlist_function("rte_thread_(register|unregister)")
        .allowlist_function("rte_(strerror|socket_id|lcore_count)")
        .allowlist_function("rte_(openlog_stream|log_set_global_level)")
        .allowlist_function("rte_vdev_(init|uninit)")
        .allowlist_function("rte_pktmbuf_(pool_create|free_bulk)")
        .allowlist_function("rte_mempool_(free|avail_count|in_use_count)")
        .allowlist_function("rte_ring_(create|free)")
        .allowlist_function("rte_eth_from_rings")
        .allowlist_function(
            "rte_eth_(dev_count_avail|dev_is_valid_port|dev_get_port_by_name|dev_get_name_by_port)",
        )
        .allowlist_function(
            "rte_eth_(dev_info_get|dev_configure|dev_adjust_nb_rx_tx_desc|dev_socket_id)",
        )
        .allowlist_function("rte_eth_(rx_queue_setup|tx_queue_setup|dev_start|dev_stop|dev_close)")
        .allowlist_function("rte_eth_(macaddr_get|link_get_nowait|promiscuous_enable)")
        .allowlist_function("rte_eth_(stats_get|xstats_get|xstats_get_names)")
        .allowlist_type("rte_mbuf|rte_mempool|rte_eth_conf|rte_eth_dev_info|rte_eth_link")
        .allowlist_type("rte_eth_stats|rte_eth_xstat|rte_eth_xstat_name|rte_ether_addr")
        .allowlist_var("RTE_MAX_ETHPORTS|RTE_PKTMBUF_HEADROOM|RTE_ETH_NAME_MAX_LEN|RTE_MAX_LCORE")
        .allowlist_var("RTE_ETH_LINK_(UP|DOWN|FULL_DUPLEX)|RTE_ETH_SPEED_NUM_.*")
        .allowlist_var("RTE_LOG_.*|SOCKET_ID_ANY|RING_F_.*")
        .allowlist_type("rte_eth_rx_mq_mode|rte_eth_tx_mq_mode")
        .rustified_enum("rte_eth_rx_mq_mode|rte_eth_tx_mq_mode")
        .generate_comments(false)
        .derive_default(true)
        .derive_debug(false)
        .layout_tests(true)
        .generate()
        .unwrap_or_else(|e| panic!("bindgen over the DPDK headers: {e}\n{HINT}"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("writing bindings.rs");
}

/// `pkg-config --cflags libdpdk`, token by token (it includes `-include rte_config.h` and a
/// `-march`, which the shim and bindgen must both see for struct layouts to agree).
fn cflags() -> Vec<String> {
    let out = Command::new(env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".into()))
        .args(["--cflags", "libdpdk"])
        .output()
        .unwrap_or_else(|e| panic!("running pkg-config: {e}\n{HINT}"));
    assert!(
        out.status.success(),
        "pkg-config --cflags libdpdk: {}\n{HINT}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8 cflags")
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}
