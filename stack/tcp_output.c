/* Sending: segment construction (header, options, checksum), the window we
 * advertise, and the transmit loop (new data, go-back-N after a timeout,
 * SACK-driven retransmission in recovery, Nagle/CORK/SWS, large GSO units). */
#include <errno.h>
#include <string.h>

#include "stack/tcp_conn.h"

#define TCP_TS_OPT_LEN 12
#define RTX_SPLIT_SEGS 8 /* recovery steps below this go a segment per frame */

static int can_send_data(const struct us_tcp_sock *c);
static void sent_seq(struct us_tcp_sock *c, uint32_t seq, uint32_t n, uint8_t flags);
static uint32_t max_burst(const struct us_tcp_sock *c);

uint32_t tcp_ts_now(const struct us_tcp_sock *c) {
  return (uint32_t)(c->s->now / 1000) + c->ts_offset;
}

uint32_t tcp_rcv_space(const struct us_tcp_sock *c) {
  if (!c->rcv.buf) return c->rcvbuf;
  uint32_t cap = c->rcv.cap < c->rcvbuf ? c->rcv.cap : c->rcvbuf;
  return cap > c->rcv.len ? cap - c->rcv.len : 0;
}

/* The window field for a segment we send now. The right edge never moves
 * left (RFC 9293 3.8.6.2.2), and it moves right only by at least
 * min(buffer/2, MSS) so the peer never sees silly small windows. */
static uint16_t rcv_window_field(struct us_tcp_sock *c, int syn) {
  uint32_t space = tcp_rcv_space(c);
  if (c->fin_rcvd) space = c->rcv_adv - c->rcv_nxt; /* nothing more will come */
  if (syn) {
    uint32_t w = space > 65535 ? 65535 : space;
    c->rcv_adv = c->rcv_nxt + w;
    return (uint16_t)w;
  }
  uint32_t right = c->rcv_nxt + space;
  if (seq_gt(right, c->rcv_adv)) {
    uint32_t thresh = c->rcvbuf / 2 < c->rcv_mss ? c->rcvbuf / 2 : c->rcv_mss;
    if (right - c->rcv_adv < thresh) right = c->rcv_adv;
  } else {
    right = c->rcv_adv;
  }
  uint32_t wnd = seq_gt(right, c->rcv_nxt) ? right - c->rcv_nxt : 0;
  uint32_t field = wnd >> c->rcv_wscale;
  if (field > 65535) field = 65535;
  uint32_t adv = c->rcv_nxt + (field << c->rcv_wscale);
  if (seq_gt(adv, c->rcv_adv)) c->rcv_adv = adv;
  return (uint16_t)field;
}

/* Build and send one segment of a stateless reply or of a connection. */
int tcp_xmit_raw(struct us_stack *s, uint32_t lip, uint32_t rip, uint16_t lport, uint16_t rport,
                 uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win, const uint8_t *opts,
                 uint32_t optlen) {
  struct tcp_state *t = s->tcp;
  struct us_pkt pkt;
  us_pkt_init(&pkt, t->txbuf, t->txcap, US_PKT_HEADROOM);
  uint16_t hlen = (uint16_t)(TCP_HDR_LEN + optlen);
  uint8_t *h = us_pkt_push(&pkt, hlen);
  tcp_hdr_write(h, lport, rport, seq, ack, flags, win, hlen);
  if (optlen) memcpy(h + TCP_HDR_LEN, opts, optlen);
  us_l4_csum(s, &pkt, lip, rip, IPPROTO_TCP_, 16);
  us_count(s, US_CNT_TCP_TX);
  US_EVENT(s, us_ev_tcp_tx(s, 0, lip, rip, h, hlen, 0, 0));
  return ipv4_output(s, &pkt, lip, rip, IPPROTO_TCP_, 1);
}

static int dev_gso(const struct us_stack *s) {
  uint32_t need = US_NETDEV_F_GSO_TCP4 | US_NETDEV_F_CSUM_OFFLOAD;
  return s->dev && (s->dev->features & need) == need;
}

