/* UDP internals: the socket table (demultiplexing) and the hooks ipv4/icmp
 * call. The socket API is in udp.h. */
#ifndef USTACK_UDP_TABLE_H
#define USTACK_UDP_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "stack/counters.h"

#define UDP_HLEN 8
#define UDP_HASH 64
#define UDP_EPHEMERAL_LO 32768 /* ip_local_port_range */
#define UDP_EPHEMERAL_HI 60999

struct udp_sock;
struct us_stack;
struct ipv4_rx;

struct udp_table {
  struct udp_sock *bucket[UDP_HASH]; /* by local port */
  uint32_t count;
};

struct udp_hdr {
  uint16_t sport, dport, len, csum; /* host byte order */
};

/* Parse the 8-byte header; checks the length field against len (the IP
 * payload). 0 on success, -1 with *why set. */
int udp_parse(const uint8_t *p, size_t len, struct udp_hdr *h, enum us_counter *why);
void udp_emit(uint8_t *out, const struct udp_hdr *h);

void udp_init(struct us_stack *s);
void udp_free(struct us_stack *s);
void udp_input(struct us_stack *s, const struct ipv4_rx *ip, const uint8_t *p, size_t len);
/* An error about a datagram we sent: hdr = its UDP header (>= 8 bytes). */
void udp_err(struct us_stack *s, uint32_t src, uint32_t dst, const uint8_t *hdr, size_t len,
             int err, uint32_t mtu);

#endif
