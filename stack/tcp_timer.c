/* TCP timers: retransmission (RFC 6298: Karn, exponential backoff, initial
 * 1 s, minimum 200 ms as Linux), delayed ACK (at most 40 ms), persist
 * (zero-window probes), keepalive, FIN-WAIT-2 and TIME-WAIT (2*MSL), and
 * TCP_USER_TIMEOUT. */
#include <errno.h>
#include <stddef.h>

#include "stack/tcp_conn.h"

#define CONN_OF(t, field) ((struct us_tcp_sock *)((char *)(t) - offsetof(struct us_tcp_sock, field)))

static void rto_expired(struct us_tcp_sock *c) {
  struct us_stack *s = c->s;
  if (c->state == US_TCP_SYN_SENT || c->state == US_TCP_SYN_RECV) {
    const struct us_tcp_sysctls *v = &s->tcp->sys; /* read when it fires, as Linux */
    int limit = c->state == US_TCP_SYN_SENT ? v->syn_retries : v->synack_retries;
    if (c->syn_retries >= limit ||
        (c->user_timeout_ms && s->now - c->rtx_start >= US_MS(c->user_timeout_ms))) {
      us_count(s, US_CNT_TCP_TIMEOUT);
      tcp_fail(c, c->soft_error ? c->soft_error : ETIMEDOUT);
      return;
    }
    c->syn_retries++;
    c->backoff++;
    c->rto = c->rto * 2 > TCP_RTO_MAX ? TCP_RTO_MAX : c->rto * 2;
    c->rtt_time = 0;
    us_count(s, US_CNT_TCP_RTO);
    c->total_retrans++;
    us_count(s, US_CNT_TCP_RETRANS);
    US_EVENT(s, us_ev_tcp_retrans(c, c->iss, 0, US_EV_RTX_SYN));
    tcp_send_syn(c);
    tcp_rearm_rtx(c);
    return;
  }
  if (c->snd_max == c->snd_una) return;
  /* TCP_USER_TIMEOUT as Linux (retransmits_timed_out): measured from the
   * first timeout's retransmission (retrans_stamp), checked once one was
   * sent since the last forward ACK; the clock runs until what the
   * timeouts resent is acknowledged. */
  if (c->retransmits >= s->tcp->sys.retries2 ||
      (c->user_timeout_ms && c->retransmits && c->rtx_start &&
       s->now - c->rtx_start >= US_MS(c->user_timeout_ms))) {
    us_count(s, US_CNT_TCP_TIMEOUT);
    tcp_fail(c, c->soft_error ? c->soft_error : ETIMEDOUT);
    return;
  }
  us_count(s, US_CNT_TCP_RTO);
  c->tlp_out = 0;
  tcp_txq_clear_lost(c); /* go-back-N resends every hole, in order */
  c->sb.dupthresh = 0; /* waiting for reordering cost a timeout: back to 3 */
  int first = c->ca_state != TCP_CA_LOSS;
  if (first) tcp_undo_begin(c);
  tcp_cc_on_rto(&c->cc, s->now, first);
  c->ca_state = TCP_CA_LOSS;
  c->recover = c->snd_max;
  c->snd_nxt = c->snd_una;
  c->dupacks = 0;
  /* The scoreboard is kept (as Linux): go-back-N skips what was SACKed. A
   * receiver that reneged still gets everything: SACKed data is only
   * skipped until the cumulative ACK says otherwise, and a second timeout
   * with no progress forgets the scoreboard. */
  if (c->retransmits >= 1) {
    tcp_sb_clear(&c->sb);
    tcp_txq_clear_sacked(c);
  }
  c->rtt_time = 0;      /* Karn: nothing in flight may be timed */
  c->retransmits++;
  c->backoff++;
  c->rto = c->rto * 2 > TCP_RTO_MAX ? TCP_RTO_MAX : c->rto * 2;
  c->lost_out++;
  if (!c->rtx_start) c->rtx_start = s->now;
  tcp_output(c);
  c->loss_mark = c->snd_nxt;
  tcp_rearm_rtx(c);
}

/* Tail loss probe (RFC 8985 7): a loss at the end of a flight produces no
 * duplicate ACKs, so after 2*SRTT send one segment to draw a SACK that
 * lets RACK find the loss, instead of waiting for the RTO: new data if the
 * window allows, else the highest-sequence segment not SACKed (RFC 8985
 * 7.3; never data the receiver holds). */
