/* The DNS stub resolver (see dns_client.h).
 *
 * A query (one us_dns_query call) walks a list of candidate names built
 * from the search list and ndots. For each candidate it runs one transfer
 * per record type wanted (A, AAAA), in parallel. A transfer sends its
 * question from a fresh UDP socket with a random ID, waits timeout << try,
 * and resends from another fresh socket until `attempts` are used; the older
 * sockets stay open so a slow answer to an earlier try still counts. When
 * every transfer of the candidate is done, their outcomes decide whether
 * the query ends or goes on to the next candidate, with glibc's rules
 * (res_nsearch): NXDOMAIN, NODATA and SERVFAIL go on; a timeout or a refusal
 * ends the search.
 *
 * Sockets are never closed from inside their own datagram callback: a
 * finished transfer hands them to a reap list that a zero-delay timer
 * empties, and datagrams still arriving meanwhile are counted as late. */
#include "stack/dns_client.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "stack/stack.h"
#include "stack/timer.h"
#include "stack/udp.h"

#define container_of(p, type, member) ((type *)(void *)((char *)(p) - offsetof(type, member)))

#define DNS_MAX_CAND (2 + US_DNS_MAX_SEARCH) /* as-is, search list (as-is once) */

enum xfer_state { XF_IDLE, XF_WAIT, XF_DONE };

/* What one transfer (one name, one type) learned. Ordered so that, when
 * the A and AAAA transfers of a candidate disagree, the larger wins. */
enum outcome {
  OUT_NONE,     /* type not wanted */
  OUT_NXDOMAIN,
  OUT_NODATA,
  OUT_SERVFAIL,
  OUT_FAIL,
  OUT_TIMEOUT,
  OUT_OK,
};

struct dns_xfer;

/* One transmission: its socket and the ID it sent. */
struct dns_sock {
  struct us_dns_client *c;
  struct dns_xfer *x;        /* NULL once the transfer is over */
  struct udp_sock *u;
  uint16_t id, port;
  struct dns_sock *next;     /* x's list (newest first) or the reap list */
};

struct dns_xfer {
  struct us_dns_query *q;
  uint16_t qtype;
  uint8_t state, outcome, from_cache;
  int tries;
  struct dns_sock *socks;
  struct us_timer timer;
  struct dns_extract ex;
};

struct us_dns_query {
  struct us_dns_client *c;
  struct us_dns_query *prev, *next;
  us_dns_cb cb;
  void *user;
  int want;
  us_time_t start;
  char name[DNS_TEXT_MAX + 1];      /* 253 characters, a trailing dot, NUL */
  uint8_t cand[DNS_MAX_CAND][DNS_NAME_MAX];
  size_t cand_len[DNS_MAX_CAND];
  int ncand, icand;
  int as_is_first;                  /* cand[0] is the name as given, tried first */
  int first_outcome;                /* its outcome, which glibc reports if all fail */
  int got_nodata, got_servfail;
  int in_cb;
  struct dns_xfer x[2];             /* [0] A, [1] AAAA */
};

struct dns_cache_entry {
  uint8_t name[DNS_NAME_MAX];
  size_t name_len;
  uint16_t qtype;
  uint8_t outcome;   /* OUT_OK, OUT_NODATA or OUT_NXDOMAIN */
  us_time_t expires;
  struct dns_extract ex;
};

struct us_dns_client {
  struct us_stack *s;
  uint32_t server;
  uint16_t port;
  char search[US_DNS_MAX_SEARCH][DNS_TEXT_MAX];
  int nsearch, ndots, attempts;
  uint32_t timeout_ms, max_ttl;
  struct dns_cache_entry **cache;
  int ncache, cache_cap;
  struct us_dns_query *qhead, *qtail;
  struct dns_sock *reap;
  struct us_timer reap_timer;
};

static const uint16_t xfer_types[2] = {DNS_TYPE_A, DNS_TYPE_AAAA};

void us_dns_config_defaults(struct us_dns_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->ndots = 1;
  cfg->timeout_ms = 5000;
  cfg->attempts = 2;
  cfg->cache_entries = 256;
  cfg->max_ttl = 86400;
}

