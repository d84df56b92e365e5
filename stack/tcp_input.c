/* Segment arrival (RFC 9293 3.10.7): demultiplexing, SYN-SENT processing,
 * acceptance tests with PAWS (RFC 7323) and RFC 5961 protections, ACK
 * processing (RTT, congestion control, SACK, fast recovery), data into the
 * receive ring (in order or held out of order), FIN, and the state moves. */
#include <errno.h>
#include <string.h>

#include "stack/tcp_conn.h"

#define PAWS_IDLE US_SEC(24 * 24 * 3600) /* RFC 7323 5.5: ts_recent too old */

static void count_opts(struct us_stack *s, const struct tcp_opts *o) {
  if (o->bad & TCP_OPT_BAD_LEN) us_count(s, US_CNT_TCP_OPT_BAD_LEN);
  if (o->bad & TCP_OPT_BAD_SIZE) us_count(s, US_CNT_TCP_OPT_BAD_SIZE);
  if (o->bad & TCP_OPT_BAD_WSCALE) us_count(s, US_CNT_TCP_OPT_BAD_WSCALE);
  if (o->bad & TCP_OPT_BAD_MSS) us_count(s, US_CNT_TCP_OPT_BAD_MSS);
}

/* Options of a SYN or SYN-ACK: what both sides agreed on. */
void tcp_apply_syn_opts(struct us_tcp_sock *c, const struct tcp_seg *seg) {
  const struct tcp_opts *o = &seg->opt;
  c->peer_mss = (o->has & TCP_OPT_F_MSS) ? o->mss : TCP_DEFAULT_MSS;
  if (c->peer_mss < 64) c->peer_mss = 64;
  const struct tcp_state *t = c->s->tcp;
  c->ws_ok = (o->has & TCP_OPT_F_WS) && t->sys.window_scaling;
  c->snd_wscale = c->ws_ok ? o->wscale : 0;
  if (!c->ws_ok) c->rcv_wscale = 0;
  c->sack_ok = (o->has & TCP_OPT_F_SACKOK) && t->sys.sack;
  c->ts_ok = (o->has & TCP_OPT_F_TS) && t->sys.timestamps;
  if (c->ts_ok) {
    c->ts_recent = o->tsval;
    c->ts_recent_stamp = c->s->now;
  }
  tcp_update_mss(c);
  c->rcv_mss = c->adv_mss - (c->ts_ok ? 12 : 0);
}

/* The first transmission of the connection was acknowledged: leave the
 * handshake states. */
static void conn_established(struct us_tcp_sock *c, const struct tcp_seg *seg) {
  /* A SYN's window is never scaled (RFC 7323 2.2). */
  c->snd_wnd = (uint32_t)seg->win << ((seg->flags & TCP_SYN) ? 0 : c->snd_wscale);
  c->max_snd_wnd = c->snd_wnd;
  c->snd_wl1 = seg->seq;
  c->snd_wl2 = seg->ack;
  c->syn_retries = 0;
  c->backoff = 0;
  c->retransmits = 0;
  c->rtx_start = 0; /* from now on TCP_USER_TIMEOUT counts from a first retransmission */
  if (c->srtt_us) tcp_set_rto(c); /* the SYN's sample, no backoff */
  else c->rto = TCP_RTO_INIT;
  us_count(c->s, US_CNT_TCP_ESTABLISHED);
  tcp_set_state(c, US_TCP_ESTABLISHED);
  /* A close or shutdown(SHUT_WR) during SYN-RECEIVED waited for this
   * (RFC 9293 3.10.4): now the FIN may go. */
  if (c->fin_queued) tcp_set_state(c, US_TCP_FIN_WAIT1);
  tcp_rearm_keepalive(c);
}