/* One segment of connection c: len payload bytes from the send ring at seq. */
static int tcp_xmit(struct us_tcp_sock *c, uint32_t seq, uint32_t len, uint8_t flags) {
  struct us_stack *s = c->s;
  struct tcp_state *t = s->tcp;
  struct us_pkt pkt;
  us_pkt_init(&pkt, t->txbuf, t->txcap, US_PKT_HEADROOM);
  if (len) {
    uint8_t *p = us_pkt_put(&pkt, len);
    tcp_ring_read(&c->snd, seq - c->snd_buf_seq, p, len);
  }
  uint8_t opts[TCP_MAX_OPT_LEN];
  size_t olen;
  uint8_t tos = 0;
  uint32_t tsval = tcp_ts_now(c);
  if (flags & TCP_SYN) {
    /* A SYN offers what this stack enables; a SYN-ACK answers with what
     * both sides agreed (tcp_apply_syn_opts). */
    const struct tcp_state *t = c->s->tcp;
    int active = c->state == US_TCP_SYN_SENT;
    int ws = active ? t->sys.window_scaling : c->ws_ok;
    int sack = active ? t->sys.sack : c->sack_ok;
    int ts = active ? t->sys.timestamps : c->ts_ok;
    olen = tcp_opts_syn(opts, c->adv_mss, ws ? c->rcv_wscale : -1, sack, ts, tsval,
                        active ? 0 : c->ts_recent);
    flags |= tcp_ecn_syn_flags(c);
  } else {
    struct tcp_sack_block blk[TCP_MAX_SACK];
    unsigned n = 0;
    if (c->sack_ok && (c->ooo.n || c->dsack_pending) && len <= c->mss) {
      /* Only as many blocks as fit beside the payload in one MTU; a D-SACK
       * goes first (RFC 2883 4). */
      uint32_t room = c->mss - len;
      unsigned fit = room >= 12 ? (room - 4) / 8 : 0;
      if (fit > TCP_MAX_SACK) fit = TCP_MAX_SACK;
      if (c->dsack_pending && fit) {
        blk[0].start = c->dsack.start;
        blk[0].end = c->dsack.end;
        n = 1;
        c->dsack_pending = 0;
        us_count(c->s, US_CNT_TCP_DSACK_TX);
      }
      n += tcp_ooo_sack(&c->ooo, blk + n, fit - n);
    }
    olen = tcp_opts_data(opts, c->ts_ok, tsval, c->ts_recent, blk, n);
    int rtx = seq_lt(seq, c->snd_max);
    flags |= tcp_ecn_out_flags(c, len, rtx);
    if (c->ecn_ok && len && !rtx) tos = IPV4_ECN_ECT0;
  }
  uint16_t win = rcv_window_field(c, flags & TCP_SYN);
  uint32_t ack = (flags & TCP_ACK) ? c->rcv_nxt : 0;
  if (len > c->mss) {
    pkt.meta.gso_size = c->mss;
    pkt.meta.hdr_len = 0; /* each push adds its header */
  }
  uint16_t hlen = (uint16_t)(TCP_HDR_LEN + olen);
  uint8_t *h = us_pkt_push(&pkt, hlen);
  tcp_hdr_write(h, c->lport, c->rport, seq, ack, flags, win, hlen);
  memcpy(h + TCP_HDR_LEN, opts, olen);
  us_l4_csum(s, &pkt, c->lip, c->rip, IPPROTO_TCP_, 16);
  US_EVENT(s, us_ev_tcp_tx(s, c, c->lip, c->rip, h, hlen, len, len > c->mss ? c->mss : 0));
  int rc = ipv4_output_tos(s, &pkt, c->lip, c->rip, IPPROTO_TCP_, 1, tos);
  uint32_t nseg = len > c->mss ? (len + c->mss - 1) / c->mss : 1;
  s->counters[US_CNT_TCP_TX] += nseg;
  c->segs_out += nseg;
  c->last_tx = s->now;
  if (len) {
    c->data_segs_out += nseg;
    c->last_data_tx = s->now;
  }
  if (flags & TCP_ACK) {
    c->last_ack_sent = c->rcv_nxt;
    c->unacked_bytes = 0;
    c->ack_now = 0;
    us_timer_cancel(s, &c->t_delack);
  }
  return rc;
}

