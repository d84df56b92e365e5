/* RACK loss detection (RFC 8985 6, as Linux's tcp_recovery.c): every range
 * of [snd_una, snd_max) carries the time it last left. When an ACK or SACK
 * shows a segment delivered, anything still missing that was sent before it
 * by more than the latest RTT plus a reordering window is lost - a hole
 * below three SACKed segments as RFC 6675 finds it, but also a hole with
 * one segment SACKed above it once time has passed, the last holes of a
 * window after a partial ACK, and a retransmission that was itself lost.
 * Ranges not yet judged get the reordering timer.
 *
 * The record (struct tcp_txq) is a ring of ranges in sequence order; a
 * range is split where a SACK block or a retransmission starts or ends.
 * It holds at most TCP_TXQ_MAX ranges (32 bytes each), and about one per
 * segment or burst in flight. */
#include <string.h>

#include "stack/tcp_conn.h"

#define TXQ_INIT 64u
#define REO_STEPS_MAX 255
#define REO_PERSIST 16 /* recoveries a widened window lasts (RFC 8985 6.2) */

static struct tcp_txrec *rec(const struct tcp_txq *q, uint32_t i) {
  return &q->r[(q->head + i) % q->cap];
}

static uint32_t rec_len(const struct tcp_txrec *r) { return r->end - r->start; }

void tcp_txq_free(struct us_tcp_sock *c) {
  us_free(c->txq.r);
  memset(&c->txq, 0, sizeof(c->txq));
}

void tcp_txq_reset(struct us_tcp_sock *c) {
  c->txq.head = c->txq.n = 0;
  c->txq.lost_bytes = 0;
  memset(&c->rack, 0, sizeof(c->rack));
}

static int txq_grow(struct tcp_txq *q) {
  if (q->cap >= TCP_TXQ_MAX) return -1;
  uint32_t cap = q->cap ? q->cap * 2 : TXQ_INIT;
  struct tcp_txrec *r = us_malloc(cap * sizeof(*r));
  if (!r) return -1;
  for (uint32_t i = 0; i < q->n; i++) r[i] = *rec(q, i);
  us_free(q->r);
  q->r = r;
  q->cap = cap;
  q->head = 0;
  return 0;
}

/* Insert a copy of record i just after it (room must exist). */
static void txq_dup(struct tcp_txq *q, uint32_t i) {
  for (uint32_t k = q->n; k > i + 1; k--) *rec(q, k) = *rec(q, k - 1);
  q->n++;
  *rec(q, i + 1) = *rec(q, i);
}

/* Index of the first record that ends after seq, splitting the record
 * that holds seq so a record starts there. If no room is left to split,
 * the holding record is returned whole. */
static uint32_t txq_split_at(struct tcp_txq *q, uint32_t seq) {
  uint32_t lo = 0, hi = q->n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (seq_leq(rec(q, mid)->end, seq)) lo = mid + 1;
    else hi = mid;
  }
  if (lo == q->n || !seq_lt(rec(q, lo)->start, seq)) return lo;
  if (q->n == q->cap && txq_grow(q) < 0) return lo;
  txq_dup(q, lo);
  rec(q, lo)->end = seq;
  rec(q, lo + 1)->start = seq;
  return lo + 1;
}

static void txq_append(struct tcp_txq *q, uint32_t start, uint32_t end, us_time_t now) {
  struct tcp_txrec *t = q->n ? rec(q, q->n - 1) : 0;
  /* New data right after the newest record, in the same instant, with
   * nothing sent in between: one burst, one record. */
  if (t && t->end == start && t->xmit == now && !t->flags && t->order + 1 == q->order) {
    t->end = end;
    t->order = q->order;
    return;
  }
  if (q->n == q->cap && txq_grow(q) < 0) {
    if (t) t->end = end; /* full: the newest record grows instead */
    return;
  }
  struct tcp_txrec *r = rec(q, q->n++);
  r->start = start;
  r->end = end;
  r->xmit = now;
  r->order = q->order;
  r->flags = 0;
  r->why = 0;
}