static void syn_sent_input(struct us_tcp_sock *c, struct tcp_seg *seg) {
  struct us_stack *s = c->s;
  int ack_ok = 0;
  if (seg->flags & TCP_ACK) {
    if (seq_leq(seg->ack, c->iss) || seq_gt(seg->ack, c->snd_max)) {
      if (!(seg->flags & TCP_RST)) {
        tcp_xmit_raw(s, c->lip, c->rip, c->lport, c->rport, seg->ack, 0, TCP_RST, 0, 0, 0);
        us_count(s, US_CNT_TCP_RST_TX);
        /* Typically the peer still holds this 4-tuple in TIME-WAIT and took
         * our SYN for an old duplicate (its timestamp looked older: PAWS).
         * Our RST ends that TIME-WAIT, so send the SYN again now instead of
         * after the 1 s initial RTO - as Linux does, and only before any
         * retransmission, so a peer that keeps answering so gets no flood. */
        if (c->syn_retries == 0) us_timer_arm(s, &c->t_rtx, s->now + TCP_PTO_MARGIN);
      }
      return;
    }
    ack_ok = 1;
  }
  if (seg->flags & TCP_RST) {
    if (ack_ok) {
      us_count(s, US_CNT_TCP_RST_RX);
      tcp_fail(c, ECONNREFUSED);
    } else {
      us_count(s, US_CNT_TCP_RST_IGNORED);
    }
    return;
  }
  if (!(seg->flags & TCP_SYN)) return;
  c->irs = seg->seq;
  c->rcv_nxt = seg->seq + 1;
  c->rcv_read = c->rcv_nxt;
  c->rcv_adv = c->rcv_nxt;
  c->last_rx = s->now;
  tcp_apply_syn_opts(c, seg);
  tcp_ecn_synack_rcvd(c, seg->flags);
  if (ack_ok) {
    c->snd_una = seg->ack;
    if (c->rtt_time && seq_geq(seg->ack, c->rtt_seq)) tcp_rtt_sample(c, s->now - c->rtt_time);
    c->rtt_time = 0;
    us_timer_cancel(s, &c->t_rtx);
    tcp_cc_init(&c->cc, c->cc_ops, c->mss);
    conn_established(c, seg);
    tcp_event(c, US_TCP_EV_CONNECTED | US_TCP_EV_WRITABLE);
    /* Data carried by the SYN-ACK is not taken: the peer resends it. */
    c->ack_now = 1;
    tcp_output(c);
  } else {
    /* Simultaneous open (RFC 9293 3.5, figure 8). */
    tcp_set_state(c, US_TCP_SYN_RECV);
    tcp_send_syn(c);
  }
}

/* RFC 9293 3.10.7.4 first check, with the zero-window allowance. */
static int seq_acceptable(const struct us_tcp_sock *c, const struct tcp_seg *seg, uint32_t seglen) {
  uint32_t wnd = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
  /* What we can actually hold also counts: a window opened by a read that
   * was not yet advertised. */
  uint32_t space = tcp_rcv_space(c);
  if (space > wnd && !c->fin_rcvd) wnd = space;
  if (seglen == 0) {
    if (wnd == 0) return seg->seq == c->rcv_nxt;
    return seq_in(seg->seq, c->rcv_nxt, c->rcv_nxt + wnd);
  }
  if (wnd == 0) return 0;
  return seq_in(seg->seq, c->rcv_nxt, c->rcv_nxt + wnd) ||
         seq_in(seg->seq + seglen - 1, c->rcv_nxt, c->rcv_nxt + wnd);
}

static void handle_reset(struct us_tcp_sock *c) {
  struct us_stack *s = c->s;
  us_count(s, US_CNT_TCP_RST_RX);
  switch (c->state) {
  case US_TCP_SYN_RECV:
    if (c->passive) { tcp_done(c); return; } /* back to LISTEN: just forget it */
    tcp_fail(c, ECONNREFUSED);
    return;
  case US_TCP_ESTABLISHED: case US_TCP_FIN_WAIT1: case US_TCP_FIN_WAIT2:
  case US_TCP_CLOSE_WAIT:
    tcp_fail(c, ECONNRESET);
    return;
  default: /* CLOSING, LAST-ACK, TIME-WAIT */
    tcp_done(c);
  }
}

