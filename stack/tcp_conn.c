/* Control blocks: allocation, the 4-tuple and port hashes, buffers, state
 * changes, deferred events and deferred frees. */
#include <errno.h>
#include <string.h>

#include "stack/tcp_conn.h"

static uint32_t hash4(uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport) {
  uint32_t h = lip * 0x9e3779b1u ^ rip * 0x85ebca6bu ^ ((uint32_t)lport << 16 | rport) * 0xc2b2ae35u;
  h ^= h >> 15;
  h *= 0x2c1b3c6du;
  h ^= h >> 12;
  return h & (TCP_HASH_BUCKETS - 1);
}
static uint32_t hashp(uint16_t port) { return (port * 0x9e3779b1u >> 16) & (TCP_PORT_BUCKETS - 1); }

struct tcp_state *tcp_init(struct us_stack *s) {
  struct tcp_state *t = us_calloc(1, sizeof(*t));
  if (!t) return 0;
  t->key.k0 = s->cfg.seed ^ 0x5443504b45593031ULL; /* "TCPKEY01" */
  t->key.k1 = (s->cfg.seed * 0x9e3779b97f4a7c15ULL) ^ 0x75737461636b2121ULL;
  t->port_seq = (uint32_t)(s->cfg.seed >> 7);
  us_tcp_sysctls_default(&t->sys);
  t->txcap = US_PKT_HEADROOM + TCP_GSO_MAX + 64;
  t->txbuf = us_malloc(t->txcap);
  if (!t->txbuf) { us_free(t); return 0; }
  return t;
}

static void conn_free(struct us_tcp_sock *c) {
  tcp_free_bufs(c);
  us_free(c);
}

void tcp_free(struct us_stack *s) {
  struct tcp_state *t = s->tcp;
  if (!t) return;
  struct us_tcp_sock *c = t->all;
  while (c) {
    struct us_tcp_sock *n = c->all_next;
    tcp_timers_stop(c);
    conn_free(c);
    c = n;
  }
  us_free(t->txbuf);
  us_free(t);
  s->tcp = 0;
}

struct us_tcp_sock *tcp_conn_alloc(struct us_stack *s) {
  struct tcp_state *t = s->tcp;
  if (!t || t->nconns >= TCP_MAX_CONNS) return 0;
  struct us_tcp_sock *c = us_calloc(1, sizeof(*c));
  if (!c) return 0;
  c->s = s;
  c->state = US_TCP_CLOSE;
  c->linger = -1;
  /* Linux's tcp_init_sock: the buffers as tcp_rmem[1] and tcp_wmem[1] say now. */
  c->rcvbuf = t->sys.rmem[1];
  c->sndbuf = t->sys.wmem[1];
  c->cc_ops = &tcp_cc_cubic;
  c->rto = TCP_RTO_INIT;
  c->rcv_mss = TCP_DEFAULT_MSS;
  c->quickack = TCP_QUICKACKS;
  tcp_timers_init(c);
  c->all_next = t->all;
  if (t->all) t->all->all_pprev = &c->all_next;
  c->all_pprev = &t->all;
  t->all = c;
  t->nconns++;
  return c;
}

void tcp_hash_insert(struct tcp_state *t, struct us_tcp_sock *c) {
  if (c->hashed) return;
  struct us_tcp_sock **b = &t->hash[hash4(c->lip, c->lport, c->rip, c->rport)];
  c->hnext = *b;
  if (*b) (*b)->hpprev = &c->hnext;
  c->hpprev = b;
  *b = c;
  c->hashed = 1;
}

void tcp_hash_remove(struct us_tcp_sock *c) {
  if (!c->hashed) return;
  *c->hpprev = c->hnext;
  if (c->hnext) c->hnext->hpprev = c->hpprev;
  c->hashed = 0;
}

