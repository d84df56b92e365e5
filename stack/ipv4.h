/* IPv4: input dispatch, output with on-link vs gateway routing, fragmentation
 * and reassembly (ipv4_frag.c). */
#ifndef USTACK_IPV4_H
#define USTACK_IPV4_H

#include <stdint.h>

#include "stack/pkt.h"
#include "stack/us_stack.h"

#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17

/* What upper layers learn about a received datagram. */
struct ipv4_rx {
  uint32_t src, dst;      /* host byte order */
  uint8_t proto, ttl, tos;
  uint32_t csum_valid;    /* kernel vouched for the L4 checksum */
  /* Added by the ipv4 module: the whole datagram (IP header first), for
   * ICMP errors that quote it; and whether it was sent to a broadcast or
   * multicast address (no ICMP errors, no TCP). */
  const uint8_t *pkt;
  uint32_t pkt_len;
  uint8_t bcast;
};

/* Send one datagram whose L4 header starts at pkt->data (headroom for IP and
 * Ethernet must remain). src 0 = our address. Resolves the next hop through
 * ARP; while unresolved the packet waits in a bounded queue, and if
 * resolution fails the sender learns EHOSTUNREACH through its err hook
 * (udp_err / tcp_err), as for a received ICMP host unreachable.
 * df: set Don't Fragment (TCP). Packets larger than the MTU without df are
 * fragmented (UDP). Returns 0, or a negative errno (-EMSGSIZE, -ENETUNREACH,
 * -ENOBUFS). */
int ipv4_output(struct us_stack *s, struct us_pkt *pkt, uint32_t src, uint32_t dst,
                uint8_t proto, int df);
/* The same with the TOS byte (its low two bits: the ECN codepoint, RFC 3168;
 * fragments go Not-ECT). */
int ipv4_output_tos(struct us_stack *s, struct us_pkt *pkt, uint32_t src, uint32_t dst,
                    uint8_t proto, int df, uint8_t tos);
#define IPV4_ECN_MASK 3u
#define IPV4_ECN_ECT0 2u
#define IPV4_ECN_CE 3u

/* The source address a datagram to dst leaves with (ours: the stack has one)
 * in *src, as Linux's route lookup at a UDP connect() picks it. Returns 0 or
 * -ENETUNREACH (off the link and no gateway). */
int ipv4_source_for(struct us_stack *s, uint32_t dst, uint32_t *src);

/* The path MTU toward dst as the stack knows it (link MTU, lowered by ICMP
 * fragmentation-needed). */
uint32_t ipv4_path_mtu(struct us_stack *s, uint32_t dst);

/* Forward progress toward dst was seen (new data ACKed): keeps the next hop's
 * ARP entry REACHABLE without unicast probes, as Linux's dst_confirm does. */
void ipv4_confirm(struct us_stack *s, uint32_t dst);

/* Internet checksum helpers (checksum.c). */
uint32_t us_csum_add(uint32_t sum, const void *data, size_t len);
uint16_t us_csum_fold(uint32_t sum);
uint32_t us_csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint32_t len);
/* Finish an L4 checksum at pkt->data + field_off over the whole pkt: in
 * software, or as a partial checksum the device completes when it offloads. */
void us_l4_csum(struct us_stack *s, struct us_pkt *pkt, uint32_t src, uint32_t dst,
                uint8_t proto, uint16_t field_off);

#endif
