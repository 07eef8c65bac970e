/* Out-of-line copies of DPDK's static inline calls, so Rust can call them. */
#ifndef STRAIT_DPDK_SHIM_H
#define STRAIT_DPDK_SHIM_H

#include <stdint.h>
#include <rte_mbuf.h>

uint16_t strait_rte_eth_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
uint16_t strait_rte_eth_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
struct rte_mbuf *strait_rte_pktmbuf_alloc(struct rte_mempool *pool);
int strait_rte_pktmbuf_alloc_bulk(struct rte_mempool *pool, struct rte_mbuf **mbufs, unsigned n);
void strait_rte_pktmbuf_free(struct rte_mbuf *m);
int strait_rte_errno(void);
unsigned strait_rte_lcore_id(void);
/* RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP (function-like macros bindgen cannot expand). */
uint64_t strait_rss_hf_ip_tcp_udp(void);
/* RTE_MBUF_DEFAULT_BUF_SIZE. */
uint16_t strait_mbuf_default_buf_size(void);
/* Prefetches the first cache line of a frame's data. */
void strait_rte_prefetch0(const void *p);

#endif
