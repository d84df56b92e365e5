/* Congestion control behind one small interface. The generic part (slow start
 * with Linux-style stretch-ACK handling, recovery entry/exit, RTO collapse,
 * restart after idle, IW10) lives in tcp_cc.c; an algorithm supplies only
 * congestion avoidance and its reaction to loss. cwnd and ssthresh are bytes.
 * Algorithms: "cubic" (RFC 9438, default) and "reno" (NewReno, RFC 5681/6582). */
#ifndef USTACK_TCP_CC_H
#define USTACK_TCP_CC_H

#include <stdint.h>

#include "stack/us_stack.h"

#define TCP_IW_SEGS 10 /* RFC 6928, as Linux */
#define TCP_CC_NAME_MAX 16

struct tcp_cc;

struct tcp_cc_ops {
  const char *name;
  void (*init)(struct tcp_cc *cc);
  /* Congestion avoidance: `acked` bytes newly acknowledged while cwnd >= ssthresh. */
  void (*cong_avoid)(struct tcp_cc *cc, uint32_t acked, us_time_t now, uint32_t srtt_us);
  /* A loss (fast recovery or RTO): return the new ssthresh in bytes. */
  uint32_t (*ssthresh)(struct tcp_cc *cc, us_time_t now);
  /* Sending resumes after `idle` microseconds without data in flight. */
  void (*restart)(struct tcp_cc *cc, us_time_t idle);
};

struct tcp_cubic {
  double w_max;        /* segments: cwnd just before the last reduction */
  double k;            /* seconds to reach w_max again */
  double w_est;        /* segments: Reno-friendly estimate (RFC 9438 4.3) */
  double cwnd_epoch;   /* segments: cwnd at the start of the epoch */
  double frac;         /* fractional bytes not yet added to cwnd */
  us_time_t epoch;     /* start of the congestion-avoidance epoch, 0 = none */
  double w_last_ssthresh; /* segments: cwnd_prior, cwnd before the last reduction */
};

struct tcp_cc {
  const struct tcp_cc_ops *ops;
  uint32_t cwnd, ssthresh, mss;
  uint32_t ca_acc;    /* Reno: bytes acked toward the next cwnd increase */
  union {
    struct tcp_cubic cubic;
  } u;
};

extern const struct tcp_cc_ops tcp_cc_reno;
extern const struct tcp_cc_ops tcp_cc_cubic;
/* By name ("cubic", "reno"/"newreno"); NULL if unknown. */
const struct tcp_cc_ops *tcp_cc_find(const char *name);

/* Generic driver. */
void tcp_cc_init(struct tcp_cc *cc, const struct tcp_cc_ops *ops, uint32_t mss);
void tcp_cc_set_mss(struct tcp_cc *cc, uint32_t mss);
/* New data acknowledged, not in recovery. cwnd grows only when the sender
 * was limited by it (cwnd_limited), as in Linux. */
void tcp_cc_on_ack(struct tcp_cc *cc, uint32_t acked, us_time_t now, uint32_t srtt_us,
                   int cwnd_limited);
/* Entering fast recovery: ssthresh from the algorithm, cwnd = ssthresh. */
void tcp_cc_enter_recovery(struct tcp_cc *cc, us_time_t now);
/* Leaving recovery (snd_una reached recover): cwnd = ssthresh. */
void tcp_cc_exit_recovery(struct tcp_cc *cc);
/* Retransmission timeout: first_in_episode lowers ssthresh; cwnd = 1 MSS. */
void tcp_cc_on_rto(struct tcp_cc *cc, us_time_t now, int first_in_episode);
/* A reduction proved spurious: back to the state saved before it (cwnd and
 * ssthresh never lower than now, as Linux's tcp_undo_cwnd_reduction). */
void tcp_cc_undo(struct tcp_cc *cc, const struct tcp_cc *prior);
/* Restart after idle (RFC 5681 4.1): cwnd = min(cwnd, IW). */
void tcp_cc_restart(struct tcp_cc *cc, us_time_t idle);

#endif
