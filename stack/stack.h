/* Internal view of struct us_stack, shared by the protocol modules.
 * Each module keeps its state in its own struct, declared in its own header. */
#ifndef USTACK_STACK_H
#define USTACK_STACK_H

#include <stdint.h>

#include "netdev/netdev.h"
#include "common/alloc.h"
#include "stack/arp.h"
#include "stack/event.h"
#include "stack/icmp.h"
#include "stack/ipv4_frag.h"
#include "stack/ipv4_wire.h"
#include "stack/timer_wheel.h"
#include "stack/udp_table.h"
#include "stack/us_stack.h"

struct tcp_state;

struct us_stack {
  struct us_stack_config cfg;
  struct us_netdev *dev;
  uint8_t mac[6];
  uint32_t netmask;             /* host byte order, from cfg.prefix_len */
  us_time_t now;                /* time of the current input/advance call */
  uint64_t rng;                 /* xorshift state seeded from cfg.seed */
  uint64_t counters[US_CNT__MAX];

  struct us_timer_wheel timers; /* timer_wheel.c */
  struct arp_state arp;         /* arp.c */
  struct ipv4_frag_state frag;  /* ipv4_frag.c */
  uint16_t ip_id;               /* next IPv4 identification */
  struct ipv4_pmtu pmtu[IPV4_PMTU_SLOTS]; /* ipv4.c: learned path MTUs */
  struct ipv4_loop loop;        /* ipv4.c: datagrams to our own address */
  struct icmp_state icmp;       /* icmp.c */
  struct udp_table udp;         /* udp.c */
  struct tcp_state *tcp;        /* tcp_*.c */
  us_event_fn ev_fn;            /* event.h: the event sink, NULL = none */
  void *ev_ctx;
};

static inline void us_count(struct us_stack *s, enum us_counter c) {
  s->counters[c]++;
  US_EVENT(s, us_ev_count(s, c)); /* drops reach the trace by reason */
}

/* Deterministic pseudo-random numbers (xorshift64*), from cfg.seed. */
uint64_t us_rand64(struct us_stack *s);

#endif