void tcp_txq_sent(struct us_tcp_sock *c, uint32_t seq, uint32_t end) {
  struct tcp_txq *q = &c->txq;
  us_time_t now = c->s->now;
  if (!seq_lt(seq, end)) return;
  /* Nothing outstanding: everything below is delivered (and fack, a
   * sequence number, never starts out at an arbitrary 0). */
  if (!q->n) c->rack.fack = c->rack.pending_fack = seq;
  q->order++;
  if (seq_lt(seq, c->snd_max)) {
    uint32_t rend = seq_min(end, c->snd_max);
    uint32_t i = txq_split_at(q, seq), j = txq_split_at(q, rend);
    for (; i < j; i++) {
      struct tcp_txrec *r = rec(q, i);
      if (r->flags & TCP_TX_LOST) q->lost_bytes -= rec_len(r);
      r->flags = (uint8_t)((r->flags & ~TCP_TX_LOST) | TCP_TX_RETRANS);
      r->xmit = now;
      r->order = q->order;
    }
  }
  if (seq_gt(end, c->snd_max)) txq_append(q, seq_max(seq, c->snd_max), end, now);
}

/* t1/seq1 left after t2/seq2 (RFC 8985 RACK_sent_after). Within one
 * instant the send order decides (a retransmission may follow new data
 * sent in the same instant), within one send the sequence. */
static int sent_after(us_time_t t1, uint32_t o1, uint32_t seq1, us_time_t t2, uint32_t o2,
                      uint32_t seq2) {
  if (t1 != t2) return t1 > t2;
  if (o1 != o2) return (int32_t)(o1 - o2) > 0;
  return seq_gt(seq1, seq2);
}

/* A record was delivered (SACKed or cumulatively ACKed): RFC 8985 6.2
 * steps 2 and 3, with Linux's test for an ambiguous retransmission. */
/* Which copy of a resent segment arrived? An ACK sooner than min_rtt
 * after the resend answers the original (Linux's test; RFC 8985 6.2 step
 * 2 - its timestamp test does not help here: a SACK for data beyond a hole
 * echoes the timestamp of the last in-order segment, RFC 7323 4.3). */
static int ambiguous(const struct us_tcp_sock *c, const struct tcp_txrec *r, uint32_t rtt) {
  return (r->flags & TCP_TX_RETRANS) && rtt < c->min_rtt_us;
}

static void rack_delivered(struct us_tcp_sock *c, const struct tcp_txrec *r, uint32_t end) {
  struct tcp_rack *k = &c->rack;
  us_time_t now = c->s->now;
  uint32_t rtt = (uint32_t)(now - r->xmit);
  if (seq_gt(end, k->pending_fack)) k->pending_fack = end;
  if (!(r->flags & TCP_TX_RETRANS) && seq_lt(end, k->fack)) k->reord_seen = 1;
  /* The original of a resent segment arriving late says nothing of the
   * resend's time. */
  if (ambiguous(c, r, rtt)) return;
  k->advanced = 1;
  k->rtt_us = rtt;
  if (sent_after(r->xmit, r->order, end, k->xmit, k->order, k->end_seq)) {
    k->xmit = r->xmit;
    k->order = r->order;
    k->end_seq = end;
  }
}

void tcp_rack_sacked(struct us_tcp_sock *c, uint32_t start, uint32_t end) {
  struct tcp_txq *q = &c->txq;
  if (!seq_lt(start, end)) return;
  uint32_t i = txq_split_at(q, start), j = txq_split_at(q, end);
  for (; i < j; i++) {
    struct tcp_txrec *r = rec(q, i);
    if (r->flags & TCP_TX_SACKED) continue;
    if (r->flags & TCP_TX_LOST) q->lost_bytes -= rec_len(r);
    r->flags = (uint8_t)((r->flags & ~TCP_TX_LOST) | TCP_TX_SACKED);
    rack_delivered(c, r, r->end);
  }
}

