/* The socket API (tcp_sock.h): what the shim calls. Every entry point runs
 * between tcp_enter/tcp_leave so events reach callbacks only once the stack
 * is consistent, and frees happen after the outermost call returns. */
#include <errno.h>
#include <string.h>

#include "stack/tcp_conn.h"

#define API_ENTER(c) tcp_enter((c)->s)
#define API_LEAVE(c) tcp_leave((c)->s)

struct us_tcp_sock *us_tcp_socket(struct us_stack *s, us_tcp_event_fn cb, void *user) {
  if (!s->tcp) return 0;
  struct us_tcp_sock *c = tcp_conn_alloc(s);
  if (!c) return 0;
  c->app_ref = 1;
  c->cb = cb;
  c->user = user;
  return c;
}

void us_tcp_set_callback(struct us_tcp_sock *t, us_tcp_event_fn cb, void *user) {
  t->cb = cb;
  t->user = user;
}

void *us_tcp_user(const struct us_tcp_sock *t) { return t->user; }

int us_tcp_bind(struct us_tcp_sock *c, uint32_t ip, uint16_t port) {
  struct tcp_state *t = c->s->tcp;
  if (c->lport || c->state != US_TCP_CLOSE) return -EINVAL;
  if (ip && ip != c->s->cfg.ip) return -EADDRNOTAVAIL;
  if (!port) {
    uint32_t lo = t->sys.port_lo, range = t->sys.port_hi - lo + 1u;
    uint32_t off = (uint32_t)us_rand64(c->s);
    for (uint32_t i = 0; i < range && !port; i++) {
      uint16_t p = (uint16_t)(lo + (off + i) % range);
      if (!tcp_port_conflict(t, c, ip, p)) port = p;
    }
    if (!port) return -EADDRINUSE;
  } else if (tcp_port_conflict(t, c, ip, port)) {
    return -EADDRINUSE;
  }
  c->lip = ip;
  c->lport = port;
  tcp_port_insert(t, c);
  return 0;
}

int us_tcp_listen(struct us_tcp_sock *c, int backlog) {
  if (c->state == US_TCP_LISTEN) {
    c->backlog = backlog < 1 ? 1 : backlog > 4096 ? 4096 : (uint32_t)backlog;
    return 0;
  }
  if (c->state != US_TCP_CLOSE || c->hashed) return -EINVAL;
  if (!c->lport) {
    int rc = us_tcp_bind(c, 0, 0);
    if (rc) return rc;
  }
  struct us_tcp_sock *o = tcp_lookup_listener(c->s->tcp, c->lip, c->lport);
  if (o && o != c && (o->lip == c->lip || !o->lip || !c->lip)) return -EADDRINUSE;
  c->backlog = backlog < 1 ? 1 : backlog > 4096 ? 4096 : (uint32_t)backlog;
  c->state = US_TCP_LISTEN;
  tcp_port_listening(c->s->tcp, c, 1);
  return 0;
}

struct us_tcp_sock *us_tcp_accept(struct us_tcp_sock *l, int *err) {
  if (l->state != US_TCP_LISTEN) {
    if (err) *err = -EINVAL;
    return 0;
  }
  struct us_tcp_sock *c = l->acc_head;
  if (!c) {
    if (err) *err = -EAGAIN;
    return 0;
  }
  API_ENTER(l);
  tcp_child_unlink(c);
  c->app_ref = 1;
  if (c->rcv.len || c->fin_rcvd) tcp_event(c, US_TCP_EV_READABLE);
  if (c->state == US_TCP_ESTABLISHED || c->state == US_TCP_CLOSE_WAIT)
    tcp_event(c, US_TCP_EV_WRITABLE);
  API_LEAVE(l);
  if (err) *err = 0;
  return c;
}

/* A socket whose earlier connect failed may connect again (as on Linux):
 * forget everything of the old attempt but the options and the binding. */