const char *us_dns_status_str(int status) {
  switch (status) {
  case US_DNS_OK: return "ok";
  case US_DNS_NONAME: return "no such name";
  case US_DNS_NODATA: return "no address for name";
  case US_DNS_AGAIN: return "temporary failure in name resolution";
  case US_DNS_FAIL: return "non-recoverable failure in name resolution";
  case US_DNS_BADNAME: return "invalid name";
  case US_DNS_NOMEM: return "out of memory";
  default: return "unknown";
  }
}

/* The counter for a parse error of an answer. */
static enum us_counter err_counter(int err) {
  switch (err) {
  case DNS_E_PTR_RANGE: return US_CNT_DNS_BAD_POINTER;
  case DNS_E_PTR_LOOP: return US_CNT_DNS_BAD_LOOP;
  case DNS_E_LABEL: return US_CNT_DNS_BAD_LABEL;
  case DNS_E_NAME_LONG: return US_CNT_DNS_BAD_NAME_LONG;
  case DNS_E_RDATA: return US_CNT_DNS_BAD_RDATA;
  case DNS_E_TEXT: return US_CNT_DNS_BAD_NAME_TEXT;
  default: return US_CNT_DNS_BAD_SHORT;
  }
}

static uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

/* --- Cache ------------------------------------------------------------- */

static void cache_remove(struct us_dns_client *c, int i) {
  us_free(c->cache[i]);
  c->cache[i] = c->cache[--c->ncache];
}

static struct dns_cache_entry *cache_find(struct us_dns_client *c, const uint8_t *name,
                                          size_t name_len, uint16_t qtype) {
  us_time_t now = c->s->now;
  for (int i = 0; i < c->ncache; i++) {
    struct dns_cache_entry *e = c->cache[i];
    if (e->qtype != qtype || !dns_name_eq(e->name, e->name_len, name, name_len)) continue;
    if (now >= e->expires) { /* expired: gone */
      cache_remove(c, i);
      return NULL;
    }
    return e;
  }
  return NULL;
}

/* Room for one more entry: drop expired ones, else the one expiring first. */
static void cache_make_room(struct us_dns_client *c) {
  us_time_t now = c->s->now;
  for (int i = 0; i < c->ncache;) {
    if (now >= c->cache[i]->expires)
      cache_remove(c, i);
    else
      i++;
  }
  if (c->ncache < c->cache_cap) return;
  int victim = 0;
  for (int i = 1; i < c->ncache; i++)
    if (c->cache[i]->expires < c->cache[victim]->expires) victim = i;
  cache_remove(c, victim);
  us_count(c->s, US_CNT_DNS_CACHE_EVICT);
}

static void cache_store(struct us_dns_client *c, const uint8_t *name, size_t name_len,
                        uint16_t qtype, int outcome, const struct dns_extract *ex) {
  uint32_t ttl;
  if (c->cache_cap <= 0) return;
  if (outcome == OUT_OK)
    ttl = ex->ttl;
  else if (ex->neg_ttl_set)
    ttl = ex->neg_ttl;
  else
    return; /* no SOA: a negative answer is not cached (RFC 2308 5) */
  ttl = min_u32(ttl, c->max_ttl);
  if (ttl == 0) return;
  struct dns_cache_entry *e = cache_find(c, name, name_len, qtype);
  if (!e) {
    if (c->ncache >= c->cache_cap) cache_make_room(c);
    e = us_malloc(sizeof *e);
    if (!e) return;
    c->cache[c->ncache++] = e;
  }
  memcpy(e->name, name, name_len);
  e->name_len = name_len;
  e->qtype = qtype;
  e->outcome = (uint8_t)outcome;
  e->expires = c->s->now + US_SEC(ttl);
  e->ex = *ex;
}

void us_dns_cache_flush(struct us_dns_client *c) {
  while (c->ncache) cache_remove(c, c->ncache - 1);
}

size_t us_dns_cache_count(const struct us_dns_client *c) { return (size_t)c->ncache; }

/* --- Sockets ------------------------------------------------------------ */

static void reap_fire(struct us_stack *s, struct us_timer *t) {
  struct us_dns_client *c = container_of(t, struct us_dns_client, reap_timer);
  (void)s;
  while (c->reap) {
    struct dns_sock *ds = c->reap;
    c->reap = ds->next;
    us_udp_close(ds->u);
    us_free(ds);
  }
}

