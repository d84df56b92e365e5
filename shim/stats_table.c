/* Statistics at exit (--stats, --stats-json): per connection a block like
 * `ss -ti`, and the stack's counters like `netstat -s`, drops by reason. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "shim/trace_int.h"
#include "stack/tcp_sock.h"

static void ms_str(uint32_t us, char *out, size_t n) { snprintf(out, n, "%.3f", us / 1000.0); }

static void rate_str(double bytes, double secs, char *out, size_t n) {
  double bps = secs > 0 ? bytes * 8 / secs : 0;
  if (bps >= 1e9) snprintf(out, n, "%.2f Gbit/s", bps / 1e9);
  else if (bps >= 1e6) snprintf(out, n, "%.2f Mbit/s", bps / 1e6);
  else if (bps >= 1e3) snprintf(out, n, "%.2f kbit/s", bps / 1e3);
  else snprintf(out, n, "%.0f bit/s", bps);
}

void stats_conn_lines(FILE *f, const struct us_ev_conn *k, const struct us_ev_tcp_snap *p,
                      uint32_t rq, uint32_t sq) {
  char l[32], r[32], a[16], b[16], c[16], th[16];
  tr_ep(k->lip, k->lport, l, sizeof l);
  tr_ep(k->rip, k->rport, r, sizeof r);
  fprintf(f, "%-12s %6u %6u  %-22s %-22s\n", us_tcp_state_name(p->state), rq, sq, l, r);
  ms_str(p->srtt_us, a, sizeof a);
  ms_str(p->rttvar_us, b, sizeof b);
  ms_str(p->min_rtt_us, c, sizeof c);
  if (p->ssthresh >= 0x7fffffffu) snprintf(th, sizeof th, "inf");
  else snprintf(th, sizeof th, "%u", p->mss ? p->ssthresh / p->mss : p->ssthresh);
  fprintf(f,
          "\t mss:%u rtt:%s/%s minrtt:%s rto:%u cwnd:%u ssthresh:%s bytes_sent:%" PRIu64
          " bytes_retrans:%" PRIu64 " bytes_acked:%" PRIu64 " bytes_received:%" PRIu64
          " segs_out:%u segs_in:%u retrans:%u snd_wnd:%u rcv_wnd:%u\n",
          p->mss, a, b, c, p->rto_us / 1000, p->mss ? p->cwnd / p->mss : p->cwnd, th,
          p->bytes_sent, p->bytes_retrans, p->bytes_acked, p->bytes_received, p->segs_out,
          p->segs_in, p->total_retrans, p->snd_wnd, p->rcv_wnd);
}

/* Counters grouped by protocol (the name's prefix), zeros left out, drops
 * gathered at the end by reason. */
void stats_counters(FILE *f, struct us_stack *s) {
  char group[8] = "";
  uint64_t drops = 0;
  for (int i = 0; i < US_CNT__MAX; i++) {
    uint64_t v = us_stack_counter(s, (enum us_counter)i);
    if (!v) continue;
    const char *name = us_counter_name((enum us_counter)i);
    size_t g = strcspn(name, "_");
    if (g >= sizeof group) g = sizeof group - 1;
    if (strncmp(group, name, g) || group[g]) { /* a new protocol: "tcp:" */
      memcpy(group, name, g);
      group[g] = 0;
      for (size_t k = 0; k < g; k++) fputc(group[k] | 0x20, f);
      fputs(":\n", f);
    }
    fprintf(f, "    %" PRIu64 " %s\n", v, us_counter_desc((enum us_counter)i));
    if (tr_counter_is_drop((enum us_counter)i)) drops += v;
  }
  fprintf(f, "drops by reason (%" PRIu64 " in all):\n", drops);
  for (int i = 0; i < US_CNT__MAX; i++) {
    uint64_t v = us_stack_counter(s, (enum us_counter)i);
    if (v && tr_counter_is_drop((enum us_counter)i))
      fprintf(f, "    %" PRIu64 " %s (%s)\n", v, us_counter_desc((enum us_counter)i),
              us_counter_name((enum us_counter)i));
  }
}

static double conn_secs(const struct tr_conn *c) {
  us_time_t end = c->closed ? c->t_closed : c->t_last;
  return end > c->t_first ? (double)(end - c->t_first) / 1e6 : 0;
}