static void reset_for_connect(struct us_tcp_sock *c) {
  c->snd.head = c->snd.len = 0;
  c->rcv.head = c->rcv.len = 0;
  c->fatal_error = c->so_error = c->soft_error = 0;
  c->fin_queued = c->fin_acked = c->fin_rcvd = c->ooo_fin = 0;
  c->rd_shut = c->wr_shut = 0;
  c->ws_ok = c->sack_ok = c->ts_ok = 0;
  c->snd_wnd = c->max_snd_wnd = c->snd_wl1 = c->snd_wl2 = 0;
  c->ca_state = TCP_CA_OPEN;
  c->dupacks = c->retransmits = c->backoff = c->probes = c->syn_retries = 0;
  c->srtt_us = c->rttvar_us = c->min_rtt_us = 0;
  c->rtt_time = 0;
  c->rtx_hi_valid = 0;
  c->ooo.n = 0;
  c->ooo.has_last = 0;
  tcp_sb_clear(&c->sb);
  tcp_txq_reset(c);
  c->cc.ops = 0;
  c->quickack = TCP_QUICKACKS;
  c->ack_now = 0;
  c->unacked_bytes = 0;
  c->peer_mss = 0;
  c->ecn_ok = c->ecn_ece = c->ecn_cwr = c->ecn_reduced = 0;
  c->rcvq_space = 0;
}

int us_tcp_connect(struct us_tcp_sock *c, uint32_t ip, uint16_t port) {
  struct us_stack *s = c->s;
  struct tcp_state *t = s->tcp;
  switch (c->state) {
  case US_TCP_CLOSE: break;
  case US_TCP_SYN_SENT: case US_TCP_SYN_RECV: return -EALREADY;
  case US_TCP_LISTEN: return -EINVAL;
  default: return -EISCONN;
  }
  if (c->hashed) return -EISCONN;
  if (!ip || !port) return -EINVAL;
  c->rip = ip;
  c->rport = port;
  if (!c->lip) c->lip = s->cfg.ip;
  if (!c->lport || (c->autobind && !c->port_hashed)) { /* unbound, or let go (tcp_fail) */
    int rc = tcp_pick_port(t, c);
    if (rc) return rc;
    tcp_port_insert(t, c);
  } else if (tcp_lookup(t, c->lip, c->lport, ip, port)) {
    return -EADDRNOTAVAIL;
  }
  if (tcp_alloc_bufs(c) < 0) return -ENOBUFS;
  API_ENTER(c);
  reset_for_connect(c);
  c->iss = tcp_new_isn(s, c->lip, c->lport, ip, port);
  c->snd_una = c->snd_nxt = c->snd_max = c->iss;
  c->snd_buf_seq = c->iss + 1;
  c->recover = c->iss;
  c->adv_mss = tcp_local_mss(c);
  c->mss = c->adv_mss;
  c->rcv_wscale = t->sys.window_scaling ? tcp_initial_wscale(c) : 0;
  c->ts_offset = tcp_ts_offset(&t->key, c->lip, c->rip);
  c->ecn_ok = t->sys.ecn == 1; /* asked for in the SYN; the SYN-ACK decides */
  c->rto = TCP_RTO_INIT;
  US_EVENT(s, us_ev_tcp_state(c, US_TCP_CLOSE, US_TCP_SYN_SENT));
  c->state = US_TCP_SYN_SENT;
  c->rtx_start = s->now;
  c->last_rx = s->now;
  tcp_hash_insert(t, c);
  us_count(s, US_CNT_TCP_ACTIVE_OPEN);
  tcp_send_syn(c);
  API_LEAVE(c);
  return -EINPROGRESS;
}

/* The error that ended the connection is reported once, then EPIPE/EOF. */
static int take_fatal(struct us_tcp_sock *c) {
  int e = c->fatal_error;
  c->fatal_error = 0;
  c->so_error = 0;
  return e;
}