static void tlp_fire(struct us_tcp_sock *c) {
  c->tlp_pending = 0;
  if (c->ca_state != TCP_CA_OPEN || c->sb.n) { /* a SACK came since it was armed */
    tcp_rearm_rtx(c);
    return;
  }
  us_count(c->s, US_CNT_TCP_TLP);
  c->tlp_retrans = 0;
  if (!tcp_send_forced(c)) {
    uint32_t start, end;
    if (tcp_txq_last_unsacked(c, &start, &end)) {
      uint32_t data_end = c->snd_buf_seq + c->snd.len;
      if (seq_gt(end, data_end)) end = data_end; /* the FIN goes with it (tcp_send_range) */
      if (seq_gt(start, end)) start = end;
      c->tlp_retrans = 1;
      c->tlp_rtx_seq = start;
      c->rtx_why = 1 + US_EV_RTX_TLP;
      if (seq_lt(start, end)) tcp_send_range(c, start, end - start);
      else if (c->fin_queued && c->snd_max == c->fin_seq + 1) tcp_send_range(c, c->fin_seq, 0);
      c->rtx_why = 0;
    }
  }
  c->tlp_out = 1;
  c->tlp_high = c->snd_max;
  tcp_rearm_rtx(c);
}

static void rtx_fire(struct us_stack *s, struct us_timer *t) {
  struct us_tcp_sock *c = CONN_OF(t, t_rtx);
  tcp_enter(s);
  if (c->rack.timer) tcp_rack_timeout(c);
  else if (c->tlp_pending) tlp_fire(c);
  else rto_expired(c);
  tcp_leave(s);
}

static void delack_fire(struct us_stack *s, struct us_timer *t) {
  struct us_tcp_sock *c = CONN_OF(t, t_delack);
  tcp_enter(s);
  if (c->unacked_bytes || c->ack_now) tcp_send_ack(c);
  tcp_leave(s);
}

static void persist_fire(struct us_stack *s, struct us_timer *t) {
  struct us_tcp_sock *c = CONN_OF(t, t_persist);
  tcp_enter(s);
  if (c->snd.buf && c->snd_max == c->snd_una &&
      seq_lt(c->snd_nxt, c->snd_buf_seq + c->snd.len)) {
    if (c->snd_wnd == 0) {
      /* As Linux's tcp_probe_timer: a window closed for TCP_USER_TIMEOUT
       * since the first probe ends the connection, answered probes or not. */
      if (!c->probe_start) {
        c->probe_start = s->now;
      } else if (c->user_timeout_ms && s->now - c->probe_start >= US_MS(c->user_timeout_ms)) {
        us_count(s, US_CNT_TCP_TIMEOUT);
        tcp_fail(c, ETIMEDOUT);
        tcp_leave(s);
        return;
      }
      us_count(s, US_CNT_TCP_ZWP);
      if (c->persist_backoff < 255) c->persist_backoff++;
      tcp_send_probe(c);
      tcp_arm_persist(c);
    } else {
      c->persist_backoff = 0;
      tcp_send_forced(c);
    }
  } else {
    c->persist_backoff = 0;
    tcp_output(c);
  }
  tcp_leave(s);
}

static void keep_fire(struct us_stack *s, struct us_timer *t) {
  struct us_tcp_sock *c = CONN_OF(t, t_keep);
  tcp_enter(s);
  switch (c->state) {
  case US_TCP_TIME_WAIT:
  case US_TCP_FIN_WAIT2: /* FIN-WAIT-2 timeout: the peer never closed */
    tcp_done(c);
    break;
  case US_TCP_ESTABLISHED:
  case US_TCP_CLOSE_WAIT:
    if (!c->keepalive) break;
    if (c->snd_max != c->snd_una) { tcp_rearm_keepalive(c); break; } /* RTO covers it */
    if (s->now - c->last_rx >= tcp_keepidle(c)) {
      if (c->probes >= tcp_keepcnt(c)) {
        us_count(s, US_CNT_TCP_TIMEOUT);
        tcp_fail(c, ETIMEDOUT);
        break;
      }
      c->probes++;
      us_count(s, US_CNT_TCP_KEEPALIVE);
      tcp_send_probe(c);
      us_timer_arm(s, &c->t_keep, s->now + tcp_keepintvl(c));
    } else {
      tcp_rearm_keepalive(c);
    }
    break;
  default:
    break;
  }
  tcp_leave(s);
}

void tcp_timers_init(struct us_tcp_sock *c) {
  us_timer_init(&c->t_rtx, rtx_fire);
  us_timer_init(&c->t_delack, delack_fire);
  us_timer_init(&c->t_persist, persist_fire);
  us_timer_init(&c->t_keep, keep_fire);
}

void tcp_timers_stop(struct us_tcp_sock *c) {
  us_timer_cancel(c->s, &c->t_rtx);
  us_timer_cancel(c->s, &c->t_delack);
  us_timer_cancel(c->s, &c->t_persist);
  us_timer_cancel(c->s, &c->t_keep);
}

