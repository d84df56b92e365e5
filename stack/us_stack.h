/* The stack core as a value: all protocol state lives in one struct us_stack.
 *
 * It is driven from outside by three things only: a received frame
 * (us_stack_input), the passage of time (us_stack_advance, with `now` handed
 * in by the host or by a test's virtual clock), and socket operations
 * (udp.h, tcp.h). It emits frames through its netdev. No threads, no
 * syscalls, no wall clock below this line. */
#ifndef USTACK_US_STACK_H
#define USTACK_US_STACK_H

#include <stddef.h>
#include <stdint.h>

#include "common/time.h"
#include "netdev/netdev.h"
#include "stack/counters.h"

struct us_stack_config {
  uint32_t ip;          /* host byte order */
  uint8_t prefix_len;   /* e.g. 24 */
  uint32_t gw;          /* 0 = no default route */
  uint32_t dns;         /* 0 = none */
  uint64_t seed;        /* ISN key, ephemeral ports, DNS ids, ARP jitter */
  uint32_t msl_ms;      /* 0 = default (30 s, so TIME_WAIT = 60 s like Linux) */
  uint8_t no_garp;      /* 1 = skip the gratuitous ARP at start (tests) */
};

struct us_stack;

struct us_stack *us_stack_new(const struct us_stack_config *cfg, struct us_netdev *dev,
                              us_time_t now);
void us_stack_free(struct us_stack *s);

/* One received Ethernet frame. meta may be NULL (no checksum help). */
void us_stack_input(struct us_stack *s, const uint8_t *frame, size_t len,
                    const struct us_frame_meta *meta, us_time_t now);
/* Run every timer due at or before now. */
void us_stack_advance(struct us_stack *s, us_time_t now);
/* When us_stack_advance next has work; US_TIME_NEVER if none. */
us_time_t us_stack_next_deadline(const struct us_stack *s);

uint64_t us_stack_counter(const struct us_stack *s, enum us_counter c);
/* Copies the device's own loss totals into the DEV_* counters. The device may
 * make a system call for them, so the host calls this now and then (and
 * before it reports), not per frame. */
void us_stack_read_device(struct us_stack *s);
const char *us_counter_name(enum us_counter c); /* "ETH_RX" */
const char *us_counter_desc(enum us_counter c); /* "eth frames received" */

/* Duplicate-address detection: nonzero once another host answered ARP for our
 * address; mac filled with that host's MAC. */
int us_stack_ip_conflict(const struct us_stack *s, uint8_t mac[6]);

#endif
