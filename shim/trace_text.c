/* The text trace: one line per event, as it happens, with the time since
 * the stack started; plus a line whenever the congestion window changes. */
#include <string.h>

#include "shim/trace_int.h"
#include "stack/tcp_sock.h"

static void line(struct us_trace *t, us_time_t at, const char *text) {
  us_time_t rel = at > t->t0 ? at - t->t0 : 0;
  fprintf(t->text, "%4llu.%06llu %s\n", (unsigned long long)(rel / 1000000),
          (unsigned long long)(rel % 1000000), text);
}

static void ssthresh_str(uint32_t v, uint32_t mss, char *out, size_t n) {
  if (v >= 0x7fffffffu) snprintf(out, n, "inf");
  else snprintf(out, n, "%u", mss ? v / mss : v);
}

/* Why cwnd moved, from the congestion state before and after. */
static const char *cc_reason(const struct tr_conn *c, const struct us_ev_tcp_snap *p) {
  if (p->undos != c->cc_undos) return "undo: every resend was spurious";
  if (p->ca_state == 4) return "loss: retransmission timeout";
  if (p->ca_state == 3 && c->cc_ca != 3) return "fast recovery";
  if (p->ca_state == 3) return "in recovery: PRR"; /* RFC 6937, ACK by ACK */
  if (c->cc_ca == 3 || c->cc_ca == 4) return "recovery done";
  if (p->cwnd < c->cc_cwnd) return "restart after idle";
  return p->cwnd <= p->ssthresh ? "slow start" : "congestion avoidance";
}

/* cwnd and ssthresh in segments, printed when either changes. */
static void cc_line(struct us_trace *t, struct tr_conn *c, const struct us_event *ev) {
  const struct us_ev_tcp_snap *p = &ev->snap;
  if (!c || !ev->has_snap || !p->mss || !p->cwnd) return;
  if (p->state != US_TCP_ESTABLISHED && p->state != US_TCP_CLOSE_WAIT &&
      p->state != US_TCP_FIN_WAIT1 && p->state != US_TCP_LAST_ACK && p->state != US_TCP_CLOSING)
    return;
  uint32_t segs = p->cwnd / p->mss, old = c->cc_cwnd / p->mss;
  char buf[256], a[16], b[16], cs[80], l[32], r[32];
  tr_ep(c->key.lip, c->key.lport, l, sizeof l);
  tr_ep(c->key.rip, c->key.rport, r, sizeof r);
  snprintf(cs, sizeof cs, "%s > %s", l, r);
  if (!c->cc_seen) {
    ssthresh_str(p->ssthresh, p->mss, a, sizeof a);
    snprintf(buf, sizeof buf, "tcp  cwnd %u (initial, ssthresh %s, mss %u) (%s)", segs, a, p->mss, cs);
    line(t, ev->t, buf);
  } else if (segs != old || p->ssthresh != c->cc_ssthresh) {
    int n = snprintf(buf, sizeof buf, "tcp  cwnd %u -> %u", old, segs);
    if (p->ssthresh != c->cc_ssthresh) {
      ssthresh_str(c->cc_ssthresh, p->mss, a, sizeof a);
      ssthresh_str(p->ssthresh, p->mss, b, sizeof b);
      n += snprintf(buf + n, sizeof buf - (size_t)n, ", ssthresh %s -> %s", a, b);
    }
    snprintf(buf + n, sizeof buf - (size_t)n, " (%s) (%s)", cc_reason(c, p), cs);
    line(t, ev->t, buf);
  } else {
    c->cc_ca = p->ca_state;
    c->cc_undos = p->undos;
    return;
  }
  c->cc_undos = p->undos;
  c->cc_seen = 1;
  c->cc_cwnd = p->cwnd;
  c->cc_ssthresh = p->ssthresh;
  c->cc_ca = p->ca_state;
}

void tr_text_event(struct us_trace *t, struct tr_conn *c, const struct us_event *ev) {
  char buf[512];
  unsigned cat;
  tr_describe(t, c, ev, buf, sizeof buf, &cat);
  if (cat & t->cats) line(t, ev->t, buf);
  if (t->cats & US_TRACE_CC) cc_line(t, c, ev);
}