/* Persist timer: send what the (small, nonzero) window allows, ignoring
 * SWS avoidance and Nagle; 0 if the window is zero. */
int tcp_send_forced(struct us_tcp_sock *c) {
  uint32_t data_end = c->snd_buf_seq + c->snd.len;
  uint32_t wnd_end = c->snd_una + c->snd_wnd;
  if (!can_send_data(c) || !seq_lt(c->snd_nxt, wnd_end) || !seq_lt(c->snd_nxt, data_end)) return 0;
  uint32_t n = seq_min(wnd_end, data_end) - c->snd_nxt;
  if (n > c->mss) n = c->mss;
  uint32_t seq = c->snd_nxt;
  /* PSH where the queue ends; a window probe with nothing in flight always
   * has it (Linux tcp_write_wakeup), a tail loss probe from the middle of
   * the queue not (it is just the next segment). */
  uint8_t psh = seq + n == data_end || c->snd_max == c->snd_una ? TCP_PSH : 0;
  tcp_xmit(c, seq, n, TCP_ACK | psh);
  sent_seq(c, seq, n, TCP_ACK);
  c->snd_nxt = seq + n;
  return 1;
}

/* Resend [seq, seq+n) (n <= mss), with the FIN if it is the last thing. */
void tcp_send_range(struct us_tcp_sock *c, uint32_t seq, uint32_t n) {
  uint8_t flags = TCP_ACK;
  if (c->fin_queued && seq + n == c->fin_seq && seq_gt(c->snd_max, c->fin_seq)) flags |= TCP_FIN;
  if (!n && !(flags & TCP_FIN)) return;
  if (n && seq + n == c->snd_buf_seq + c->snd.len) flags |= TCP_PSH; /* the queue's end only */
  tcp_xmit(c, seq, n, flags);
  sent_seq(c, seq, n, flags);
}

void tcp_resend_holes(struct us_tcp_sock *c, uint32_t mark) {
  uint32_t pipe = tcp_pipe(c);
  uint32_t budget = c->cc.cwnd > pipe ? c->cc.cwnd - pipe : 0;
  if (budget < c->mss) budget = c->mss;
  uint32_t data_end = c->snd_buf_seq + c->snd.len;
  uint32_t seq = c->snd_una;
  while (seq_lt(seq, mark) && budget) {
    const struct tcp_iv *iv = tcp_sb_find(&c->sb, seq);
    if (iv) { seq = iv->end; continue; }
    uint32_t end = tcp_sb_next_start(&c->sb, seq);
    if (end == seq || seq_gt(end, mark)) end = mark;
    if (seq_gt(end, data_end)) end = data_end;
    uint32_t n = seq_lt(seq, end) ? end - seq : 0;
    if (n > budget) n = budget;
    if (n > max_burst(c)) n = max_burst(c);
    if (!n) {
      if (c->fin_queued && seq == c->fin_seq) tcp_send_range(c, seq, 0);
      break;
    }
    uint8_t flags = TCP_ACK | (seq + n == data_end ? TCP_PSH : 0);
    tcp_xmit(c, seq, n, flags);
    sent_seq(c, seq, n, flags);
    budget -= n;
    seq += n;
  }
}

void tcp_send_ack(struct us_tcp_sock *c) {
  if (c->state == US_TCP_CLOSE || c->state == US_TCP_LISTEN || c->state == US_TCP_SYN_SENT) return;
  tcp_xmit(c, c->snd_nxt, 0, TCP_ACK);
}

void tcp_send_syn(struct us_tcp_sock *c) {
  uint8_t flags = TCP_SYN | (c->state == US_TCP_SYN_RECV ? TCP_ACK : 0);
  tcp_xmit(c, c->iss, 0, flags);
  if (!c->syn_retries) { /* time the first SYN only (Karn) */
    c->rtt_time = c->s->now;
    c->rtt_seq = c->iss + 1;
  }
  if (seq_lt(c->snd_max, c->iss + 1)) c->snd_max = c->iss + 1;
  c->snd_nxt = c->iss + 1;
  if (!us_timer_armed(&c->t_rtx)) tcp_rearm_rtx(c);
}