static void rcv_ack_sack(struct us_tcp_sock *c, const struct tcp_seg *seg) {
  c->sack_new = 0;
  if (!c->sack_ok || !(seg->opt.has & TCP_OPT_F_SACK)) return;
  for (unsigned i = 0; i < seg->opt.nsack; i++) {
    uint32_t a = seg->opt.sack[i].start, b = seg->opt.sack[i].end;
    if (i == 0 && seq_lt(a, b) && seq_leq(b, seg->ack) && seq_geq(a, c->snd_una - c->max_snd_wnd)) {
      /* D-SACK (RFC 2883): the peer got this twice. If we had resent it,
       * the network reordered rather than lost: tolerate more reordering
       * before calling a hole lost (as Linux raises tp->reordering). */
      if (c->total_retrans && seq_lt(a, c->rtx_hi) && a != c->tlp_rtx_seq) {
        us_count(c->s, US_CNT_TCP_DSACK_RX);
        if (c->undo_valid && c->undo_retrans > 0 && seq_gt(b, c->undo_marker))
          c->undo_retrans -= (int32_t)((b - a + c->mss - 1) / c->mss);
        uint16_t t = c->sb.dupthresh ? c->sb.dupthresh : 3;
        if (t < 8) c->sb.dupthresh = (uint16_t)(t + 1);
      }
      if (a != c->tlp_rtx_seq || !c->tlp_retrans) tcp_rack_dsack(c);
      continue;
    }
    if (!seq_lt(a, b) || seq_gt(b, c->snd_max) || b - a > c->snd_max - c->snd_una) {
      us_count(c->s, US_CNT_TCP_SACK_BAD);
      continue;
    }
    if (seq_leq(b, seg->ack) || seq_leq(b, c->snd_una)) continue; /* old */
    uint32_t before = c->sb.sacked;
    tcp_sb_add(&c->sb, seq_max(a, seg->ack), b);
    tcp_rack_sacked(c, seq_max(a, seg->ack), b);
    if (c->undo_valid && seq_gt(b, c->undo_fack)) c->undo_fack = b;
    if (c->sb.sacked != before) {
      if (!c->sack_new || seq_lt(a, c->sack_new_start)) c->sack_new_start = a;
      if (!c->sack_new || seq_gt(b, c->sack_new_end)) c->sack_new_end = b;
      c->sack_new = 1;
    }
  }
}

/* Data and FIN the peer acknowledged leave the send ring. */
static void snd_acked(struct us_tcp_sock *c, uint32_t ack) {
  uint32_t data_end = c->snd_buf_seq + c->snd.len;
  uint32_t upto = seq_lt(ack, data_end) ? ack : data_end;
  if (seq_gt(upto, c->snd_buf_seq)) {
    uint32_t n = upto - c->snd_buf_seq;
    tcp_ring_consume(&c->snd, n);
    c->snd_buf_seq = upto;
    c->bytes_acked += n;
    tcp_event(c, US_TCP_EV_WRITABLE);
  }
  if (c->fin_queued && seq_gt(ack, c->fin_seq)) c->fin_acked = 1;
}

/* ACK processing for synchronized states (RFC 9293 "fifth, check the ACK
 * field" with RFC 5961 5.2). Returns 0 if the segment must be dropped. */