void stats_print(struct us_trace *t, struct us_stack *s, FILE *f) {
  fprintf(f, "\nustack: %u TCP connection%s\n", t->nconns, t->nconns == 1 ? "" : "s");
  fprintf(f, "%-12s %6s %6s  %-22s %-22s\n", "State", "Recv-Q", "Send-Q", "Local Address:Port",
          "Peer Address:Port");
  for (struct tr_conn *c = t->conns; c; c = c->next) {
    if (!c->has_snap) continue;
    stats_conn_lines(f, &c->key, &c->snap, 0, 0);
    double secs = conn_secs(c);
    char in[32], out[32];
    rate_str((double)c->snap.bytes_received, secs, in, sizeof in);
    rate_str((double)c->snap.bytes_acked, secs, out, sizeof out);
    fprintf(f, "\t %s open, duration %.3f s, throughput in %s, out %s\n",
            c->active ? "active" : "passive", secs, in, out);
  }
  fprintf(f, "\nustack: counters\n");
  stats_counters(f, s);
}

int stats_write_json(struct us_trace *t, struct us_stack *s, const char *path) {
  FILE *f = fopen(path, "we");
  if (!f) return -1;
  fprintf(f, "{\n  \"connections\": [");
  int first = 1;
  for (struct tr_conn *c = t->conns; c; c = c->next) {
    if (!c->has_snap) continue;
    const struct us_ev_tcp_snap *p = &c->snap;
    char l[32], r[32];
    tr_ep(c->key.lip, c->key.lport, l, sizeof l);
    tr_ep(c->key.rip, c->key.rport, r, sizeof r);
    double secs = conn_secs(c);
    char th[16];
    if (p->ssthresh >= 0x7fffffffu) snprintf(th, sizeof th, "null");
    else snprintf(th, sizeof th, "%u", p->ssthresh);
    fprintf(f,
            "%s\n    {\"id\": %u, \"local\": \"%s\", \"remote\": \"%s\", \"open\": \"%s\", "
            "\"state\": \"%s\", \"duration_s\": %.6f, "
            "\"bytes_sent\": %" PRIu64 ", \"bytes_acked\": %" PRIu64
            ", \"bytes_received\": %" PRIu64 ", \"bytes_retrans\": %" PRIu64 ", "
            "\"segs_out\": %u, \"segs_in\": %u, \"retrans\": %u, "
            "\"rtt_min_ms\": %.3f, \"srtt_ms\": %.3f, \"rttvar_ms\": %.3f, \"rto_ms\": %u, "
            "\"mss\": %u, \"cwnd\": %u, \"ssthresh\": %s, "
            "\"throughput_in_bps\": %.0f, \"throughput_out_bps\": %.0f}",
            first ? "" : ",", c->id, l, r, c->active ? "active" : "passive",
            us_tcp_state_name(p->state), secs, p->bytes_sent, p->bytes_acked,
            p->bytes_received, p->bytes_retrans, p->segs_out, p->segs_in, p->total_retrans,
            p->min_rtt_us / 1000.0, p->srtt_us / 1000.0, p->rttvar_us / 1000.0,
            p->rto_us / 1000, p->mss, p->cwnd, th,
            secs > 0 ? (double)p->bytes_received * 8 / secs : 0,
            secs > 0 ? (double)p->bytes_acked * 8 / secs : 0);
    first = 0;
  }
  fprintf(f, "\n  ],\n  \"counters\": {");
  first = 1;
  for (int i = 0; i < US_CNT__MAX; i++) {
    fprintf(f, "%s\n    \"%s\": %" PRIu64, first ? "" : ",", us_counter_name((enum us_counter)i),
            us_stack_counter(s, (enum us_counter)i));
    first = 0;
  }
  fprintf(f, "\n  },\n  \"drops\": {");
  first = 1;
  for (int i = 0; i < US_CNT__MAX; i++) {
    uint64_t v = us_stack_counter(s, (enum us_counter)i);
    if (!v || !tr_counter_is_drop((enum us_counter)i)) continue;
    fprintf(f, "%s\n    \"%s\": {\"count\": %" PRIu64 ", \"reason\": \"%s\"}", first ? "" : ",",
            us_counter_name((enum us_counter)i), v, us_counter_desc((enum us_counter)i));
    first = 0;
  }
  fprintf(f, "\n  }\n}\n");
  return fclose(f) == 0 ? 0 : -1;
}
