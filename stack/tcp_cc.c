/* Generic congestion-control driver: the parts every algorithm shares. */
#include "stack/tcp_cc.h"

#include <string.h>

const struct tcp_cc_ops *tcp_cc_find(const char *name) {
  if (!name) return 0;
  if (!strcmp(name, "cubic")) return &tcp_cc_cubic;
  if (!strcmp(name, "reno") || !strcmp(name, "newreno")) return &tcp_cc_reno;
  return 0;
}

void tcp_cc_init(struct tcp_cc *cc, const struct tcp_cc_ops *ops, uint32_t mss) {
  memset(cc, 0, sizeof(*cc));
  cc->ops = ops;
  cc->mss = mss ? mss : 536;
  cc->cwnd = TCP_IW_SEGS * cc->mss;
  cc->ssthresh = UINT32_MAX; /* "arbitrarily high" (RFC 5681 3.1) */
  if (ops->init) ops->init(cc);
}

void tcp_cc_set_mss(struct tcp_cc *cc, uint32_t mss) {
  if (!mss || mss == cc->mss) return;
  if (!cc->ops) { cc->mss = mss; return; } /* not started yet */
  /* Keep cwnd in the same number of segments. */
  uint64_t segs = cc->cwnd / cc->mss;
  if (segs < 1) segs = 1;
  cc->cwnd = (uint32_t)(segs * mss);
  cc->mss = mss;
}

void tcp_cc_on_ack(struct tcp_cc *cc, uint32_t acked, us_time_t now, uint32_t srtt_us,
                   int cwnd_limited) {
  if (!cwnd_limited || !acked) return;
  if (cc->cwnd < cc->ssthresh) {
    /* Slow start: one byte of cwnd per byte acked (stretch ACKs from GRO count
     * in full, like Linux), up to ssthresh; the rest goes to avoidance. */
    uint64_t room = (uint64_t)cc->ssthresh - cc->cwnd;
    uint32_t use = acked < room ? acked : (uint32_t)room;
    cc->cwnd += use;
    acked -= use;
    if (!acked) return;
  }
  cc->ops->cong_avoid(cc, acked, now, srtt_us);
  if (cc->cwnd > (1u << 30)) cc->cwnd = 1u << 30;
}

void tcp_cc_enter_recovery(struct tcp_cc *cc, us_time_t now) {
  cc->ssthresh = cc->ops->ssthresh(cc, now);
  cc->cwnd = cc->ssthresh;
  cc->ca_acc = 0;
}

void tcp_cc_exit_recovery(struct tcp_cc *cc) {
  if (cc->ssthresh != UINT32_MAX) cc->cwnd = cc->ssthresh;
}

void tcp_cc_on_rto(struct tcp_cc *cc, us_time_t now, int first_in_episode) {
  if (first_in_episode) cc->ssthresh = cc->ops->ssthresh(cc, now);
  cc->cwnd = cc->mss;
  cc->ca_acc = 0;
}

void tcp_cc_undo(struct tcp_cc *cc, const struct tcp_cc *prior) {
  uint32_t cwnd = cc->cwnd > prior->cwnd ? cc->cwnd : prior->cwnd;
  uint32_t ssthresh = cc->ssthresh > prior->ssthresh ? cc->ssthresh : prior->ssthresh;
  uint32_t mss = cc->mss;
  *cc = *prior; /* the algorithm's own state too (cubic's epoch and w_max) */
  cc->cwnd = cwnd;
  cc->ssthresh = ssthresh;
  cc->mss = mss;
}

void tcp_cc_restart(struct tcp_cc *cc, us_time_t idle) {
  uint32_t iw = TCP_IW_SEGS * cc->mss;
  if (cc->cwnd > iw) cc->cwnd = iw;
  if (cc->ops->restart) cc->ops->restart(cc, idle);
}
