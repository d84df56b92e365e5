/* The resolver's cache: answers by (name, type) until their TTL runs out on
 * the stack clock. Positive answers live for the smallest TTL of their
 * chain; NXDOMAIN and NODATA for the SOA's negative TTL (RFC 2308 5), and
 * not at all without one. Bounded: when full, expired entries go first,
 * then the one closest to expiry. A linear table: a few hundred entries
 * are scanned faster than a hash is maintained. */
#include <string.h>

#include "stack/dns_client_int.h"
#include "stack/stack.h"

struct dns_cache_entry {
  uint8_t name[DNS_NAME_MAX];
  size_t name_len;
  uint16_t qtype;
  uint8_t outcome; /* OUT_OK, OUT_NODATA or OUT_NXDOMAIN */
  us_time_t expires;
  struct dns_extract ex;
};

int dns_cache_init(struct dns_cache *k, int entries, uint32_t max_ttl) {
  k->n = 0;
  k->cap = entries > 0 ? entries : 0;
  k->max_ttl = max_ttl;
  k->e = NULL;
  if (k->cap) {
    k->e = us_calloc((size_t)k->cap, sizeof *k->e);
    if (!k->e) return -1;
  }
  return 0;
}

static void cache_remove(struct dns_cache *k, int i) {
  us_free(k->e[i]);
  k->e[i] = k->e[--k->n];
}

void dns_cache_flush(struct dns_cache *k) {
  while (k->n) cache_remove(k, k->n - 1);
}

void dns_cache_free(struct dns_cache *k) {
  dns_cache_flush(k);
  us_free(k->e);
  k->e = NULL;
  k->cap = 0;
}

static struct dns_cache_entry *cache_find(us_time_t now, struct dns_cache *k,
                                          const uint8_t *name, size_t name_len,
                                          uint16_t qtype) {
  for (int i = 0; i < k->n; i++) {
    struct dns_cache_entry *e = k->e[i];
    if (e->qtype != qtype || !dns_name_eq(e->name, e->name_len, name, name_len)) continue;
    if (now >= e->expires) {
      cache_remove(k, i);
      return NULL;
    }
    return e;
  }
  return NULL;
}

int dns_cache_get(struct us_stack *s, struct dns_cache *k, const uint8_t *name, size_t name_len,
                  uint16_t qtype, int *outcome, struct dns_extract *ex) {
  struct dns_cache_entry *e = cache_find(s->now, k, name, name_len, qtype);
  if (!e) {
    if (k->cap) us_count(s, US_CNT_DNS_CACHE_MISS);
    return 0;
  }
  us_count(s, US_CNT_DNS_CACHE_HIT);
  *outcome = e->outcome;
  *ex = e->ex;
  /* What is left of the TTL, rounded up so it never shows 0 early. */
  ex->ttl = (uint32_t)((e->expires - s->now + US_SEC(1) - 1) / US_SEC(1));
  return 1;
}

/* Room for one more entry: drop expired ones, else the one expiring first. */
static void cache_make_room(struct us_stack *s, struct dns_cache *k) {
  for (int i = 0; i < k->n;) {
    if (s->now >= k->e[i]->expires)
      cache_remove(k, i);
    else
      i++;
  }
  if (k->n < k->cap) return;
  int victim = 0;
  for (int i = 1; i < k->n; i++)
    if (k->e[i]->expires < k->e[victim]->expires) victim = i;
  cache_remove(k, victim);
  us_count(s, US_CNT_DNS_CACHE_EVICT);
}

void dns_cache_put(struct us_stack *s, struct dns_cache *k, const uint8_t *name,
                   size_t name_len, uint16_t qtype, int outcome, const struct dns_extract *ex) {
  uint32_t ttl;
  if (k->cap <= 0) return;
  if (outcome == OUT_OK)
    ttl = ex->ttl;
  else if (ex->neg_ttl_set)
    ttl = ex->neg_ttl;
  else
    return; /* no SOA: a negative answer is not cached (RFC 2308 5) */
  if (ttl > k->max_ttl) ttl = k->max_ttl;
  if (ttl == 0) return;
  struct dns_cache_entry *e = cache_find(s->now, k, name, name_len, qtype);
  if (!e) {
    if (k->n >= k->cap) cache_make_room(s, k);
    e = us_malloc(sizeof *e);
    if (!e) return;
    k->e[k->n++] = e;
  }
  memcpy(e->name, name, name_len);
  e->name_len = name_len;
  e->qtype = qtype;
  e->outcome = (uint8_t)outcome;
  e->expires = s->now + US_SEC(ttl);
  e->ex = *ex;
}