static int ack_input(struct us_tcp_sock *c, struct tcp_seg *seg) {
  struct us_stack *s = c->s;
  uint32_t ack = seg->ack;
  /* RFC 5961 5.2: acceptable iff SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT. */
  uint32_t lowest = c->snd_una - (c->max_snd_wnd ? c->max_snd_wnd : 1);
  if (seq_lt(ack, lowest)) {
    us_count(s, US_CNT_TCP_DROP_ACK_OLD);
    tcp_send_challenge_ack(c);
    return 0;
  }
  if (seq_gt(ack, c->snd_max)) {
    /* Data never sent is acknowledged: drop the segment whole (RFC 9293
     * 3.10.7.4) - nothing of it, not its timestamp, is believed - and
     * answer with a rate-limited challenge ACK, as Linux since 6.10 in
     * every synchronized state. */
    us_count(s, US_CNT_TCP_DROP_ACK_FUTURE);
    tcp_send_challenge_ack(c);
    return 0;
  }
  c->last_ack_rx = s->now;
  uint32_t old_wnd = c->snd_wnd;
  int in_episode = c->ca_state == TCP_CA_RECOVERY || c->ca_state == TCP_CA_LOSS;
  /* Window update (RFC 9293 3.10.7.4, SND.WL1/WL2 rule). */
  if (seq_lt(c->snd_wl1, seg->seq) || (c->snd_wl1 == seg->seq && seq_leq(c->snd_wl2, ack))) {
    c->snd_wnd = (uint32_t)seg->win << ((seg->flags & TCP_SYN) ? 0 : c->snd_wscale);
    c->snd_wl1 = seg->seq;
    c->snd_wl2 = ack;
    if (c->snd_wnd > c->max_snd_wnd) c->max_snd_wnd = c->snd_wnd;
    if (c->snd_wnd) { us_timer_cancel(s, &c->t_persist); c->persist_backoff = 0; c->probe_start = 0; }
  }
  uint32_t sacked_before = c->sb.sacked;
  rcv_ack_sack(c, seg);

  uint32_t una_before = c->snd_una;
  int dup = 0;
  if (seq_gt(ack, c->snd_una)) {
    uint32_t acked = ack - c->snd_una;
    /* RTT: a timed segment (Karn), else the echoed timestamp (RFC 7323 4). */
    if (c->rtt_time && seq_geq(ack, c->rtt_seq)) {
      tcp_rtt_sample(c, s->now - c->rtt_time);
      c->rtt_time = 0;
    } else if (c->ts_ok && (seg->opt.has & TCP_OPT_F_TS) && seg->opt.tsecr && !c->rtt_time &&
               c->retransmits) {
      uint32_t ms = tcp_ts_now(c) - seg->opt.tsecr;
      if (ms < 60000) tcp_rtt_sample(c, US_MS(ms));
    }
    c->snd_una = ack;
    ipv4_confirm(s, c->rip); /* forward progress: the next hop is alive */
    us_count(s, US_CNT_TCP_ACK_PROGRESS);
    if (seq_lt(c->snd_nxt, ack)) c->snd_nxt = ack;
    if (c->tlp_out && seq_geq(ack, c->tlp_high)) c->tlp_out = 0;
    snd_acked(c, ack);
    tcp_sb_ack(&c->sb, ack);
    tcp_rack_acked(c, ack);
    c->retransmits = 0;
    c->dupacks = 0;
    /* New data acknowledged: the backoff ends (as Linux), RTO from SRTT. */
    if (c->backoff) {
      if (c->srtt_us) tcp_set_rto(c);
      else c->rto = TCP_RTO_INIT;
    }
    c->backoff = 0;
    switch (c->ca_state) {
    case TCP_CA_RECOVERY:
      if (seq_geq(ack, c->recover)) {
        tcp_cc_exit_recovery(&c->cc);
        c->ca_state = TCP_CA_OPEN;
        tcp_rack_recovery_done(c);
      } else if (!c->sack_ok) {
        c->rtx_next = c->snd_una; /* NewReno partial ACK: resend the next hole */
      }
      break;
    case TCP_CA_LOSS:
      if (seq_geq(ack, c->recover)) {
        c->ca_state = TCP_CA_OPEN;
        tcp_rack_recovery_done(c);
      } else {
        tcp_cc_on_ack(&c->cc, acked, s->now, c->srtt_us, 1);
      }
      break;
    default:
      tcp_cc_on_ack(&c->cc, acked, s->now, c->srtt_us, c->cwnd_limited);
    }
    if (c->ca_state != TCP_CA_LOSS) c->rtx_start = 0; /* what the timeout resent is in */
    if (c->snd_una == c->snd_max) {
      us_timer_cancel(s, &c->t_rtx);
      c->rtx_start = 0;
    } else {
      tcp_rearm_rtx(c); /* RFC 6298 5.3 */
    }
  } else if (ack == c->snd_una && c->snd_max != c->snd_una && seg->dlen == 0 &&
             !(seg->flags & (TCP_SYN | TCP_FIN)) && (c->snd_wnd == old_wnd || seg->opt.nsack)) {
    c->dupacks++; /* duplicate ACK (RFC 5681 2) */
    dup = 1;
  }
  if (!tcp_undo_try(c, seg, in_episode && seq_gt(ack, una_before))) tcp_detect_lost_retransmit(c);
  /* Delivered by this ACK (RFC 6937 DeliveredData): newly acknowledged
   * plus newly SACKed bytes; without SACK, a duplicate ACK stands for a
   * segment that left the network. */
  uint32_t delivered = c->snd_una - una_before;
  if (c->sack_ok) delivered = (uint32_t)((int64_t)delivered + c->sb.sacked - sacked_before);
  else if (dup) delivered = c->mss;
  tcp_recovery_detect(c, delivered, seq_gt(ack, una_before));
  if (c->fin_acked) {
    switch (c->state) {
    case US_TCP_FIN_WAIT1:
      tcp_set_state(c, US_TCP_FIN_WAIT2);
      us_timer_cancel(s, &c->t_rtx);
      if (!c->app_ref || c->rd_shut) us_timer_arm(s, &c->t_keep, s->now + tcp_fin_timeout(c));
      break;
    case US_TCP_CLOSING:
      tcp_enter_timewait(c);
      break;
    case US_TCP_LAST_ACK:
      tcp_done(c);
      return 0;
    default:
      break;
    }
  }
  return 1;
}