ssize_t us_tcp_send(struct us_tcp_sock *c, const void *buf, size_t len) {
  if (c->fatal_error) return -take_fatal(c);
  if (c->wr_shut || c->fin_queued) return -EPIPE;
  switch (c->state) {
  case US_TCP_ESTABLISHED: case US_TCP_CLOSE_WAIT: break;
  case US_TCP_SYN_SENT: case US_TCP_SYN_RECV: return -EAGAIN;
  case US_TCP_CLOSE: return c->hashed || c->snd.buf ? -EPIPE : -ENOTCONN;
  case US_TCP_LISTEN: return -ENOTCONN;
  default: return -EPIPE;
  }
  if (!len) return 0;
  uint32_t space = (uint32_t)us_tcp_send_space(c);
  if (!space) return -EAGAIN;
  uint32_t n = len < space ? (uint32_t)len : space;
  API_ENTER(c);
  tcp_ring_write(&c->snd, c->snd.len, buf, n);
  c->snd.len += n;
  tcp_output(c);
  API_LEAVE(c);
  return n;
}

/* The send buffer starts at tcp_wmem[1] and, unless SO_SNDBUF fixed it,
 * grows when it is full to twice the congestion window (at least 10
 * segments) up to tcp_wmem[2]: Linux's tcp_sndbuf_expand, counted in payload
 * bytes (Linux's 2 * segments * per-segment truesize holds as much payload). */
static void sndbuf_expand(struct us_tcp_sock *c) {
  if (c->sndbuf_set || tcp_snd_room(c) || !c->mss) return;
  uint32_t segs = c->cc.cwnd / c->mss;
  if (segs < 10) segs = 10;
  uint64_t want = 2ull * segs * c->mss;
  uint32_t max = c->s->tcp->sys.wmem[2];
  if (want > max) want = max;
  if (want > c->snd.cap && tcp_ring_grow(&c->snd, (uint32_t)want) == 0) c->sndbuf = c->snd.cap;
}

size_t us_tcp_send_space(struct us_tcp_sock *c) {
  if (c->state != US_TCP_ESTABLISHED && c->state != US_TCP_CLOSE_WAIT) return 0;
  if (c->wr_shut || c->fin_queued || !c->snd.buf) return 0;
  sndbuf_expand(c);
  return tcp_snd_room(c);
}

size_t us_tcp_readable(const struct us_tcp_sock *c) { return c->rcv.buf ? c->rcv.len : 0; }

int us_tcp_eof(const struct us_tcp_sock *c) {
  return (c->fin_rcvd || c->rd_shut) && us_tcp_readable(c) == 0;
}

/* After the application read: announce a window that grew enough (receiver
 * SWS avoidance, and like Linux only when it at least doubled). */
static void after_read(struct us_tcp_sock *c) {
  if (c->state != US_TCP_ESTABLISHED && c->state != US_TCP_FIN_WAIT1 &&
      c->state != US_TCP_FIN_WAIT2)
    return;
  uint32_t old_wnd = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
  uint32_t new_wnd = tcp_rcv_space(c);
  /* Only what the window field can carry counts (Linux compares what
   * __tcp_select_window would send): without window scaling a read must
   * not announce the same 65535 again. */
  uint32_t max_wnd = 65535u << c->rcv_wscale;
  if (new_wnd > max_wnd) new_wnd = max_wnd;
  uint32_t thresh = c->rcvbuf / 2 < 2u * c->rcv_mss ? c->rcvbuf / 2 : 2u * c->rcv_mss;
  if (new_wnd >= old_wnd + thresh && new_wnd >= 2 * old_wnd) tcp_send_ack(c);
}

/* Linux's tcp_rcv_space_adjust (dynamic right-sizing): once per RTT, if the
 * application took more than in the RTT before, give the receive buffer
 * room for twice that plus 16 segments (more while the rate still grows),
 * up to tcp_rmem[2] as it reads now; SO_RCVBUF switches it off. */
