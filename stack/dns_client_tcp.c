/* Asking again over TCP after a truncated UDP answer (RFC 7766; RFC 1035
 * 4.2.2: each message on the stream is preceded by its 2-byte length).
 *
 * One connection per transfer, to the same server and port, with a fresh
 * ID; it is closed once the answer is in. The truncated UDP answer is kept:
 * if the connection fails, the server closes early, the reply does not
 * check out, or it takes longer than one try's timeout, the complete
 * records of the truncated answer are used instead (not cached). */
#include <errno.h>
#include <string.h>

#include "stack/dns_client_int.h"
#include "stack/stack.h"
#include "stack/tcp_sock.h"

#define DNS_TCP_QUERY_MAX (2 + DNS_HDR_LEN + DNS_NAME_MAX + 4)

struct dns_tcp {
  struct dns_xfer *x;
  struct us_tcp_sock *t;
  uint16_t id;
  uint8_t query[DNS_TCP_QUERY_MAX];
  size_t qlen, qsent;
  uint8_t lenbuf[2];
  size_t have;    /* answer bytes read, the length prefix included */
  uint8_t *ans;   /* the answer, once its length is known */
  size_t ans_len;
  uint8_t *udp;   /* the truncated UDP answer: the fallback */
  size_t udp_len;
};

static void tcp_event(void *user, struct us_tcp_sock *t, uint32_t ev, int err);

static void tcp_free(struct dns_tcp *dt) {
  us_free(dt->ans);
  us_free(dt->udp);
  us_free(dt);
}

int dns_tcp_start(struct dns_xfer *x, const uint8_t *msg, size_t len) {
  struct us_dns_query *q = x->q;
  struct us_dns_client *c = q->c;
  struct us_stack *s = c->s;
  if (c->no_tcp) return 0;
  struct dns_tcp *dt = us_calloc(1, sizeof *dt);
  if (!dt) return 0;
  dt->x = x;
  dt->udp = us_malloc(len);
  dt->id = (uint16_t)us_rand64(s);
  int n = dns_build_query(dt->query + 2, sizeof dt->query - 2, dt->id, q->cand[q->icand],
                          q->cand_len[q->icand], x->qtype);
  if (!dt->udp || n < 0) {
    tcp_free(dt);
    return 0;
  }
  memcpy(dt->udp, msg, len);
  dt->udp_len = len;
  dt->query[0] = (uint8_t)(n >> 8);
  dt->query[1] = (uint8_t)n;
  dt->qlen = (size_t)n + 2;
  dt->t = us_tcp_socket(s, tcp_event, dt);
  if (!dt->t) {
    tcp_free(dt);
    return 0;
  }
  x->tcp = dt;
  int rc = us_tcp_connect(dt->t, c->server, c->port);
  if (rc < 0 && rc != -EINPROGRESS) {
    x->tcp = NULL;
    us_tcp_abort(dt->t);
    tcp_free(dt);
    return 0;
  }
  us_count(s, US_CNT_DNS_TCP);
  /* One try's time for the whole exchange; then the truncated answer. */
  us_timer_arm(s, &x->timer, s->now + US_MS(c->timeout_ms));
  return 1;
}

void dns_tcp_stop(struct dns_xfer *x, int graceful) {
  struct dns_tcp *dt = x->tcp;
  if (!dt) return;
  x->tcp = NULL;
  if (graceful)
    us_tcp_close(dt->t);
  else
    us_tcp_abort(dt->t);
  tcp_free(dt);
}