/* Detach the transfer's sockets; they are closed on the next timer run. */
static void xfer_release_socks(struct dns_xfer *x) {
  struct us_dns_client *c = x->q->c;
  while (x->socks) {
    struct dns_sock *ds = x->socks;
    x->socks = ds->next;
    ds->x = NULL;
    ds->next = c->reap;
    c->reap = ds;
  }
  if (c->reap && !us_timer_armed(&c->reap_timer)) us_timer_arm(c->s, &c->reap_timer, c->s->now);
}

/* --- Queries ------------------------------------------------------------ */

static int query_next(struct us_dns_query *q);
static int candidate_start(struct us_dns_query *q);
static void answer_input(struct dns_sock *ds, uint32_t src_ip, uint16_t src_port,
                         const uint8_t *msg, size_t len);

static void query_unlink(struct us_dns_query *q) {
  struct us_dns_client *c = q->c;
  if (q->prev) q->prev->next = q->next; else c->qhead = q->next;
  if (q->next) q->next->prev = q->prev; else c->qtail = q->prev;
  q->prev = q->next = NULL;
}

static void query_stop_xfers(struct us_dns_query *q) {
  for (int t = 0; t < 2; t++) {
    us_timer_cancel(q->c->s, &q->x[t].timer);
    xfer_release_socks(&q->x[t]);
  }
}

/* Report and free the query. */
static void query_finish(struct us_dns_query *q, int status) {
  struct us_dns_client *c = q->c;
  struct us_dns_addr addrs[2 * US_DNS_MAX_ADDRS];
  char canon[DNS_TEXT_MAX];
  struct us_dns_result r = {.status = status, .name = q->name, .canon = q->name};
  int from_cache = 1;

  query_stop_xfers(q);
  query_unlink(q);
  r.ttl = UINT32_MAX;
  for (int t = 0; t < 2 && status == US_DNS_OK; t++) {
    struct dns_xfer *x = &q->x[t];
    if (x->outcome != OUT_OK) continue;
    if (r.canon == q->name &&
        dns_name_to_text(x->ex.canon, x->ex.canon_len, canon, sizeof canon) == DNS_OK)
      r.canon = canon;
    memcpy(addrs + r.naddrs, x->ex.addrs, (size_t)x->ex.naddrs * sizeof addrs[0]);
    r.naddrs += (size_t)x->ex.naddrs;
    r.ttl = min_u32(r.ttl, x->ex.ttl);
    from_cache &= x->from_cache;
  }
  for (int t = 0; t < 2 && status != US_DNS_OK; t++)
    if (q->x[t].outcome != OUT_NONE) from_cache &= q->x[t].from_cache;
  if (status != US_DNS_OK) r.ttl = 0;
  r.addrs = r.naddrs ? addrs : NULL;
  r.from_cache = from_cache && status != US_DNS_BADNAME && status != US_DNS_NOMEM;
  r.elapsed = c->s->now - q->start;
  q->in_cb = 1;
  q->cb(q->user, &r);
  us_free(q);
}

static void xfer_arm(struct dns_xfer *x) {
  struct us_dns_client *c = x->q->c;
  /* Each retry waits twice as long as the try before, as glibc does. */
  us_time_t wait = US_MS(c->timeout_ms) << (x->tries - 1);
  us_timer_arm(c->s, &x->timer, c->s->now + wait);
}

static const struct udp_sock_ops dns_sock_ops;

/* One transmission from a fresh socket with a fresh ID. Failures to send are
 * counted and left to the timer, like a lost datagram. */