/* An abortive close (Linux tcp_send_active_reset): RST|ACK at the highest
 * sequence number sent - or the window's right edge if that lies beyond it
 * (tcp_acceptable_seq) - carrying the timestamp option and our window. */
void tcp_send_rst(struct us_tcp_sock *c) {
  us_count(c->s, US_CNT_TCP_RST_TX);
  uint32_t seq = seq_gt(c->snd_max, c->snd_nxt) ? c->snd_max : c->snd_nxt;
  uint32_t wnd_end = c->snd_una + c->snd_wnd;
  if (seq_gt(seq, wnd_end) && !(c->ws_ok && seq - wnd_end < (1u << c->rcv_wscale))) seq = wnd_end;
  uint8_t opts[TCP_MAX_OPT_LEN];
  size_t olen = tcp_opts_data(opts, c->ts_ok, tcp_ts_now(c), c->ts_recent, 0, 0);
  uint16_t win = c->state == US_TCP_SYN_SENT ? 0 : rcv_window_field(c, 0);
  tcp_xmit_raw(c->s, c->lip, c->rip, c->lport, c->rport, seq, c->rcv_nxt, TCP_RST | TCP_ACK, win,
               opts, (uint32_t)olen);
}

/* Keepalive and zero-window probe: an ACK with an old sequence number, which
 * the peer must answer with an ACK carrying its current window (as Linux). */
void tcp_send_probe(struct us_tcp_sock *c) { tcp_xmit(c, c->snd_una - 1, 0, TCP_ACK); }

void tcp_send_challenge_ack(struct us_tcp_sock *c) {
  struct us_stack *s = c->s;
  struct tcp_state *t = s->tcp;
  /* First the connection's own limit, as Linux's tcp_oow_rate_limited. */
  if (c->last_chal_tx && s->now - c->last_chal_tx < TCP_CHALLENGE_GAP) {
    us_count(s, US_CNT_TCP_CHALLENGE_LIMIT);
    return;
  }
  c->last_chal_tx = s->now;
  if (s->now - t->chal_window >= US_SEC(1)) {
    t->chal_window = s->now;
    t->chal_count = 0;
  }
  if (t->chal_count >= TCP_CHALLENGE_PER_SEC) {
    us_count(s, US_CNT_TCP_CHALLENGE_LIMIT);
    return;
  }
  t->chal_count++;
  us_count(s, US_CNT_TCP_CHALLENGE_ACK);
  tcp_send_ack(c);
}

/* RST for a segment that belongs to no connection (RFC 9293 3.10.7.1);
 * never in reply to a RST. */
void tcp_reply_rst(struct us_stack *s, const struct ipv4_rx *ip, const struct tcp_seg *seg) {
  if (seg->flags & TCP_RST) return;
  us_count(s, US_CNT_TCP_RST_NOCONN);
  if (seg->flags & TCP_ACK) {
    tcp_xmit_raw(s, ip->dst, ip->src, seg->dport, seg->sport, seg->ack, 0, TCP_RST, 0, 0, 0);
  } else {
    uint32_t len = seg->dlen + !!(seg->flags & TCP_SYN) + !!(seg->flags & TCP_FIN);
    tcp_xmit_raw(s, ip->dst, ip->src, seg->dport, seg->sport, 0, seg->seq + len,
                 TCP_RST | TCP_ACK, 0, 0, 0);
  }
}

void tcp_update_mss(struct us_tcp_sock *c) {
  uint32_t mtu = ipv4_path_mtu(c->s, c->rip);
  if (mtu < 68) mtu = 576;
  uint32_t m = mtu - 40;
  if (c->peer_mss && c->peer_mss < m) m = c->peer_mss;
  if (c->user_mss && c->user_mss < m) m = c->user_mss;
  if (c->ts_ok) m -= TCP_TS_OPT_LEN;
  if (m < 64) m = 64;
  c->mss = (uint16_t)m;
  tcp_cc_set_mss(&c->cc, m);
}

