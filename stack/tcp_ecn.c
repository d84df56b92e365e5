/* Explicit Congestion Notification (RFC 3168) as Linux does it with
 * net.ipv4.tcp_ecn: 1 asks for it in our SYN (ECE|CWR), 1 and 2 accept a
 * peer's request (SYN-ACK with ECE). Once agreed, new data leaves ECT(0);
 * a CE mark on arriving data is echoed with ECE on every ACK until the
 * sender's CWR; an ECE on an ACK reduces cwnd once per window of data
 * (ssthresh as for a loss) and our next new data carries CWR.
 * Retransmissions, pure ACKs and SYNs stay Not-ECT, as in Linux. */
#include "stack/tcp_conn.h"

uint8_t tcp_ecn_syn_flags(const struct us_tcp_sock *c) {
  if (c->state == US_TCP_SYN_RECV) return c->ecn_ok ? TCP_ECE : 0;
  /* A retransmitted SYN drops the request (Linux's tcp_ecn_fallback): a
   * middlebox may have eaten the SYN for its ECN bits. */
  return c->ecn_ok && !c->syn_retries ? TCP_ECE | TCP_CWR : 0;
}

void tcp_ecn_syn_rcvd(struct us_tcp_sock *c, uint8_t ip_tos, uint8_t flags) {
  /* A SYN that is itself ECT or CE came through something that rewrites
   * the field: no ECN (Linux's tcp_ecn_create_request). */
  c->ecn_ok = c->s->tcp->sys.ecn && (flags & (TCP_ECE | TCP_CWR)) == (TCP_ECE | TCP_CWR) &&
              (ip_tos & IPV4_ECN_MASK) == 0;
}

void tcp_ecn_synack_rcvd(struct us_tcp_sock *c, uint8_t flags) {
  if ((flags & (TCP_ECE | TCP_CWR)) != TCP_ECE) c->ecn_ok = 0;
}

void tcp_ecn_rx(struct us_tcp_sock *c, uint8_t ip_tos, uint8_t flags) {
  if (!c->ecn_ok) return;
  if (flags & TCP_CWR) { /* the sender reacted: stop echoing, tell it at once */
    c->ecn_ece = 0;
    c->ack_now = 1;
  }
  if ((ip_tos & IPV4_ECN_MASK) == IPV4_ECN_CE) {
    /* Do not delay the echo: the sender's cwnd may be small (Linux: two
     * quick ACKs when the echo starts). */
    if (!c->ecn_ece && c->quickack < 2) c->quickack = 2;
    c->ecn_ece = 1;
    us_count(c->s, US_CNT_TCP_ECN_CE);
  }
}

int tcp_ecn_ece(struct us_tcp_sock *c, uint8_t flags) {
  if (!c->ecn_ok || !(flags & TCP_ECE) || (flags & TCP_SYN)) return 0;
  /* Already reducing (recovery, a timeout, or an ECE this window). */
  if (c->ca_state != TCP_CA_OPEN && c->ca_state != TCP_CA_DISORDER) return 0;
  /* As Linux's CWR state: held until something above the reduction's
   * snd_max is ACKed, so the CWR (sent at or above it) reached the peer. */
  if (c->ecn_cwr || (c->ecn_reduced && seq_leq(c->snd_una, c->ecn_high))) return 0;
  tcp_cc_enter_recovery(&c->cc, c->s->now);
  c->undo_valid = 0; /* a congestion signal is never undone */
  c->ecn_high = c->snd_max;
  c->ecn_reduced = 1;
  c->ecn_cwr = 1;
  us_count(c->s, US_CNT_TCP_ECN_ECE);
  return 1;
}

uint8_t tcp_ecn_out_flags(struct us_tcp_sock *c, uint32_t len, int retrans) {
  if (!c->ecn_ok) return 0;
  uint8_t f = c->ecn_ece ? TCP_ECE : 0;
  if (len && !retrans && c->ecn_cwr) {
    c->ecn_cwr = 0;
    f |= TCP_CWR;
  }
  return f;
}