struct us_tcp_sock *tcp_lookup(struct tcp_state *t, uint32_t lip, uint16_t lport, uint32_t rip,
                               uint16_t rport) {
  for (struct us_tcp_sock *c = t->hash[hash4(lip, lport, rip, rport)]; c; c = c->hnext)
    if (c->lport == lport && c->rport == rport && c->rip == rip && c->lip == lip) return c;
  return 0;
}

struct us_tcp_sock *tcp_lookup_listener(struct tcp_state *t, uint32_t lip, uint16_t lport) {
  struct us_tcp_sock *any = 0;
  uint32_t b = hashp(lport), left = t->listen_n[b];
  for (struct us_tcp_sock *c = t->ports[b]; c && left; c = c->pnext) {
    if (c->state != US_TCP_LISTEN) continue;
    left--;
    if (c->lport != lport) continue;
    if (c->lip == lip) return c;
    if (c->lip == 0) any = c;
  }
  return any;
}

void tcp_port_listening(struct tcp_state *t, struct us_tcp_sock *c, int on) {
  uint32_t b = hashp(c->lport);
  if (!on) {
    if (t->listen_n[b]) t->listen_n[b]--;
    return;
  }
  t->listen_n[b]++;
  if (c->port_hashed) { /* to the front: found before the children */
    tcp_port_remove(c);
    tcp_port_insert(t, c);
  }
}

void tcp_port_insert_after(struct tcp_state *t, struct us_tcp_sock *c, struct us_tcp_sock *prev) {
  if (c->port_hashed) return;
  if (!prev->port_hashed || hashp(prev->lport) != hashp(c->lport)) {
    tcp_port_insert(t, c);
    return;
  }
  c->pnext = prev->pnext;
  if (c->pnext) c->pnext->ppprev = &c->pnext;
  c->ppprev = &prev->pnext;
  prev->pnext = c;
  c->port_hashed = 1;
}

void tcp_port_insert(struct tcp_state *t, struct us_tcp_sock *c) {
  if (c->port_hashed) return;
  struct us_tcp_sock **b = &t->ports[hashp(c->lport)];
  c->pnext = *b;
  if (*b) (*b)->ppprev = &c->pnext;
  c->ppprev = b;
  *b = c;
  c->port_hashed = 1;
}

void tcp_port_remove(struct us_tcp_sock *c) {
  if (!c->port_hashed) return;
  *c->ppprev = c->pnext;
  if (c->pnext) c->pnext->ppprev = c->ppprev;
  c->port_hashed = 0;
}

/* bind() rules as Linux: two sockets may share ip:port only if both set
 * SO_REUSEADDR and the other is not listening; a connection in TIME-WAIT or
 * one the application already closed never blocks a SO_REUSEADDR bind. */
int tcp_port_conflict(struct tcp_state *t, const struct us_tcp_sock *c, uint32_t ip, uint16_t port) {
  for (struct us_tcp_sock *o = t->ports[hashp(port)]; o; o = o->pnext) {
    if (o == c || o->lport != port) continue;
    if (o->lip && ip && o->lip != ip) continue;
    if (o->state == US_TCP_LISTEN) return 1;
    if (c->reuseaddr && (o->reuseaddr || o->state == US_TCP_TIME_WAIT || !o->app_ref)) continue;
    return 1;
  }
  return 0;
}

/* Ephemeral port for connect() (RFC 6056 algorithm 3): start at a keyed hash
 * of the destination, walk the range, take the first port whose 4-tuple is
 * free and that no bind() holds. */
int tcp_pick_port(struct tcp_state *t, struct us_tcp_sock *c) {
  uint32_t lo = t->sys.port_lo, range = t->sys.port_hi - lo + 1u;
  uint32_t off = (uint32_t)tcp_siphash4(&t->key, c->lip, c->rip, c->rport, 1);
  for (uint32_t i = 0; i < range; i++) {
    uint16_t port = (uint16_t)(lo + (off + t->port_seq + i) % range);
    int busy = 0;
    for (struct us_tcp_sock *o = t->ports[hashp(port)]; o; o = o->pnext)
      if (o->lport == port && (!o->autobind || o->rip == 0 ||
                               (o->rip == c->rip && o->rport == c->rport))) { busy = 1; break; }
    if (busy) continue;
    t->port_seq += i + 1;
    c->lport = port;
    c->autobind = 1;
    return 0;
  }
  return -EADDRNOTAVAIL;
}