void tcp_rcv_space_adjust(struct us_tcp_sock *c) {
  struct us_stack *s = c->s;
  if (c->rcvbuf_set || !c->rcv.buf) return;
  if (!c->rcvq_space) { /* the first measure starts at the first read */
    c->rcvq_space = 10u * c->adv_mss;
    c->rcvq_seq = c->rcv_read;
    c->rcvq_time = s->now;
    return;
  }
  if (!c->srtt_us || s->now - c->rcvq_time < c->srtt_us) return;
  uint32_t copied = c->rcv_read - c->rcvq_seq;
  if (copied > c->rcvq_space) {
    uint64_t win = 2ull * copied + 16ull * c->adv_mss;
    win += 2 * (win * (copied - c->rcvq_space) / c->rcvq_space);
    uint32_t max = s->tcp->sys.rmem[2];
    if (win > max) win = max;
    if (win > c->rcv.cap && tcp_ring_grow(&c->rcv, (uint32_t)win) == 0) c->rcvbuf = c->rcv.cap;
    c->rcvq_space = copied;
  }
  c->rcvq_seq = c->rcv_read;
  c->rcvq_time = s->now;
}

void us_tcp_consume(struct us_tcp_sock *c, size_t n) {
  if (!c->rcv.buf) return;
  if (n > c->rcv.len) n = c->rcv.len;
  if (!n) return;
  API_ENTER(c);
  if (!c->rcvq_space) tcp_rcv_space_adjust(c); /* starts the measure before these bytes */
  tcp_ring_consume(&c->rcv, (uint32_t)n);
  c->rcv_read += (uint32_t)n;
  tcp_rcv_space_adjust(c);
  after_read(c);
  API_LEAVE(c);
}

ssize_t us_tcp_recv(struct us_tcp_sock *c, void *buf, size_t len) {
  size_t avail = us_tcp_readable(c);
  if (avail && !c->rd_shut) {
    uint32_t n = (uint32_t)(len < avail ? len : avail);
    tcp_ring_read(&c->rcv, 0, buf, n);
    us_tcp_consume(c, n);
    return n;
  }
  if (c->fatal_error) return -take_fatal(c);
  if (c->fin_rcvd || c->rd_shut) return 0;
  if (c->state == US_TCP_CLOSE) return c->snd.buf ? 0 : -ENOTCONN;
  if (c->state == US_TCP_LISTEN) return -ENOTCONN;
  return -EAGAIN;
}

size_t us_tcp_peek(struct us_tcp_sock *c, const uint8_t **p1, size_t *n1, const uint8_t **p2,
                   size_t *n2) {
  size_t avail = c->rd_shut ? 0 : us_tcp_readable(c);
  *p1 = *p2 = 0;
  *n1 = *n2 = 0;
  if (!avail) return 0;
  uint32_t first = c->rcv.cap - c->rcv.head;
  *p1 = c->rcv.buf + c->rcv.head;
  *n1 = avail < first ? avail : first;
  if (avail > *n1) {
    *p2 = c->rcv.buf;
    *n2 = avail - *n1;
  }
  return avail;
}

int us_tcp_shutdown(struct us_tcp_sock *c, int how) {
  if (how < 0 || how > 2) return -EINVAL;
  switch (c->state) {
  case US_TCP_CLOSE: case US_TCP_LISTEN: case US_TCP_SYN_SENT:
    if (c->state == US_TCP_CLOSE && !c->snd.buf) return -ENOTCONN;
    if (c->state == US_TCP_LISTEN && how != 1) { /* Linux: wakes accept; we just stop */ }
    break;
  default: break;
  }
  API_ENTER(c);
  if (how == 0 || how == 2) {
    c->rd_shut = 1;
    tcp_event(c, US_TCP_EV_READABLE);
  }
  if ((how == 1 || how == 2) && !c->wr_shut) {
    c->wr_shut = 1;
    switch (c->state) {
    case US_TCP_SYN_SENT:
      tcp_done(c);
      break;
    case US_TCP_SYN_RECV:
      tcp_sendq_fin(c); /* sent once the handshake completes */
      break;
    case US_TCP_ESTABLISHED:
      tcp_sendq_fin(c);
      tcp_set_state(c, US_TCP_FIN_WAIT1);
      tcp_output(c);
      break;
    case US_TCP_CLOSE_WAIT:
      tcp_sendq_fin(c);
      tcp_set_state(c, US_TCP_LAST_ACK);
      tcp_output(c);
      break;
    default:
      break;
    }
  }
  API_LEAVE(c);
  return 0;
}

