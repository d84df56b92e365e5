/* ICMP (RFC 792, RFC 1122): echo reply, errors sent (rate limited like
 * Linux) and errors received (delivered to the UDP socket or to TCP). */
#ifndef USTACK_ICMP_H
#define USTACK_ICMP_H

#include <stddef.h>
#include <stdint.h>

#include "stack/counters.h"
#include "stack/us_stack.h"

#define ICMP_HLEN 8
#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_ECHO 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMPROB 12
/* codes of DEST_UNREACH */
#define ICMP_NET_UNREACH 0
#define ICMP_HOST_UNREACH 1
#define ICMP_PROT_UNREACH 2
#define ICMP_PORT_UNREACH 3
#define ICMP_FRAG_NEEDED 4
/* code of TIME_EXCEEDED */
#define ICMP_EXC_FRAGTIME 1

/* Linux defaults: icmp_ratelimit 1000 ms per destination with a burst of 6,
 * icmp_msgs_per_sec 1000 with a burst of 50 for the host. */
#define ICMP_RL_PEERS 16
#define ICMP_RL_PEER_BURST 6
#define ICMP_RL_PEER_US US_SEC(1)
#define ICMP_RL_GLOBAL_BURST 50
#define ICMP_RL_GLOBAL_PER_SEC 1000

struct icmp_hdr {
  uint8_t type, code;
  uint16_t csum;
  uint32_t rest; /* id/seq, mtu, ... (host byte order) */
};

int icmp_parse(const uint8_t *p, size_t len, struct icmp_hdr *h, enum us_counter *why);

typedef void (*icmp_echo_cb)(void *arg, uint32_t src, uint16_t id, uint16_t seq,
                             const uint8_t *data, size_t len);

struct icmp_state {
  struct { uint32_t ip; uint32_t tokens; us_time_t last; } peer[ICMP_RL_PEERS];
  uint32_t gtokens;
  us_time_t glast;
  icmp_echo_cb on_echo_reply;
  void *echo_arg;
};

struct us_stack;
struct ipv4_rx;

void icmp_init(struct us_stack *s);
void icmp_input(struct us_stack *s, const struct ipv4_rx *ip, const uint8_t *p, size_t len);
/* Send an error about a received datagram (ip_pkt: its IP header and as much
 * of the rest as we have). Applies the RFC 1122 "never about" rules and the
 * rate limit. info: next-hop MTU for FRAG_NEEDED. */
void icmp_send_error(struct us_stack *s, uint8_t type, uint8_t code, uint32_t info,
                     const uint8_t *ip_pkt, size_t ip_len);

/* Send an echo request (tests, tools). Returns 0 or a negative errno. */
int us_icmp_echo(struct us_stack *s, uint32_t dst, uint16_t id, uint16_t seq,
                 const void *data, size_t len);
void us_icmp_set_echo_cb(struct us_stack *s, icmp_echo_cb cb, void *arg);

#endif