static void xfer_send(struct dns_xfer *x) {
  struct us_dns_query *q = x->q;
  struct us_dns_client *c = q->c;
  struct us_stack *s = c->s;
  uint8_t buf[DNS_HDR_LEN + DNS_NAME_MAX + 4];

  x->tries++;
  xfer_arm(x);
  struct dns_sock *ds = us_calloc(1, sizeof *ds);
  if (!ds) {
    us_count(s, US_CNT_DNS_NOMEM);
    return;
  }
  ds->c = c;
  ds->x = x;
  ds->id = (uint16_t)us_rand64(s);
  ds->u = us_udp_open(s, &dns_sock_ops, ds);
  if (!ds->u) {
    us_free(ds);
    us_count(s, US_CNT_DNS_NOMEM);
    return;
  }
  ds->next = x->socks;
  x->socks = ds;
  uint32_t lip;
  int len = dns_build_query(buf, sizeof buf, ds->id, q->cand[q->icand], q->cand_len[q->icand],
                            x->qtype);
  if (len < 0 || us_udp_bind(ds->u, 0, 0) < 0 || us_udp_connect(ds->u, c->server, c->port) < 0) {
    us_count(s, US_CNT_DNS_SEND_ERR);
    return;
  }
  us_udp_local(ds->u, &lip, &ds->port);
  if (us_udp_sendto(ds->u, c->server, c->port, buf, (size_t)len) < 0) {
    us_count(s, US_CNT_DNS_SEND_ERR);
    return;
  }
  us_count(s, US_CNT_DNS_QUERY_TX);
}

/* The outcome of the current candidate across its transfers. */
static int candidate_outcome(const struct us_dns_query *q) {
  int o = OUT_NONE;
  for (int t = 0; t < 2; t++)
    if (q->x[t].outcome > o) o = q->x[t].outcome;
  return o;
}

/* A transfer is over. If it was the candidate's last, decide what next.
 * Returns 1 if the query finished (and is freed). */
static int xfer_done(struct dns_xfer *x, int outcome) {
  struct us_dns_query *q = x->q;
  x->state = XF_DONE;
  x->outcome = (uint8_t)outcome;
  us_timer_cancel(q->c->s, &x->timer);
  xfer_release_socks(x);
  for (int t = 0; t < 2; t++)
    if (q->x[t].state != XF_DONE) return 0;
  return query_next(q);
}

/* Every transfer of the candidate is done: finish, or try the next name
 * (glibc res_nsearch). Returns 1 if the query finished. */
static int query_next(struct us_dns_query *q) {
  int o = candidate_outcome(q);
  if (q->icand == 0 && q->as_is_first) q->first_outcome = o;
  switch (o) {
  case OUT_OK: query_finish(q, US_DNS_OK); return 1;
  case OUT_TIMEOUT: query_finish(q, US_DNS_AGAIN); return 1;
  case OUT_FAIL: query_finish(q, US_DNS_FAIL); return 1;
  case OUT_SERVFAIL: q->got_servfail = 1; break;
  case OUT_NODATA: q->got_nodata = 1; break;
  default: break;
  }
  if (++q->icand < q->ncand) return candidate_start(q);
  int status = q->got_nodata ? US_DNS_NODATA : q->got_servfail ? US_DNS_AGAIN : US_DNS_NONAME;
  if (q->as_is_first) {
    status = q->first_outcome == OUT_NODATA     ? US_DNS_NODATA
             : q->first_outcome == OUT_SERVFAIL ? US_DNS_AGAIN
                                                : US_DNS_NONAME;
  }
  query_finish(q, status);
  return 1;
}

static void xfer_timeout(struct us_stack *s, struct us_timer *t) {
  struct dns_xfer *x = container_of(t, struct dns_xfer, timer);
  if (x->tries < x->q->c->attempts) {
    us_count(s, US_CNT_DNS_RETRY);
    xfer_send(x);
    return;
  }
  us_count(s, US_CNT_DNS_TIMEOUT);
  xfer_done(x, OUT_TIMEOUT);
}

/* Start the transfers for the current candidate; cached answers complete at
 * once. Returns 1 if the query finished. */
static int candidate_start(struct us_dns_query *q) {
  struct us_dns_client *c = q->c;
  const uint8_t *name = q->cand[q->icand];
  size_t name_len = q->cand_len[q->icand];
  for (int t = 0; t < 2; t++) {
    struct dns_xfer *x = &q->x[t];
    x->state = XF_IDLE;
    x->outcome = OUT_NONE;
    x->from_cache = 0;
    x->tries = 0;
    if (!(q->want & (1 << t))) x->state = XF_DONE;
  }
  for (int t = 0; t < 2; t++) {
    struct dns_xfer *x = &q->x[t];
    if (x->state == XF_DONE) continue;
    struct dns_cache_entry *e = cache_find(c, name, name_len, x->qtype);
    if (e) {
      us_count(c->s, US_CNT_DNS_CACHE_HIT);
      x->ex = e->ex;
      /* What is left of the TTL, rounded up so it never shows 0 early. */
      x->ex.ttl = (uint32_t)((e->expires - c->s->now + US_SEC(1) - 1) / US_SEC(1));
      x->from_cache = 1;
      x->state = XF_DONE;
      x->outcome = e->outcome;
      continue;
    }
    if (c->cache_cap > 0) us_count(c->s, US_CNT_DNS_CACHE_MISS);
    x->state = XF_WAIT;
    xfer_send(x);
  }
  for (int t = 0; t < 2; t++)
    if (q->x[t].state != XF_DONE) return 0;
  return query_next(q);
}

