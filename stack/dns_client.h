/* The stack's DNS stub resolver: asks one server over the stack's own UDP
 * for the A and/or AAAA records of a name (or the PTR record of an
 * address), the way glibc's resolver would (search list and ndots, timeout
 * and attempts), with a bounded cache that honours TTLs.
 *
 * Pure like the rest of stack/: time comes from the stack's clock and timers
 * (us_stack_advance), randomness from us_rand64. Each transmission uses a
 * fresh UDP socket on an ephemeral port with a random 16-bit ID; an answer is
 * accepted only from the server asked (address and port), with that ID and
 * the same question (name, type, class). Every rejected datagram is counted
 * by its reason (US_CNT_DNS_* in counters.h).
 *
 * A truncated answer (TC) is asked again over TCP (RFC 7766) on the stack's
 * own TCP; if that fails or times out, the complete records of the
 * truncated answer are used (as musl does) and not cached.
 *
 * Not done here: /etc/hosts (shim/hosts_file.h) and numeric addresses are
 * answered by the caller before it asks the client. */
#ifndef USTACK_DNS_CLIENT_H
#define USTACK_DNS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "stack/dns_wire.h"
#include "stack/us_stack.h"

#define US_DNS_MAX_SEARCH 6
#define US_DNS_MAX_ATTEMPTS 5   /* glibc RES_MAXRETRY */

struct us_dns_config {
  uint32_t server;        /* IPv4, host byte order; 0 = the stack's cfg.dns */
  uint16_t port;          /* 0 = 53 */
  const char *search[US_DNS_MAX_SEARCH]; /* copied by us_dns_client_new */
  int nsearch;
  int ndots;              /* names with at least ndots dots are tried as-is first */
  uint32_t timeout_ms;    /* wait for the first try; each retry waits twice the last */
  int attempts;           /* tries per question, 1..US_DNS_MAX_ATTEMPTS */
  int cache_entries;      /* bound on cached (name, type) answers; 0 = no cache */
  uint32_t max_ttl;       /* seconds; longer TTLs are cut to this */
  int no_tcp;             /* 1: never ask over TCP after a truncated answer */
};

/* glibc's defaults: ndots 1, timeout 5 s, attempts 2; 256 cache entries,
 * TTLs capped at one day. */
void us_dns_config_defaults(struct us_dns_config *cfg);

enum us_dns_want { US_DNS_WANT_A = 1, US_DNS_WANT_AAAA = 2, US_DNS_WANT_BOTH = 3 };

enum us_dns_status {
  US_DNS_OK = 0,
  US_DNS_NONAME,  /* NXDOMAIN for every name tried, or FORMERR: EAI_NONAME */
  US_DNS_NODATA,  /* the name exists, with no address of the kind asked: EAI_NODATA */
  US_DNS_AGAIN,   /* no answer after all attempts, SERVFAIL, REFUSED, NOTIMP: EAI_AGAIN */
  US_DNS_FAIL,    /* another error code, or a CNAME loop: EAI_FAIL */
  US_DNS_BADNAME, /* not a valid domain name: EAI_NONAME */
  US_DNS_NOMEM,   /* EAI_MEMORY */
};
const char *us_dns_status_str(int status);

struct us_dns_result {
  int status;                     /* enum us_dns_status */
  const char *name;               /* the name as asked */
  const char *canon;              /* OK: end of the CNAME chain; otherwise the name asked */
  const struct us_dns_addr *addrs;
  size_t naddrs;                  /* A records first, then AAAA */
  uint32_t ttl;                   /* OK: seconds the answer stays valid */
  us_time_t elapsed;              /* on the stack clock, from the query to this call */
  int from_cache;                 /* 1 if no packet was needed */
};
/* The result and everything it points to are valid only during the call. */
typedef void (*us_dns_cb)(void *user, const struct us_dns_result *r);

struct us_stack;
struct us_dns_client;
struct us_dns_query;

/* The client lives beside the stack and must be freed before it. NULL if
 * out of memory. */
struct us_dns_client *us_dns_client_new(struct us_stack *s, const struct us_dns_config *cfg);
/* Drops outstanding queries without calling their callbacks. Not from
 * inside a callback. */
void us_dns_client_free(struct us_dns_client *c);

/* Resolve name. The callback runs exactly once, unless the query is
 * cancelled. If the answer is known at once (cache, invalid name, no
 * memory) the callback runs before this returns and NULL is returned;
 * otherwise the handle, valid until the callback has run. Timeouts and
 * the reported time start from the stack's clock as of its last input or
 * advance call: a host that has been idle calls us_stack_advance(s, now)
 * first. */
struct us_dns_query *us_dns_query(struct us_dns_client *c, const char *name, int want,
                                  us_dns_cb cb, void *user);
/* Reverse lookup, for getnameinfo: the PTR record of an address (family 4
 * or 6, network byte order) under in-addr.arpa or ip6.arpa, following
 * CNAMEs (RFC 2317 delegation). On US_DNS_OK, r->canon is the host name and
 * there are no addresses. Same callback rules as us_dns_query. */
struct us_dns_query *us_dns_reverse(struct us_dns_client *c, int family, const uint8_t *addr,
                                    us_dns_cb cb, void *user);
/* Forget a query: no callback. Harmless from inside its own callback. */
void us_dns_cancel(struct us_dns_query *q);

void us_dns_cache_flush(struct us_dns_client *c);
size_t us_dns_cache_count(const struct us_dns_client *c);

/* --- For tests and the fuzzer ------------------------------------------ */

/* What the i-th outstanding transmission (oldest first) sent: its ID, local
 * port and question type. Returns 0, or -1 if there is no i-th. */
int us_dns_client_outstanding(const struct us_dns_client *c, int i, uint16_t *id,
                              uint16_t *port, uint16_t *qtype);
/* Hand a datagram to the i-th outstanding transmission as if its socket had
 * received it (the answer path without the UDP layer's own filtering). */
void us_dns_client_inject(struct us_dns_client *c, int i, uint32_t src_ip, uint16_t src_port,
                          const uint8_t *data, size_t len);

#endif