/* In-order bytes arrived: append, pull in what the out-of-order list held. */
static void rcv_in_order(struct us_tcp_sock *c, const uint8_t *data, uint32_t n) {
  tcp_ring_write(&c->rcv, c->rcv_nxt - c->rcv_read, data, n);
  uint32_t nxt = tcp_ooo_advance(&c->ooo, c->rcv_nxt + n);
  uint32_t grown = nxt - c->rcv_nxt;
  c->rcv.len += grown;
  c->rcv_nxt = nxt;
  c->bytes_received += grown;
  tcp_event(c, US_TCP_EV_READABLE);
}

static void note_dsack(struct us_tcp_sock *c, uint32_t start, uint32_t end) {
  if (!c->sack_ok) return;
  c->dsack.start = start;
  c->dsack.end = end;
  c->dsack_pending = 1;
}

/* Out-of-order bytes go into the ring only where nothing is held yet: the
 * bytes that arrived first (and were SACKed) stay. The first overlap is
 * reported as a D-SACK, as Linux's tcp_data_queue_ofo does. */
static void ooo_write_gaps(struct us_tcp_sock *c, const struct tcp_ooo *held, uint32_t seq,
                           const uint8_t *data, uint32_t n) {
  uint32_t pos = seq, end = seq + n;
  int reported = 0;
  for (uint32_t k = 0; k < held->n && seq_lt(pos, end); k++) {
    const struct tcp_iv *iv = &held->iv[k];
    if (seq_leq(iv->end, pos)) continue;
    if (seq_geq(iv->start, end)) break;
    if (seq_lt(pos, iv->start))
      tcp_ring_write(&c->rcv, pos - c->rcv_read, data + (pos - seq), iv->start - pos);
    if (!reported) {
      note_dsack(c, seq_max(pos, iv->start), seq_min(end, iv->end));
      reported = 1;
    }
    pos = iv->end;
  }
  if (seq_lt(pos, end)) tcp_ring_write(&c->rcv, pos - c->rcv_read, data + (pos - seq), end - pos);
}

static void data_input(struct us_tcp_sock *c, struct tcp_seg *seg) {
  struct us_stack *s = c->s;
  uint32_t seq = seg->seq;
  const uint8_t *data = seg->data;
  uint32_t n = seg->dlen;
  /* Trim what we already have (RFC 9293 3.10.7.4 "trimmed"). */
  if (seq_lt(seq, c->rcv_nxt)) {
    uint32_t dup = c->rcv_nxt - seq;
    if (dup >= n) {
      if (n) {
        us_count(s, US_CNT_TCP_DUP_DATA);
        c->ack_now = 1;
        note_dsack(c, seg->seq, seg->seq + n);
      }
      return;
    }
    note_dsack(c, seq, c->rcv_nxt);
    seq += dup;
    data += dup;
    n -= dup;
  }
  /* ...and what does not fit the buffer. */
  uint32_t limit = c->rcv_read + c->rcv.cap;
  if (seq_geq(seq, limit)) {
    us_count(s, US_CNT_TCP_ZWIN_DROP);
    c->ack_now = 1;
    return;
  }
  if (seq_gt(seq + n, limit)) n = limit - seq;
  c->data_segs_in++;
  c->last_data_rx = s->now;
  uint32_t nseg = (n + c->rcv_mss - 1) / (c->rcv_mss ? c->rcv_mss : 1);
  if (seq == c->rcv_nxt) {
    int had_ooo = c->ooo.n != 0;
    rcv_in_order(c, data, n);
    c->unacked_bytes += n;
    /* Immediate ACK: a hole was filled, quick-ack phase, or two full
     * segments wait (RFC 9293 3.8.6.3 / RFC 5681 4.2, as Linux). */
    if (had_ooo || c->quickack || c->unacked_bytes >= 2u * c->rcv_mss) {
      c->ack_now = 1;
      if (c->quickack) c->quickack = c->quickack > nseg ? (uint8_t)(c->quickack - nseg) : 0;
    } else {
      tcp_schedule_delack(c);
    }
    if (n > c->rcv_mss && n <= 65535 && seg->dlen == n && nseg == 1) c->rcv_mss = (uint16_t)n;
  } else {
    /* Out of order: store in place, remember the range, ACK at once so the
     * sender sees the hole (RFC 5681 4.2). */
    c->ack_now = 1;
    for (uint32_t k = 0; k < c->ooo.n; k++)
      if (seq_geq(seq, c->ooo.iv[k].start) && seq_leq(seq + n, c->ooo.iv[k].end)) {
        note_dsack(c, seq, seq + n); /* held already */
        return;
      }
    struct tcp_ooo held = c->ooo; /* the ranges before this segment joins them */
    if (tcp_ooo_add(&c->ooo, seq, seq + n) < 0) {
      us_count(s, US_CNT_TCP_OOO_DROP);
      return;
    }
    ooo_write_gaps(c, &held, seq, data, n);
    c->ooo_pkts++;
    us_count(s, US_CNT_TCP_OOO);
  }
}