int tcp_alloc_bufs(struct us_tcp_sock *c) {
  if (!c->snd.buf) {
    c->snd.buf = us_malloc(c->sndbuf);
    if (!c->snd.buf) return -ENOMEM;
    c->snd.cap = c->sndbuf;
  }
  if (!c->rcv.buf) {
    c->rcv.buf = us_malloc(c->rcvbuf);
    if (!c->rcv.buf) return -ENOMEM;
    c->rcv.cap = c->rcvbuf;
  }
  return 0;
}

int tcp_ring_grow(struct tcp_ring *r, uint32_t cap) {
  if (!r->buf || cap <= r->cap) return 0;
  uint8_t *nb = us_malloc(cap);
  if (!nb) return -ENOMEM;
  /* Every byte keeps its offset from head (out-of-order data beyond len too). */
  tcp_ring_read(r, 0, nb, r->cap);
  us_free(r->buf);
  r->buf = nb;
  r->head = 0;
  r->cap = cap;
  return 0;
}

void tcp_free_bufs(struct us_tcp_sock *c) {
  us_free(c->snd.buf);
  us_free(c->rcv.buf);
  memset(&c->snd, 0, sizeof(c->snd));
  memset(&c->rcv, 0, sizeof(c->rcv));
  tcp_txq_free(c);
}

void tcp_ring_write(struct tcp_ring *r, uint32_t off, const uint8_t *src, uint32_t n) {
  uint32_t pos = (r->head + off) % r->cap;
  uint32_t first = r->cap - pos < n ? r->cap - pos : n;
  memcpy(r->buf + pos, src, first);
  if (n > first) memcpy(r->buf, src + first, n - first);
}

void tcp_ring_read(const struct tcp_ring *r, uint32_t off, uint8_t *dst, uint32_t n) {
  uint32_t pos = (r->head + off) % r->cap;
  uint32_t first = r->cap - pos < n ? r->cap - pos : n;
  memcpy(dst, r->buf + pos, first);
  if (n > first) memcpy(dst + first, r->buf, n - first);
}

void tcp_set_state(struct us_tcp_sock *c, int state) {
  if (c->state == state) return;
  US_EVENT(c->s, us_ev_tcp_state(c, c->state, state));
  c->state = (uint8_t)state;
  tcp_event(c, US_TCP_EV_STATE);
}

/* Linux's tcp_select_initial_window: the scale that lets the window reach
 * max(tcp_rmem[2], core.rmem_max), unless SO_RCVBUF fixed
 * the buffer (tcp_connect_init clamps the window to it): ilog2(space) - 15. */
uint8_t tcp_initial_wscale(const struct us_tcp_sock *c) {
  const struct us_tcp_sysctls *v = &c->s->tcp->sys;
  uint32_t space = v->rmem[2] > v->core_rmem_max ? v->rmem[2] : v->core_rmem_max;
  if (c->rcvbuf_set) space = c->rcvbuf;
  uint32_t lg = 0;
  while (lg < 31 && (space >> (lg + 1))) lg++;
  return (uint8_t)(lg > 15 ? (lg - 15 > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : lg - 15) : 0);
}

us_time_t tcp_keepidle(const struct us_tcp_sock *c) {
  return US_SEC(c->keepidle ? c->keepidle : c->s->tcp->sys.keepalive_time);
}
us_time_t tcp_keepintvl(const struct us_tcp_sock *c) {
  return US_SEC(c->keepintvl ? c->keepintvl : c->s->tcp->sys.keepalive_intvl);
}
uint32_t tcp_keepcnt(const struct us_tcp_sock *c) {
  return c->keepcnt ? c->keepcnt : c->s->tcp->sys.keepalive_probes;
}
us_time_t tcp_fin_timeout(const struct us_tcp_sock *c) {
  return US_SEC(c->s->tcp->sys.fin_timeout);
}

