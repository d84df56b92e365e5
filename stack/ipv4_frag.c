/* IPv4 reassembly; bounds and overlap policy in ipv4_frag.h. */
#include <string.h>

#include "stack/byteorder.h"
#include "stack/stack.h"

struct frag_piece {
  uint32_t start, end; /* payload bytes [start, end) */
};

struct frag_dgram {
  struct frag_dgram *next, *prev;
  uint32_t src, dst;
  uint16_t id;
  uint8_t proto;
  uint8_t dead;      /* discarded (overlap, bad length): drop the rest until expiry */
  uint8_t have_last; /* the MF=0 fragment arrived: total is known */
  uint8_t hdr_len;   /* first fragment's header saved (0: not yet) */
  uint32_t total;    /* payload bytes, once have_last */
  uint32_t received; /* payload bytes held (pieces never overlap) */
  us_time_t expires;
  uint8_t hdr[60];
  uint32_t npieces;
  struct frag_piece pieces[IPV4_FRAG_MAX_PIECES]; /* sorted by start */
  uint8_t *buf;
  uint32_t cap;
};

static void frag_unlink(struct ipv4_frag_state *f, struct frag_dgram *d) {
  if (d->prev) d->prev->next = d->next;
  else f->head = d->next;
  if (d->next) d->next->prev = d->prev;
  else f->tail = d->prev;
  f->count--;
}

static void frag_release_buf(struct ipv4_frag_state *f, struct frag_dgram *d) {
  f->mem -= d->cap;
  us_free(d->buf);
  d->buf = 0;
  d->cap = 0;
}

static void frag_destroy(struct ipv4_frag_state *f, struct frag_dgram *d) {
  frag_unlink(f, d);
  frag_release_buf(f, d);
  f->mem -= sizeof(*d);
  us_free(d);
}

static void frag_rearm(struct us_stack *s) {
  struct ipv4_frag_state *f = &s->frag;
  if (f->head) us_timer_arm(s, &f->timer, f->head->expires);
  else us_timer_cancel(s, &f->timer);
}

/* Discard the datagram's data, keep a tombstone until it would expire. */
static void frag_kill(struct us_stack *s, struct frag_dgram *d, enum us_counter why) {
  us_count(s, why);
  d->dead = 1;
  frag_release_buf(&s->frag, d);
  d->npieces = 0;
  d->received = 0;
}

static void frag_timer(struct us_stack *s, struct us_timer *t) {
  (void)t;
  struct ipv4_frag_state *f = &s->frag;
  while (f->head && f->head->expires <= s->now) {
    struct frag_dgram *d = f->head;
    if (!d->dead) {
      us_count(s, US_CNT_IPV4_FRAG_TIMEOUT);
      /* RFC 792/1122: time exceeded, only if the first fragment arrived. */
      if (d->hdr_len && d->npieces && d->pieces[0].start == 0) {
        uint8_t quote[60 + 8];
        uint32_t n = d->pieces[0].end < 8 ? d->pieces[0].end : 8;
        memcpy(quote, d->hdr, d->hdr_len);
        memcpy(quote + d->hdr_len, d->buf, n);
        icmp_send_error(s, ICMP_TIME_EXCEEDED, ICMP_EXC_FRAGTIME, 0, quote, d->hdr_len + n);
      }
    }
    frag_destroy(f, d);
  }
  frag_rearm(s);
}

void ipv4_frag_init(struct us_stack *s) {
  memset(&s->frag, 0, sizeof(s->frag));
  us_timer_init(&s->frag.timer, frag_timer);
}

void ipv4_frag_free(struct us_stack *s) {
  while (s->frag.head) frag_destroy(&s->frag, s->frag.head);
  us_timer_cancel(s, &s->frag.timer);
}

static struct frag_dgram *frag_find(struct ipv4_frag_state *f, const struct ipv4_hdr *h) {
  for (struct frag_dgram *d = f->head; d; d = d->next)
    if (d->id == h->id && d->src == h->src && d->dst == h->dst && d->proto == h->proto) return d;
  return 0;
}

/* Make room by dropping the oldest datagrams (not `keep`). */
static int frag_evict(struct us_stack *s, size_t need, const struct frag_dgram *keep) {
  struct ipv4_frag_state *f = &s->frag;
  struct frag_dgram *d = f->head;
  while (f->mem + need > IPV4_FRAG_MEM_MAX && d) {
    struct frag_dgram *n = d->next;
    if (d != keep) {
      if (!d->dead) us_count(s, US_CNT_IPV4_FRAG_MEM);
      frag_destroy(f, d);
    }
    d = n;
  }
  return f->mem + need <= IPV4_FRAG_MEM_MAX ? 0 : -1;
}