static void add_candidate(struct us_dns_query *q, const char *text) {
  if (q->ncand >= DNS_MAX_CAND) return;
  if (dns_name_from_text(text, q->cand[q->ncand], &q->cand_len[q->ncand]) != DNS_OK) return;
  q->ncand++;
}

/* The names to try, in glibc's order: with at least ndots dots (or a
 * trailing dot) the name as given first; then name.domain for each search
 * domain (not for absolute names); then the name as given if not yet tried. */
static int build_candidates(struct us_dns_query *q) {
  const struct us_dns_client *c = q->c;
  uint8_t tmp[DNS_NAME_MAX];
  size_t tmp_len, n = strlen(q->name);
  int dots = 0;
  if (dns_name_from_text(q->name, tmp, &tmp_len) != DNS_OK) return -1;
  for (size_t i = 0; i < n; i++) dots += q->name[i] == '.';
  int absolute = n > 0 && q->name[n - 1] == '.';
  if (absolute || dots >= c->ndots) {
    q->as_is_first = 1;
    add_candidate(q, q->name);
  }
  for (int i = 0; i < c->nsearch && !absolute; i++) {
    char full[2 * DNS_TEXT_MAX + 2];
    memcpy(full, q->name, n);
    full[n] = '.';
    memcpy(full + n + 1, c->search[i], strlen(c->search[i]) + 1);
    add_candidate(q, full); /* too long: skipped, as glibc does */
  }
  if (!q->as_is_first) add_candidate(q, q->name);
  return 0;
}

struct us_dns_query *us_dns_query(struct us_dns_client *c, const char *name, int want,
                                  us_dns_cb cb, void *user) {
  struct us_dns_query *q = us_calloc(1, sizeof *q);
  if (!q) {
    struct us_dns_result r = {.status = US_DNS_NOMEM, .name = name, .canon = name};
    us_count(c->s, US_CNT_DNS_NOMEM);
    cb(user, &r);
    return NULL;
  }
  q->c = c;
  q->cb = cb;
  q->user = user;
  q->want = want & US_DNS_WANT_BOTH;
  q->start = c->s->now;
  for (int t = 0; t < 2; t++) {
    q->x[t].q = q;
    q->x[t].qtype = xfer_types[t];
    q->x[t].state = XF_DONE;
    us_timer_init(&q->x[t].timer, xfer_timeout);
  }
  /* Linked first so every exit goes through query_finish. */
  q->prev = c->qtail;
  if (c->qtail) c->qtail->next = q; else c->qhead = q;
  c->qtail = q;

  size_t n = strnlen(name, sizeof q->name);
  int too_long = n == sizeof q->name;
  if (too_long) n--; /* shown cut in the result */
  memcpy(q->name, name, n);
  q->name[n] = 0;
  if (too_long || !q->want || build_candidates(q) < 0 || q->ncand == 0) {
    query_finish(q, US_DNS_BADNAME);
    return NULL;
  }
  if (!c->server) { /* nowhere to ask */
    query_finish(q, US_DNS_AGAIN);
    return NULL;
  }
  return candidate_start(q) ? NULL : q;
}

void us_dns_cancel(struct us_dns_query *q) {
  if (!q || q->in_cb) return;
  query_stop_xfers(q);
  query_unlink(q);
  us_free(q);
}

/* --- Answers ------------------------------------------------------------ */

/* Truncated answer (TC). The complete fix is to ask again over TCP
 * (RFC 7766); that needs an in-stack TCP socket API, which the TCP module
 * does not offer yet. HOOK: when it does, open a connection to the server
 * here, send the same question with a 2-byte length prefix, feed the reply
 * to answer_input's checks with lenient = 0 and return 1 (answer pending).
 * Until then return 0: the caller uses the complete records of the
 * truncated answer and does not cache it. */