static int synchronized(const struct us_tcp_sock *c) {
  return c->state != US_TCP_CLOSE && c->state != US_TCP_LISTEN && c->state != US_TCP_SYN_SENT &&
         c->state != US_TCP_TIME_WAIT;
}

void us_tcp_close(struct us_tcp_sock *c) {
  struct us_stack *s = c->s;
  API_ENTER(c);
  c->app_ref = 0;
  c->closed_by_app = 1;
  c->cb = 0;
  switch (c->state) {
  case US_TCP_LISTEN: case US_TCP_SYN_SENT: case US_TCP_CLOSE:
    tcp_done(c);
    break;
  case US_TCP_TIME_WAIT:
    tcp_free_bufs(c);
    break;
  case US_TCP_FIN_WAIT2:
    us_timer_arm(s, &c->t_keep, s->now + tcp_fin_timeout(c));
    break;
  default:
    if ((c->rcv.buf && c->rcv.len) || c->linger == 0) {
      /* Unread data or SO_LINGER 0: abort with RST (RFC 2525 2.17, Linux). */
      tcp_send_rst(c);
      tcp_done(c);
      break;
    }
    if (c->state == US_TCP_SYN_RECV) {
      tcp_sendq_fin(c); /* FIN-WAIT-1 once the handshake completes */
    } else if (c->state == US_TCP_ESTABLISHED) {
      tcp_sendq_fin(c);
      tcp_set_state(c, US_TCP_FIN_WAIT1);
    } else if (c->state == US_TCP_CLOSE_WAIT) {
      tcp_sendq_fin(c);
      tcp_set_state(c, US_TCP_LAST_ACK);
    }
    tcp_output(c);
  }
  API_LEAVE(c);
}

void us_tcp_abort(struct us_tcp_sock *c) {
  API_ENTER(c);
  c->app_ref = 0;
  c->closed_by_app = 1;
  c->cb = 0;
  if (synchronized(c)) tcp_send_rst(c);
  tcp_done(c);
  API_LEAVE(c);
}

int us_tcp_getsockname(const struct us_tcp_sock *c, uint32_t *ip, uint16_t *port) {
  *ip = c->lip;
  *port = c->lport;
  return 0;
}

int us_tcp_getpeername(const struct us_tcp_sock *c, uint32_t *ip, uint16_t *port) {
  if (!c->rip || c->state == US_TCP_LISTEN ||
      (c->state == US_TCP_CLOSE && !c->hashed && !c->snd.buf))
    return -ENOTCONN;
  *ip = c->rip;
  *port = c->rport;
  return 0;
}

int us_tcp_state(const struct us_tcp_sock *c) { return c->state; }

int us_tcp_error(struct us_tcp_sock *c) {
  int e = c->so_error;
  c->so_error = 0;
  return e;
}

static uint32_t clamp_buf(int v) {
  uint64_t b = v < 0 ? 0 : (uint64_t)v * 2; /* Linux doubles SO_*BUF */
  if (b < TCP_MIN_BUF) b = TCP_MIN_BUF;
  if (b > TCP_MAX_BUF) b = TCP_MAX_BUF;
  return (uint32_t)b;
}

