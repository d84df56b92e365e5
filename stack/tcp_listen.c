/* Passive open: the SYN queue (children in SYN-RECEIVED, at most the
 * listener's backlog, about 1 KiB each, no buffers), SYN cookies beyond it
 * (RFC 4987 3.6) so a SYN flood can neither exhaust memory nor lock out
 * real clients, and the accept queue (backlog; a handshake ACK that finds
 * it full is dropped and the SYN-ACK resent later, as Linux). */
#include <errno.h>

#include "stack/tcp_conn.h"

#define COOKIE_PERIOD_SHIFT 26 /* ~67 s per cookie time slot */
static const uint16_t cookie_mss[4] = {536, 1300, 1440, 1460}; /* Linux's msstab */
/* The options a cookie cannot hold in the ISN ride in the low bits of our
 * TSval, which the peer echoes (Linux's cookie_init_timestamp): bits 0-3
 * the peer's window scale (15: none), bit 4 SACK, bit 5 ECN. */
#define COOKIE_TS_BITS 6
#define COOKIE_TS_NO_WS 0xfu
#define COOKIE_TS_SACK 0x10u
#define COOKIE_TS_ECN 0x20u

static uint32_t syn_queue_max(const struct us_tcp_sock *l) {
  uint32_t m = l->backlog < 8 ? 8 : l->backlog;
  return m > 4096 ? 4096 : m;
}

static void inherit(struct us_tcp_sock *c, const struct us_tcp_sock *l) {
  c->rcvbuf = l->rcvbuf;
  c->sndbuf = l->sndbuf;
  c->rcvbuf_set = l->rcvbuf_set;
  c->sndbuf_set = l->sndbuf_set;
  c->nodelay = l->nodelay;
  c->cork = l->cork;
  c->keepalive = l->keepalive;
  c->keepidle = l->keepidle;
  c->keepintvl = l->keepintvl;
  c->keepcnt = l->keepcnt;
  c->user_timeout_ms = l->user_timeout_ms;
  c->user_mss = l->user_mss;
  c->linger = l->linger;
  c->cc_ops = l->cc_ops;
  c->cb = l->cb;
  c->user = l->user;
  c->reuseaddr = l->reuseaddr;
}

uint16_t tcp_local_mss(struct us_tcp_sock *c) {
  uint32_t mtu = ipv4_path_mtu(c->s, c->rip);
  if (mtu < 68) mtu = 576;
  uint32_t m = mtu - 40;
  if (c->user_mss && c->user_mss < m) m = c->user_mss;
  return (uint16_t)m;
}

static struct us_tcp_sock *new_child(struct us_tcp_sock *l, const struct ipv4_rx *ip,
                                     const struct tcp_seg *seg, uint32_t iss) {
  struct us_stack *s = l->s;
  struct us_tcp_sock *c = tcp_conn_alloc(s);
  if (!c) return 0;
  inherit(c, l);
  c->lip = ip->dst;
  c->lport = l->lport;
  c->rip = ip->src;
  c->rport = seg->sport;
  c->listener = l;
  c->passive = 1;
  c->iss = iss;
  c->snd_una = c->snd_nxt = c->snd_max = iss;
  c->snd_buf_seq = iss + 1;
  c->recover = iss;
  c->irs = seg->seq;
  c->rcv_nxt = c->rcv_read = c->rcv_adv = seg->seq + 1;
  c->adv_mss = tcp_local_mss(c);
  c->rcv_wscale = tcp_initial_wscale(c);
  tcp_ecn_syn_rcvd(c, ip->tos, seg->flags);
  c->ts_offset = tcp_ts_offset(&s->tcp->key, c->lip, c->rip);
  c->last_rx = s->now;
  tcp_hash_insert(s->tcp, c);
  tcp_port_insert_after(s->tcp, c, l);
  return c;
}

uint32_t tcp_new_isn(struct us_stack *s, uint32_t lip, uint16_t lport, uint32_t rip,
                     uint16_t rport) {
  struct tcp_state *t = s->tcp;
  if (t->force_isn) {
    t->force_isn = 0;
    return t->forced_isn;
  }
  return tcp_isn(&t->key, lip, lport, rip, rport, s->now);
}

static uint32_t cookie_hash(struct us_stack *s, const struct ipv4_rx *ip,
                            const struct tcp_seg *seg, uint32_t irs, uint32_t slot,
                            uint32_t mssidx) {
  return (uint32_t)tcp_siphash4(&s->tcp->key, (uint64_t)ip->dst << 32 | ip->src,
                                (uint64_t)seg->dport << 16 | seg->sport, irs,
                                (uint64_t)slot << 8 | mssidx) & 0x1ffffff;
}