void tcp_rearm_rtx(struct us_tcp_sock *c) {
  us_time_t when = c->s->now + c->rto;
  c->tlp_pending = 0;
  c->rack.timer = 0;
  /* Only with nothing SACKed (Linux: CA_Open; RFC 8985 7.2): otherwise
   * RACK's reordering timer covers the flight. */
  if (c->sack_ok && c->srtt_us && !c->tlp_out && c->snd_max != c->snd_una &&
      c->ca_state == TCP_CA_OPEN && !c->sb.n &&
      (c->state == US_TCP_ESTABLISHED || c->state == US_TCP_CLOSE_WAIT ||
       c->state == US_TCP_FIN_WAIT1 || c->state == US_TCP_LAST_ACK || c->state == US_TCP_CLOSING)) {
    /* PTO = 2*SRTT, plus the peer's delayed-ACK allowance when a single
     * segment is out (RFC 8985 7.2), else Linux's two-tick margin
     * (TCP_TIMEOUT_MIN): on a sub-millisecond path a flat 10 ms floor
     * idles the sender for dozens of round trips at each tail loss. */
    us_time_t pto = 2 * (us_time_t)c->srtt_us;
    if (c->snd_max - c->snd_una <= c->mss) pto += TCP_RTO_MIN;
    else pto += TCP_PTO_MARGIN;
    /* A probe later than the RTO goes at the RTO's time instead of it
     * (as Linux): one segment resent without collapsing cwnd, and the
     * full RTO still follows if the probe draws nothing. */
    if (pto > c->rto) pto = c->rto;
    when = c->s->now + pto;
    c->tlp_pending = 1;
  }
  /* Never sleep past TCP_USER_TIMEOUT (as Linux clamps the RTO to it). */
  if (c->user_timeout_ms && c->rtx_start) {
    us_time_t dl = c->rtx_start + US_MS(c->user_timeout_ms);
    if (dl > c->s->now && dl < when) when = dl;
  }
  us_timer_arm(c->s, &c->t_rtx, when);
}

/* RFC 6298 2.2/2.3, with Linux's floor: RTO = SRTT + max(4*RTTVAR, 200 ms). */
void tcp_rtt_sample(struct us_tcp_sock *c, us_time_t rtt) {
  if (rtt > US_SEC(60)) return;
  uint32_t r = (uint32_t)(rtt ? rtt : 1);
  if (!c->min_rtt_us || r < c->min_rtt_us) c->min_rtt_us = r;
  if (!c->srtt_us) {
    c->srtt_us = r;
    c->rttvar_us = r / 2;
  } else {
    uint32_t d = c->srtt_us > r ? c->srtt_us - r : r - c->srtt_us;
    c->rttvar_us = (3 * c->rttvar_us + d) / 4;
    c->srtt_us = (7 * c->srtt_us + r) / 8;
  }
  tcp_set_rto(c);
  US_EVENT(c->s, us_ev_tcp_rtt(c, r));
}

void tcp_set_rto(struct us_tcp_sock *c) {
  if (!c->srtt_us) return;
  us_time_t var = 4 * (us_time_t)c->rttvar_us;
  if (var < TCP_RTO_MIN) var = TCP_RTO_MIN;
  us_time_t rto = c->srtt_us + var;
  if (rto > TCP_RTO_MAX) rto = TCP_RTO_MAX;
  c->rto = rto;
  c->backoff = 0;
}

void tcp_schedule_delack(struct us_tcp_sock *c) {
  if (!us_timer_armed(&c->t_delack))
    us_timer_arm(c->s, &c->t_delack, c->s->now + TCP_DELACK_MAX);
}

void tcp_rearm_keepalive(struct us_tcp_sock *c) {
  if (!c->keepalive) {
    if (c->state == US_TCP_ESTABLISHED || c->state == US_TCP_CLOSE_WAIT)
      us_timer_cancel(c->s, &c->t_keep);
    return;
  }
  if (c->state != US_TCP_ESTABLISHED && c->state != US_TCP_CLOSE_WAIT) return;
  us_timer_arm(c->s, &c->t_keep, c->last_rx + tcp_keepidle(c));
}

void tcp_enter_timewait(struct us_tcp_sock *c) {
  tcp_set_state(c, US_TCP_TIME_WAIT);
  us_timer_cancel(c->s, &c->t_rtx);
  us_timer_cancel(c->s, &c->t_persist);
  us_timer_cancel(c->s, &c->t_delack);
  if (!c->app_ref) tcp_free_bufs(c); /* TIME-WAIT keeps only the control block */
  us_timer_arm(c->s, &c->t_keep, c->s->now + tcp_msl2_time(c->s));
}

void tcp_arm_persist(struct us_tcp_sock *c) {
  if (us_timer_armed(&c->t_persist)) return;
  us_time_t rto = c->srtt_us ? c->rto : TCP_RTO_INIT;
  us_time_t when = rto << (c->persist_backoff < 10 ? c->persist_backoff : 10);
  if (when > TCP_RTO_MAX) when = TCP_RTO_MAX;
  if (when < TCP_RTO_MIN) when = TCP_RTO_MIN;
  if (c->user_timeout_ms && c->probe_start) { /* Linux: tcp_clamp_probe0_to_user_timeout */
    us_time_t end = c->probe_start + US_MS(c->user_timeout_ms);
    us_time_t left = end > c->s->now ? end - c->s->now : 0;
    if (left < TCP_PTO_MARGIN) left = TCP_PTO_MARGIN;
    if (left < when) when = left;
  }
  us_timer_arm(c->s, &c->t_persist, c->s->now + when);
}