int us_tcp_setopt(struct us_tcp_sock *c, enum us_tcp_opt opt, int val) {
  int rc = 0;
  API_ENTER(c);
  switch (opt) {
  case US_TCP_OPT_NODELAY:
    c->nodelay = !!val;
    if (val && c->snd.buf) { /* Linux pushes what is queued, even corked */
      c->push_pending = 1;
      c->push_seq = c->snd_buf_seq + c->snd.len;
    }
    if (val) tcp_output(c);
    break;
  case US_TCP_OPT_MORE:
    c->more = !!val;
    if (!val) tcp_output(c);
    break;
  case US_TCP_OPT_CORK:
    c->cork = !!val;
    if (!val) tcp_output(c);
    break;
  case US_TCP_OPT_KEEPALIVE:
    c->keepalive = !!val;
    c->probes = 0;
    tcp_rearm_keepalive(c);
    break;
  case US_TCP_OPT_KEEPIDLE:
    if (val < 1 || val > 32767) { rc = -EINVAL; break; }
    c->keepidle = (uint32_t)val;
    tcp_rearm_keepalive(c);
    break;
  case US_TCP_OPT_KEEPINTVL:
    if (val < 1 || val > 32767) { rc = -EINVAL; break; }
    c->keepintvl = (uint32_t)val;
    break;
  case US_TCP_OPT_KEEPCNT:
    if (val < 1 || val > 127) { rc = -EINVAL; break; }
    c->keepcnt = (uint32_t)val;
    break;
  case US_TCP_OPT_USER_TIMEOUT:
    if (val < 0) { rc = -EINVAL; break; }
    c->user_timeout_ms = (uint32_t)val;
    break;
  case US_TCP_OPT_MAXSEG:
    if (val && (val < 88 || val > 65495)) { rc = -EINVAL; break; }
    c->user_mss = (uint16_t)val;
    if (c->mss && c->state != US_TCP_CLOSE && c->state != US_TCP_LISTEN) tcp_update_mss(c);
    break;
  case US_TCP_OPT_RCVBUF: /* after connect too: it bounds the window from now */
    c->rcvbuf = clamp_buf(val);
    c->rcvbuf_set = 1; /* no autotuning; before connect, the window scale comes from it */
    tcp_ring_grow(&c->rcv, c->rcvbuf);  /* no memory: the old ring limits */
    break;
  case US_TCP_OPT_SNDBUF:
    c->sndbuf = clamp_buf(val);
    c->sndbuf_set = 1;
    tcp_ring_grow(&c->snd, c->sndbuf);
    break;
  case US_TCP_OPT_REUSEADDR:
    c->reuseaddr = !!val;
    break;
  case US_TCP_OPT_LINGER:
    c->linger = val < 0 ? -1 : val;
    break;
  default:
    rc = -ENOPROTOOPT;
  }
  API_LEAVE(c);
  return rc;
}

int us_tcp_getopt(const struct us_tcp_sock *c, enum us_tcp_opt opt, int *val) {
  switch (opt) {
  case US_TCP_OPT_NODELAY: *val = c->nodelay; break;
  case US_TCP_OPT_CORK: *val = c->cork; break;
  case US_TCP_OPT_MORE: *val = c->more; break;
  case US_TCP_OPT_KEEPALIVE: *val = c->keepalive; break;
  case US_TCP_OPT_KEEPIDLE: *val = (int)(tcp_keepidle(c) / US_SEC(1)); break;
  case US_TCP_OPT_KEEPINTVL: *val = (int)(tcp_keepintvl(c) / US_SEC(1)); break;
  case US_TCP_OPT_KEEPCNT: *val = (int)tcp_keepcnt(c); break;
  case US_TCP_OPT_USER_TIMEOUT: *val = (int)c->user_timeout_ms; break;
  case US_TCP_OPT_MAXSEG:
    *val = c->mss ? c->mss : (c->user_mss ? c->user_mss : TCP_DEFAULT_MSS);
    break;
  case US_TCP_OPT_RCVBUF: *val = (int)c->rcvbuf; break;
  case US_TCP_OPT_SNDBUF: *val = (int)c->sndbuf; break;
  case US_TCP_OPT_REUSEADDR: *val = c->reuseaddr; break;
  case US_TCP_OPT_LINGER: *val = c->linger; break;
  default: return -ENOPROTOOPT;
  }
  return 0;
}

