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
 * ends the search. A reverse lookup is one PTR transfer for one name.
 * Truncated answers go on over TCP (dns_client_tcp.c); answers are cached
 * by dns_cache.c.
 *
 * Sockets are never closed from inside their own datagram callback: a
 * finished transfer hands them to a reap list that a zero-delay timer
 * empties, and datagrams still arriving meanwhile are counted as late. */
#include "stack/dns_client.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "stack/dns_client_int.h"
#include "stack/stack.h"
#include "stack/timer.h"
#include "stack/udp.h"

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
enum us_counter dns_err_counter(int err) {
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

void us_dns_cache_flush(struct us_dns_client *c) { dns_cache_flush(&c->cache); }

size_t us_dns_cache_count(const struct us_dns_client *c) { return (size_t)c->cache.n; }

/* --- Sockets ------------------------------------------------------------ */

static void reap_fire(struct us_stack *s, struct us_timer *t) {
  struct us_dns_client *c = dns_container_of(t, struct us_dns_client, reap_timer);
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
    dns_tcp_stop(&q->x[t], 0);
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
    /* The canonical name: the end of the CNAME chain, or for a reverse
     * lookup the name the PTR record gives. */
    const uint8_t *cn = x->ex.ptr_len ? x->ex.ptr : x->ex.canon;
    size_t cn_len = x->ex.ptr_len ? x->ex.ptr_len : x->ex.canon_len;
    if (r.canon == q->name && dns_name_to_text(cn, cn_len, canon, sizeof canon) == DNS_OK)
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
  US_EVENT(c->s, us_ev_dns_result(c->s, &r));
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
  US_EVENT(s, us_ev_dns_query(s, q->cand[q->icand], q->cand_len[q->icand], x->qtype, ds->id, x->tries));
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
int dns_xfer_done(struct dns_xfer *x, int outcome) {
  struct us_dns_query *q = x->q;
  x->state = XF_DONE;
  x->outcome = (uint8_t)outcome;
  us_timer_cancel(q->c->s, &x->timer);
  xfer_release_socks(x);
  dns_tcp_stop(x, 1);
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
  case OUT_REFUSED: query_finish(q, US_DNS_AGAIN); return 1;
  case OUT_FORMERR: query_finish(q, US_DNS_NONAME); return 1;
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
  struct dns_xfer *x = dns_container_of(t, struct dns_xfer, timer);
  if (x->tcp) { /* TCP after TC took too long */
    dns_tcp_timeout(x);
    return;
  }
  if (x->tries < x->q->c->attempts) {
    us_count(s, US_CNT_DNS_RETRY);
    xfer_send(x);
    return;
  }
  us_count(s, US_CNT_DNS_TIMEOUT);
  dns_xfer_done(x, OUT_TIMEOUT);
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
    int outcome;
    if (dns_cache_get(c->s, &c->cache, name, name_len, x->qtype, &outcome, &x->ex)) {
      x->from_cache = 1;
      x->state = XF_DONE;
      x->outcome = (uint8_t)outcome;
      continue;
    }
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
  if (q->ptr) { /* in-addr.arpa / ip6.arpa: absolute, no search list */
    add_candidate(q, q->name);
    return 0;
  }
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

/* Start a lookup of name: A and/or AAAA (want), or PTR (ptr). */
static struct us_dns_query *query_begin(struct us_dns_client *c, const char *name, int want,
                                        int ptr, us_dns_cb cb, void *user) {
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
  q->want = ptr ? 1 : want & US_DNS_WANT_BOTH;
  q->ptr = ptr;
  q->start = c->s->now;
  for (int t = 0; t < 2; t++) {
    q->x[t].q = q;
    q->x[t].qtype = ptr ? DNS_TYPE_PTR : xfer_types[t];
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

struct us_dns_query *us_dns_query(struct us_dns_client *c, const char *name, int want,
                                  us_dns_cb cb, void *user) {
  return query_begin(c, name, want, 0, cb, user);
}

/* "4.3.2.1.in-addr.arpa." or the 32 nibbles of ip6.arpa (RFC 3596 2.5),
 * least significant first. */
static int reverse_name(int family, const uint8_t *addr, char *out, size_t cap) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  if (family == 4) {
    if (cap < 4 * 4 + sizeof "in-addr.arpa.") return -1;
    for (int i = 3; i >= 0; i--) {
      unsigned v = addr[i];
      if (v >= 100) out[o++] = (char)('0' + v / 100);
      if (v >= 10) out[o++] = (char)('0' + v / 10 % 10);
      out[o++] = (char)('0' + v % 10);
      out[o++] = '.';
    }
    memcpy(out + o, "in-addr.arpa.", sizeof "in-addr.arpa.");
    return 0;
  }
  if (family != 6 || cap < 64 + sizeof "ip6.arpa.") return -1;
  for (int i = 15; i >= 0; i--) {
    out[o++] = hex[addr[i] & 15];
    out[o++] = '.';
    out[o++] = hex[addr[i] >> 4];
    out[o++] = '.';
  }
  memcpy(out + o, "ip6.arpa.", sizeof "ip6.arpa.");
  return 0;
}

struct us_dns_query *us_dns_reverse(struct us_dns_client *c, int family, const uint8_t *addr,
                                    us_dns_cb cb, void *user) {
  char name[DNS_TEXT_MAX + 1]; /* the size query_begin reads up to */
  if (reverse_name(family, addr, name, sizeof name) < 0) name[0] = 0; /* BADNAME */
  return query_begin(c, name, 0, 1, cb, user);
}

void us_dns_cancel(struct us_dns_query *q) {
  if (!q || q->in_cb) return;
  query_stop_xfers(q);
  query_unlink(q);
  us_free(q);
}

/* --- Answers ------------------------------------------------------------ */

static void answer_input(struct dns_sock *ds, uint32_t src_ip, uint16_t src_port,
                         const uint8_t *msg, size_t len);

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
  if (!x || x->socks != ds || x->tcp || err != ECONNREFUSED) return;
  us_timer_arm(ds->c->s, &x->timer, ds->c->s->now);
}

static const struct udp_sock_ops dns_sock_ops = {
    .on_datagram = dns_sock_datagram,
    .on_error = dns_sock_error,
};

/* A reply for this transfer's question, with this ID? Mismatches are
 * counted and dropped, and the transfer keeps waiting: a forged or stray
 * datagram must not end a query. */
int dns_answer_check(struct dns_xfer *x, uint16_t id, const uint8_t *msg, size_t len,
                     struct dns_header *h, size_t *off) {
  struct us_dns_query *q = x->q;
  struct us_stack *s = q->c->s;
  struct dns_question qq;
  int err;
  if (dns_read_header(msg, len, h)) {
    us_count(s, US_CNT_DNS_BAD_SHORT);
    return DNS_ANS_DROP;
  }
  if (!(h->flags & DNS_F_QR) || DNS_OPCODE(h->flags) != 0) {
    us_count(s, US_CNT_DNS_BAD_NOT_RESPONSE);
    return DNS_ANS_DROP;
  }
  if (h->id != id) {
    us_count(s, US_CNT_DNS_BAD_ID);
    return DNS_ANS_DROP;
  }
  /* Servers may leave the question out of a FORMERR. */
  if (h->qdcount == 0 && DNS_RCODE(h->flags) == DNS_RCODE_FORMERR) return DNS_ANS_FORMERR;
  if (h->qdcount != 1) {
    us_count(s, US_CNT_DNS_BAD_QUESTION);
    return DNS_ANS_DROP;
  }
  *off = DNS_HDR_LEN;
  if ((err = dns_read_question(msg, len, off, &qq))) {
    us_count(s, dns_err_counter(err));
    return DNS_ANS_DROP;
  }
  if (qq.type != x->qtype || qq.qclass != DNS_CLASS_IN ||
      !dns_name_eq(qq.name, qq.name_len, q->cand[q->icand], q->cand_len[q->icand])) {
    us_count(s, US_CNT_DNS_BAD_QUESTION);
    return DNS_ANS_DROP;
  }
  return DNS_ANS_OK;
}

int dns_answer_accept(struct dns_xfer *x, const uint8_t *msg, size_t len,
                      const struct dns_header *h, size_t off, int lenient) {
  struct us_dns_query *q = x->q;
  struct us_dns_client *c = q->c;
  struct us_stack *s = c->s;
  const uint8_t *qname = q->cand[q->icand];
  size_t qname_len = q->cand_len[q->icand];
  int rcode = DNS_RCODE(h->flags), err;

  if (!lenient && (err = dns_validate(msg, len))) {
    us_count(s, dns_err_counter(err));
    return 0;
  }
  US_EVENT(s, us_ev_dns_answer(s, qname, qname_len, x->qtype, rcode));
  if (rcode == DNS_RCODE_SERVFAIL) {
    us_count(s, US_CNT_DNS_SERVFAIL);
    dns_xfer_done(x, OUT_SERVFAIL);
    return 1;
  }
  if (rcode != DNS_RCODE_NOERROR && rcode != DNS_RCODE_NXDOMAIN) {
    /* glibc's getaddrinfo: EAI_AGAIN for REFUSED and NOTIMP (and
     * SERVFAIL, above), EAI_NONAME for FORMERR (measured, glibc 2.36). */
    us_count(s, US_CNT_DNS_REFUSED);
    dns_xfer_done(x, rcode == DNS_RCODE_FORMERR ? OUT_FORMERR
                     : rcode == DNS_RCODE_REFUSED || rcode == DNS_RCODE_NOTIMP ? OUT_REFUSED
                                                                               : OUT_FAIL);
    return 1;
  }
  err = dns_extract_answer(msg, len, off, h, qname, qname_len, x->qtype, lenient, &x->ex);
  if (err == DNS_E_CNAME_LOOP) {
    us_count(s, US_CNT_DNS_CNAME_LOOP);
    dns_xfer_done(x, OUT_FAIL);
    return 1;
  }
  if (err) {
    us_count(s, dns_err_counter(err));
    return 0;
  }
  us_count(s, US_CNT_DNS_ANSWER_OK);
  int outcome = rcode == DNS_RCODE_NXDOMAIN                ? OUT_NXDOMAIN
                : x->ex.naddrs || x->ex.ptr_len ? OUT_OK
                                                : OUT_NODATA;
  if (outcome == OUT_NXDOMAIN) {
    x->ex.naddrs = 0;
    us_count(s, US_CNT_DNS_NXDOMAIN);
  }
  if (!lenient) dns_cache_put(s, &c->cache, qname, qname_len, x->qtype, outcome, &x->ex);
  dns_xfer_done(x, outcome);
  return 1;
}

/* A datagram on one of the transfer's sockets. A truncated (TC) answer is
 * asked again over TCP (dns_client_tcp.c); if that cannot start, its
 * complete records are used and it is not cached. */
static void answer_input(struct dns_sock *ds, uint32_t src_ip, uint16_t src_port,
                         const uint8_t *msg, size_t len) {
  struct dns_xfer *x = ds->x;
  struct us_dns_client *c = ds->c;
  struct dns_header h;
  size_t off;

  if (src_ip != c->server || src_port != c->port) {
    us_count(c->s, US_CNT_DNS_BAD_SOURCE);
    return;
  }
  int r = dns_answer_check(x, ds->id, msg, len, &h, &off);
  if (r == DNS_ANS_DROP) return;
  if (r == DNS_ANS_FORMERR) {
    us_count(c->s, US_CNT_DNS_REFUSED);
    dns_xfer_done(x, OUT_FORMERR);
    return;
  }
  if (h.flags & DNS_F_TC) {
    if (x->tcp) return; /* already asking over TCP */
    us_count(c->s, US_CNT_DNS_TRUNCATED);
    if (dns_tcp_start(x, msg, len)) return;
    dns_answer_accept(x, msg, len, &h, off, 1);
    return;
  }
  dns_answer_accept(x, msg, len, &h, off, 0);
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
  c->no_tcp = cfg->no_tcp;
  if (dns_cache_init(&c->cache, cfg->cache_entries, cfg->max_ttl ? cfg->max_ttl : 86400)) {
    us_free(c);
    return NULL;
  }
  us_timer_init(&c->reap_timer, reap_fire);
  return c;
}

void us_dns_client_free(struct us_dns_client *c) {
  if (!c) return;
  while (c->qhead) us_dns_cancel(c->qhead);
  us_timer_cancel(c->s, &c->reap_timer);
  reap_fire(c->s, &c->reap_timer);
  dns_cache_free(&c->cache);
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