/* TCP gave no usable answer: fall back on the truncated one. */
static void tcp_fallback(struct dns_xfer *x) {
  struct dns_tcp *dt = x->tcp;
  struct us_stack *s = x->q->c->s;
  uint8_t *msg = dt->udp;
  size_t len = dt->udp_len, off = DNS_HDR_LEN;
  struct dns_header h;
  struct dns_question qq;
  dt->udp = NULL;
  us_count(s, US_CNT_DNS_TCP_FAIL);
  dns_tcp_stop(x, 0);
  /* The header and question passed their checks when it arrived. */
  int finished = dns_read_header(msg, len, &h) == DNS_OK &&
                 dns_read_question(msg, len, &off, &qq) == DNS_OK &&
                 dns_answer_accept(x, msg, len, &h, off, 1);
  us_free(msg);
  /* Not even its records were usable: on with the UDP tries. */
  if (!finished) us_timer_arm(s, &x->timer, s->now);
}

void dns_tcp_timeout(struct dns_xfer *x) { tcp_fallback(x); }

/* Queue what is left of the query. -1 if the connection cannot take it. */
static int tcp_send(struct dns_tcp *dt) {
  while (dt->qsent < dt->qlen) {
    ssize_t n = us_tcp_send(dt->t, dt->query + dt->qsent, dt->qlen - dt->qsent);
    if (n == -EAGAIN) return 0;
    if (n < 0) return -1;
    dt->qsent += (size_t)n;
  }
  return 0;
}

/* The whole answer is in: check it like a UDP one (ID, question). */
static void tcp_answer(struct dns_tcp *dt) {
  struct dns_xfer *x = dt->x;
  uint8_t *msg = dt->ans;
  size_t len = dt->ans_len, off = 0;
  struct dns_header h;
  int finished = 0;
  dt->ans = NULL; /* ours now: the transfer may end, and free dt, below */
  int r = dns_answer_check(x, dt->id, msg, len, &h, &off);
  if (r == DNS_ANS_FORMERR) {
    us_count(x->q->c->s, US_CNT_DNS_REFUSED);
    dns_xfer_done(x, OUT_FORMERR);
    finished = 1;
  } else if (r == DNS_ANS_OK) {
    finished = dns_answer_accept(x, msg, len, &h, off, (h.flags & DNS_F_TC) != 0);
  }
  us_free(msg);
  if (!finished) tcp_fallback(x);
}

/* Read the length prefix, then the answer. Returns 1 once dt is gone
 * (answered or fallen back), 0 while more bytes are due. */
static int tcp_read(struct dns_tcp *dt) {
  for (;;) {
    uint8_t *dst;
    size_t want;
    if (dt->have < 2) {
      dst = dt->lenbuf + dt->have;
      want = 2 - dt->have;
    } else {
      dst = dt->ans + (dt->have - 2);
      want = dt->ans_len - (dt->have - 2);
    }
    if (want == 0) break;
    ssize_t n = us_tcp_recv(dt->t, dst, want);
    if (n == -EAGAIN) return 0;
    if (n <= 0) { /* EOF or error before the whole answer */
      tcp_fallback(dt->x);
      return 1;
    }
    dt->have += (size_t)n;
    if (dt->have == 2) {
      dt->ans_len = (size_t)dt->lenbuf[0] << 8 | dt->lenbuf[1];
      dt->ans = dt->ans_len >= DNS_HDR_LEN ? us_malloc(dt->ans_len) : NULL;
      if (!dt->ans) {
        tcp_fallback(dt->x);
        return 1;
      }
    }
  }
  tcp_answer(dt);
  return 1;
}

static void tcp_event(void *user, struct us_tcp_sock *t, uint32_t ev, int err) {
  struct dns_tcp *dt = user;
  (void)t;
  (void)err;
  if (ev & US_TCP_EV_ERROR) {
    tcp_fallback(dt->x);
    return;
  }
  if ((ev & (US_TCP_EV_CONNECTED | US_TCP_EV_WRITABLE)) && tcp_send(dt) < 0) {
    tcp_fallback(dt->x);
    return;
  }
  if ((ev & (US_TCP_EV_READABLE | US_TCP_EV_RDHUP)) && tcp_read(dt)) return;
  if (ev & US_TCP_EV_CLOSED) tcp_fallback(dt->x);
}
