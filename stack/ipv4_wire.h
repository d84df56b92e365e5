/* IPv4 internals: the header's wire format and the hooks between ipv4.c,
 * ipv4_frag.c, icmp.c, udp.c and arp.c. The public send API is in ipv4.h. */
#ifndef USTACK_IPV4_WIRE_H
#define USTACK_IPV4_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "netdev/netdev.h"
#include "stack/counters.h"
#include "stack/ipv4.h"
#include "stack/timer.h"

#define IPV4_HLEN 20
#define IPV4_MAX_LEN 65535
#define IPV4_DEFAULT_TTL 64
#define IPV4_MIN_MTU 68
#define IPV4_F_DF 0x4000
#define IPV4_F_MF 0x2000
#define IPV4_OFF_MASK 0x1fff

/* Option types refused on receive (source routes, as Linux with
 * accept_source_route=0). */
#define IPV4_OPT_LSRR 131
#define IPV4_OPT_SSRR 137

struct ipv4_hdr {
  uint8_t hlen;        /* header bytes (ihl * 4) */
  uint8_t tos;
  uint16_t tot_len;
  uint16_t id;
  uint16_t frag;       /* flags and offset as on the wire (host order) */
  uint8_t ttl, proto;
  uint16_t csum;
  uint32_t src, dst;   /* host byte order */
};

static inline uint32_t ipv4_frag_off(const struct ipv4_hdr *h) {
  return (uint32_t)(h->frag & IPV4_OFF_MASK) * 8u;
}
static inline int ipv4_is_fragment(const struct ipv4_hdr *h) {
  return (h->frag & (IPV4_F_MF | IPV4_OFF_MASK)) != 0;
}

/* Parse and check the header at p (len = bytes available): version, header
 * length, total length <= len, header checksum, option syntax. On success
 * returns 0 (the datagram is p[0..tot_len), trailing bytes are link padding);
 * -1 with *why set otherwise. *has_opts set when options are present. */
int ipv4_parse(const uint8_t *p, size_t len, struct ipv4_hdr *h, int *has_opts,
               enum us_counter *why);
/* Write a 20-byte header (no options) with its checksum. */
void ipv4_emit(uint8_t *out, const struct ipv4_hdr *h);

/* Link input: one IPv4 datagram (after the Ethernet header). */
void ipv4_input(struct us_stack *s, const uint8_t *p, size_t len,
                const struct us_frame_meta *meta, int link_bcast);
/* An error about a datagram we sent (orig: its IP header and at least 8 bytes
 * of L4 header): handed to udp_err or tcp_err. */
void ipv4_report_err(struct us_stack *s, const uint8_t *orig, size_t len, int err,
                     uint32_t mtu);
/* Lower the path MTU toward dst (ICMP fragmentation needed). */
void ipv4_pmtu_update(struct us_stack *s, uint32_t dst, uint32_t mtu);
int ipv4_is_bcast(const struct us_stack *s, uint32_t ip);

/* Fill a partial L4 checksum in software (before fragmenting, or in a device
 * without offload). frame/len cover the bytes csum_start is relative to. */
void us_csum_finalize(uint8_t *frame, size_t len, const struct us_frame_meta *meta);

#define IPV4_PMTU_SLOTS 16
#define IPV4_PMTU_EXPIRE_US US_SEC(600) /* mtu_expires */

struct ipv4_pmtu {
  uint32_t dst, mtu;
  us_time_t expires;
};

/* Datagrams sent to our own address go round through a queue that the next
 * us_stack_advance (due at once) delivers, never re-entering the sender. */
#define IPV4_LOOP_MAX 1024
#define IPV4_LOOP_BYTES (4u * 1024u * 1024u)

struct ipv4_loop_pkt;
struct ipv4_loop {
  struct ipv4_loop_pkt *head, *tail;
  uint32_t count;
  size_t bytes;
  struct us_timer timer;
};

void ipv4_init(struct us_stack *s);
void ipv4_free(struct us_stack *s);

#endif