int us_tcp_set_cc(struct us_tcp_sock *c, const char *name) {
  const struct tcp_cc_ops *ops = tcp_cc_find(name);
  if (!ops) return -ENOENT;
  c->cc_ops = ops;
  if (c->cc.ops) {
    /* Switch algorithms mid-connection: keep the window, reset state. */
    uint32_t cwnd = c->cc.cwnd, ssthresh = c->cc.ssthresh;
    tcp_cc_init(&c->cc, ops, c->cc.mss);
    c->cc.cwnd = cwnd;
    c->cc.ssthresh = ssthresh;
  }
  return 0;
}

const char *us_tcp_get_cc(const struct us_tcp_sock *c) { return c->cc_ops->name; }

static uint32_t ago_ms(const struct us_tcp_sock *c, us_time_t t) {
  return t ? (uint32_t)((c->s->now - t) / 1000) : 0;
}

void us_tcp_get_info(const struct us_tcp_sock *c, struct us_tcp_info *i) {
  memset(i, 0, sizeof(*i));
  uint32_t mss = c->mss ? c->mss : TCP_DEFAULT_MSS;
  i->tcpi_state = c->state;
  i->tcpi_ca_state = c->ca_state;
  i->tcpi_retransmits = c->retransmits;
  i->tcpi_probes = c->probes;
  i->tcpi_backoff = c->backoff;
  i->tcpi_options = (c->ts_ok ? 1 : 0) | (c->sack_ok ? 2 : 0) | (c->ws_ok ? 4 : 0) |
                    (c->ecn_ok ? 8 : 0); /* TCPI_OPT_ECN */
  i->tcpi_snd_wscale = c->ws_ok ? c->snd_wscale : 0;
  i->tcpi_rcv_wscale = c->ws_ok ? c->rcv_wscale : 0;
  i->tcpi_rto = (uint32_t)c->rto;
  i->tcpi_ato = (uint32_t)TCP_DELACK_MAX;
  i->tcpi_snd_mss = mss;
  i->tcpi_rcv_mss = c->rcv_mss;
  i->tcpi_unacked = (c->snd_max - c->snd_una + mss - 1) / mss;
  i->tcpi_sacked = (c->sb.sacked + mss - 1) / mss;
  i->tcpi_lost = c->lost_out;
  i->tcpi_retrans = c->ca_state >= TCP_CA_RECOVERY ? 1 : 0;
  i->tcpi_last_data_sent = ago_ms(c, c->last_data_tx);
  i->tcpi_last_data_recv = ago_ms(c, c->last_data_rx);
  i->tcpi_last_ack_recv = ago_ms(c, c->last_ack_rx);
  i->tcpi_pmtu = ipv4_path_mtu(c->s, c->rip);
  i->tcpi_rcv_ssthresh = tcp_rcv_space(c);
  i->tcpi_rtt = c->srtt_us;
  i->tcpi_rttvar = c->rttvar_us;
  i->tcpi_snd_ssthresh = c->cc.ssthresh == UINT32_MAX ? 0x7fffffff : c->cc.ssthresh / mss;
  i->tcpi_snd_cwnd = c->cc.cwnd / mss;
  i->tcpi_advmss = c->adv_mss;
  i->tcpi_reordering = c->sb.dupthresh ? c->sb.dupthresh : 3;
  i->tcpi_rcv_space = c->rcvbuf;
  i->tcpi_total_retrans = c->total_retrans;
  i->tcpi_bytes_acked = c->bytes_acked;
  i->tcpi_bytes_received = c->bytes_received;
  i->tcpi_segs_out = c->segs_out;
  i->tcpi_segs_in = c->segs_in;
  i->tcpi_notsent_bytes = c->snd.buf && seq_lt(c->snd_nxt, c->snd_buf_seq + c->snd.len)
                              ? c->snd_buf_seq + c->snd.len - seq_max(c->snd_nxt, c->snd_buf_seq)
                              : 0;
  i->tcpi_min_rtt = c->min_rtt_us;
  i->tcpi_data_segs_in = c->data_segs_in;
  i->tcpi_data_segs_out = c->data_segs_out;
  i->tcpi_bytes_sent = c->bytes_sent + c->bytes_retrans;
  i->tcpi_bytes_retrans = c->bytes_retrans;
  i->tcpi_rcv_ooopack = c->ooo_pkts;
  i->tcpi_snd_wnd = c->snd_wnd;
}