static struct frag_dgram *frag_new(struct us_stack *s, const struct ipv4_hdr *h) {
  struct ipv4_frag_state *f = &s->frag;
  if (f->count >= IPV4_FRAG_MAX_DGRAMS) {
    if (!f->head->dead) us_count(s, US_CNT_IPV4_FRAG_MEM);
    frag_destroy(f, f->head);
  }
  if (frag_evict(s, sizeof(struct frag_dgram), 0) < 0) return 0;
  struct frag_dgram *d = us_calloc(1, sizeof(*d));
  if (!d) return 0;
  f->mem += sizeof(*d);
  d->src = h->src;
  d->dst = h->dst;
  d->id = h->id;
  d->proto = h->proto;
  d->expires = s->now + IPV4_FRAG_TIMEOUT_US;
  d->prev = f->tail;
  if (f->tail) f->tail->next = d;
  else f->head = d;
  f->tail = d;
  f->count++;
  if (f->head == d) frag_rearm(s);
  return d;
}

static int frag_grow(struct us_stack *s, struct frag_dgram *d, uint32_t end) {
  if (end <= d->cap) return 0;
  uint32_t cap = d->cap ? d->cap * 2 : 2048;
  while (cap < end) cap *= 2;
  if (cap > IPV4_MAX_LEN) cap = IPV4_MAX_LEN;
  if (frag_evict(s, cap - d->cap, d) < 0) return -1;
  uint8_t *b = us_realloc(d->buf, cap);
  if (!b) return -1;
  s->frag.mem += cap - d->cap;
  d->buf = b;
  d->cap = cap;
  return 0;
}

int ipv4_frag_input(struct us_stack *s, const struct ipv4_hdr *h, const uint8_t *pkt,
                    uint8_t **out, size_t *out_len) {
  uint32_t off = ipv4_frag_off(h), plen = (uint32_t)h->tot_len - h->hlen, end = off + plen;
  int more = (h->frag & IPV4_F_MF) != 0;
  struct frag_dgram *d = frag_find(&s->frag, h);
  if (d && d->dead) {
    us_count(s, US_CNT_IPV4_FRAG_DEAD);
    return 0;
  }
  if (end + h->hlen > IPV4_MAX_LEN) {
    if (d) frag_kill(s, d, US_CNT_IPV4_FRAG_OVERSIZE);
    else us_count(s, US_CNT_IPV4_FRAG_OVERSIZE);
    return 0;
  }
  if (more && (plen == 0 || plen % 8)) { /* only the last may end off an 8-byte unit */
    us_count(s, US_CNT_IPV4_FRAG_BAD);
    return 0;
  }
  if (!d && !(d = frag_new(s, h))) {
    us_count(s, US_CNT_IPV4_FRAG_MEM);
    return 0;
  }
  uint32_t maxend = d->npieces ? d->pieces[d->npieces - 1].end : 0;
  if (!more) {
    if ((d->have_last && d->total != end) || end < maxend) {
      frag_kill(s, d, US_CNT_IPV4_FRAG_BAD);
      return 0;
    }
    d->have_last = 1;
    d->total = end;
  } else if (d->have_last && end > d->total) {
    frag_kill(s, d, US_CNT_IPV4_FRAG_BAD);
    return 0;
  }
  if (plen) {
    uint32_t pos = 0;
    for (uint32_t i = 0; i < d->npieces; i++) {
      const struct frag_piece *p = &d->pieces[i];
      if (off < p->end && p->start < end) {
        if (p->start == off && p->end == end) {
          us_count(s, US_CNT_IPV4_FRAG_DUP);
          return 0;
        }
        frag_kill(s, d, US_CNT_IPV4_FRAG_OVERLAP);
        return 0;
      }
      if (p->start < off) pos = i + 1;
    }
    if (d->npieces >= IPV4_FRAG_MAX_PIECES) {
      frag_kill(s, d, US_CNT_IPV4_FRAG_TOO_MANY);
      return 0;
    }
    if (frag_grow(s, d, end) < 0) {
      frag_kill(s, d, US_CNT_IPV4_FRAG_MEM);
      return 0;
    }
    memcpy(d->buf + off, pkt + h->hlen, plen);
    memmove(&d->pieces[pos + 1], &d->pieces[pos], (d->npieces - pos) * sizeof(d->pieces[0]));
    d->pieces[pos] = (struct frag_piece){off, end};
    d->npieces++;
    d->received += plen;
  }
  if (off == 0) {
    memcpy(d->hdr, pkt, h->hlen);
    d->hdr_len = h->hlen;
  }
  if (!d->have_last || !d->hdr_len || d->received != d->total) return 0;

  /* Complete: first fragment's header, fragment fields cleared (DF kept). */
  size_t n = d->hdr_len + d->total;
  uint8_t *whole = us_malloc(n ? n : 1);
  if (!whole) {
    frag_kill(s, d, US_CNT_IPV4_FRAG_MEM);
    return 0;
  }
  memcpy(whole, d->hdr, d->hdr_len);
  if (d->total) memcpy(whole + d->hdr_len, d->buf, d->total);
  us_wr16(whole + 2, (uint16_t)n);
  whole[6] &= 0x40;
  whole[7] = 0;
  us_wr16(whole + 10, 0);
  us_wr16(whole + 10, us_csum_fold(us_csum_add(0, whole, d->hdr_len)));
  int was_head = s->frag.head == d;
  frag_destroy(&s->frag, d);
  if (was_head) frag_rearm(s);
  us_count(s, US_CNT_IPV4_FRAG_OK);
  *out = whole;
  *out_len = n;
  return 1;
}
