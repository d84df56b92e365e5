/* The event stream's emission helpers (see event.h): they run only when a
 * sink is attached, fill one struct us_event on the stack and hand it over. */
#include "stack/event.h"

#include <string.h>

#include "stack/dns_client.h"
#include "stack/dns_wire.h"
#include "stack/tcp_conn.h"

void us_stack_set_event_sink(struct us_stack *s, us_event_fn fn, void *ctx) {
  s->ev_ctx = ctx;
  s->ev_fn = fn;
}

static void ev_init(struct us_event *e, struct us_stack *s, int type) {
  memset(e, 0, sizeof *e);
  e->type = (uint16_t)type;
  e->t = s->now;
}

static void emit(struct us_stack *s, const struct us_event *e) {
  if (s->ev_fn) s->ev_fn(s->ev_ctx, e);
}

void us_ev_arp(struct us_stack *s, int dir, uint16_t op, uint32_t spa, const uint8_t *sha,
               uint32_t tpa, const uint8_t *tha) {
  struct us_event e;
  ev_init(&e, s, US_EV_ARP);
  e.dir = (uint8_t)dir;
  e.u.arp.op = op;
  e.u.arp.spa = spa;
  e.u.arp.tpa = tpa;
  if (sha) memcpy(e.u.arp.sha, sha, 6);
  if (tha) memcpy(e.u.arp.tha, tha, 6);
  emit(s, &e);
}

static void copy_str(char *dst, size_t cap, const char *src) {
  size_t n = strnlen(src, cap - 1);
  memcpy(dst, src, n);
  dst[n] = 0;
}

static void dns_name(struct us_ev_dns *d, const uint8_t *qname, size_t qlen) {
  if (dns_name_to_text(qname, qlen, d->name, sizeof d->name) < 0) copy_str(d->name, sizeof d->name, "?");
}

void us_ev_dns_query(struct us_stack *s, const uint8_t *qname, size_t qlen, uint16_t qtype,
                     uint16_t id, int tries) {
  struct us_event e;
  ev_init(&e, s, US_EV_DNS_QUERY);
  e.dir = US_EV_TX;
  dns_name(&e.u.dns, qname, qlen);
  e.u.dns.qtype = qtype;
  e.u.dns.id = id;
  e.u.dns.tries = tries;
  emit(s, &e);
}

void us_ev_dns_answer(struct us_stack *s, const uint8_t *qname, size_t qlen, uint16_t qtype,
                      int rcode) {
  struct us_event e;
  ev_init(&e, s, US_EV_DNS_ANSWER);
  e.dir = US_EV_RX;
  dns_name(&e.u.dns, qname, qlen);
  e.u.dns.qtype = qtype;
  e.u.dns.rcode = rcode;
  emit(s, &e);
}

void us_ev_dns_result(struct us_stack *s, const struct us_dns_result *r) {
  struct us_event e;
  ev_init(&e, s, US_EV_DNS_RESULT);
  struct us_ev_dns *d = &e.u.dns;
  copy_str(d->name, sizeof d->name, r->name ? r->name : "?");
  d->status = r->status;
  d->from_cache = r->from_cache;
  d->elapsed = r->elapsed;
  d->naddrs = (uint32_t)r->naddrs;
  for (size_t i = 0; i < r->naddrs; i++) {
    const struct us_dns_addr *a = &r->addrs[i];
    if (a->family == 4 && d->n4 < US_EV_DNS_ADDRS) {
      d->v4[d->n4++] = (uint32_t)a->addr[0] << 24 | (uint32_t)a->addr[1] << 16 |
                       (uint32_t)a->addr[2] << 8 | a->addr[3];
    } else if (a->family == 6 && d->n6 < 2) {
      memcpy(d->v6[d->n6++], a->addr, 16);
    }
  }
  emit(s, &e);
}

static void snap_of(struct us_event *e, const struct us_tcp_sock *c) {
  struct us_ev_tcp_snap *p = &e->snap;
  e->has_conn = 1;
  e->conn.lip = c->lip;
  e->conn.rip = c->rip;
  e->conn.lport = c->lport;
  e->conn.rport = c->rport;
  e->has_snap = 1;
  p->state = c->state;
  p->ca_state = c->ca_state;
  p->backoff = c->backoff;
  p->sack_ok = c->sack_ok;
  p->cwnd = c->cc.cwnd;
  p->ssthresh = c->cc.ssthresh;
  p->flight = c->snd_max - c->snd_una;
  p->snd_wnd = c->snd_wnd;
  p->rcv_wnd = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
  p->mss = c->mss;
  p->srtt_us = c->srtt_us;
  p->rttvar_us = c->rttvar_us;
  p->min_rtt_us = c->min_rtt_us;
  p->rto_us = c->rto > UINT32_MAX ? UINT32_MAX : (uint32_t)c->rto;
  p->iss = c->iss;
  p->irs = c->irs;
  p->bytes_sent = c->bytes_sent;
  p->bytes_acked = c->bytes_acked;
  p->bytes_received = c->bytes_received;
  p->bytes_retrans = c->bytes_retrans;
  p->segs_in = c->segs_in;
  p->segs_out = c->segs_out;
  p->total_retrans = c->total_retrans;
  p->undos = c->undos;
}

