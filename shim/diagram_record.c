/* The diagram's memory: per connection, the segments, state changes,
 * retransmissions and variable samples the event stream showed, with
 * sequence numbers already relative. Rendered at exit (diagram_html.c). */
#include <stdlib.h>
#include <string.h>

#include "shim/diagram_int.h"
#include "stack/tcp_wire.h"

/* Bound on what is kept for all connections together (~64 bytes each): a
 * long transfer keeps its first DIAG_MAX_ITEMS events, and says so. */
#define DIAG_MAX_ITEMS 1000000u

static struct diag_item *push(struct us_trace *t, struct tr_conn *c) {
  struct diag_conn *d = c->diag;
  if (!d) {
    d = c->diag = calloc(1, sizeof *d);
    if (!d) return NULL;
  }
  if (t->diag_items >= DIAG_MAX_ITEMS) {
    d->truncated = 1;
    return NULL;
  }
  if (d->n == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 256;
    struct diag_item *v = realloc(d->v, cap * sizeof *v);
    if (!v) return NULL;
    d->v = v;
    d->cap = cap;
  }
  t->diag_items++;
  struct diag_item *it = &d->v[d->n++];
  memset(it, 0, sizeof *it);
  return it;
}

static void snap_into(struct diag_item *it, const struct us_event *ev) {
  if (!ev->has_snap) return;
  const struct us_ev_tcp_snap *p = &ev->snap;
  it->has_snap = 1;
  it->ca_state = p->ca_state;
  it->cwnd = p->cwnd;
  it->ssthresh = p->ssthresh;
  it->flight = p->flight;
  it->srtt = p->srtt_us;
  it->rcv_wnd = p->rcv_wnd;
  it->snd_wnd = p->snd_wnd;
  it->mss = p->mss;
}

/* A retransmission event follows the segment it describes (data), or
 * comes just before it (SYN). */
static void mark_rtx(struct tr_conn *c, const struct us_event *ev) {
  struct diag_conn *d = c->diag;
  if (!d) return;
  if (ev->u.rtx.why == US_EV_RTX_SYN) {
    d->syn_rtx_pending = 1;
    return;
  }
  uint32_t rel = ev->u.rtx.seq - c->isn_l;
  for (size_t i = d->n, k = 0; i-- > 0 && k < 8; k++) {
    struct diag_item *it = &d->v[i];
    if (it->kind == DIAG_SEG && it->dir == US_EV_TX && it->seq == rel) {
      it->rtx = 1;
      return;
    }
  }
}

void diag_record(struct us_trace *t, struct tr_conn *c, const struct us_event *ev) {
  struct diag_item *it;
  switch (ev->type) {
  case US_EV_TCP_SEG:
    if (!(it = push(t, c))) return;
    it->kind = DIAG_SEG;
    it->dir = ev->dir;
    it->flags = ev->u.seg.flags;
    it->seq = tr_rel_seq(c, ev);
    it->ack = tr_rel_ack(c, ev);
    it->len = ev->u.seg.len;
    it->win = tr_win(c, ev);
    it->gso = ev->u.seg.gso;
    it->rtx = c->note == TR_NOTE_RETRANS; /* the peer's count too */
    if (ev->dir == US_EV_TX && (ev->u.seg.flags & TCP_SYN) && c->diag->syn_rtx_pending) {
      it->rtx = 1;
      c->diag->syn_rtx_pending = 0;
    }
    break;
  case US_EV_TCP_STATE:
    if (!(it = push(t, c))) return;
    it->kind = DIAG_STATE;
    it->from = ev->u.state.from;
    it->to = ev->u.state.to;
    break;
  case US_EV_TCP_RETRANS:
    mark_rtx(c, ev);
    if (!(it = push(t, c))) return;
    it->kind = DIAG_RTX;
    it->seq = ev->u.rtx.seq - c->isn_l;
    it->len = ev->u.rtx.len;
    break;
  case US_EV_TCP_RTT:
    if (!(it = push(t, c))) return;
    it->kind = DIAG_RTT;
    it->rtt = ev->u.rtt.rtt_us;
    break;
  case US_EV_TCP_SAMPLE:
    if (!(it = push(t, c))) return;
    it->kind = DIAG_SAMPLE;
    break;
  default:
    return;
  }
  it->t = ev->t;
  snap_into(it, ev);
}

void diag_free(struct us_trace *t) {
  for (struct tr_conn *c = t->conns; c; c = c->next) {
    if (!c->diag) continue;
    free(c->diag->v);
    free(c->diag);
    c->diag = NULL;
  }
}