void us_tcp_sysctls_default(struct us_tcp_sysctls *v) {
  *v = (struct us_tcp_sysctls){
      .rmem = {4096, 131072, 33554432}, .wmem = {4096, 16384, 4194304},
      .core_rmem_max = 212992,
      .window_scaling = 1, .timestamps = 1, .sack = 1, .ecn = 2,
      .syn_retries = 6, .synack_retries = 5, .retries2 = 15, .recovery = 1,
      .fin_timeout = 60,
      .keepalive_time = 7200, .keepalive_intvl = 75, .keepalive_probes = 9,
      .port_lo = 32768, .port_hi = 60999,
  };
}

/* The ranges Linux's sysctl handlers accept (and what a ring can hold). */
static int sysctls_valid(const struct us_tcp_sysctls *v) {
  for (int i = 0; i < 3; i++)
    if (v->rmem[i] < 1 || v->wmem[i] < 1) return 0;
  if (v->rmem[0] > v->rmem[1] || v->rmem[1] > v->rmem[2]) return 0;
  if (v->wmem[0] > v->wmem[1] || v->wmem[1] > v->wmem[2]) return 0;
  if (v->syn_retries < 1 || v->syn_retries > 127 || v->synack_retries > 127) return 0;
  if (v->fin_timeout < 1 || !v->keepalive_time || !v->keepalive_intvl || !v->keepalive_probes)
    return 0;
  if (v->keepalive_time > 32767 || v->keepalive_intvl > 32767 || v->keepalive_probes > 127)
    return 0;
  if (!v->port_lo || v->port_lo > v->port_hi) return 0;
  return 1;
}

int us_tcp_set_sysctls(struct us_stack *s, const struct us_tcp_sysctls *v) {
  if (!s->tcp || !sysctls_valid(v)) return -EINVAL;
  s->tcp->sys = *v;
  for (int i = 0; i < 3; i++) { /* what one ring may hold */
    if (s->tcp->sys.rmem[i] > TCP_MAX_BUF) s->tcp->sys.rmem[i] = TCP_MAX_BUF;
    if (s->tcp->sys.wmem[i] > TCP_MAX_BUF) s->tcp->sys.wmem[i] = TCP_MAX_BUF;
  }
  return 0;
}

void us_tcp_get_sysctls(const struct us_stack *s, struct us_tcp_sysctls *v) {
  if (s->tcp) *v = s->tcp->sys;
  else us_tcp_sysctls_default(v);
}

int us_tcp_sysctl(struct us_stack *s, enum us_tcp_sysctl key, int on) {
  struct tcp_state *t = s->tcp;
  switch (key) {
  case US_TCP_SYSCTL_SACK: t->sys.sack = !!on; return 0;
  case US_TCP_SYSCTL_TIMESTAMPS: t->sys.timestamps = !!on; return 0;
  case US_TCP_SYSCTL_WINDOW_SCALING: t->sys.window_scaling = !!on; return 0;
  }
  return -EINVAL;
}

void us_tcp_test_force_isn(struct us_stack *s, uint32_t isn) {
  s->tcp->force_isn = 1;
  s->tcp->forced_isn = isn;
}

uint32_t us_tcp_conn_count(const struct us_stack *s) { return s->tcp ? s->tcp->nconns : 0; }
