/* Ethernet II: wire format and the link-layer entry point of the stack. */
#ifndef USTACK_ETH_H
#define USTACK_ETH_H

#include <stddef.h>
#include <stdint.h>

#include "netdev/netdev.h"
#include "stack/counters.h"
#include "stack/pkt.h"

#define ETH_HLEN 14
#define ETH_ALEN 6
#define ETH_P_IPV4 0x0800
#define ETH_P_ARP 0x0806

struct us_stack;

struct eth_hdr {
  uint8_t dst[ETH_ALEN], src[ETH_ALEN];
  uint16_t type; /* host byte order */
};

extern const uint8_t eth_broadcast[ETH_ALEN];

/* Parse the header at p. 0 on success; -1 with *why set when truncated. */
int eth_parse(const uint8_t *p, size_t len, struct eth_hdr *h, enum us_counter *why);
/* Write a 14-byte header. */
void eth_emit(uint8_t *out, const struct eth_hdr *h);

static inline int eth_is_mcast(const uint8_t *mac) { return mac[0] & 1; }
static inline int eth_is_zero(const uint8_t *mac) {
  return !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
}

/* One frame from the device: checks the destination and dispatches. */
void eth_input(struct us_stack *s, const uint8_t *frame, size_t len,
               const struct us_frame_meta *meta);
/* Push the Ethernet header onto pkt and hand it to the device. */
int eth_output(struct us_stack *s, struct us_pkt *pkt, const uint8_t *dst, uint16_t type);

#endif