/* Cookie ISN: 5 bits of time slot, 2 bits of MSS index, 25 bits of keyed
 * hash over the 4-tuple, the peer's ISN, the slot and the MSS index. */
static void send_cookie(struct us_tcp_sock *l, const struct ipv4_rx *ip, const struct tcp_seg *seg) {
  struct us_stack *s = l->s;
  uint16_t pm = (seg->opt.has & TCP_OPT_F_MSS) ? seg->opt.mss : TCP_DEFAULT_MSS;
  uint32_t idx = 0;
  for (uint32_t i = 0; i < 4; i++)
    if (cookie_mss[i] <= pm) idx = i;
  uint32_t slot = (uint32_t)(s->now >> COOKIE_PERIOD_SHIFT);
  uint32_t isn = (slot & 31) << 27 | idx << 25 | cookie_hash(s, ip, seg, seg->seq, slot, idx);
  /* The SYN-ACK offers what a queued child would (tcp_send_syn); without
   * the peer's timestamps nothing but the MSS survives, as on Linux. */
  const struct tcp_state *t = s->tcp;
  int ts = (seg->opt.has & TCP_OPT_F_TS) && t->sys.timestamps;
  int ws = ts && (seg->opt.has & TCP_OPT_F_WS) && t->sys.window_scaling;
  int sack = ts && (seg->opt.has & TCP_OPT_F_SACKOK) && t->sys.sack;
  uint32_t tsval = 0;
  if (ts) {
    uint32_t now = (uint32_t)(s->now / 1000) + tcp_ts_offset(&t->key, ip->dst, ip->src);
    uint32_t bits = (ws ? (seg->opt.wscale > 14 ? 14u : seg->opt.wscale) : COOKIE_TS_NO_WS) |
                    (sack ? COOKIE_TS_SACK : 0);
    tsval = (now >> COOKIE_TS_BITS << COOKIE_TS_BITS) | bits;
    if (seq_gt(tsval, now)) tsval -= 1u << COOKIE_TS_BITS; /* never ahead of our clock */
  }
  uint32_t mtu = ipv4_path_mtu(s, ip->src);
  uint32_t mss = (mtu < 68 ? 576 : mtu) - 40;
  if (l->user_mss && l->user_mss < mss) mss = l->user_mss;
  uint8_t opts[TCP_MAX_OPT_LEN];
  size_t olen = tcp_opts_syn(opts, (uint16_t)mss, ws ? tcp_initial_wscale(l) : -1, sack, ts, tsval,
                             seg->opt.tsval);
  us_count(s, US_CNT_TCP_SYNCOOKIE_SENT);
  tcp_xmit_raw(s, ip->dst, ip->src, seg->dport, seg->sport, isn, seg->seq + 1,
               TCP_SYN | TCP_ACK, 65535, opts, (uint32_t)olen);
}

/* The options a cookie's TSval carried back in the peer's TSecr (Linux's
 * cookie_timestamp_decode); 0 if they name something this stack turned off. */
static int cookie_opts(struct us_tcp_sock *c, const struct tcp_seg *seg) {
  const struct tcp_state *t = c->s->tcp;
  c->ws_ok = c->sack_ok = c->ts_ok = 0;
  c->snd_wscale = c->rcv_wscale = 0;
  if (!(seg->opt.has & TCP_OPT_F_TS)) return 1; /* MSS only */
  if (!t->sys.timestamps) return 0;
  uint32_t bits = seg->opt.tsecr & ((1u << COOKIE_TS_BITS) - 1);
  c->ts_ok = 1;
  c->ts_recent = seg->opt.tsval;
  c->ts_recent_stamp = c->s->now;
  c->sack_ok = (bits & COOKIE_TS_SACK) != 0;
  if (c->sack_ok && !t->sys.sack) return 0;
  if ((bits & COOKIE_TS_NO_WS) == COOKIE_TS_NO_WS) return 1;
  if (!t->sys.window_scaling) return 0;
  c->ws_ok = 1;
  c->snd_wscale = (uint8_t)(bits & COOKIE_TS_NO_WS);
  c->rcv_wscale = tcp_initial_wscale(c->listener);
  return 1;
}