/* Bytes in the network (RFC 6675 "pipe"), by congestion state. */
uint32_t tcp_pipe(struct us_tcp_sock *c) {
  uint32_t una = c->snd_una;
  if (c->ca_state == TCP_CA_LOSS) {
    uint32_t f = c->snd_nxt - una, sk = tcp_sb_sacked_below(&c->sb, c->snd_nxt);
    return f > sk ? f - sk : 0;
  }
  uint32_t flight = c->snd_max - una;
  uint32_t out;
  if (c->ca_state == TCP_CA_RECOVERY) {
    if (c->sack_ok) {
      out = c->sb.sacked + c->txq.lost_bytes; /* lost and not resent: left the network */
    } else {
      /* NewReno: every dup ACK is a segment that left; the segment at
       * snd_una is lost until retransmitted. */
      out = c->dupacks * c->mss + (seq_leq(c->rtx_next, una) ? c->mss : 0);
    }
  } else if (!c->sack_ok && c->ca_state == TCP_CA_DISORDER) {
    out = c->dupacks * c->mss; /* limited transmit (RFC 3042) */
  } else {
    out = c->sb.sacked + c->txq.lost_bytes;
  }
  return flight > out ? flight - out : 0;
}

static uint32_t max_burst(const struct us_tcp_sock *c) {
  if (!dev_gso(c->s)) return c->mss;
  uint32_t m = TCP_GSO_MAX - TCP_GSO_MAX % c->mss;
  return m ? m : c->mss;
}

static int can_send_data(const struct us_tcp_sock *c) {
  switch (c->state) {
  case US_TCP_ESTABLISHED: case US_TCP_CLOSE_WAIT: case US_TCP_FIN_WAIT1:
  case US_TCP_CLOSING: case US_TCP_LAST_ACK:
    return c->snd.buf != 0;
  default:
    return 0;
  }
}

/* Why the retransmission being sent goes: what the caller named
 * (rtx_why, US_EV_RTX_* + 1, used once), else what the state implies. */
static int rtx_reason(struct us_tcp_sock *c) {
  int why = c->rtx_why ? c->rtx_why - 1
                       : c->ca_state == TCP_CA_LOSS ? US_EV_RTX_TIMEOUT : US_EV_RTX_FAST;
  c->rtx_why = 0;
  return why;
}

static void sent_seq(struct us_tcp_sock *c, uint32_t seq, uint32_t n, uint8_t flags) {
  uint32_t end = seq + n + !!(flags & TCP_FIN);
  int rtx = seq_lt(seq, c->snd_max);
  tcp_txq_sent(c, seq, end);
  if (c->ca_state == TCP_CA_RECOVERY) /* prr_out (RFC 6937), in segments as Linux */
    c->prr.out += n > c->mss ? (n + c->mss - 1) / c->mss : 1;
  if (rtx) {
    uint32_t nseg = n > c->mss ? (n + c->mss - 1) / c->mss : 1;
    c->total_retrans += nseg;
    c->bytes_retrans += n;
    c->s->counters[US_CNT_TCP_RETRANS] += nseg;
    US_EVENT(c->s, us_ev_tcp_retrans(c, seq, n, rtx_reason(c)));
    if (c->rtt_time && seq_lt(seq, c->rtt_seq)) c->rtt_time = 0; /* Karn */
    if (c->undo_valid && (c->ca_state == TCP_CA_RECOVERY || c->ca_state == TCP_CA_LOSS)) {
      c->undo_retrans += (int32_t)nseg;
      c->undo_any = 1;
    }
    /* Eifel's reference: the first resend since none was out (any resend,
     * a probe's too: its ACK echoes it). */
    if (!c->undo_ts_set) {
      c->undo_tsval = tcp_ts_now(c);
      c->undo_ts_set = 1;
      c->undo_rtx_end = end;
    } else if (seq_gt(end, c->undo_rtx_end)) {
      c->undo_rtx_end = end;
    }
    c->rtx_hi = c->snd_max;
    c->rtx_hi_valid = 1;
  } else {
    c->bytes_sent += n;
  }
  c->rtx_why = 0;
  if (seq_gt(end, c->snd_max)) {
    c->snd_max = end;
    if (!c->rtt_time) {
      c->rtt_time = c->s->now;
      c->rtt_seq = end;
    }
  }
  if (!us_timer_armed(&c->t_rtx)) tcp_rearm_rtx(c);
}

