/* Fast recovery: when to enter it (RACK with SACK, RFC 8985; three
 * duplicate ACKs without, RFC 6582 with early retransmit, RFC 5827), how
 * fast to send in it (proportional rate reduction, RFC 6937, as Linux's
 * tcp_cwnd_reduction with PRR-SSRB), and the lost-retransmission check of
 * go-back-N after a timeout. */
#include "stack/tcp_conn.h"

void tcp_enter_recovery(struct us_tcp_sock *c) {
  us_count(c->s, US_CNT_TCP_RECOVERY);
  tcp_undo_begin(c);
  if (c->sack_ok) us_count(c->s, US_CNT_TCP_SACK_RECOVERY);
  c->ca_state = TCP_CA_RECOVERY;
  c->recover = c->snd_max;
  c->rtx_next = c->snd_una;
  c->rtx_first = 1;
  c->lost_out++;
  /* ssthresh now; cwnd follows PRR ACK by ACK (Linux's
   * tcp_init_cwnd_reduction), not a cut to ssthresh at once. */
  c->prr.prior_cwnd = c->cc.cwnd ? c->cc.cwnd : c->mss;
  c->prr.delivered = 0;
  c->prr.out = 0;
  tcp_cc_enter_recovery(&c->cc, c->s->now);
  c->cc.cwnd = c->prr.prior_cwnd;
}

/* Counted in segments, as Linux does: in bytes, the proportional share of
 * one delivered segment (ssthresh/RecoverFS of it) rounds down to nothing
 * and, with no ACK left to come, recovery would stall until the RTO. */
static uint32_t segs(const struct us_tcp_sock *c, uint64_t bytes) {
  return (uint32_t)((bytes + c->mss - 1) / c->mss);
}

void tcp_prr_ack(struct us_tcp_sock *c, uint32_t delivered, uint32_t newly_lost, int una_advanced) {
  if (c->ca_state != TCP_CA_RECOVERY || !delivered) return;
  struct tcp_prr *p = &c->prr;
  uint32_t pipe_bytes = tcp_pipe(c);
  int64_t d = segs(c, delivered), pipe = segs(c, pipe_bytes);
  int64_t ssthresh = c->cc.ssthresh / c->mss, prior = c->prr.prior_cwnd / c->mss, sndcnt;
  if (prior < 1) prior = 1;
  p->delivered += (uint32_t)d;
  if (pipe > ssthresh) {
    /* Proportional part: ssthresh/RecoverFS of what was delivered. */
    sndcnt = (int64_t)(((uint64_t)ssthresh * p->delivered + prior - 1) / prior) - p->out;
  } else {
    /* Slow-start reduction bound (RFC 6937 PRR-SSRB): catch up to
     * ssthresh, no faster than what was delivered plus one segment. Linux
     * since 5.10 adds the segment only on an ACK that advanced snd_una and
     * found nothing newly lost; on the ACK that finds a whole GSO unit
     * lost with nothing else in flight, that leaves one resend, and if it
     * is lost too only the RTO remains (tcp_interop_loss: most of its
     * RTOs). With the RFC's segment, two go, in two frames, and the SACK
     * of one shows the loss of the other (RACK). */
    (void)una_advanced;
    (void)newly_lost;
    int64_t limit = (int64_t)p->delivered - p->out;
    if (limit < d) limit = d;
    limit++;
    sndcnt = ssthresh - pipe < limit ? ssthresh - pipe : limit;
  }
  if (sndcnt < 0) sndcnt = 0;
  if (!p->out && sndcnt < 1) sndcnt = 1; /* the fast retransmit goes at once */
  c->cc.cwnd = pipe_bytes + (uint32_t)sndcnt * c->mss;
}

/* Without SACK: three duplicate ACKs beyond the last recovery point
 * (RFC 6582 4.1), fewer when fewer segments are out and nothing new can
 * be sent (early retransmit, RFC 5827). */
static int dupack_lost(const struct us_tcp_sock *c) {
  uint32_t thresh = c->sb.dupthresh ? c->sb.dupthresh : 3;
  uint32_t out_segs = (c->snd_max - c->snd_una + c->mss - 1) / c->mss;
  int unsent = c->snd.buf && seq_lt(c->snd_max, c->snd_buf_seq + c->snd.len);
  if (out_segs < 4 && !unsent) thresh = out_segs > 1 ? out_segs - 1 : 1;
  return c->dupacks >= thresh && c->dupacks > 0 && seq_geq(c->snd_una, c->recover);
}

void tcp_recovery_detect(struct us_tcp_sock *c, uint32_t delivered, int una_advanced) {
  uint32_t lost = 0;
  if (c->sack_ok && c->ca_state != TCP_CA_LOSS) lost = tcp_rack_detect(c);
  if (c->ca_state == TCP_CA_OPEN || c->ca_state == TCP_CA_DISORDER) {
    int enter = c->sack_ok ? c->txq.lost_bytes != 0 : dupack_lost(c);
    if (enter && c->snd_max != c->snd_una) tcp_enter_recovery(c);
    else c->ca_state = (c->sb.n || c->dupacks) ? TCP_CA_DISORDER : TCP_CA_OPEN;
  }
  if (c->ca_state == TCP_CA_RECOVERY) tcp_prr_ack(c, delivered, lost, una_advanced);
  /* A probe is for a flight with nothing SACKed (Linux's
   * tcp_schedule_loss_probe: CA_Open only); past that, RACK and the RTO. */
  if (c->tlp_pending && (c->ca_state != TCP_CA_OPEN || c->sb.n)) tcp_rearm_rtx(c);
}

/* After a timeout (go-back-N, no send times of use: everything was resent
 * in sequence order). A resend was lost if data resent after it came back
 * SACKed while its hole stays open (RACK, RFC 8985 6.2, with transmission
 * order read from sequence order): resend the holes at once rather than
 * after another, backed-off timeout. */
void tcp_detect_lost_retransmit(struct us_tcp_sock *c) {
  if (c->ca_state != TCP_CA_LOSS || !c->sb.n || !c->sack_ok) return;
  if (c->sack_new && seq_lt(c->snd_una, c->sb.iv[0].start) &&
      seq_gt(c->sack_new_end, c->loss_mark) && seq_lt(c->sack_new_start, c->snd_nxt) &&
      seq_lt(c->loss_mark, c->snd_nxt)) {
    uint32_t mark = seq_min(c->sack_new_start, c->snd_nxt);
    c->loss_mark = c->snd_nxt;
    c->lost_out++;
    us_count(c->s, US_CNT_TCP_LOST_RETRANS);
    tcp_resend_holes(c, mark);
    return;
  }
  if (!c->rtx_hi_valid || !seq_gt(c->sb.iv[c->sb.n - 1].end, c->rtx_hi)) return;
  if (seq_lt(c->snd_una, c->sb.iv[0].start) && seq_gt(c->snd_nxt, c->snd_una)) {
    c->snd_nxt = c->snd_una;
    c->rtx_hi_valid = 0;
    c->lost_out++;
    us_count(c->s, US_CNT_TCP_LOST_RETRANS);
  }
}