void tcp_rack_acked(struct us_tcp_sock *c, uint32_t ack) {
  struct tcp_txq *q = &c->txq;
  while (q->n) {
    struct tcp_txrec *r = rec(q, 0);
    if (!seq_lt(r->start, ack)) break;
    if (!(r->flags & TCP_TX_SACKED)) rack_delivered(c, r, seq_min(r->end, ack));
    if (seq_leq(r->end, ack)) {
      if (r->flags & TCP_TX_LOST) q->lost_bytes -= rec_len(r);
      q->head = (q->head + 1) % q->cap;
      q->n--;
      continue;
    }
    /* Partly acknowledged (part of a burst): the rest stays. */
    if (r->flags & TCP_TX_LOST) q->lost_bytes -= ack - r->start;
    r->start = ack;
    break;
  }
  if (!q->n) q->head = 0;
}

void tcp_rack_dsack(struct us_tcp_sock *c) { c->rack.dsack_seen = 1; }

/* RFC 8985 6.2 step 4: each D-SACK round widens the window by min_rtt/4,
 * at most once per round trip; it stays wide for REO_PERSIST recoveries. */
static void rack_update_reo_wnd(struct us_tcp_sock *c) {
  struct tcp_rack *k = &c->rack;
  if (k->dsack_wait && seq_geq(c->snd_una, k->dsack_round)) k->dsack_wait = 0;
  if (k->dsack_seen && !k->dsack_wait) {
    k->dsack_wait = 1;
    k->dsack_round = c->snd_max;
    if (k->reo_steps < REO_STEPS_MAX) k->reo_steps = (uint8_t)(k->reo_steps ? k->reo_steps + 1 : 2);
    k->reo_persist = REO_PERSIST;
  }
  k->dsack_seen = 0;
}

void tcp_rack_recovery_done(struct us_tcp_sock *c) {
  struct tcp_rack *k = &c->rack;
  if (k->reo_persist && --k->reo_persist == 0) k->reo_steps = 1;
}

/* Linux's tcp_rack_reo_wnd: none until reordering is seen, once recovery
 * runs or as many segments as the reordering degree are SACKed (the
 * duplicate threshold); else min_rtt/4 per step, at most SRTT. */
static uint32_t rack_reo_wnd(const struct us_tcp_sock *c) {
  if (!c->rack.reord_seen) {
    if (c->ca_state == TCP_CA_RECOVERY || c->ca_state == TCP_CA_LOSS) return 0;
    uint32_t thresh = c->sb.dupthresh ? c->sb.dupthresh : 3;
    if ((c->sb.sacked + c->mss - 1) / c->mss >= thresh) return 0;
  }
  uint32_t steps = c->rack.reo_steps ? c->rack.reo_steps : 1;
  uint64_t w = (uint64_t)(c->min_rtt_us / 4) * steps;
  return w > c->srtt_us ? c->srtt_us : (uint32_t)w;
}

/* RFC 6675 would call this hole lost too: DupThresh segments SACKed
 * above it. Only names the reason in the trace. */
static int dupthresh_lost(const struct us_tcp_sock *c, const struct tcp_txrec *r) {
  uint32_t thresh = c->sb.dupthresh ? c->sb.dupthresh : 3;
  uint32_t above = c->sb.sacked - tcp_sb_sacked_below(&c->sb, r->end);
  return above > (thresh - 1) * (uint32_t)c->mss;
}

static void rack_arm(struct us_tcp_sock *c, uint32_t wait_us) {
  /* As Linux: the wait in whole milliseconds (jiffies) plus TCP_TIMEOUT_MIN. */
  us_time_t ms = (wait_us + 999) / 1000;
  c->tlp_pending = 0;
  c->rack.timer = 1;
  us_timer_arm(c->s, &c->t_rtx, c->s->now + US_MS(ms) + TCP_PTO_MARGIN);
}