static int dns_xfer_truncated(struct dns_xfer *x) {
  (void)x;
  return 0;
}

static void dns_sock_datagram(void *user, struct udp_sock *u, uint32_t src_ip,
                              uint16_t src_port, const uint8_t *data, size_t len) {
  struct dns_sock *ds = user;
  (void)u;
  if (!ds->x) {
    us_count(ds->c->s, US_CNT_DNS_LATE);
    return;
  }
  answer_input(ds, src_ip, src_port, data, len);
}

/* ICMP error (or failed ARP) for a transmission. Port unreachable means
 * the server is up without a resolver: no answer will come, so the
 * transfer moves on to its next try now, if this was its newest socket.
 * Host or network unreachable (often ARP giving up while many queries
 * wait) is left to the timer: trying again at once would burn every
 * attempt inside one resolution failure. */
static void dns_sock_error(void *user, struct udp_sock *u, int err, uint32_t dst_ip,
                           uint16_t dst_port) {
  struct dns_sock *ds = user;
  struct dns_xfer *x = ds->x;
  (void)u; (void)dst_ip; (void)dst_port;
  us_count(ds->c->s, US_CNT_DNS_ICMP_ERR);
  if (!x || x->socks != ds || err != ECONNREFUSED) return;
  us_timer_arm(ds->c->s, &x->timer, ds->c->s->now);
}

static const struct udp_sock_ops dns_sock_ops = {
    .on_datagram = dns_sock_datagram,
    .on_error = dns_sock_error,
};

/* Every check an answer must pass before it is believed; failures are
 * counted and the datagram dropped, and the transfer keeps waiting (a forged
 * datagram must not end a query). */
static void answer_input(struct dns_sock *ds, uint32_t src_ip, uint16_t src_port,
                         const uint8_t *msg, size_t len) {
  struct dns_xfer *x = ds->x;
  struct us_dns_query *q = x->q;
  struct us_dns_client *c = ds->c;
  struct us_stack *s = c->s;
  const uint8_t *qname = q->cand[q->icand];
  size_t qname_len = q->cand_len[q->icand], off = DNS_HDR_LEN;
  struct dns_header h;
  struct dns_question qq;
  int err;

  if (src_ip != c->server || src_port != c->port) {
    us_count(s, US_CNT_DNS_BAD_SOURCE);
    return;
  }
  if (dns_read_header(msg, len, &h)) {
    us_count(s, US_CNT_DNS_BAD_SHORT);
    return;
  }
  if (!(h.flags & DNS_F_QR) || DNS_OPCODE(h.flags) != 0) {
    us_count(s, US_CNT_DNS_BAD_NOT_RESPONSE);
    return;
  }
  if (h.id != ds->id) {
    us_count(s, US_CNT_DNS_BAD_ID);
    return;
  }
  int rcode = DNS_RCODE(h.flags);
  if (h.qdcount == 0 && rcode == DNS_RCODE_FORMERR) { /* servers may drop the question */
    us_count(s, US_CNT_DNS_REFUSED);
    xfer_done(x, OUT_FAIL);
    return;
  }
  if (h.qdcount != 1) {
    us_count(s, US_CNT_DNS_BAD_QUESTION);
    return;
  }
  if ((err = dns_read_question(msg, len, &off, &qq))) {
    us_count(s, err_counter(err));
    return;
  }
  if (qq.type != x->qtype || qq.qclass != DNS_CLASS_IN ||
      !dns_name_eq(qq.name, qq.name_len, qname, qname_len)) {
    us_count(s, US_CNT_DNS_BAD_QUESTION);
    return;
  }
  int tc = (h.flags & DNS_F_TC) != 0;
  if (tc) {
    us_count(s, US_CNT_DNS_TRUNCATED);
    if (dns_xfer_truncated(x)) return;
  } else if ((err = dns_validate(msg, len))) {
    us_count(s, err_counter(err));
    return;
  }
  if (rcode == DNS_RCODE_SERVFAIL) {
    us_count(s, US_CNT_DNS_SERVFAIL);
    xfer_done(x, OUT_SERVFAIL);
    return;
  }
  if (rcode != DNS_RCODE_NOERROR && rcode != DNS_RCODE_NXDOMAIN) {
    us_count(s, US_CNT_DNS_REFUSED);
    xfer_done(x, OUT_FAIL);
    return;
  }
  err = dns_extract_answer(msg, len, off, &h, qname, qname_len, x->qtype, tc, &x->ex);
  if (err == DNS_E_CNAME_LOOP) {
    us_count(s, US_CNT_DNS_CNAME_LOOP);
    xfer_done(x, OUT_FAIL);
    return;
  }
  if (err) {
    us_count(s, err_counter(err));
    return;
  }
  us_count(s, US_CNT_DNS_ANSWER_OK);
  int outcome = rcode == DNS_RCODE_NXDOMAIN ? OUT_NXDOMAIN : x->ex.naddrs ? OUT_OK : OUT_NODATA;
  if (outcome == OUT_NXDOMAIN) {
    x->ex.naddrs = 0;
    us_count(s, US_CNT_DNS_NXDOMAIN);
  }
  if (!tc) cache_store(c, qname, qname_len, x->qtype, outcome, &x->ex);
  xfer_done(x, outcome);
}