static struct us_tcp_sock *check_cookie(struct us_tcp_sock *l, const struct ipv4_rx *ip,
                                        const struct tcp_seg *seg, int *full) {
  struct us_stack *s = l->s;
  uint32_t cookie = seg->ack - 1, irs = seg->seq - 1;
  uint32_t idx = cookie >> 25 & 3, now_slot = (uint32_t)(s->now >> COOKIE_PERIOD_SHIFT);
  for (uint32_t back = 0; back < 2; back++) {
    uint32_t slot = now_slot - back;
    if ((slot & 31) != cookie >> 27) continue;
    if (cookie_hash(s, ip, seg, irs, slot, idx) != (cookie & 0x1ffffff)) continue;
    if (l->acc_len >= l->backlog) {
      us_count(s, US_CNT_TCP_ACCEPTQ_FULL);
      *full = 1; /* valid: drop quietly, the client's retransmission retries */
      return 0;
    }
    struct tcp_seg syn = *seg;
    syn.seq = irs;
    struct us_tcp_sock *c = new_child(l, ip, &syn, cookie);
    if (!c || tcp_alloc_bufs(c) < 0) {
      if (c) tcp_done(c);
      us_count(s, US_CNT_TCP_DROP_NOMEM);
      return 0;
    }
    us_count(s, US_CNT_TCP_SYNCOOKIE_OK);
    US_EVENT(s, us_ev_tcp_state(c, US_TCP_LISTEN, US_TCP_SYN_RECV));
    c->state = US_TCP_SYN_RECV;
    l->syn_len++;
    c->peer_mss = cookie_mss[idx];
    if (!cookie_opts(c, seg)) {
      tcp_done(c);
      us_count(s, US_CNT_TCP_SYNCOOKIE_BAD);
      return 0;
    }
    tcp_update_mss(c);
    c->rcv_mss = c->adv_mss - (c->ts_ok ? 12 : 0);
    c->snd_nxt = c->snd_max = cookie + 1;
    c->rcv_adv = c->rcv_nxt + 65535;
    return c;
  }
  us_count(s, US_CNT_TCP_SYNCOOKIE_BAD);
  return 0;
}

void tcp_listen_input(struct us_tcp_sock *l, const struct ipv4_rx *ip, struct tcp_seg *seg) {
  struct us_stack *s = l->s;
  if (seg->flags & TCP_RST) return;
  if (seg->flags & TCP_ACK) {
    if (!(seg->flags & TCP_SYN)) {
      int full = 0;
      struct us_tcp_sock *c = check_cookie(l, ip, seg, &full);
      if (c) {
        tcp_conn_input(c, ip, seg);
        return;
      }
      if (full) return;
    }
    tcp_reply_rst(s, ip, seg);
    return;
  }
  if (!(seg->flags & TCP_SYN)) return;
  if (l->syn_len >= syn_queue_max(l)) {
    us_count(s, US_CNT_TCP_SYNQ_DROP);
    send_cookie(l, ip, seg);
    return;
  }
  uint32_t iss = tcp_new_isn(s, ip->dst, seg->dport, ip->src, seg->sport);
  struct us_tcp_sock *c = new_child(l, ip, seg, iss);
  if (!c) {
    send_cookie(l, ip, seg);
    return;
  }
  us_count(s, US_CNT_TCP_PASSIVE_OPEN);
  l->syn_len++;
  US_EVENT(s, us_ev_tcp_state(c, US_TCP_LISTEN, US_TCP_SYN_RECV));
  c->state = US_TCP_SYN_RECV;
  tcp_apply_syn_opts(c, seg);
  c->snd_wnd = seg->win; /* never scaled in a SYN */
  tcp_cc_init(&c->cc, c->cc_ops, c->mss);
  c->rtx_start = s->now;
  tcp_send_syn(c);
}

void tcp_child_established(struct us_tcp_sock *c) {
  struct us_tcp_sock *l = c->listener;
  l->syn_len--;
  c->in_accq = 1;
  c->acc_next = 0;
  if (l->acc_tail) l->acc_tail->acc_next = c;
  else l->acc_head = c;
  l->acc_tail = c;
  l->acc_len++;
  tcp_event(l, US_TCP_EV_ACCEPT | US_TCP_EV_READABLE);
}

void tcp_child_unlink(struct us_tcp_sock *c) {
  struct us_tcp_sock *l = c->listener;
  if (!l) return;
  if (c->in_accq) {
    struct us_tcp_sock **pp = &l->acc_head, *prev = 0;
    while (*pp && *pp != c) { prev = *pp; pp = &(*pp)->acc_next; }
    if (*pp) {
      *pp = c->acc_next;
      if (l->acc_tail == c) l->acc_tail = prev;
      l->acc_len--;
    }
    c->in_accq = 0;
  } else {
    l->syn_len--;
  }
  c->listener = 0;
}

/* Closing a listener resets every connection it still owns. */
void tcp_listen_close(struct us_tcp_sock *l) {
  struct tcp_state *t = l->s->tcp;
  struct us_tcp_sock *c = t->all;
  while (c) {
    struct us_tcp_sock *n = c->all_next;
    if (c->listener == l) {
      if (c->state != US_TCP_SYN_RECV || c->snd.buf) tcp_send_rst(c);
      tcp_child_unlink(c);
      tcp_done(c);
    }
    c = n;
  }
  l->acc_head = l->acc_tail = 0;
  l->acc_len = l->syn_len = 0;
}
