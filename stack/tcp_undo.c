/* Undoing a congestion response that proved unnecessary. A loss episode
 * (fast recovery or a timeout) saves the congestion state before it cuts
 * cwnd; if every retransmission of the episode turns out spurious, the
 * state comes back, as Linux's tcp_try_undo_recovery/_loss/_dsack do:
 *   - Eifel detection (RFC 3522): an ACK that moves snd_una echoes a
 *     timestamp older than our first retransmission, so the original, not
 *     the resend, reached the receiver (the segment was late, not lost);
 *   - D-SACK detection (RFC 3708): the receiver reported a duplicate for
 *     every segment resent in the episode.
 * The response is RFC 4015's in spirit and Linux's in detail: cwnd and
 * ssthresh go back to at least what they were, and when a fast recovery
 * was undone the reordering it met raises the duplicate threshold
 * (Linux's tp->reordering), so the same reordering is not taken for loss
 * again. */
#include "stack/tcp_conn.h"

#define TCP_REORDER_MAX 300 /* segments, as Linux's tcp_max_reordering */

void tcp_undo_begin(struct us_tcp_sock *c) {
  /* A timeout inside an episode keeps the state from before the episode. */
  if (c->undo_valid && (c->ca_state == TCP_CA_RECOVERY || c->ca_state == TCP_CA_LOSS)) return;
  c->undo_valid = 1;
  c->undo_any = 0;
  c->undo_retrans = 0;
  /* undo_tsval stays while resends of an earlier episode may be out: an
   * ACK for one of them echoes a timestamp older than this episode's first
   * resend and would pass for proof (Linux keeps retrans_stamp so too). */
  c->undo_marker = c->snd_una;
  c->undo_cc = c->cc;
  c->undo_fack = c->sb.n ? c->sb.iv[c->sb.n - 1].end : c->snd_una;
}

static int eifel_spurious(const struct us_tcp_sock *c, const struct tcp_seg *seg) {
  return c->ts_ok && (seg->opt.has & TCP_OPT_F_TS) && seg->opt.tsecr &&
         seq_lt(seg->opt.tsecr, c->undo_tsval);
}

int tcp_undo_try(struct us_tcp_sock *c, const struct tcp_seg *seg, int advanced_in_episode) {
  if (c->undo_ts_set && seq_geq(c->snd_una, c->undo_rtx_end)) c->undo_ts_set = 0; /* none out */
  if (!c->undo_valid || !c->undo_any) return 0;
  if (c->undo_retrans > 0 &&
      !(advanced_in_episode && c->undo_ts_set && eifel_spurious(c, seg)))
    return 0;
  us_count(c->s, US_CNT_TCP_UNDO);
  c->undos++;
  tcp_cc_undo(&c->cc, &c->undo_cc);
  if (c->ca_state == TCP_CA_RECOVERY || c->ca_state == TCP_CA_OPEN ||
      c->ca_state == TCP_CA_DISORDER) {
    /* How far SACKs ran ahead of the segment that was only late. */
    uint32_t t = c->sb.dupthresh ? c->sb.dupthresh : 3;
    uint32_t want = (c->undo_fack - c->undo_marker) / c->mss + 1;
    if (want > TCP_REORDER_MAX) want = TCP_REORDER_MAX;
    if (want > t) c->sb.dupthresh = (uint16_t)want;
  }
  /* Nothing is lost: no more resends of this episode, go-back-N included. */
  if (c->ca_state == TCP_CA_LOSS) c->snd_nxt = c->snd_max;
  c->ca_state = c->sb.n ? TCP_CA_DISORDER : TCP_CA_OPEN;
  tcp_txq_clear_lost(c);
  c->rtx_hi_valid = 0;
  c->dupacks = 0;
  c->undo_valid = 0;
  return 1;
}