static void fin_input(struct us_tcp_sock *c) {
  struct us_stack *s = c->s;
  c->rcv_nxt++;
  c->fin_rcvd = 1;
  c->ooo_fin = 0;
  c->ack_now = 1;
  tcp_event(c, US_TCP_EV_READABLE | US_TCP_EV_RDHUP);
  switch (c->state) {
  case US_TCP_SYN_RECV:
  case US_TCP_ESTABLISHED:
    tcp_set_state(c, US_TCP_CLOSE_WAIT);
    break;
  case US_TCP_FIN_WAIT1:
    if (c->fin_acked) tcp_enter_timewait(c);
    else tcp_set_state(c, US_TCP_CLOSING);
    break;
  case US_TCP_FIN_WAIT2:
    us_timer_cancel(s, &c->t_keep);
    tcp_enter_timewait(c);
    break;
  default:
    break;
  }
}

static int paws_reject(struct us_tcp_sock *c, const struct tcp_seg *seg) {
  if (!c->ts_ok || !(seg->opt.has & TCP_OPT_F_TS) || (seg->flags & TCP_RST)) return 0;
  if (!seq_lt(seg->opt.tsval, c->ts_recent)) return 0;
  if (c->s->now - c->ts_recent_stamp > PAWS_IDLE) return 0;
  return 1;
}