/* Retransmit the next lost range in SACK/NewReno recovery; 1 if sent. */
static int output_recovery(struct us_tcp_sock *c, uint32_t pipe) {
  uint32_t hs, he;
  uint8_t why = TCP_LOST_DUPTHRESH;
  if (c->sack_ok) {
    /* The lowest range RACK judged lost (RFC 8985 6.3). What PRR lets
     * go on this ACK leaves in at least two frames (one per segment for a
     * small step): a lost frame then leaves another whose SACK reveals it
     * (RACK), not the whole step lost with nothing after it to show it -
     * an RTO. */
    uint32_t room = c->cc.cwnd > pipe ? c->cc.cwnd - pipe : 0;
    uint32_t most = room < RTX_SPLIT_SEGS * (uint32_t)c->mss ? c->mss : room / 2;
    most -= most % c->mss;
    if (most > max_burst(c)) most = max_burst(c);
    if (!tcp_txq_next_lost(c, most, &hs, &he, &why)) return 0;
    if (seq_gt(he, hs + most)) he = hs + most;
  } else {
    if (!seq_leq(c->rtx_next, c->snd_una)) return 0;
    hs = c->snd_una;
    he = c->snd_una + c->mss;
  }
  uint32_t data_end = c->snd_buf_seq + c->snd.len;
  uint8_t flags = TCP_ACK;
  int with_fin = c->fin_queued && seq_gt(he, c->fin_seq) && seq_gt(c->snd_max, c->fin_seq);
  if (seq_gt(he, data_end)) he = data_end;
  uint32_t n = he - hs;
  uint32_t room = c->cc.cwnd > pipe ? c->cc.cwnd - pipe : 0;
  if (room < c->mss) room = c->mss;
  if (n > room) n = room - room % c->mss;
  if (n > max_burst(c)) n = max_burst(c);
  if (with_fin && hs + n == c->fin_seq) flags |= TCP_FIN;
  if (n == 0 && !(flags & TCP_FIN)) return 0;
  c->rtx_why = (uint8_t)(1 + (why == TCP_LOST_RACK ? US_EV_RTX_RACK : US_EV_RTX_FAST));
  tcp_xmit(c, hs, n, flags | (n && hs + n == data_end ? TCP_PSH : 0));
  sent_seq(c, hs, n, flags);
  c->rtx_next = hs + n + !!(flags & TCP_FIN);
  return 1;
}

