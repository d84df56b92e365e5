/* CUBIC (RFC 9438): window growth as a cubic function of the time since the
 * last congestion event, with a Reno-friendly region and fast convergence.
 * Computed in segments with doubles; the stack is single-threaded and the
 * cost is a few flops per ACK. */
#include "stack/tcp_cc.h"

#define CUBIC_C 0.4
#define CUBIC_BETA 0.7

/* Cube root by Newton's method (no libm in the stack). */
static double cubic_cbrt(double x) {
  if (x <= 0) return 0;
  double r = x > 1 ? x / 3 : 1;
  for (int i = 0; i < 100; i++) {
    double n = r - (r * r * r - x) / (3 * r * r);
    if (n == r || (n > r ? n - r : r - n) < 1e-9 * r) { r = n; break; }
    r = n;
  }
  return r;
}

static void cubic_init(struct tcp_cc *cc) {
  struct tcp_cubic *c = &cc->u.cubic;
  *c = (struct tcp_cubic){0};
}

static void cubic_cong_avoid(struct tcp_cc *cc, uint32_t acked, us_time_t now, uint32_t srtt_us) {
  struct tcp_cubic *c = &cc->u.cubic;
  double mss = cc->mss;
  double cwnd = cc->cwnd / mss;
  if (!c->epoch) {
    c->epoch = now ? now : 1;
    c->cwnd_epoch = cwnd;
    c->w_est = cwnd;
    if (c->w_max > cwnd) {
      c->k = cubic_cbrt((c->w_max - cwnd) / CUBIC_C);
    } else {
      c->k = 0;
      c->w_max = cwnd;
    }
  }
  double t = (double)(now - c->epoch) / 1e6;
  double rtt = srtt_us ? srtt_us / 1e6 : 0.1;
  double dt = t + rtt - c->k;
  double target = CUBIC_C * dt * dt * dt + c->w_max;
  if (target < cwnd) target = cwnd;
  if (target > 1.5 * cwnd) target = 1.5 * cwnd;

  /* Reno-friendly estimate (RFC 9438 4.3). */
  double segs = acked / mss;
  double alpha = c->w_est >= c->w_last_ssthresh && c->w_last_ssthresh > 0
                     ? 1.0
                     : 3.0 * (1 - CUBIC_BETA) / (1 + CUBIC_BETA);
  c->w_est += alpha * segs / cwnd;
  double dtn = t - c->k;
  double w_cubic_now = CUBIC_C * dtn * dtn * dtn + c->w_max;

  double inc_bytes;
  if (w_cubic_now < c->w_est) {
    inc_bytes = (c->w_est - cwnd) * mss;       /* Reno-friendly region */
  } else {
    inc_bytes = (target - cwnd) / cwnd * segs * mss; /* concave / convex */
  }
  if (inc_bytes < 0) inc_bytes = 0;
  c->frac += inc_bytes;
  if (c->frac >= 1) {
    uint32_t add = (uint32_t)c->frac;
    c->frac -= add;
    cc->cwnd += add;
  }
}

static uint32_t cubic_ssthresh(struct tcp_cc *cc, us_time_t now) {
  (void)now;
  struct tcp_cubic *c = &cc->u.cubic;
  double cwnd = (double)cc->cwnd / cc->mss;
  /* Fast convergence (RFC 9438 4.7). */
  if (cwnd < c->w_max) c->w_max = cwnd * (1 + CUBIC_BETA) / 2;
  else c->w_max = cwnd;
  c->epoch = 0;
  c->frac = 0;
  double th = cwnd * CUBIC_BETA;
  if (th < 2) th = 2;
  c->w_last_ssthresh = cwnd; /* cwnd_prior: alpha becomes 1 once W_est reaches it */
  return (uint32_t)(th * cc->mss);
}

static void cubic_restart(struct tcp_cc *cc, us_time_t idle) {
  struct tcp_cubic *c = &cc->u.cubic;
  /* Idle time is not growth time: shift the epoch (RFC 9438 5.8, as Linux). */
  if (c->epoch) c->epoch += idle;
}

const struct tcp_cc_ops tcp_cc_cubic = {
    .name = "cubic",
    .init = cubic_init,
    .cong_avoid = cubic_cong_avoid,
    .ssthresh = cubic_ssthresh,
    .restart = cubic_restart,
};