/* --- Client ------------------------------------------------------------- */

struct us_dns_client *us_dns_client_new(struct us_stack *s, const struct us_dns_config *cfg) {
  struct us_dns_config def;
  if (!cfg) {
    us_dns_config_defaults(&def);
    cfg = &def;
  }
  struct us_dns_client *c = us_calloc(1, sizeof *c);
  if (!c) return NULL;
  c->s = s;
  c->server = cfg->server ? cfg->server : s->cfg.dns;
  c->port = cfg->port ? cfg->port : DNS_PORT;
  for (int i = 0; i < cfg->nsearch && i < US_DNS_MAX_SEARCH; i++) {
    if (!cfg->search[i] || strlen(cfg->search[i]) >= DNS_TEXT_MAX) continue;
    strcpy(c->search[c->nsearch++], cfg->search[i]);
  }
  c->ndots = cfg->ndots < 0 ? 0 : cfg->ndots;
  c->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 5000;
  c->attempts = cfg->attempts < 1 ? 1
                : cfg->attempts > US_DNS_MAX_ATTEMPTS ? US_DNS_MAX_ATTEMPTS
                                                      : cfg->attempts;
  c->max_ttl = cfg->max_ttl ? cfg->max_ttl : 86400;
  c->cache_cap = cfg->cache_entries > 0 ? cfg->cache_entries : 0;
  if (c->cache_cap) {
    c->cache = us_calloc((size_t)c->cache_cap, sizeof *c->cache);
    if (!c->cache) {
      us_free(c);
      return NULL;
    }
  }
  us_timer_init(&c->reap_timer, reap_fire);
  return c;
}

void us_dns_client_free(struct us_dns_client *c) {
  if (!c) return;
  while (c->qhead) us_dns_cancel(c->qhead);
  us_timer_cancel(c->s, &c->reap_timer);
  reap_fire(c->s, &c->reap_timer);
  us_dns_cache_flush(c);
  us_free(c->cache);
  us_free(c);
}

/* --- Test hooks ----------------------------------------------------------- */

static struct dns_sock *outstanding(const struct us_dns_client *c, int i) {
  for (struct us_dns_query *q = c->qhead; q; q = q->next)
    for (int t = 0; t < 2; t++)
      if (q->x[t].state == XF_WAIT && q->x[t].socks && i-- == 0) return q->x[t].socks;
  return NULL;
}

int us_dns_client_outstanding(const struct us_dns_client *c, int i, uint16_t *id,
                              uint16_t *port, uint16_t *qtype) {
  struct dns_sock *ds = outstanding(c, i);
  if (!ds) return -1;
  if (id) *id = ds->id;
  if (port) *port = ds->port;
  if (qtype) *qtype = ds->x->qtype;
  return 0;
}

void us_dns_client_inject(struct us_dns_client *c, int i, uint32_t src_ip, uint16_t src_port,
                          const uint8_t *data, size_t len) {
  struct dns_sock *ds = outstanding(c, i);
  if (ds) dns_sock_datagram(ds, ds->u, src_ip, src_port, data, len);
}