static void seg_fill(struct us_ev_seg *g, const struct tcp_seg *seg) {
  g->sport = seg->sport;
  g->dport = seg->dport;
  g->seq = seg->seq;
  g->ack = seg->ack;
  g->flags = seg->flags;
  g->win = seg->win;
  g->len = seg->dlen;
  g->opt_has = seg->opt.has;
  g->wscale = seg->opt.wscale;
  g->mss = seg->opt.mss;
  g->tsval = seg->opt.tsval;
  g->tsecr = seg->opt.tsecr;
  g->nsack = seg->opt.nsack > 4 ? 4 : seg->opt.nsack;
  for (unsigned i = 0; i < g->nsack; i++) {
    g->sack[i][0] = seg->opt.sack[i].start;
    g->sack[i][1] = seg->opt.sack[i].end;
  }
}

void us_ev_tcp_tx(struct us_stack *s, struct us_tcp_sock *c, uint32_t lip, uint32_t rip,
                  const uint8_t *h, size_t hlen, size_t len, uint16_t gso) {
  struct us_event e;
  struct tcp_seg seg;
  if (tcp_parse(h, hlen + len, &seg) != 0) return; /* we built it: cannot happen */
  ev_init(&e, s, US_EV_TCP_SEG);
  e.dir = US_EV_TX;
  seg_fill(&e.u.seg, &seg);
  e.u.seg.sip = lip;
  e.u.seg.dip = rip;
  e.u.seg.gso = gso;
  if (c) {
    snap_of(&e, c);
  } else {
    e.has_conn = 1;
    e.conn = (struct us_ev_conn){lip, rip, seg.sport, seg.dport};
  }
  emit(s, &e);
}

void us_ev_tcp_rx(struct us_stack *s, const struct ipv4_rx *ip, const struct tcp_seg *seg) {
  struct us_event e;
  ev_init(&e, s, US_EV_TCP_SEG);
  e.dir = US_EV_RX;
  seg_fill(&e.u.seg, seg);
  e.u.seg.sip = ip->src;
  e.u.seg.dip = ip->dst;
  e.has_conn = 1;
  e.conn = (struct us_ev_conn){ip->dst, ip->src, seg->dport, seg->sport};
  emit(s, &e);
}

void us_ev_tcp_state(struct us_tcp_sock *c, int from, int to) {
  struct us_event e;
  ev_init(&e, c->s, US_EV_TCP_STATE);
  snap_of(&e, c);
  e.u.state.from = (uint8_t)from;
  e.u.state.to = (uint8_t)to;
  e.snap.state = (uint8_t)to;
  emit(c->s, &e);
}

void us_ev_tcp_retrans(struct us_tcp_sock *c, uint32_t seq, uint32_t len, int why) {
  struct us_event e;
  ev_init(&e, c->s, US_EV_TCP_RETRANS);
  snap_of(&e, c);
  e.u.rtx.seq = seq;
  e.u.rtx.len = len;
  e.u.rtx.why = (uint8_t)why;
  emit(c->s, &e);
}

void us_ev_tcp_rtt(struct us_tcp_sock *c, us_time_t rtt) {
  struct us_event e;
  ev_init(&e, c->s, US_EV_TCP_RTT);
  snap_of(&e, c);
  e.u.rtt.rtt_us = rtt > UINT32_MAX ? UINT32_MAX : (uint32_t)rtt;
  emit(c->s, &e);
}

void us_ev_tcp_sample(struct us_tcp_sock *c) {
  struct us_event e;
  ev_init(&e, c->s, US_EV_TCP_SAMPLE);
  snap_of(&e, c);
  emit(c->s, &e);
}

void us_ev_count(struct us_stack *s, enum us_counter c) {
  struct us_event e;
  ev_init(&e, s, US_EV_COUNT);
  e.u.count.counter = (uint16_t)c;
  emit(s, &e);
}

void us_stack_tcp_foreach(struct us_stack *s,
                          void (*fn)(void *arg, const struct us_ev_conn_info *ci), void *arg) {
  if (!s->tcp) return;
  for (struct us_tcp_sock *c = s->tcp->all; c; c = c->all_next) {
    struct us_ev_conn_info ci;
    struct us_event e;
    memset(&ci, 0, sizeof ci);
    memset(&e, 0, sizeof e);
    snap_of(&e, c);
    ci.conn = e.conn;
    ci.snap = e.snap;
    ci.last_rx = c->last_rx;
    ci.last_tx = c->last_tx;
    ci.sndq = c->snd.len;
    ci.rcvq = c->rcv.len;
    ci.listening = c->state == US_TCP_LISTEN;
    fn(arg, &ci);
  }
}

unsigned us_stack_tcp_closing(struct us_stack *s) {
  unsigned n = 0;
  if (!s->tcp) return 0;
  for (struct us_tcp_sock *c = s->tcp->all; c; c = c->all_next)
    n += c->state == US_TCP_FIN_WAIT1 || c->state == US_TCP_FIN_WAIT2 ||
         c->state == US_TCP_CLOSING || c->state == US_TCP_LAST_ACK;
  return n;
}

const char *us_tcp_state_name(int state) {
  static const char *const names[] = {
      [0] = "?",
      [US_TCP_ESTABLISHED] = "ESTABLISHED", [US_TCP_SYN_SENT] = "SYN_SENT",
      [US_TCP_SYN_RECV] = "SYN_RCVD",       [US_TCP_FIN_WAIT1] = "FIN_WAIT_1",
      [US_TCP_FIN_WAIT2] = "FIN_WAIT_2",    [US_TCP_TIME_WAIT] = "TIME_WAIT",
      [US_TCP_CLOSE] = "CLOSED",            [US_TCP_CLOSE_WAIT] = "CLOSE_WAIT",
      [US_TCP_LAST_ACK] = "LAST_ACK",       [US_TCP_LISTEN] = "LISTEN",
      [US_TCP_CLOSING] = "CLOSING",
  };
  return state > 0 && (size_t)state < sizeof names / sizeof *names ? names[state] : "?";
}