void tcp_output(struct us_tcp_sock *c) {
  struct us_stack *s = c->s;
  int sent = 0;
  if (!can_send_data(c)) goto ack;
  if (c->snd_max == c->snd_una && c->snd_nxt == c->snd_una && c->last_data_tx &&
      s->now - c->last_data_tx > c->rto && c->snd.len)
    tcp_cc_restart(&c->cc, s->now - c->last_data_tx); /* RFC 5681 4.1 */
  for (int guard = 0; guard < 4096; guard++) {
    uint32_t pipe = tcp_pipe(c);
    uint32_t cwnd = c->cc.cwnd;
    /* The fast retransmit itself, and NewReno's retransmission on a
     * partial ACK, go out at once whatever the pipe (RFC 5681 3.2 step 2,
     * RFC 6582 3.2 step 3); the rest of recovery is paced by pipe < cwnd. */
    int must = c->ca_state == TCP_CA_RECOVERY &&
               (c->rtx_first || (!c->sack_ok && seq_leq(c->rtx_next, c->snd_una)));
    if (c->ca_state == TCP_CA_RECOVERY && (must || pipe < cwnd) && output_recovery(c, pipe)) {
      c->rtx_first = 0;
      sent = 1;
      continue;
    }
    uint32_t seq = c->snd_nxt;
    if (seq_lt(seq, c->snd_max)) {
      /* Go-back-N after a timeout: skip what the peer SACKed. */
      const struct tcp_iv *iv = tcp_sb_find(&c->sb, seq);
      if (iv) {
        c->snd_nxt = seq_lt(iv->end, c->snd_max) ? iv->end : c->snd_max;
        continue;
      }
    }
    uint32_t data_end = c->snd_buf_seq + c->snd.len;
    uint32_t avail = seq_lt(seq, data_end) ? data_end - seq : 0;
    int fin_due = c->fin_queued && seq_leq(seq, c->fin_seq);
    if (!avail && !fin_due) { c->cwnd_limited = 0; break; }
    uint32_t wnd_end = c->snd_una + c->snd_wnd;
    uint32_t wnd_room = seq_lt(seq, wnd_end) ? wnd_end - seq : 0;
    uint32_t cwnd_room = pipe < cwnd ? cwnd - pipe : 0;
    uint32_t n = avail;
    if (n > wnd_room) n = wnd_room;
    if (n > cwnd_room) n = cwnd_room;
    if (n > max_burst(c)) n = max_burst(c);
    /* After a timeout, resend at most up to the first SACKed range. */
    if (seq_lt(seq, c->snd_max)) {
      uint32_t nx = tcp_sb_next_start(&c->sb, seq);
      if (nx != seq && nx - seq < n) n = nx - seq;
    }
    if (avail) {
      if (n == 0) {
        c->cwnd_limited = cwnd_room == 0;
        break;
      }
      if (n < c->mss && n < avail) {
        /* Sender SWS avoidance (RFC 9293 3.8.6.2.1): a partial segment only
         * if it is at least half the largest window the peer offered. */
        if (!(c->max_snd_wnd && n >= c->max_snd_wnd / 2 && n == wnd_room)) {
          c->cwnd_limited = cwnd_room < c->mss;
          break;
        }
      }
      if (n == avail && n < c->mss && !fin_due && seq_geq(seq, c->snd_max)) {
        /* A small tail: Nagle holds it while data is unacknowledged, CORK
         * holds it until uncorked. */
        int corked = (c->cork || c->more) && !(c->push_pending && seq_leq(seq + n, c->push_seq));
        if (corked || (!c->nodelay && c->snd_max != c->snd_una)) break;
      }
      if (n > c->mss && n < avail) n -= n % c->mss;
    }
    uint8_t flags = TCP_ACK;
    if (n && seq + n == data_end) flags |= TCP_PSH;
    if (fin_due && seq + n == c->fin_seq && n <= c->mss) flags |= TCP_FIN;
    if (!n && !(flags & TCP_FIN)) break;
    tcp_xmit(c, seq, n, flags);
    sent_seq(c, seq, n, flags);
    c->snd_nxt = seq + n + !!(flags & TCP_FIN);
    sent = 1;
    if (c->ca_state == TCP_CA_OPEN && cwnd_room <= n) c->cwnd_limited = 1;
  }
  /* Data waiting, nothing in flight, nothing sent: the window is zero or
   * too small for SWS avoidance, or the bytes are corked. The persist timer
   * probes or, for a small window, overrides SWS avoidance (RFC 9293
   * 3.8.6.2.1 override timeout); corked bytes go when it fires, as Linux's
   * probe timer sends them (the "200 ms ceiling" of TCP_CORK and MSG_MORE). */
  if (c->push_pending && seq_geq(c->snd_nxt, c->push_seq)) c->push_pending = 0;
  if (c->snd.buf && c->snd_max == c->snd_una &&
      seq_lt(c->snd_nxt, c->snd_buf_seq + c->snd.len))
    tcp_arm_persist(c);
ack:
  if (!sent && c->ack_now) tcp_send_ack(c);
}

/* Queue our FIN after the buffered data (close or shutdown(SHUT_WR)). */
void tcp_sendq_fin(struct us_tcp_sock *c) {
  if (c->fin_queued) return;
  c->fin_queued = 1;
  c->fin_seq = c->snd_buf_seq + c->snd.len;
}