void tcp_conn_input(struct us_tcp_sock *c, const struct ipv4_rx *ip, struct tcp_seg *seg) {
  struct us_stack *s = c->s;
  c->segs_in++;
  if (c->state == US_TCP_SYN_SENT) {
    syn_sent_input(c, seg);
    return;
  }
  /* A retransmitted SYN while our SYN-ACK is out: send the SYN-ACK again. */
  if (c->state == US_TCP_SYN_RECV && (seg->flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN &&
      seg->seq == c->irs) {
    tcp_send_syn(c);
    return;
  }
  uint32_t seglen = seg->dlen + !!(seg->flags & TCP_SYN) + !!(seg->flags & TCP_FIN);
  if (c->state == US_TCP_TIME_WAIT && (seg->flags & (TCP_FIN | TCP_RST | TCP_SYN)) == TCP_FIN &&
      seg->seq + seg->dlen + 1 == c->rcv_nxt) {
    /* Our last ACK was lost and the peer resends its FIN: ACK it again and
     * restart 2*MSL (RFC 9293 3.10.7.4, TIME-WAIT). */
    us_count(s, US_CNT_TCP_TW_FIN);
    us_timer_arm(s, &c->t_keep, s->now + tcp_msl2_time(s));
    tcp_send_ack(c);
    return;
  }
  if ((seg->flags & (TCP_SYN | TCP_RST)) == TCP_SYN && c->state != US_TCP_SYN_RECV) {
    /* RFC 5961 4.2 / RFC 9293: a SYN in a synchronized state, whatever its
     * sequence number, gets a challenge ACK and is otherwise ignored. */
    us_count(s, US_CNT_TCP_SYN_IGNORED);
    tcp_send_challenge_ack(c);
    return;
  }
  if (paws_reject(c, seg)) {
    us_count(s, US_CNT_TCP_DROP_PAWS);
    c->ack_now = 1;
    goto out;
  }
  if (!seq_acceptable(c, seg, seglen)) {
    us_count(s, US_CNT_TCP_DROP_OUTWIN);
    if (!(seg->flags & TCP_RST)) c->ack_now = 1;
    if (seg->dlen && seq_leq(seg->seq + seg->dlen, c->rcv_nxt) &&
        c->rcv_nxt - seg->seq <= c->rcv.cap && !(seg->flags & TCP_RST))
      note_dsack(c, seg->seq, seg->seq + seg->dlen); /* an old duplicate (RFC 2883) */
    else us_count(s, US_CNT_TCP_RST_IGNORED);
    goto out;
  }
  c->last_rx = s->now;
  c->probes = 0; /* the peer is alive: keepalive starts over (as Linux) */
  if (seg->flags & TCP_RST) {
    /* RFC 5961 3.2: reset only on an exact match, else challenge. */
    if (seg->seq == c->rcv_nxt) handle_reset(c);
    else tcp_send_challenge_ack(c);
    return;
  }
  if (seg->flags & TCP_SYN) {
    /* RFC 5961 4.2: a SYN in a synchronized state gets a challenge ACK. */
    us_count(s, US_CNT_TCP_SYN_IGNORED);
    tcp_send_challenge_ack(c);
    return;
  }
  if (!(seg->flags & TCP_ACK)) goto out;
  if (c->state == US_TCP_SYN_RECV) {
    if (!seq_gt(seg->ack, c->snd_una) || seq_gt(seg->ack, c->snd_max)) {
      us_count(s, US_CNT_TCP_DROP_SYNRECV);
      tcp_xmit_raw(s, c->lip, c->rip, c->lport, c->rport, seg->ack, 0, TCP_RST, 0, 0, 0);
      return;
    }
    if (c->listener && c->listener->acc_len >= c->listener->backlog) {
      us_count(s, US_CNT_TCP_ACCEPTQ_FULL); /* stay; our SYN-ACK will be resent */
      return;
    }
    if (tcp_alloc_bufs(c) < 0) {
      us_count(s, US_CNT_TCP_DROP_NOMEM);
      return;
    }
    if (c->rtt_time && seq_geq(seg->ack, c->rtt_seq)) tcp_rtt_sample(c, s->now - c->rtt_time);
    c->rtt_time = 0;
    c->snd_una = seg->ack;
    us_timer_cancel(s, &c->t_rtx);
    tcp_cc_init(&c->cc, c->cc_ops, c->mss);
    conn_established(c, seg);
    if (c->listener) tcp_child_established(c);
    else tcp_event(c, US_TCP_EV_CONNECTED | US_TCP_EV_WRITABLE);
  }
  if (c->state == US_TCP_TIME_WAIT) goto out; /* nothing new can arrive */
  int old_ack = seq_lt(seg->ack, c->snd_una);
  if (!ack_input(c, seg)) {
    if (c->state == US_TCP_CLOSE) return;
    goto out;
  }
  /* Remember the peer's timestamp (RFC 7323 4.3) only now that the segment
   * proved acceptable, its ACK included: a forged ACK with a huge TSval
   * would otherwise make PAWS reject every later segment. As Linux
   * (tcp_replace_ts_recent from tcp_ack), not from an old ACK. */
  if (!old_ack && c->ts_ok && (seg->opt.has & TCP_OPT_F_TS) &&
      seq_leq(seg->seq, c->last_ack_sent)) {
    c->ts_recent = seg->opt.tsval;
    c->ts_recent_stamp = s->now;
  }
  if (c->state == US_TCP_CLOSE || c->state == US_TCP_TIME_WAIT) goto out;
  tcp_ecn_ece(c, seg->flags);
  /* Data and FIN are taken in ESTABLISHED, FIN-WAIT-1 and FIN-WAIT-2 only. */
  int takes_data = c->state == US_TCP_ESTABLISHED || c->state == US_TCP_FIN_WAIT1 ||
                   c->state == US_TCP_FIN_WAIT2;
  if (takes_data && seg->dlen && c->closed_by_app &&
      seq_gt(seg->seq + seg->dlen, c->rcv_nxt)) {
    /* New data for a connection the application closed: nobody will read
     * it, so reset as Linux does (RFC 9293 3.10.7.4 note on orphans). */
    tcp_send_rst(c);
    tcp_done(c);
    return;
  }
  if (takes_data && (seg->dlen || (seg->flags & TCP_FIN))) tcp_ecn_rx(c, ip->tos, seg->flags);
  if (takes_data && seg->dlen) data_input(c, seg);
  if (takes_data && (seg->flags & TCP_FIN)) {
    uint32_t fseq = seg->seq + seg->dlen;
    if (fseq == c->rcv_nxt) fin_input(c);
    else if (seq_gt(fseq, c->rcv_nxt)) { c->ooo_fin = 1; c->ooo_fin_seq = fseq; c->ack_now = 1; }
  }
  if (c->ooo_fin && c->ooo_fin_seq == c->rcv_nxt && takes_data) fin_input(c);
out:
  if (c->state != US_TCP_CLOSE) {
    tcp_output(c);
    if (c->state == US_TCP_ESTABLISHED || c->state == US_TCP_CLOSE_WAIT) tcp_rearm_keepalive(c);
  }
}

/* Entry point from IPv4. */
void tcp_input(struct us_stack *s, const struct ipv4_rx *ip, const uint8_t *p, size_t len) {
  struct tcp_state *t = s->tcp;
  if (!t) return;
  us_count(s, US_CNT_TCP_RX);
  if (len < TCP_HDR_LEN) { us_count(s, US_CNT_TCP_DROP_SHORT); return; }
  if (!ip->csum_valid &&
      us_csum_fold(us_csum_add(us_csum_pseudo(ip->src, ip->dst, IPPROTO_TCP_, (uint32_t)len), p,
                               len)) != 0) {
    us_count(s, US_CNT_TCP_DROP_CSUM);
    return;
  }
  struct tcp_seg seg;
  int rc = tcp_parse(p, len, &seg);
  if (rc) { us_count(s, (enum us_counter)rc); return; }
  if (seg.opt.bad) count_opts(s, &seg.opt);
  US_EVENT(s, us_ev_tcp_rx(s, ip, &seg));
  if ((seg.flags & (TCP_SYN | TCP_FIN)) == (TCP_SYN | TCP_FIN) ||
      (seg.flags & (TCP_SYN | TCP_RST)) == (TCP_SYN | TCP_RST) || seg.sport == 0 ||
      seg.dport == 0) {
    us_count(s, US_CNT_TCP_DROP_FLAGS);
    return;
  }
  tcp_enter(s);
  struct us_tcp_sock *c = tcp_lookup(t, ip->dst, seg.dport, ip->src, seg.sport);
  if (c && c->state == US_TCP_TIME_WAIT && (seg.flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN) {
    /* A new SYN for a TIME-WAIT 4-tuple (RFC 9293 3.6.1, RFC 6191): take
     * it if its sequence number or timestamp is newer, as Linux does. */
    int newer = seq_gt(seg.seq, c->rcv_nxt) ||
                (c->ts_ok && (seg.opt.has & TCP_OPT_F_TS) && seq_gt(seg.opt.tsval, c->ts_recent));
    struct us_tcp_sock *l = tcp_lookup_listener(t, ip->dst, seg.dport);
    if (newer && l) {
      us_count(s, US_CNT_TCP_TW_REUSE);
      tcp_done(c);
      if (c->app_ref) tcp_hash_remove(c);
      c = 0;
    }
  }
  if (c) {
    tcp_conn_input(c, ip, &seg);
    US_EVENT(s, us_ev_tcp_sample(c));
  } else {
    struct us_tcp_sock *l = tcp_lookup_listener(t, ip->dst, seg.dport);
    if (l) tcp_listen_input(l, ip, &seg);
    else tcp_reply_rst(s, ip, &seg);
  }
  tcp_leave(s);
}

void tcp_err(struct us_stack *s, uint32_t src, uint32_t dst, const uint8_t *hdr, size_t len,
             int err, uint32_t mtu) {
  struct tcp_state *t = s->tcp;
  if (!t || len < 8) return;
  uint16_t sport = tcp_rd16(hdr), dport = tcp_rd16(hdr + 2);
  uint32_t seq = tcp_rd32(hdr + 4);
  struct us_tcp_sock *c = tcp_lookup(t, src, sport, dst, dport);
  if (!c) return;
  /* Only errors about data in flight are believed (RFC 5927 4). */
  if (!seq_in(seq, c->snd_una, c->snd_max + 1)) return;
  tcp_enter(s);
  if (err == EMSGSIZE) {
    /* Only now, the quote having passed the check, is the path MTU lowered
     * (as Linux's tcp_v4_err): a blind ICMP changes nothing. Take the new
     * MSS and resend. */
    if (c->state == US_TCP_LISTEN || !mtu) { tcp_leave(s); return; }
    ipv4_pmtu_update(s, c->rip, mtu);
    tcp_update_mss(c);
    if (c->snd_max != c->snd_una) {
      c->snd_nxt = c->snd_una;
      tcp_output(c);
    }
  } else if (c->state == US_TCP_SYN_SENT) {
    /* Unreachable while connecting ends the attempt, as on Linux
     * (ECONNREFUSED, EHOSTUNREACH after ARP gave up, ENETUNREACH...). */
    tcp_fail(c, err);
  } else {
    /* A soft error (RFC 1122 4.2.3.9): remembered, and reported instead of
     * ETIMEDOUT if the connection later times out. */
    c->soft_error = err;
  }
  tcp_leave(s);
}