us_time_t tcp_msl2_time(struct us_stack *s) {
  uint32_t msl = s->cfg.msl_ms ? s->cfg.msl_ms : 30000;
  return US_MS(2 * (uint64_t)msl);
}

void tcp_event(struct us_tcp_sock *c, uint32_t ev) {
  if (!c->app_ref || !c->cb) return;
  struct tcp_state *t = c->s->tcp;
  c->ev_pending |= ev;
  if (c->on_ev) return;
  c->on_ev = 1;
  c->evnext = 0;
  if (t->ev_tail) t->ev_tail->evnext = c;
  else t->ev_head = c;
  t->ev_tail = c;
}

void tcp_done(struct us_tcp_sock *c) {
  tcp_timers_stop(c);
  if (c->listener) tcp_child_unlink(c);
  if (c->state == US_TCP_LISTEN) {
    tcp_listen_close(c);
    tcp_port_listening(c->s->tcp, c, 0);
  }
  tcp_hash_remove(c);
  if (c->state != US_TCP_CLOSE) {
    US_EVENT(c->s, us_ev_tcp_state(c, c->state, US_TCP_CLOSE));
    c->state = US_TCP_CLOSE;
    tcp_event(c, US_TCP_EV_STATE | US_TCP_EV_CLOSED);
  }
  tcp_maybe_reap(c);
}

void tcp_fail(struct us_tcp_sock *c, int err) {
  c->so_error = err;
  c->fatal_error = err;
  /* A failed connect holds no data; the socket may wait long for a retry. */
  int connecting = c->state == US_TCP_SYN_SENT;
  if (connecting) tcp_free_bufs(c);
  tcp_event(c, US_TCP_EV_ERROR | US_TCP_EV_READABLE | US_TCP_EV_WRITABLE);
  tcp_done(c);
  /* Linux lets go of the address and port connect() chose (getsockname
   * still shows 0.0.0.0 and that port); a retry chooses again. */
  if (connecting && c->autobind && c->app_ref) {
    c->lip = 0;
    tcp_port_remove(c);
  }
}

/* Free once nobody needs it: closed, and the application let go (an
 * unaccepted child is owned by its listener until then). */
void tcp_maybe_reap(struct us_tcp_sock *c) {
  if (c->app_ref || c->state != US_TCP_CLOSE || c->on_reap || c->in_accq) return;
  struct tcp_state *t = c->s->tcp;
  tcp_timers_stop(c);
  tcp_hash_remove(c);
  tcp_port_remove(c);
  c->on_reap = 1;
  c->reapnext = t->reap;
  t->reap = c;
}

void tcp_enter(struct us_stack *s) { s->tcp->depth++; }

void tcp_leave(struct us_stack *s) {
  struct tcp_state *t = s->tcp;
  if (t->depth > 1) { t->depth--; return; }
  /* Outermost: deliver events (callbacks may call back in; depth stays 1 so
   * they only queue more), then free what died. */
  while (t->ev_head) {
    struct us_tcp_sock *c = t->ev_head;
    t->ev_head = c->evnext;
    if (!t->ev_head) t->ev_tail = 0;
    c->on_ev = 0;
    uint32_t ev = c->ev_pending;
    c->ev_pending = 0;
    if (c->app_ref && c->cb && ev)
      c->cb(c->user, c, ev, (ev & US_TCP_EV_ERROR) ? c->so_error : 0);
  }
  while (t->reap) {
    struct us_tcp_sock *c = t->reap;
    t->reap = c->reapnext;
    *c->all_pprev = c->all_next;
    if (c->all_next) c->all_next->all_pprev = c->all_pprev;
    t->nconns--;
    conn_free(c);
  }
  t->depth = 0;
}
