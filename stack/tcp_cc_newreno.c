/* NewReno (RFC 5681 congestion avoidance, RFC 6582 recovery lives in the
 * generic loss-recovery code): one MSS per cwnd of bytes acked. */
#include "stack/tcp_cc.h"

static void reno_cong_avoid(struct tcp_cc *cc, uint32_t acked, us_time_t now, uint32_t srtt_us) {
  (void)now; (void)srtt_us;
  cc->ca_acc += acked;
  while (cc->ca_acc >= cc->cwnd) {
    cc->ca_acc -= cc->cwnd;
    cc->cwnd += cc->mss;
  }
}

static uint32_t reno_ssthresh(struct tcp_cc *cc, us_time_t now) {
  (void)now;
  uint32_t half = cc->cwnd / 2;
  return half > 2 * cc->mss ? half : 2 * cc->mss;
}

const struct tcp_cc_ops tcp_cc_reno = {
    .name = "reno",
    .cong_avoid = reno_cong_avoid,
    .ssthresh = reno_ssthresh,
};
