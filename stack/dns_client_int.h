/* Internals of the DNS stub resolver, shared by its files:
 *   dns_client.c      queries, candidates, UDP transfers, answer checks
 *   dns_cache.c       the TTL cache
 *   dns_client_tcp.c  asking again over TCP after a truncated answer
 * Nothing outside the resolver includes this. */
#ifndef USTACK_DNS_CLIENT_INT_H
#define USTACK_DNS_CLIENT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "stack/counters.h"
#include "stack/dns_client.h"
#include "stack/dns_wire.h"
#include "stack/timer.h"

#define DNS_MAX_CAND (2 + US_DNS_MAX_SEARCH) /* as-is, search list (as-is once) */

#define dns_container_of(p, type, member) \
  ((type *)(void *)((char *)(p) - offsetof(type, member)))

enum dns_xfer_state { XF_IDLE, XF_WAIT, XF_DONE };

/* What one transfer (one name, one type) learned. Ordered so that, when
 * the A and AAAA transfers of a candidate disagree, the larger wins. */
enum dns_outcome {
  OUT_NONE, /* type not wanted */
  OUT_NXDOMAIN,
  OUT_NODATA,
  OUT_SERVFAIL,
  OUT_FORMERR,  /* glibc: NO_RECOVERY, getaddrinfo says EAI_NONAME */
  OUT_FAIL,
  OUT_REFUSED,  /* REFUSED or NOTIMP: glibc asks the next server, then TRY_AGAIN */
  OUT_TIMEOUT,
  OUT_OK,
};

struct dns_xfer;
struct dns_tcp;
struct udp_sock;

/* One UDP transmission: its socket and the ID it sent. */
struct dns_sock {
  struct us_dns_client *c;
  struct dns_xfer *x;    /* NULL once the transfer is over */
  struct udp_sock *u;
  uint16_t id, port;
  struct dns_sock *next; /* x's list (newest first) or the reap list */
};

/* One question (name, type) until it has an outcome. */
struct dns_xfer {
  struct us_dns_query *q;
  uint16_t qtype;
  uint8_t state, outcome, from_cache;
  int tries;
  struct dns_sock *socks;
  struct dns_tcp *tcp;   /* asking again over TCP after TC, or NULL */
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
  char name[DNS_TEXT_MAX + 1]; /* 253 characters, a trailing dot, NUL */
  uint8_t cand[DNS_MAX_CAND][DNS_NAME_MAX];
  size_t cand_len[DNS_MAX_CAND];
  int ncand, icand;
  int as_is_first;   /* cand[0] is the name as given, tried first */
  int first_outcome; /* its outcome, which glibc reports if all fail */
  int got_nodata, got_servfail;
  int in_cb;
  int ptr;              /* a reverse lookup: x[0] asks PTR */
  struct dns_xfer x[2]; /* [0] A (or PTR), [1] AAAA */
};

struct dns_cache_entry;

struct dns_cache {
  struct dns_cache_entry **e;
  int n, cap;
  uint32_t max_ttl;
};

struct us_dns_client {
  struct us_stack *s;
  uint32_t server;
  uint16_t port;
  char search[US_DNS_MAX_SEARCH][DNS_TEXT_MAX];
  int nsearch, ndots, attempts, no_tcp;
  uint32_t timeout_ms;
  struct dns_cache cache;
  struct us_dns_query *qhead, *qtail;
  struct dns_sock *reap;
  struct us_timer reap_timer;
};

/* dns_cache.c. The cache keeps OK, NODATA and NXDOMAIN outcomes. */
int dns_cache_init(struct dns_cache *k, int entries, uint32_t max_ttl);
void dns_cache_free(struct dns_cache *k);
void dns_cache_flush(struct dns_cache *k);
/* A live entry for (name, qtype): fills *outcome and *ex (ttl = what is
 * left, rounded up). Expired entries are dropped on the way. */
int dns_cache_get(struct us_stack *s, struct dns_cache *k, const uint8_t *name, size_t name_len,
                  uint16_t qtype, int *outcome, struct dns_extract *ex);
void dns_cache_put(struct us_stack *s, struct dns_cache *k, const uint8_t *name,
                   size_t name_len, uint16_t qtype, int outcome, const struct dns_extract *ex);

/* dns_client.c, for the TCP path. */
enum { DNS_ANS_DROP = -1, DNS_ANS_OK = 0, DNS_ANS_FORMERR = 1 };
/* Header, ID and question checks; counts and returns DNS_ANS_DROP on a
 * mismatch. On DNS_ANS_OK, *h and *off (after the question) are set. */
int dns_answer_check(struct dns_xfer *x, uint16_t id, const uint8_t *msg, size_t len,
                     struct dns_header *h, size_t *off);
/* Act on a checked answer (rcode, records, cache). lenient: a truncated
 * message. Returns 1 if the transfer is finished, 0 if the answer was
 * dropped as malformed. */
int dns_answer_accept(struct dns_xfer *x, const uint8_t *msg, size_t len,
                      const struct dns_header *h, size_t off, int lenient);
/* The transfer has an outcome. Returns 1 if that finished the query. */
int dns_xfer_done(struct dns_xfer *x, int outcome);
enum us_counter dns_err_counter(int err);

/* dns_client_tcp.c. Start asking over TCP after the truncated answer msg
 * (already checked); returns 1 if an answer is now pending over TCP, 0 if
 * the caller should use the truncated answer as it is. */
int dns_tcp_start(struct dns_xfer *x, const uint8_t *msg, size_t len);
/* The transfer's timer fired while TCP was pending: give up on TCP and use
 * the truncated answer. */
void dns_tcp_timeout(struct dns_xfer *x);
/* Tear down the TCP exchange, if any (graceful: close, else abort). */
void dns_tcp_stop(struct dns_xfer *x, int graceful);

#endif