/* RFC 8985 6.2 step 5 (RACK_detect_loss): returns the bytes newly lost. */
static uint32_t rack_detect_loss(struct us_tcp_sock *c) {
  struct tcp_txq *q = &c->txq;
  struct tcp_rack *k = &c->rack;
  us_time_t now = c->s->now;
  uint32_t reo = rack_reo_wnd(c), newly = 0, wait = 0;
  for (uint32_t i = 0; i < q->n; i++) {
    struct tcp_txrec *r = rec(q, i);
    if (r->flags & (TCP_TX_SACKED | TCP_TX_LOST)) continue;
    if (!sent_after(k->xmit, k->order, k->end_seq, r->xmit, r->order, r->end)) continue;
    int64_t remaining = (int64_t)k->rtt_us + reo - (int64_t)(now - r->xmit);
    if (remaining > 0) {
      if ((uint64_t)remaining > wait) wait = (uint32_t)remaining;
      continue;
    }
    if (r->flags & TCP_TX_RETRANS) {
      us_count(c->s, US_CNT_TCP_LOST_RETRANS);
      r->why = TCP_LOST_RACK;
    } else {
      r->why = dupthresh_lost(c, r) ? TCP_LOST_DUPTHRESH : TCP_LOST_RACK;
    }
    r->flags |= TCP_TX_LOST;
    q->lost_bytes += rec_len(r);
    newly += rec_len(r);
  }
  if (newly) us_count(c->s, US_CNT_TCP_RACK_LOST);
  if (wait) rack_arm(c, wait);
  return newly;
}

uint32_t tcp_rack_detect(struct us_tcp_sock *c) {
  struct tcp_rack *k = &c->rack;
  if (seq_gt(k->pending_fack, k->fack)) k->fack = k->pending_fack;
  rack_update_reo_wnd(c);
  if (!k->advanced) return 0;
  k->advanced = 0;
  return rack_detect_loss(c);
}

/* Linux's tcp_rack_reo_timeout. */
void tcp_rack_timeout(struct us_tcp_sock *c) {
  c->rack.timer = 0;
  uint32_t lost = c->ca_state == TCP_CA_LOSS ? 0 : rack_detect_loss(c);
  if (lost) {
    if (c->ca_state == TCP_CA_OPEN || c->ca_state == TCP_CA_DISORDER) {
      tcp_enter_recovery(c);
      tcp_prr_ack(c, c->mss, lost, 0);
    }
    tcp_output(c);
  }
  if (!c->rack.timer) tcp_rearm_rtx(c);
}

void tcp_txq_clear_lost(struct us_tcp_sock *c) {
  struct tcp_txq *q = &c->txq;
  for (uint32_t i = 0; i < q->n; i++) rec(q, i)->flags &= (uint8_t)~TCP_TX_LOST;
  q->lost_bytes = 0;
}

void tcp_txq_clear_sacked(struct us_tcp_sock *c) {
  struct tcp_txq *q = &c->txq;
  for (uint32_t i = 0; i < q->n; i++) rec(q, i)->flags &= (uint8_t)~TCP_TX_SACKED;
}

int tcp_txq_next_lost(const struct us_tcp_sock *c, uint32_t max, uint32_t *start, uint32_t *end,
                      uint8_t *why) {
  const struct tcp_txq *q = &c->txq;
  if (!q->lost_bytes) return 0;
  for (uint32_t i = 0; i < q->n; i++) {
    const struct tcp_txrec *r = rec(q, i);
    if ((r->flags & (TCP_TX_LOST | TCP_TX_SACKED)) != TCP_TX_LOST) continue;
    *start = r->start;
    *end = r->end;
    *why = r->why;
    for (uint32_t j = i + 1; j < q->n; j++) {
      const struct tcp_txrec *n = rec(q, j);
      if (n->start != *end || (n->flags & (TCP_TX_LOST | TCP_TX_SACKED)) != TCP_TX_LOST ||
          n->why != *why || n->end - *start > max)
        break;
      *end = n->end;
    }
    return 1;
  }
  return 0;
}

int tcp_txq_last_unsacked(const struct us_tcp_sock *c, uint32_t *start, uint32_t *end) {
  const struct tcp_txq *q = &c->txq;
  for (uint32_t i = q->n; i-- > 0;) {
    const struct tcp_txrec *r = rec(q, i);
    if (r->flags & TCP_TX_SACKED) continue;
    /* A burst's record: its last segment, as the sender cut it. */
    uint32_t len = r->end - r->start;
    *start = len > c->mss ? r->start + (len - 1) / c->mss * c->mss : r->start;
    *end = r->end;
    return 1;
  }
  return 0;
}
