/* JSON lines: every event as one object per line, for scripts. Fields are
 * the event's own (raw and relative sequence numbers both), plus the
 * readable summary the text trace would print. */
#include <inttypes.h>

#include "shim/trace_int.h"
#include "stack/tcp_sock.h"

static const char *const type_names[US_EV__MAX] = {
    [US_EV_ARP] = "arp",           [US_EV_DNS_QUERY] = "dns_query",
    [US_EV_DNS_ANSWER] = "dns_answer", [US_EV_DNS_RESULT] = "dns_result",
    [US_EV_TCP_SEG] = "tcp_seg",   [US_EV_TCP_STATE] = "tcp_state",
    [US_EV_TCP_RETRANS] = "tcp_retrans", [US_EV_TCP_RTT] = "tcp_rtt",
    [US_EV_TCP_SAMPLE] = "tcp_sample", [US_EV_COUNT] = "drop",
};

static void conn_json(FILE *f, const struct tr_conn *c, const struct us_event *ev) {
  char l[32], r[32];
  tr_ep(ev->conn.lip, ev->conn.lport, l, sizeof l);
  tr_ep(ev->conn.rip, ev->conn.rport, r, sizeof r);
  fprintf(f, ",\"conn\":%u,\"local\":\"%s\",\"remote\":\"%s\"", c ? c->id : 0, l, r);
}

static void snap_json(FILE *f, const struct us_ev_tcp_snap *p) {
  fprintf(f,
          ",\"state\":\"%s\",\"ca_state\":%u,\"cwnd\":%u,\"ssthresh\":%u,\"flight\":%u,"
          "\"snd_wnd\":%u,\"rcv_wnd\":%u,\"mss\":%u,\"srtt_us\":%u,\"rttvar_us\":%u,"
          "\"rto_us\":%u,\"backoff\":%u,\"bytes_acked\":%" PRIu64 ",\"bytes_received\":%" PRIu64
          ",\"undos\":%u",
          us_tcp_state_name(p->state), p->ca_state, p->cwnd,
          p->ssthresh, p->flight, p->snd_wnd, p->rcv_wnd, p->mss, p->srtt_us, p->rttvar_us,
          p->rto_us, p->backoff, p->bytes_acked, p->bytes_received, p->undos);
}

void tr_json_event(struct us_trace *t, struct tr_conn *c, const struct us_event *ev) {
  FILE *f = t->json;
  char text[512], esc[1100];
  unsigned cat;
  if (ev->type == US_EV_TCP_SAMPLE && !ev->has_snap) return;
  us_time_t rel = ev->t > t->t0 ? ev->t - t->t0 : 0;
  fprintf(f, "{\"t_us\":%llu,\"type\":\"%s\",\"dir\":\"%s\"", (unsigned long long)rel,
          ev->type < US_EV__MAX && type_names[ev->type] ? type_names[ev->type] : "?",
          ev->dir == US_EV_TX ? "tx" : "rx");
  if (ev->has_conn) conn_json(f, c, ev);
  switch (ev->type) {
  case US_EV_ARP:
    fprintf(f, ",\"op\":\"%s\",\"spa\":%u,\"tpa\":%u", ev->u.arp.op == 1 ? "request" : "reply",
            ev->u.arp.spa, ev->u.arp.tpa);
    break;
  case US_EV_DNS_QUERY: case US_EV_DNS_ANSWER: case US_EV_DNS_RESULT:
    tr_json_str(ev->u.dns.name, esc, sizeof esc);
    fprintf(f, ",\"name\":\"%s\",\"qtype\":\"%s\",\"rcode\":%d,\"status\":%d,\"elapsed_us\":%llu",
            esc, tr_qtype(ev->u.dns.qtype), ev->u.dns.rcode, ev->u.dns.status,
            (unsigned long long)ev->u.dns.elapsed);
    break;
  case US_EV_TCP_SEG: {
    const struct us_ev_seg *g = &ev->u.seg;
    char fl[48];
    tr_flags(g->flags, fl, sizeof fl);
    fprintf(f,
            ",\"flags\":\"%s\",\"seq\":%u,\"ack\":%u,\"rel_seq\":%u,\"rel_ack\":%u,\"win\":%u,"
            "\"len\":%u,\"gso\":%u",
            fl, g->seq, g->ack, tr_rel_seq(c, ev), tr_rel_ack(c, ev), tr_win(c, ev), g->len,
            g->gso);
    break;
  }
  case US_EV_TCP_STATE:
    fprintf(f, ",\"from\":\"%s\",\"to\":\"%s\"", us_tcp_state_name(ev->u.state.from),
            us_tcp_state_name(ev->u.state.to));
    break;
  case US_EV_TCP_RETRANS:
    fprintf(f, ",\"seq\":%u,\"len\":%u,\"why\":\"%s\"", ev->u.rtx.seq, ev->u.rtx.len,
            ev->u.rtx.why == US_EV_RTX_FAST ? "fast" : ev->u.rtx.why == US_EV_RTX_SYN ? "syn" : "timeout");
    break;
  case US_EV_TCP_RTT:
    fprintf(f, ",\"rtt_us\":%u", ev->u.rtt.rtt_us);
    break;
  case US_EV_COUNT:
    fprintf(f, ",\"counter\":\"%s\"", us_counter_name((enum us_counter)ev->u.count.counter));
    break;
  default:
    break;
  }
  if (ev->has_snap) snap_json(f, &ev->snap);
  tr_describe(t, c, ev, text, sizeof text, &cat);
  tr_json_str(text, esc, sizeof esc);
  fprintf(f, ",\"text\":\"%s\"}\n", esc);
}
